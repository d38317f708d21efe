// Module: the clinic domain as the single-writer loop (engine/writer.h)
// hosts it, in the concert module's shape (engine/concert/module.h). It
// joins the pure core (decide + apply) to the log's envelopes: execute()
// decides a command, applies what it decided and hands back the encoded
// events. The clinic has no clock events: advance_clock() does nothing and
// next_due_ms() is INT64_MAX.
//
// Thread safety: none; owned by the single writer.
#pragma once

#include <climits>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/clinic/decide.h"
#include "engine/domain.h"
#include "events/clinic_events.h"
#include "events/envelope.h"
#include "events/status.h"

namespace reservoir::clinic {

class Module {
 public:
  using Command = clinic::Command;
  using Reply = clinic::Reply;
  using Catalog = events::ClinicCatalog;
  using Event = events::ClinicEvent;
  static constexpr std::string_view kName = "clinic";

  struct Config {
    int64_t utc_offset_min = 0;  // serve --clinic-utc-offset, in minutes
  };

  explicit Module(Config config) : config_(config) {}

  // Never fails: clinic commands carry no tokens (the bearer is the API's).
  std::variant<std::string, DomainError> actor(const Command& command) const {
    return actor_of(command);
  }

  // At start-up: records the UTC offset in the log when it differs from the
  // last recorded one (or none is), so auditors judge days with it.
  void start(int64_t now, std::vector<EventEnvelope>& out);

  void advance_clock(int64_t /*now*/, std::vector<EventEnvelope>& /*out*/) {}

  // Decides `command` at `now`, applies its events and appends them, encoded, to `out`.
  Reply execute(const Command& command, int64_t now, Random& random,
                std::vector<EventEnvelope>& out);

  void recycle(Reply&& /*reply*/) {}

  // Replays one logged event (start-up, recovery). Corruption when it does
  // not decode.
  Status apply(const EventEnvelope& envelope);
  // The same in two steps, so recovery decodes on another thread:
  // decode() touches no state.
  static Result<Event> decode(const EventEnvelope& envelope) { return Catalog::decode(envelope); }
  void apply(const Event& event) { state_.apply(event); }

  // Snapshot of the state (snapshot.h: format tag 102), and its inverse;
  // restore rebuilds the indexes and returns false (leaving state reset) on
  // bytes it cannot decode.
  std::string snapshot() const;
  bool restore(std::string_view bytes);

  int64_t next_due_ms() const { return INT64_MAX; }
  void reset() { state_ = State(); }
  const State& state() const { return state_; }
  const Config& config() const { return config_; }

 private:
  Config config_;
  State state_;
  std::vector<Event> scratch_;  // reused across commands
};

static_assert(DomainModule<Module>);

}  // namespace reservoir::clinic
