// Retention (issue 16 item 4, engine/concert/state.h, docs/MEMORY.md):
// given events spanning more than kFinishedRetentionMs -> the state has
// evicted what decisions no longer need -> a command naming it is answered
// as for an id never seen; what decisions need stays however old; evicted
// ids are reused without ever confusing two records.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/concert/commands.h"
#include "engine/concert/decide.h"
#include "engine/concert/replies.h"
#include "engine/concert/snapshot.h"
#include "engine/concert/state.h"
#include "engine/id_table.h"
#include "events/concert_events.h"
#include "support/given.h"

namespace {

using namespace reservoir;
using namespace reservoir::concert;
using namespace reservoir::test;
namespace ev = reservoir::events;

constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kKeep = kFinishedRetentionMs;
constexpr int64_t kPrice = 1000;

// Users u1, u2 (100000 each); concert c1: "later" (a1..a4) in 10 days,
// "soon" (x1, x2) an hour after kT0.
Scenario given_world(Limits limits = {}) {
  Scenario g(limits);
  g.given(ev::UserRegistered{"u1", ""}, ev::UserRegistered{"u2", ""});
  ev::ConcertCreated c{"c1", "Show", {}};
  ev::ScheduleSpec later{"later", kT0 + 10 * kDay, {}};
  for (int n = 1; n <= 4; ++n) later.seats.push_back({"a" + std::to_string(n), n, kPrice});
  c.schedules.push_back(later);
  c.schedules.push_back({"soon", kT0 + kHour, {{"x1", 1, kPrice}, {"x2", 2, kPrice}}});
  g.given(c);
  g.given(ev::BalanceCharged{"u1", 100'000, 100'000, kT0});
  g.given(ev::BalanceCharged{"u2", 100'000, 100'000, kT0});
  return g;
}

std::string token_of(Scenario& g, const std::string& user, int64_t at) {
  g.when(IssueToken{user}, at);
  return g.then_reply<TokenReply>().token;
}

ReservationReply hold(Scenario& g, const std::string& token, const std::string& schedule,
                      const std::string& seat, int64_t at) {
  g.when(HoldSeats{token, std::nullopt, schedule, {seat}}, at);
  return g.then_reply<ReservationReply>();
}

// An event at `at` (a charge of u2), so retention runs at that time.
void touch(Scenario& g, int64_t at) {
  g.when(ChargeBalance{"u2", 1}, at);
  g.then_reply<BalanceReply>();
}

TEST_CASE("retention: an EXPIRED token is known 25 h after it expired, then INVALID_TOKEN") {
  Scenario g = given_world();
  const std::string t = token_of(g, "u1", kT0);
  const int64_t token_id = g.state.tokens[g.state.find_token(t)].token_id;
  const int64_t expired = kT0 + g.limits.token_ttl_ms;
  g.tick(expired);
  touch(g, expired + kKeep);  // exactly the retention: kept
  g.when(HoldSeats{t, std::nullopt, "later", {"a1"}});
  g.then_error(ErrorCode::TOKEN_EXPIRED);
  CHECK(g.state.tokens.size() == 1);

  touch(g, expired + kKeep + 1);
  g.when(HoldSeats{t, std::nullopt, "later", {"a1"}});
  g.then_error(ErrorCode::INVALID_TOKEN);
  g.when(CancelReservation{t, "anything"});
  g.then_error(ErrorCode::INVALID_TOKEN);
  CHECK(g.state.tokens.size() == 0);
  CHECK(g.state.find_token_id(token_id) == kNoId);
  CHECK(g.state.find_token_hash(hashed(t)) == kNoId);
  // The user is untouched and gets a new token.
  CHECK(g.state.users.at("u1").live_token == kNoId);
  CHECK(token_of(g, "u1", g.now) != t);
}

TEST_CASE("retention: a finished reservation goes 25 h after it finished; then it is not found") {
  enum class Finish { kCancel, kExpire, kRefund };
  for (Finish how : {Finish::kCancel, Finish::kExpire, Finish::kRefund}) {
    CAPTURE(static_cast<int>(how));
    Scenario g = given_world();
    const std::string t = token_of(g, "u1", kT0);
    const ReservationReply r = hold(g, t, "later", "a1", kT0);
    int64_t finished = kT0 + kMinute;
    ErrorCode while_kept = ErrorCode::RESERVATION_CANCELLED;
    if (how == Finish::kCancel) {
      g.when(CancelReservation{t, r.reservation_id}, finished);
      g.then_events<ev::ReservationCancelled>();
    } else if (how == Finish::kExpire) {
      finished = r.expires_at;
      REQUIRE(g.tick(finished).size() == 1);  // HoldExpired (the token lives on)
      while_kept = ErrorCode::RESERVATION_EXPIRED;
    } else {
      g.when(PayReservation{t, std::nullopt, r.reservation_id}, finished);
      g.then_reply<PaymentReply>();
      g.when(CancelReservation{token_of(g, "u1", finished), r.reservation_id}, finished);
      g.then_events<ev::ReservationRefunded>();
    }
    CHECK(g.state.payment_ids.size() == (how == Finish::kRefund ? 1 : 0));

    const std::string kept_token = token_of(g, "u1", finished + kKeep);
    g.when(CancelReservation{kept_token, r.reservation_id});
    g.then_error(while_kept);

    touch(g, finished + kKeep + 1);
    const std::string late = token_of(g, "u1", g.now);
    g.when(CancelReservation{late, r.reservation_id});
    g.then_error(ErrorCode::RESERVATION_NOT_FOUND);
    g.when(PayReservation{late, std::nullopt, "", 0, std::nullopt, r.seq});
    g.then_error(ErrorCode::RESERVATION_NOT_FOUND);
    g.when(FindReservation{late, "later", "a1"});
    g.then_error(ErrorCode::RESERVATION_NOT_FOUND);
    CHECK(g.state.reservations.size() == 0);
    CHECK(g.state.find_reservation_seq(r.seq) == kNoId);
    CHECK(g.state.users.at("u1").reservations.empty());
    CHECK(g.state.payment_ids.size() == 0);
    // Numbers go on from where they were.
    CHECK(hold(g, late, "later", "a1", g.now).seq == r.seq + 1);
  }
}

TEST_CASE("retention: a CONFIRMED reservation stays until 25 h after its schedule starts") {
  Scenario g = given_world();
  const std::string t = token_of(g, "u1", kT0);
  const ReservationReply r = hold(g, t, "soon", "x1", kT0);
  g.when(PayReservation{t, std::nullopt, r.reservation_id}, kT0 + kMinute);
  g.then_reply<PaymentReply>();
  const std::string t2 = token_of(g, "u1", kT0 + kMinute);
  const ReservationReply future = hold(g, t2, "later", "a1", kT0 + kMinute);
  g.when(PayReservation{t2, std::nullopt, future.reservation_id}, kT0 + kMinute);
  g.then_reply<PaymentReply>();
  const int64_t starts = kT0 + kHour;

  const std::string kept = token_of(g, "u1", starts + kKeep);
  g.when(CancelReservation{kept, r.reservation_id});
  g.then_error(ErrorCode::SCHEDULE_CLOSED);
  CHECK(g.state.live_seats(g.state.users.find("u1"), g.state.schedules.find("soon")) == 1);

  touch(g, starts + kKeep + 1);
  const std::string late = token_of(g, "u1", g.now);
  g.when(CancelReservation{late, r.reservation_id});
  g.then_error(ErrorCode::RESERVATION_NOT_FOUND);
  const Schedule& soon = g.state.schedules.at("soon");
  CHECK(soon.seats[soon.find_seat("x1")].holder == kRetiredHolder);  // still sold
  CHECK(soon.seats[soon.find_seat("x2")].holder == kNoId);
  CHECK(g.state.live_seats(g.state.users.find("u1"), g.state.schedules.find("soon")) == 0);
  g.when(HoldSeats{late, std::nullopt, "soon", {"x1"}});
  g.then_error(ErrorCode::SCHEDULE_CLOSED);
  // The reservation of the schedule a week ahead stays, paid.
  REQUIRE(g.state.reservations.size() == 1);
  CHECK(g.state.reservations.at(future.reservation_id).state == ReservationState::kConfirmed);
  CHECK(g.state.payment_ids.size() == 1);
  CHECK(g.state.users.at("u1").reservations ==
        std::vector<Id>{g.state.reservations.find(future.reservation_id)});
}

TEST_CASE("retention: balances, live holds and live tokens stay however old") {
  Limits limits;
  limits.hold_ttl_ms = 3 * kDay;
  limits.token_ttl_ms = 3 * kDay;
  limits.active_tokens_max = 1;
  Scenario g = given_world(limits);
  const std::string t1 = token_of(g, "u1", kT0);
  const std::string t2 = token_of(g, "u2", kT0);  // waits behind t1
  const ReservationReply r = hold(g, t1, "later", "a2", kT0);
  touch(g, kT0 + 2 * kDay);
  CHECK(g.state.users.at("u2").balance == 100'001);
  CHECK(g.state.tokens[g.state.find_token(t2)].state == TokenState::kWaiting);
  g.when(PayReservation{t1, std::nullopt, r.reservation_id});
  CHECK(g.then_reply<PaymentReply>().balance == 100'000 - kPrice);
  // t1 is spent: t2 is admitted, and u1's paid reservation stays.
  CHECK(g.state.tokens[g.state.find_token(t2)].state == TokenState::kActive);
  CHECK(g.state.reservations.at(r.reservation_id).state == ReservationState::kConfirmed);
}

TEST_CASE("retention: evicted ids are reused; an old id is not found even where its id lives on") {
  Scenario g = given_world();
  std::string t = token_of(g, "u1", kT0);
  std::vector<ReservationReply> old;
  for (int i = 0; i < 3; ++i) {
    old.push_back(hold(g, t, "later", "a" + std::to_string(i + 1), kT0));
    g.when(CancelReservation{t, old.back().reservation_id}, kT0);
  }
  const Id ids = g.state.reservations.id_end();
  t = token_of(g, "u1", kT0 + kKeep + kMinute);
  CHECK(g.state.reservations.size() == 0);
  for (int i = 0; i < 3; ++i) {
    const ReservationReply r = hold(g, t, "later", "a" + std::to_string(i + 1), g.now);
    const Id id = g.state.reservations.find(r.reservation_id);
    CHECK(locating_id(r.reservation_id) == id);  // the new ids still name their record
    CHECK(id < ids);                             // an old record's id
  }
  CHECK(g.state.reservations.id_end() == ids);
  CHECK(g.state.reservations.indexed() == 0);
  for (const ReservationReply& r : old) {
    CHECK(g.state.reservations.find(r.reservation_id) == kNoId);
    g.when(CancelReservation{t, r.reservation_id});
    g.then_error(ErrorCode::RESERVATION_NOT_FOUND);  // not the record now at its id
  }
  CHECK(g.state.reservations.size() == 3);
}

TEST_CASE("retention: one booking far ahead does not pin the numbers made after it") {
  Scenario g = given_world();
  std::string t = token_of(g, "u1", kT0);
  const ReservationReply pinned = hold(g, t, "later", "a1", kT0);
  g.when(PayReservation{t, std::nullopt, pinned.reservation_id}, kT0);
  t = token_of(g, "u1", kT0);
  for (int i = 0; i < 6000; ++i) {
    const ReservationReply r = hold(g, t, "later", "a2", kT0);
    g.when(CancelReservation{t, r.reservation_id}, kT0);
  }
  touch(g, kT0 + kKeep + kMinute);
  REQUIRE(g.state.reservations.size() == 1);
  CHECK(g.state.reservation_by_seq.size() < 4096 + 16);  // the window shed its dead half
  CHECK(g.state.find_reservation_seq(pinned.seq) ==
        g.state.reservations.find(pinned.reservation_id));
  for (int64_t seq = 2; seq <= 6001; ++seq) CHECK(g.state.find_reservation_seq(seq) == kNoId);
  t = token_of(g, "u1", g.now);
  const ReservationReply next = hold(g, t, "later", "a3", g.now);
  CHECK(next.seq == 6002);
  CHECK(g.state.find_reservation_seq(6002) == g.state.reservations.find(next.reservation_id));
  g.when(PayReservation{t, std::nullopt, "", 0, std::nullopt, pinned.seq});
  g.then_error(ErrorCode::ALREADY_PAID);  // found by its number
  State restored;
  REQUIRE(decode_state(encode_state(g.state), restored));
  CHECK(encode_state(restored) == encode_state(g.state));
  for (int64_t seq : {pinned.seq, int64_t{2}, int64_t{6001}, next.seq, int64_t{6003}}) {
    CHECK(restored.find_reservation_seq(seq) == g.state.find_reservation_seq(seq));
  }
}

// --- a long random run against a model ------------------------------------------------------

size_t retired_seats(const State& s) {
  size_t n = 0;
  for (Id id = 0; id < s.schedules.id_end(); ++id) {
    for (const Seat& seat : s.schedules[id].seats) n += seat.holder == kRetiredHolder ? 1 : 0;
  }
  return n;
}

// What the model expects of one record the engine made.
struct Expect {
  std::string user;
  int64_t seq = 0;
  ReservationState state = ReservationState::kPendingPayment;
  int64_t gone_after = INT64_MAX;  // evicted once an event's time passes this + kKeep
};

// Reads the decided and clock events of the last command into the model.
void learn(const Scenario& g, std::map<std::string, Expect>& reservations,
           std::map<std::string, int64_t>& expired_tokens, std::map<std::string, int64_t>& starts) {
  for (const auto& e : g.last.events) {
    if (const auto* h = std::get_if<ev::SeatsHeld>(&e)) {
      reservations[h->reservation_id] = Expect{h->user_id, h->seq};
    } else if (const auto* x = std::get_if<ev::HoldExpired>(&e)) {
      reservations[x->reservation_id].state = ReservationState::kExpired;
      reservations[x->reservation_id].gone_after = x->released_at;
    } else if (const auto* c = std::get_if<ev::ReservationCancelled>(&e)) {
      reservations[c->reservation_id].state = ReservationState::kCancelled;
      reservations[c->reservation_id].gone_after = c->released_at;
    } else if (const auto* p = std::get_if<ev::PaymentCompleted>(&e)) {
      reservations[p->reservation_id].state = ReservationState::kConfirmed;
      reservations[p->reservation_id].gone_after = starts.at(p->schedule_id);
    } else if (const auto* f = std::get_if<ev::ReservationRefunded>(&e)) {
      reservations[f->reservation_id].state = ReservationState::kRefunded;
      reservations[f->reservation_id].gone_after = f->refunded_at;
    } else if (const auto* te = std::get_if<ev::TokenExpired>(&e)) {
      expired_tokens[te->token_hash] = te->expired_at;
    }
  }
}

TEST_CASE("retention: over ten days of random commands, reused ids never confuse two records") {
  Limits limits;
  limits.active_tokens_max = 3;
  Scenario g(limits);
  const std::vector<std::string> users = {"u0", "u1", "u2", "u3", "u4"};
  for (const auto& u : users) {
    g.given(ev::UserRegistered{u, ""}, ev::BalanceCharged{u, 1'000'000'000, 1'000'000'000, kT0});
  }
  // A schedule starting every 12 hours, so CONFIRMED reservations retire all along.
  std::map<std::string, int64_t> starts;
  ev::ConcertCreated c{"c1", "Run", {}};
  for (int k = 1; k <= 24; ++k) {
    ev::ScheduleSpec s{"s" + std::to_string(k), kT0 + k * 12 * kHour, {}};
    for (int n = 1; n <= 3; ++n) s.seats.push_back({"z" + std::to_string(n), n, kPrice});
    starts[s.schedule_id] = s.starts_at;
    c.schedules.push_back(s);
  }
  g.given(c);

  std::mt19937_64 rng(2027);
  std::map<std::string, Expect> reservations;
  std::map<std::string, int64_t> expired_tokens;  // by tokenHash
  std::map<std::string, std::string> token;       // the user's last token
  std::vector<std::string> made;                  // reservation ids, in order
  std::map<std::string, std::string> newest;      // the user's newest reservation
  int64_t now = kT0;
  size_t evicted_checks = 0;
  for (int step = 0; step < 6000; ++step) {
    now += static_cast<int64_t>(rng() % (5 * kMinute));
    const std::string& u = users[rng() % users.size()];
    touch(g, now);  // retention is up to `now` before every command
    learn(g, reservations, expired_tokens, starts);
    if (token[u].empty() || rng() % 4 == 0) {
      g.when(IssueToken{u}, now);
      if (const auto* r = std::get_if<TokenReply>(&g.last.reply)) token[u] = r->token;
      learn(g, reservations, expired_tokens, starts);
    }
    const int kind = static_cast<int>(rng() % 4);
    // Mostly the user's own newest reservation (paid while its hold lasts),
    // sometimes anyone's, however old.
    std::string some = made.empty() ? "none" : made[rng() % made.size()];
    if (!newest[u].empty() && rng() % 3 != 0) some = newest[u];
    if (kind <= 1) {
      // Mostly a schedule of the next two days, which still takes holds.
      const int64_t next = 1 + (now - kT0) / (12 * kHour);
      const int64_t k = rng() % 4 != 0 ? next + static_cast<int64_t>(rng() % 4) : 1 + rng() % 24;
      const std::string sched = "s" + std::to_string(std::min<int64_t>(k, 24));
      g.when(HoldSeats{token[u], std::nullopt, sched, {"z" + std::to_string(1 + rng() % 3)}}, now);
      if (const auto* r = std::get_if<ReservationReply>(&g.last.reply)) {
        made.push_back(r->reservation_id);
        newest[u] = r->reservation_id;
      }
    } else if (kind == 2) {
      g.when(PayReservation{token[u], std::nullopt, some}, now);
    } else {
      g.when(CancelReservation{token[u], some}, now);
    }
    learn(g, reservations, expired_tokens, starts);

    // Every reservation ever made: held as itself, or gone everywhere.
    const int64_t last = g.now;
    for (const auto& [id, want] : reservations) {
      const bool gone = want.gone_after < last - kKeep;
      const Id at = g.state.reservations.find(id);
      if (gone) {
        ++evicted_checks;
        if (at != kNoId || g.state.find_reservation_seq(want.seq) != kNoId) {
          FAIL("step ", step, ": evicted reservation ", id, " is still found");
        }
        continue;
      }
      if (at == kNoId) FAIL("step ", step, ": reservation ", id, " was evicted too early");
      const Reservation& r = g.state.reservations[at];
      if (g.state.users.key(r.user) != want.user || r.seq != want.seq || r.state != want.state ||
          g.state.find_reservation_seq(want.seq) != at) {
        FAIL("step ", step, ": reservation ", id, " reads another record");
      }
    }
    for (const auto& [hash, expired] : expired_tokens) {
      const bool gone = expired < last - kKeep;
      if ((g.state.find_token_hash(hash) == kNoId) != gone) {
        FAIL("step ", step, ": token ", hash, gone ? " outlived" : " left before", " retention");
      }
    }
  }
  CHECK(evicted_checks > 0);
  CHECK(retired_seats(g.state) > 0);
  // Snapshot + tail == full replay, with evictions on both sides of the cut.
  const std::string want = encode_state(g.state);
  for (size_t cut = 0; cut <= g.history.size(); cut += g.history.size() / 7) {
    CAPTURE(cut);
    State prefix;
    for (size_t i = 0; i < cut; ++i) prefix.apply(g.history[i]);
    State resumed;
    REQUIRE(decode_state(encode_state(prefix), resumed));
    CHECK(encode_state(resumed) == encode_state(prefix));
    for (size_t i = cut; i < g.history.size(); ++i) resumed.apply(g.history[i]);
    CHECK(encode_state(resumed) == want);
  }
  CHECK(g.state.reservations.size() < made.size());
  CHECK(g.state.reservations.id_end() < made.size());  // ids were reused
  CHECK(g.state.reservations.indexed() == 0);          // and still located themselves
}

}  // namespace
