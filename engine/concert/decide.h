// decide: the concert domain's business logic, pure. Given the state, a
// command and the command's time (plus a random source for new ids), it
// returns the reply and appends the events that record the decision, or
// returns a DomainError and appends nothing. It reads state, never changes
// it: the caller applies the events (State::apply) before the next decide.
//
// Callers apply every clock event due at `now` (next_clock_event) before
// deciding a command at `now`, so a hold or token past its due time is
// already expired when the command is judged.
//
// Thread safety: pure functions over a const State.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/concert/commands.h"
#include "engine/concert/replies.h"
#include "engine/concert/spares.h"
#include "engine/concert/state.h"
#include "events/os.h"

namespace reservoir::concert {

struct Context {
  int64_t now_ms = 0;
  Random& random;
  const Limits& limits;
  // Storage to build replies in (spares.h); nullptr: allocate. The caller
  // gives the reply back once it has rendered it.
  Spares* spares = nullptr;
  // Seals new tokens and opens sealed ones (events/secrets.h). The test key
  // by default: Module passes the engine's own.
  const secrets::TokenKey& key = secrets::test_key();
};

// The events decided for a command (spares.h: their storage is recycled).
using Events = EventList;

// The scope a command acts for (its user; "#admin" for catalog commands), or
// INVALID_TOKEN when it carries a token nobody was issued.
std::variant<std::string, DomainError> actor_of(const State& state, const Command& command);

inline constexpr const char* kAdminScope = "#admin";

Reply decide(const State& state, const Command& command, Context& ctx, Events& out);

// The next clock-driven event due at `now`: an expired hold, an expired
// token, or the admission of the next WAITING token. Apply it and ask again
// until nullopt.
std::optional<events::ConcertEvent> next_clock_event(const State& state, int64_t now,
                                                     const Limits& limits);

// Applies the events decide returned for a command to `state`, in order,
// and remembers the token a token issue's reply shows in clear
// (State::remember_token), as the writer does: Module::execute and the core
// bench apply through here.
void apply_decided(State& state, const Events& events, const Reply& reply);

// The earliest time a clock event can become due (INT64_MAX if none is
// pending); admissions are due at once and so return INT64_MIN.
int64_t next_due_ms(const State& state, const Limits& limits);

// The reply view of a reservation / token as the state holds it; the id
// must be known to the state.
ReservationReply reservation_reply(const State& state, std::string_view id);
// `token` is the token in clear, as its holder presented it.
TokenReply token_reply(const State& state, std::string_view token, const Limits& limits);

}  // namespace reservoir::concert
