// Given / when / then for the clinic core (engine/clinic/decide.h), the
// clinic analogue of given.h.
//
// Contract:
// - A Scenario owns a State, the clinic's UTC offset, a ScriptedBytes random
//   source (reproducible ids; chosen draws to force an id clash) and the
//   current time `now`.
// - given(events...) folds events into the state as if they were in the
//   log; nothing is checked.
// - when(command, at) does what clinic::Module::execute does for one
//   command at time `at`: decides it, then applies its events. It returns
//   the reply and the events; when(command) keeps the current time.
// - then_refusal(kind, problems) requires the last reply to be exactly that
//   refusal and the command to have decided no events. then_events<Ts...>()
//   requires the last events to be exactly of the types Ts, in order, and
//   returns them. then_reply<R>() returns the success reply.
// - history holds every event applied since construction (given ones too),
//   in order, for replay checks; fingerprint(state) is the snapshot bytes
//   plus a dump of the interval indexes, to compare two states.
//
// Assertions use doctest (REQUIRE stops the test case). Thread safety: none.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "engine/clinic/commands.h"
#include "engine/clinic/decide.h"
#include "engine/clinic/replies.h"
#include "engine/clinic/snapshot.h"
#include "engine/clinic/state.h"
#include "engine/reply.h"
#include "events/clinic_events.h"
#include "events/clinic_time.h"
#include "events/os.h"

namespace reservoir::test::clinic_given {

inline constexpr int64_t kSecond = 1000;
inline constexpr int64_t kMinute = 60 * kSecond;
inline constexpr int64_t kHour = 60 * kMinute;
inline constexpr int64_t kKstMinutes = 9 * 60;  // +09:00

// 2026-12-24T00:00:00Z, the seeds' day; scenarios run at its 08:00Z.
inline const int64_t kDec24 = *clinic_time::parse_day("2026-12-24") * clinic_time::kDayMs;
inline const int64_t kT0 = kDec24 + 8 * kHour;

// An instant on 2026-12-24 (UTC): at(10) is 10:00Z, at(10, 30) 10:30Z.
inline int64_t at(int64_t hour, int64_t minute = 0) {
  return kDec24 + hour * kHour + minute * kMinute;
}

inline std::string event_name(const events::ClinicEvent& e) {
  return std::visit([](const auto& x) { return std::string(std::decay_t<decltype(x)>::kType); }, e);
}

inline std::string event_names(const std::vector<events::ClinicEvent>& events) {
  std::string s = "[";
  for (const auto& e : events) s += (s.size() > 1 ? ", " : "") + event_name(e);
  return s + "]";
}

inline std::string describe(const clinic::Problem& p) {
  return "{field " + std::to_string(static_cast<int>(p.field)) + ", index " +
         std::to_string(p.index) + ", reason " + std::to_string(static_cast<int>(p.reason)) + "}";
}

inline std::string describe(const clinic::Reply& reply) {
  if (const auto* err = std::get_if<DomainError>(&reply)) {
    return "error " + std::string(error_name(err->code)) + " (" + err->message + ")";
  }
  if (const auto* r = std::get_if<clinic::Refusal>(&reply)) {
    std::string s = "refusal kind " + std::to_string(static_cast<int>(r->kind)) + " [";
    for (const auto& p : r->problems) s += describe(p) + " ";
    return s + "]";
  }
  return "success reply #" + std::to_string(reply.index());
}

// Draws whose size equals the next scripted block's get that block (a
// generated id's 12 bytes, say); every other draw comes from a SeededRandom.
class ScriptedBytes final : public Random {
 public:
  explicit ScriptedBytes(uint64_t seed = 1, std::deque<std::string> blocks = {})
      : blocks_(std::move(blocks)), seeded_(seed) {}
  void fill(void* buf, size_t n) override {
    if (!blocks_.empty() && blocks_.front().size() == n) {
      std::memcpy(buf, blocks_.front().data(), n);
      blocks_.pop_front();
      return;
    }
    seeded_.fill(buf, n);
  }
  void script(std::string block) { blocks_.push_back(std::move(block)); }
  size_t left() const { return blocks_.size(); }

 private:
  std::deque<std::string> blocks_;
  SeededRandom seeded_;
};

// The snapshot bytes and every index, as text: equal fingerprints, equal states.
inline std::string fingerprint(const clinic::State& s) {
  std::string out = clinic::encode_state(s);
  for (Id v = 0; v < s.visitors.size(); ++v) {
    out += "|v" + std::to_string(v);
    for (const auto& [start, piece] : s.visitors[v].spans.pieces()) {
      out += " " + std::to_string(start) + "-" + std::to_string(piece.end) + "#" +
             std::to_string(piece.schedule);
    }
  }
  for (Id z = 0; z < s.zones.size(); ++z) {
    out += "|z" + std::to_string(z);
    for (const auto& [t, d] : s.zones[z].load.points()) {
      out += " " + std::to_string(t) + ":" + std::to_string(d);
    }
  }
  return out;
}

struct Outcome {
  clinic::Reply reply;
  std::vector<events::ClinicEvent> events;
};

class Scenario {
 public:
  explicit Scenario(int64_t utc_offset_min = 0, uint64_t seed = 1)
      : utc_offset_min(utc_offset_min), random(seed) {}

  template <class... E>
  Scenario& given(const E&... e) {
    (apply(events::ClinicEvent(e)), ...);
    return *this;
  }

  const Outcome& when(const clinic::Command& command, int64_t at) {
    now = at;
    last = Outcome{};
    clinic::Context ctx{now, random, utc_offset_min};
    last.reply = clinic::decide(state, command, ctx, last.events);
    for (const auto& e : last.events) apply(e);
    return last;
  }
  const Outcome& when(const clinic::Command& command) { return when(command, now); }

  void then_refusal(clinic::RefusalKind kind, const std::vector<clinic::Problem>& problems) const {
    INFO("reply: ", describe(last.reply), ", events: ", event_names(last.events));
    const auto* r = std::get_if<clinic::Refusal>(&last.reply);
    REQUIRE_MESSAGE(r != nullptr, "expected a refusal");
    CHECK(static_cast<int>(r->kind) == static_cast<int>(kind));
    CHECK(r->problems == problems);
    CHECK_MESSAGE(last.events.empty(), "a refused command decided events");
  }

  template <class... Ts>
  std::tuple<Ts...> then_events() const {
    INFO("reply: ", describe(last.reply), ", events: ", event_names(last.events));
    REQUIRE(last.events.size() == sizeof...(Ts));
    return typed<Ts...>(std::index_sequence_for<Ts...>{});
  }

  template <class R>
  R then_reply() const {
    INFO("reply: ", describe(last.reply), ", events: ", event_names(last.events));
    REQUIRE(std::holds_alternative<R>(last.reply));
    return std::get<R>(last.reply);
  }

  // The id of the schedule the last command reserved.
  std::string reserved_id() const { return then_reply<clinic::Reserved>().schedule_id; }

  clinic::State state;
  int64_t utc_offset_min = 0;
  ScriptedBytes random;
  int64_t now = kT0;
  Outcome last;
  std::vector<events::ClinicEvent> history;

 private:
  template <class... Ts, size_t... I>
  std::tuple<Ts...> typed(std::index_sequence<I...>) const {
    const bool types_match = (std::holds_alternative<Ts>(last.events[I]) && ...);
    REQUIRE_MESSAGE(types_match, "event types differ");
    return std::tuple<Ts...>{std::get<Ts>(last.events[I])...};
  }
  void apply(const events::ClinicEvent& e) {
    state.apply(e);
    history.push_back(e);
  }
};

}  // namespace reservoir::test::clinic_given
