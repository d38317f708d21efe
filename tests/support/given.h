// Given / when / then for the concert core (engine/concert/decide.h).
//
// Contract:
// - A Scenario owns a State, the Limits, a SeededRandom (reproducible ids)
//   and the current time `now`.
// - given(events...) folds events into the state as if they were in the log;
//   nothing is checked.
// - when(command, at) does what the single writer does for one command at
//   time `at` (engine/writer.h + Module::execute): it applies every clock
//   event due (next_clock_event), resolves the actor (an unknown token is
//   answered INVALID_TOKEN without deciding), decides the command, applies
//   its events, then applies the clock events its decision made due (the
//   admission that follows a payment). It returns the reply and every event
//   in that order; `decided` holds only the command's own events.
//   when(command) keeps the current time.
// - then_error(code) requires the last reply to be that error and the
//   command to have decided no events (clock events may precede it).
//   then_events<Ts...>() requires the last events to be exactly of the types
//   Ts, in order, and returns them. then_reply<R>() returns the success reply.
// - history holds every event applied since construction (given ones too),
//   in order, for replay checks.
//
// - Hand-built token events name their token in clear ("t1", as commands
//   present it) where the log has tokenHash: given() hashes such a name
//   (and seals it under the test key, as decide would), so tests read as
//   before. hashed(token) is the tokenHash to compare events with.
// - v1_envelope(event, time) encodes an event as schema version 1 wrote it
//   (the fields added since left out of the payload, version 1 in the
//   envelope), to prove that old logs still load.
// - ScriptedRandom serves chosen 8-byte draws (tokenIds) and seeded bytes
//   for everything else (uuids), to force a tokenId clash.
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

#include "engine/concert/commands.h"
#include "engine/concert/decide.h"
#include "engine/concert/replies.h"
#include "engine/concert/state.h"
#include "engine/reply.h"
#include "events/catalog.h"
#include "events/codec.h"
#include "events/concert_events.h"
#include "events/envelope.h"
#include "events/os.h"
#include "events/secrets.h"

namespace reservoir::test {

// 2027-01-15T08:00:00Z: the time scenarios start at.
inline constexpr int64_t kT0 = 1'800'000'000'000;
inline constexpr int64_t kSecond = 1000;
inline constexpr int64_t kMinute = 60 * kSecond;
inline constexpr int64_t kHour = 60 * kMinute;

inline std::string event_name(const events::ConcertEvent& e) {
  return std::visit([](const auto& x) { return std::string(std::decay_t<decltype(x)>::kType); }, e);
}

inline std::string event_names(const concert::Events& events) {
  std::string s = "[";
  for (const auto& e : events) s += (s.size() > 1 ? ", " : "") + event_name(e);
  return s + "]";
}

inline std::string describe(const concert::Reply& reply) {
  if (const auto* err = std::get_if<DomainError>(&reply)) {
    return "error " + std::string(error_name(err->code)) + " (" + err->message + ")";
  }
  return "success reply #" + std::to_string(reply.index());
}

// --- version-1 payloads -------------------------------------------------------

template <class T>
void put_v1(std::string& out, const T& v);

// Encodes only the fields schema version 1 had (those declared since 1).
struct V1Fields {
  std::string& out;
  template <class V>
  void operator()(const char*, const V& v, uint32_t since = 1, uint32_t = codec::kLive) const {
    if (since <= 1) put_v1(out, v);
  }
};

template <class T>
void put_v1(std::string& out, const T& v) {
  if constexpr (codec::Record<T>) {
    T::fields(v, V1Fields{out});
  } else if constexpr (codec::IsVector<T>::value) {
    codec::put_varint(out, v.size());
    for (const auto& e : v) put_v1(out, e);
  } else {
    codec::put_value(out, v);
  }
}

inline std::string hashed(std::string_view token) {
  return secrets::token_hash(token);
}

// A token event of a test, with a token named in clear turned into its
// hash (and, when issued, its seal); any other event as it is.
inline events::ConcertEvent with_hashed_token(events::ConcertEvent e) {
  std::visit(
      [](auto& x) {
        using E = std::decay_t<decltype(x)>;
        if constexpr (requires { x.token_hash; }) {
          if (!secrets::digest_of(x.token_hash).empty()) return;  // a hash already
          const std::string name = x.token_hash;
          x.token_hash = hashed(name);
          if constexpr (std::is_same_v<E, events::TokenIssued>) {
            x.token_seal = secrets::seal_token(secrets::test_key(), name);
          }
        }
      },
      e);
  return e;
}

// Version 1 held the token in clear: a hand-built event's name (in
// token_hash, as with_hashed_token reads it) goes there.
inline EventEnvelope v1_envelope(const events::ConcertEvent& e, int64_t time_ms) {
  EventEnvelope env = events::ConcertCatalog::encode(e, time_ms);
  env.version = 1;
  env.payload.clear();
  std::visit(
      [&](auto x) {
        if constexpr (requires { x.legacy_token; }) {
          if (x.legacy_token.empty()) x.legacy_token = x.token_hash;
        }
        put_v1(env.payload, x);
      },
      e);
  return env;
}

// Draws of 8 bytes (a tokenId's) come from `words` while any are left;
// every other draw, and 8-byte ones after, from a SeededRandom.
class ScriptedRandom final : public Random {
 public:
  explicit ScriptedRandom(std::deque<uint64_t> words, uint64_t seed = 1)
      : words_(std::move(words)), seeded_(seed) {}
  void fill(void* buf, size_t n) override {
    if (n == sizeof(uint64_t) && !words_.empty()) {
      std::memcpy(buf, &words_.front(), n);
      words_.pop_front();
      return;
    }
    seeded_.fill(buf, n);
  }
  size_t left() const { return words_.size(); }

 private:
  std::deque<uint64_t> words_;
  SeededRandom seeded_;
};

struct Outcome {
  concert::Reply reply;
  concert::Events events;   // clock events, the command's events, clock events after
  concert::Events decided;  // the command's own events
};

class Scenario {
 public:
  explicit Scenario(concert::Limits l = {}, uint64_t seed = 1) : limits(l), random(seed) {}

  template <class... E>
  Scenario& given(const E&... e) {
    (apply(with_hashed_token(events::ConcertEvent(e))), ...);
    return *this;
  }

  const Outcome& when(const concert::Command& command, int64_t at) {
    now = at;
    last = Outcome{};
    tick_into(last.events);
    auto actor = concert::actor_of(state, command);
    if (auto* err = std::get_if<DomainError>(&actor)) {
      last.reply = *err;
      return last;
    }
    concert::Context ctx{now, random, limits};
    last.reply = concert::decide(state, command, ctx, last.decided);
    for (const auto& e : last.decided) {
      apply(e);
      last.events.push_back(e);
    }
    tick_into(last.events);
    return last;
  }
  const Outcome& when(const concert::Command& command) { return when(command, now); }

  // Only the clock: applies and returns every clock event due at `at`.
  concert::Events tick(int64_t at) {
    now = at;
    concert::Events out;
    tick_into(out);
    return out;
  }

  void then_error(ErrorCode code) const {
    const auto* err = std::get_if<DomainError>(&last.reply);
    INFO("reply: ", describe(last.reply), ", events: ", event_names(last.events));
    REQUIRE_MESSAGE(err != nullptr, "expected error ", std::string(error_name(code)));
    CHECK(std::string(error_name(err->code)) == std::string(error_name(code)));
    CHECK_MESSAGE(last.decided.empty(), "a rejected command decided events");
  }

  template <class... Ts>
  std::tuple<Ts...> then_events() const {
    INFO("reply: ", describe(last.reply), ", events: ", event_names(last.events));
    REQUIRE(last.events.size() == sizeof...(Ts));
    return typed<Ts...>(std::index_sequence_for<Ts...>{});
  }

  void then_no_events() const {
    INFO("events: ", event_names(last.events));
    CHECK(last.events.empty());
  }

  template <class R>
  R then_reply() const {
    INFO("reply: ", describe(last.reply), ", events: ", event_names(last.events));
    REQUIRE(std::holds_alternative<R>(last.reply));
    return std::get<R>(last.reply);
  }

  concert::State state;
  concert::Limits limits;
  SeededRandom random;
  int64_t now = kT0;
  Outcome last;
  concert::Events history;

 private:
  template <class... Ts, size_t... I>
  std::tuple<Ts...> typed(std::index_sequence<I...>) const {
    const bool types_match = (std::holds_alternative<Ts>(last.events[I]) && ...);
    REQUIRE_MESSAGE(types_match, "event types differ");
    return std::tuple<Ts...>{std::get<Ts>(last.events[I])...};
  }
  void apply(const events::ConcertEvent& e) {
    state.apply(e);
    history.push_back(e);
  }
  void tick_into(concert::Events& out) {
    while (auto e = concert::next_clock_event(state, now, limits)) {
      apply(*e);
      out.push_back(*e);
    }
  }
};

}  // namespace reservoir::test
