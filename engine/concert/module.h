// Module: the concert domain as the single-writer loop (engine/writer.h)
// hosts it. It joins the pure core (decide + apply) to the log's envelopes:
// execute() runs the clock events due, decides the command, applies what it
// decided and hands back the encoded events. Another domain (the clinic
// context) plugs into the same loop with a module of the same shape.
//
// Thread safety: none; owned by the single writer.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/concert/decide.h"
#include "engine/domain.h"
#include "events/concert_events.h"
#include "events/envelope.h"
#include "events/status.h"

namespace reservoir::concert {

class Module {
 public:
  using Command = concert::Command;
  using Reply = concert::Reply;
  using Catalog = events::ConcertCatalog;
  using Event = events::ConcertEvent;
  static constexpr std::string_view kName = "concert";

  // `key` seals and opens tokens (events/secrets.h): a server passes its
  // own (--token-key-file); the test key serves tests and tools that decide
  // commands without a data directory.
  explicit Module(const Limits& limits, const secrets::TokenKey& key = secrets::test_key())
      : limits_(limits), key_(key) {}

  std::variant<std::string, DomainError> actor(const Command& command) const {
    return actor_of(state_, command);
  }

  // At start-up: records the limits in the log when they differ from the
  // last recorded ones (auditors check against what was in force).
  void start(int64_t now, std::vector<EventEnvelope>& out);

  // Applies and encodes every clock event due at `now`.
  void advance_clock(int64_t now, std::vector<EventEnvelope>& out);

  // Decides `command` at `now` (after advance_clock(now)), applies its
  // events and appends them, encoded, to `out`.
  Reply execute(const Command& command, int64_t now, Random& random,
                std::vector<EventEnvelope>& out);

  // The bearer secret a reply shows (a token's, in clear), or "": the
  // writer keeps it out of remembered answers (engine/writer.h).
  std::string_view secret_in(const Reply& reply) const {
    const auto* t = std::get_if<TokenReply>(&reply);
    return t != nullptr ? std::string_view(t->token) : std::string_view();
  }
  // The token named by tokenHash `hash`, opened from its seal; nullopt when
  // unknown or when the key does not open it.
  std::optional<std::string> reveal(std::string_view hash) const;
  // Gives a reply back once rendered: its storage serves a later command.
  void recycle(Reply&& reply) { spares_.give(std::move(reply)); }

  // Replays one logged event (start-up, recovery). Corruption when it does
  // not decode.
  Status apply(const EventEnvelope& envelope);
  // The same in two steps, so recovery decodes on another thread:
  // decode() touches no state.
  static Result<Event> decode(const EventEnvelope& envelope) { return Catalog::decode(envelope); }
  void apply(const Event& event);

  // Snapshot of the state (snapshot.h encoding), and its inverse; restore
  // returns false (leaving state reset) on bytes it cannot decode.
  std::string snapshot() const;
  bool restore(std::string_view bytes);

  int64_t next_due_ms() const { return concert::next_due_ms(state_, limits_); }
  void reset() { state_ = State(); }
  const State& state() const { return state_; }
  const Limits& limits() const { return limits_; }

 private:
  Limits limits_;
  secrets::TokenKey key_;
  State state_;
  Events scratch_;  // reused across commands: its events' storage is recycled
  Spares spares_;   // replies' storage, recycled across commands
};

static_assert(DomainModule<Module>);

}  // namespace reservoir::concert
