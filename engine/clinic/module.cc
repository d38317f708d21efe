#include "engine/clinic/module.h"

#include "engine/clinic/snapshot.h"

namespace reservoir::clinic {

void Module::start(int64_t now, std::vector<EventEnvelope>& out) {
  if (state_.recorded_utc_offset_min == config_.utc_offset_min) return;
  const Event e = events::ClinicConfigured{config_.utc_offset_min};
  state_.apply(e);
  out.push_back(Catalog::encode(e, now));
}

Reply Module::execute(const Command& command, int64_t now, Random& random,
                      std::vector<EventEnvelope>& out) {
  scratch_.clear();
  Context ctx{now, random, config_.utc_offset_min};
  Reply reply = decide(state_, command, ctx, scratch_);
  for (const auto& event : scratch_) {
    state_.apply(event);
    out.push_back(Catalog::encode(event, now));
  }
  return reply;
}

Status Module::apply(const EventEnvelope& envelope) {
  auto event = Catalog::decode(envelope);
  if (!event.ok()) return event.status();
  state_.apply(*event);
  return Status::OK();
}

std::string Module::snapshot() const {
  return encode_state(state_);
}

bool Module::restore(std::string_view bytes) {
  if (decode_state(bytes, state_)) return true;
  state_ = State();
  return false;
}

}  // namespace reservoir::clinic
