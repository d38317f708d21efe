// decide: the clinic domain's business rules (SPEC §6), pure. Given the
// state, a command and its context (time, random source, the clinic's UTC
// offset), it returns the reply and appends the events that record the
// decision; a refusal appends nothing. It reads state, never changes it:
// the caller applies the events (State::apply) before the next decide.
//
// Checks run in SPEC §6.2's order, each phase listing every failure it
// finds, and the first failing phase answers (docs/CLINIC-DESIGN.md (c)):
//   1. the API's InvalidCommand rules again (defensive; the API already
//      refused such commands): resources present, at most kResourcesMax,
//      start < end, all starting on resource 0's clinic day;
//   2. lookups: scheduleId, visitorId, the reception zoneId, then per
//      resource its group and (when the group exists) its zone, which must
//      exist and belong to the group -> InvalidRequest, NotFound;
//   3. a CANCELLED schedule -> Conflict, Cancelled;
//   4. availability, per resource in index order: an overlap with another
//      RESERVED schedule of the visitor (on the resource's start), then the
//      zone's capacity (on its zone), counting the command's own other
//      resources and, for an update, not the schedule's old ones.
// Admin commands: unknown zones of a group (InvalidRequest) before an id
// that exists (Conflict, AlreadyExists), the order of design (h) 12.
//
// Thread safety: pure functions over a const State.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "engine/clinic/commands.h"
#include "engine/clinic/replies.h"
#include "engine/clinic/state.h"
#include "engine/uuid.h"
#include "events/clinic_events.h"
#include "events/os.h"

namespace reservoir::clinic {

struct Context {
  int64_t now_ms = 0;
  Random& random;              // generated ids and schedule UUIDs
  int64_t utc_offset_min = 0;  // the clinic's day rule (serve --clinic-utc-offset)
};

inline constexpr const char* kAdminScope = "#admin";
inline constexpr size_t kGeneratedIdBytes = 12;  // 24 lower-case hex digits (object-id)

// The idempotency scope a command acts for: "visitor:<id>" (reserve),
// "schedule:<id>" (update, cancel), "#admin" (admin commands).
std::string actor_of(const Command& command);

Reply decide(const State& state, const Command& command, Context& ctx,
             std::vector<events::ClinicEvent>& out);

// A fresh 24-lower-hex-digit id (drawn again while `taken` says it is used).
template <class Taken>
std::string generate_id(Random& random, const Taken& taken);

// The extras after `patch` (decide's merge, kExtraNames order): a patched
// name with JSON is replaced, with nullopt removed; an unpatched one kept.
std::vector<Extra> merge_extras(const std::vector<Extra>& old,
                                const std::vector<ExtraPatch>& patch);

template <class Taken>
std::string generate_id(Random& random, const Taken& taken) {
  std::string id(2 * kGeneratedIdBytes, '0');
  do {
    unsigned char b[kGeneratedIdBytes];
    random.fill(b, sizeof b);
    for (size_t i = 0; i < sizeof b; ++i) {
      id[2 * i] = uuid_detail::kHexPairs[2 * b[i]];
      id[2 * i + 1] = uuid_detail::kHexPairs[2 * b[i] + 1];
    }
  } while (taken(id));
  return id;
}

}  // namespace reservoir::clinic
