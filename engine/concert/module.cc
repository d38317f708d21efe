#include "engine/concert/module.h"

#include "engine/concert/snapshot.h"
#include "engine/idempotency.h"

namespace reservoir::concert {

// A retry within the idempotency window names its token and reservation:
// the state must still know them (state.h, "Retention").
static_assert(kFinishedRetentionMs >= IdempotencyTable::kRetentionMs);

void Module::start(int64_t now, std::vector<EventEnvelope>& out) {
  if (state_.recorded_limits == limits_) return;
  const events::ConcertEvent e =
      events::LimitsConfigured{limits_.hold_ttl_ms, limits_.token_ttl_ms, limits_.active_tokens_max,
                               limits_.seats_per_user_max};
  state_.apply(e);
  out.push_back(Catalog::encode(e, now));
}

void Module::advance_clock(int64_t now, std::vector<EventEnvelope>& out) {
  while (auto event = next_clock_event(state_, now, limits_)) {
    state_.apply(*event);
    out.push_back(Catalog::encode(*event, now));
  }
}

Reply Module::execute(const Command& command, int64_t now, Random& random,
                      std::vector<EventEnvelope>& out) {
  advance_clock(now, out);
  scratch_.clear();
  Context ctx{now, random, limits_, &spares_, key_};
  Reply reply = decide(state_, command, ctx, scratch_);
  apply_decided(state_, scratch_, reply);
  for (const auto& event : scratch_) out.push_back(Catalog::encode(event, now));
  // A payment frees an ACTIVE place: admit the next token in the same batch.
  advance_clock(now, out);
  return reply;
}

Status Module::apply(const EventEnvelope& envelope) {
  auto event = Catalog::decode(envelope);
  if (!event.ok()) return event.status();
  apply(*event);
  return Status::OK();
}

void Module::apply(const Event& event) {
  // A token issued before seals (held in clear by that old event) is sealed
  // now, so the state and its snapshots keep no token in clear and a user
  // still gets that same token back.
  const auto* issued = std::get_if<events::TokenIssued>(&event);
  if (issued == nullptr || !issued->token_seal.empty() || issued->legacy_token.empty()) {
    state_.apply(event);
    return;
  }
  events::TokenIssued sealed = *issued;
  sealed.token_seal = secrets::seal_token(key_, sealed.legacy_token);
  sealed.legacy_token.clear();
  state_.apply(Event(std::move(sealed)));
}

std::optional<std::string> Module::reveal(std::string_view hash) const {
  const Id t = state_.find_token_hash(hash);
  if (t == kNoId) return std::nullopt;
  return secrets::open_token(key_, state_.tokens[t].seal_text(), hash);
}

std::string Module::snapshot() const {
  return encode_state(state_);
}

bool Module::restore(std::string_view bytes) {
  if (decode_state(bytes, state_)) return true;
  state_ = State();
  return false;
}

}  // namespace reservoir::concert
