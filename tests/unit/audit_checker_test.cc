// audit::Checker (engine/audit/checker.h), given / when / then: a clean log
// passes; each forged violation of SPEC §1's invariants is reported once,
// at the offset of the event that breaks it, with the right invariant
// number; an undecodable event is a Corruption status, not a violation.
//
// Events are built as typed values and encoded with events::ConcertCatalog,
// exactly as the engine writes them; offsets are set by the harness.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/audit/checker.h"
#include "engine/concert/commands.h"
#include "engine/concert/module.h"
#include "engine/concert/replies.h"
#include "events/concert_events.h"
#include "events/engine_events.h"
#include "events/envelope.h"
#include "events/os.h"
#include "support/given.h"

namespace {

using namespace reservoir;
namespace ev = reservoir::events;

constexpr int64_t kT0 = 1'800'000'000'000;
constexpr int64_t kMinute = 60'000;
constexpr int64_t kHoldTtl = 5 * kMinute;
constexpr int64_t kBalanceMax = 1'000'000'000'000;
constexpr int64_t kChargeMax = 1'000'000'000;

// The catalog every scenario starts from: concert c1, schedule s1 with seats
// a1, a2 (10'000) and a3 (20'000); users u1 and u2 with 100'000, u3 with 5'000.
const std::vector<ev::SeatRef> kSeats = {{"a1", 1, 10'000}, {"a2", 2, 10'000}, {"a3", 3, 20'000}};

ev::SeatRef seat(const std::string& id) {
  for (const auto& s : kSeats) {
    if (s.seat_id == id) return s;
  }
  return {id, 99, 10'000};  // not in the catalog
}

class Audit {
 public:
  explicit Audit(audit::CheckerConfig config = {}) : checker(config) {
    given(ev::LimitsConfigured{kHoldTtl, 10 * kMinute, 1000, 4});
    for (const char* u : {"u1", "u2", "u3"}) {
      given(ev::UserRegistered{u, u});
      given(charged(u, u == std::string("u3") ? 5'000 : 100'000));
    }
    given(ev::ConcertCreated{"c1", "Concert", {{"s1", kT0 + 24 * 60 * kMinute, kSeats}}});
  }

  // --- building events (honest unless told otherwise) ---
  ev::BalanceCharged charged(const std::string& user, int64_t amount,
                             std::optional<int64_t> balance_after = std::nullopt) {
    balance[user] += amount;
    return ev::BalanceCharged{user, amount, balance_after.value_or(balance[user]), now};
  }
  ev::SeatsHeld held(const std::string& rid, const std::string& user,
                     const std::vector<std::string>& seat_ids, const std::string& schedule = "s1") {
    ev::SeatsHeld e;
    e.reservation_id = rid;
    e.user_id = user;
    e.concert_id = "c1";
    e.schedule_id = schedule;
    for (const auto& id : seat_ids) {
      e.seats.push_back(seat(id));
      e.total_price += seat(id).price;
    }
    e.created_at = now;
    e.expires_at = now + kHoldTtl;
    holds[rid] = e;
    return e;
  }
  ev::PaymentCompleted paid(const std::string& rid, const std::string& user,
                            std::optional<int64_t> at = std::nullopt) {
    const ev::SeatsHeld& h = holds.at(rid);
    balance[user] -= h.total_price;
    return ev::PaymentCompleted{"p-" + rid,       rid,          user,
                                h.schedule_id,    h.seats,      h.total_price,
                                at.value_or(now), balance[user]};
  }
  ev::ReservationRefunded refunded(const std::string& rid) {
    const ev::SeatsHeld& h = holds.at(rid);
    balance[h.user_id] += h.total_price;
    return ev::ReservationRefunded{rid,     "p-" + rid,    h.user_id, h.schedule_id,
                                   h.seats, h.total_price, now,       balance[h.user_id]};
  }
  template <class Released>
  Released released(const std::string& rid) {
    const ev::SeatsHeld& h = holds.at(rid);
    Released e;  // the release time is left at its default: the checker does not judge it
    e.reservation_id = rid;
    e.user_id = h.user_id;
    e.schedule_id = h.schedule_id;
    e.seats = h.seats;
    return e;
  }
  ev::TokenIssued issued(const std::string& token, const std::string& user) {
    ++seq;
    return ev::TokenIssued{token, user, seq, now, 1000 + seq};
  }
  ev::TokenActivated activated(const std::string& token, const std::string& user) {
    return ev::TokenActivated{token, user, 0, now, now + 10 * kMinute};
  }
  ev::TokenExpired expired(const std::string& token, const std::string& user, bool was_active) {
    return ev::TokenExpired{token, user, "TTL", was_active, now};
  }

  // --- numbering ---
  // Counts holds and payments in feed order, as the checker does, and gives
  // an event without a number (0) its honest one; a version-1 event keeps
  // its 0 (it had none).
  ev::ConcertEvent numbered(ev::ConcertEvent e, bool version1 = false) {
    if (auto* h = std::get_if<ev::SeatsHeld>(&e)) {
      ++holds_fed;
      if (h->seq == 0 && !version1) h->seq = holds_fed;
      hold_seq.try_emplace(h->reservation_id, holds_fed);
    } else if (auto* p = std::get_if<ev::PaymentCompleted>(&e)) {
      ++payments_fed;
      if (p->seq == 0 && !version1) p->seq = payments_fed;
      auto it = hold_seq.find(p->reservation_id);
      if (p->reservation_seq == 0 && !version1 && it != hold_seq.end()) {
        p->reservation_seq = it->second;
      }
    }
    return e;
  }
  // `e` as schema version 1 wrote it (support/given.h).
  EventEnvelope v1(const ev::ConcertEvent& e) {
    EventEnvelope env = test::v1_envelope(numbered(e, true), now);
    env.offset = next_offset;
    return env;
  }

  // --- feeding the checker ---
  EventEnvelope envelope(const ev::ConcertEvent& e) {
    EventEnvelope env = ev::ConcertCatalog::encode(e, now);
    env.offset = next_offset;
    return env;
  }
  // An event that breaks nothing.
  uint64_t given(const ev::ConcertEvent& e) { return given(envelope(numbered(e))); }
  uint64_t given(const EventEnvelope& env) {
    const uint64_t before = checker.violation_count();
    const uint64_t offset = when(env);
    INFO("given event at offset ", offset);
    std::string details;
    for (const auto& v : checker.violations()) details += v.detail + "; ";
    INFO("violations: ", details);
    REQUIRE(checker.violation_count() == before);
    return offset;
  }
  // The event under test (numbered honestly where it has no number);
  // returns its offset.
  uint64_t when(const ev::ConcertEvent& e) { return when(envelope(numbered(e))); }
  uint64_t when(const EventEnvelope& env) {
    status = checker.feed(env);
    REQUIRE_MESSAGE(status.ok(), status.ToString());
    next_offset = env.offset + 1;
    return env.offset;
  }

  void then_clean() const {
    CHECK(checker.violation_count() == 0);
    for (const auto& v : checker.violations()) {
      INFO("violation at ", v.offset, " ", v.event_type, " invariant ", v.invariant, ": ",
           v.detail);
      CHECK(false);
    }
  }
  // Exactly one violation in the whole log, and it is this one.
  void then_violation(uint64_t offset, const std::string& type, int invariant) const {
    REQUIRE(checker.violations().size() == checker.violation_count());
    for (const auto& v : checker.violations()) {
      INFO("violation at ", v.offset, " ", v.event_type, " invariant ", v.invariant, ": ",
           v.detail);
      CHECK(v.offset == offset);
      CHECK(v.event_type == type);
      CHECK(v.invariant == invariant);
      CHECK_FALSE(v.detail.empty());
    }
    CHECK(checker.violation_count() == 1);
  }

  audit::Checker checker;
  Status status;
  uint64_t next_offset = 0;
  int64_t now = kT0;
  int64_t seq = 0;
  int64_t holds_fed = 0;
  int64_t payments_fed = 0;
  std::map<std::string, int64_t> hold_seq;  // reservation id -> its number
  std::map<std::string, int64_t> balance;
  std::map<std::string, ev::SeatsHeld> holds;
};

// --- clean logs ---------------------------------------------------------------------------

TEST_CASE("audit checker: a clean lifecycle passes every invariant") {
  Audit a;
  a.given(a.issued("t1", "u1"));
  a.given(a.activated("t1", "u1"));
  a.given(a.held("r1", "u1", {"a1", "a3"}));
  a.now += kMinute;
  a.given(a.paid("r1", "u1"));
  a.given(ev::TokenExpired{"t1", "u1", "PAID", true, a.now});
  a.given(a.issued("t2", "u1"));  // the first token is spent: a new one is fine
  a.given(a.activated("t2", "u1"));
  a.given(a.refunded("r1"));
  a.given(a.held("r2", "u1", {"a1"}));  // refunded seats are free again
  a.given(a.released<ev::ReservationCancelled>("r2"));
  a.given(a.issued("t3", "u2"));
  a.given(a.activated("t3", "u2"));
  a.given(a.held("r3", "u2", {"a1", "a2"}));  // cancelled seats are free again
  a.now += kHoldTtl;
  a.given(a.released<ev::HoldExpired>("r3"));
  a.given(a.expired("t2", "u1", true));
  a.given(a.expired("t3", "u2", true));
  a.given(a.held("r4", "u2", {"a1", "a2", "a3"}));               // expired seats are free again
  a.given(a.paid("r4", "u2", a.holds.at("r4").expires_at - 1));  // the last millisecond
  a.given(a.charged("u1", kChargeMax));                          // the largest charge

  a.then_clean();
  CHECK(a.checker.events_checked() == a.next_offset);
  CHECK(a.checker.users() == 3);
  CHECK(a.checker.live_seats() == 3);  // r4's seats are SOLD
  CHECK(a.checker.total_balance() == a.balance["u1"] + a.balance["u2"] + a.balance["u3"]);
}

TEST_CASE("audit checker: a balance of exactly 10^12 is allowed") {
  Audit a;
  const int64_t charges = (kBalanceMax - a.balance["u1"]) / kChargeMax;
  for (int64_t i = 0; i < charges; ++i) a.given(a.charged("u1", kChargeMax));
  a.given(a.charged("u1", kBalanceMax - a.balance["u1"]));
  CHECK(a.balance["u1"] == kBalanceMax);
  a.then_clean();
}

// A random command stream through the real engine core writes only logs the
// independent checker accepts; its totals agree with the engine's state.
TEST_CASE("audit checker: logs written by the engine core pass") {
  const concert::Limits limits{kHoldTtl, 10 * kMinute, 3, 2};
  concert::Module module(limits);
  SeededRandom random(7);
  std::mt19937_64 rng(11);
  std::vector<EventEnvelope> log;
  int64_t now = kT0;
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };

  module.start(now, log);
  const std::vector<std::string> users = {"u0", "u1", "u2", "u3", "u4"};
  for (const auto& u : users) module.execute(concert::RegisterUser{u, u}, now, random, log);
  concert::CreateConcert cc{"c1", "Concert", {}};
  for (int s = 0; s < 2; ++s) {
    // s0 starts after ~half the run (later commands on it are SCHEDULE_CLOSED); s1 never.
    concert::ScheduleInput si{
        "s" + std::to_string(s), now + (s == 0 ? 12 : 1000) * 60 * kMinute, {}};
    for (int n = 1; n <= 6; ++n) si.seats.push_back({"a" + std::to_string(n), n, 1000 * n});
    cc.schedules.push_back(si);
  }
  module.execute(cc, now, random, log);

  std::map<std::string, std::string> token;  // user -> last token issued
  std::vector<std::string> reservations;
  std::map<std::string, std::vector<std::string>> mine;  // user -> own reservations
  // Mostly one of the user's own reservations, sometimes anybody's.
  auto some_reservation = [&](const std::string& user) {
    const auto& own = mine[user];
    if (!own.empty() && pick(2) == 0) return own.back();
    if (!own.empty() && pick(4) != 0) return own[pick(own.size())];
    return reservations[pick(reservations.size())];
  };
  for (int step = 0; step < 3000; ++step) {
    now += static_cast<int64_t>(rng() % 20'000);
    if (pick(50) == 0) now += static_cast<int64_t>(rng() % (30 * kMinute));
    const std::string& user = users[pick(users.size())];
    concert::Reply reply;
    switch (pick(6)) {
      case 0:
        reply =
            module.execute(concert::ChargeBalance{user, 1 + static_cast<int64_t>(rng() % 20'000)},
                           now, random, log);
        break;
      case 1:
        reply = module.execute(concert::IssueToken{user}, now, random, log);
        if (auto* t = std::get_if<concert::TokenReply>(&reply)) token[user] = t->token;
        break;
      case 2:
      case 3: {
        reply = module.execute(concert::IssueToken{user}, now, random, log);
        if (auto* t = std::get_if<concert::TokenReply>(&reply)) token[user] = t->token;
        std::vector<std::string> seats = {"a" + std::to_string(1 + pick(6))};
        if (pick(2) == 0) seats.push_back("a" + std::to_string(1 + pick(6)));
        if (seats.size() == 2 && seats[0] == seats[1]) seats.pop_back();
        reply = module.execute(
            concert::HoldSeats{token[user], std::nullopt, "s" + std::to_string(pick(2)), seats},
            now, random, log);
        if (auto* r = std::get_if<concert::ReservationReply>(&reply)) {
          reservations.push_back(r->reservation_id);
          mine[user].push_back(r->reservation_id);
          if (pick(2) == 0) {
            now += static_cast<int64_t>(rng() % 5000);
            module.execute(concert::PayReservation{token[user], std::nullopt, r->reservation_id},
                           now, random, log);
          }
        }
        break;
      }
      case 4:
        if (reservations.empty()) break;
        reply = module.execute(
            concert::PayReservation{token[user], std::nullopt, some_reservation(user)}, now, random,
            log);
        break;
      case 5:
        if (reservations.empty()) break;
        // A user whose token was spent by a payment asks for a new one to cancel.
        reply = module.execute(concert::IssueToken{user}, now, random, log);
        if (auto* t = std::get_if<concert::TokenReply>(&reply)) token[user] = t->token;
        reply = module.execute(concert::CancelReservation{token[user], some_reservation(user)}, now,
                               random, log);
        break;
    }
  }
  std::map<std::string, int> types;
  for (const auto& env : log) ++types[env.type];
  for (const char* t : {"SeatsHeld", "PaymentCompleted", "ReservationRefunded",
                        "ReservationCancelled", "HoldExpired", "TokenActivated", "TokenExpired"}) {
    INFO("event type ", std::string(t));
    CHECK(types[t] >= 10);  // the workload reaches every lifecycle
  }

  audit::Checker checker;
  for (size_t i = 0; i < log.size(); ++i) {
    log[i].offset = i;
    Status s = checker.feed(log[i]);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  for (const auto& v : checker.violations()) {
    INFO("violation at ", v.offset, " ", v.event_type, " invariant ", v.invariant, ": ", v.detail);
    CHECK(false);
  }
  CHECK(checker.violation_count() == 0);
  CHECK(checker.events_checked() == log.size());
  int64_t engine_total = 0;
  const concert::State& state = module.state();
  for (Id u = 0; u < state.users.size(); ++u) engine_total += state.users[u].balance;
  CHECK(checker.total_balance() == engine_total);
  size_t engine_live_seats = 0;
  for (Id s = 0; s < state.schedules.size(); ++s) {
    for (const auto& seat : state.schedules[s].seats) engine_live_seats += seat.holder != kNoId;
  }
  CHECK(checker.live_seats() == engine_live_seats);
}

// --- invariant 1: seats -------------------------------------------------------------------

TEST_CASE("audit checker: a double sale is invariant 1 at the second hold") {
  Audit a;
  a.given(a.held("r1", "u1", {"a1"}));
  SUBCASE("while the first hold is pending") {
    const uint64_t at = a.when(a.held("r2", "u2", {"a2", "a1"}));
    a.then_violation(at, "SeatsHeld", 1);
  }
  SUBCASE("while the first reservation is confirmed") {
    a.given(a.paid("r1", "u1"));
    const uint64_t at = a.when(a.held("r2", "u2", {"a1"}));
    a.then_violation(at, "SeatsHeld", 1);
  }
  SUBCASE("by the same user, later") {
    a.now += kMinute;
    const uint64_t at = a.when(a.held("r2", "u1", {"a1"}));
    a.then_violation(at, "SeatsHeld", 1);
  }
  SUBCASE("one seat twice in one hold") {
    const uint64_t at = a.when(a.held("r2", "u2", {"a2", "a2"}));
    a.then_violation(at, "SeatsHeld", 1);
  }
}

TEST_CASE("audit checker: a seat is free again once its reservation is not live") {
  Audit a;
  a.given(a.held("r1", "u1", {"a1"}));
  SUBCASE("cancelled") {
    a.given(a.released<ev::ReservationCancelled>("r1"));
  }
  SUBCASE("expired") {
    a.now += kHoldTtl;
    a.given(a.released<ev::HoldExpired>("r1"));
  }
  SUBCASE("refunded") {
    a.given(a.paid("r1", "u1"));
    a.given(a.refunded("r1"));
  }
  a.given(a.held("r2", "u2", {"a1"}));
  a.then_clean();
}

TEST_CASE("audit checker: a hold of a seat not in the catalog is invariant 1") {
  Audit a;
  SUBCASE("unknown seat of a known schedule") {
    const uint64_t at = a.when(a.held("r1", "u1", {"a1", "zz"}));
    a.then_violation(at, "SeatsHeld", 1);
  }
  SUBCASE("unknown schedule") {
    const uint64_t at = a.when(a.held("r1", "u1", {"a1"}, "s-nowhere"));
    a.then_violation(at, "SeatsHeld", 1);
  }
}

// --- invariant 2: balances ----------------------------------------------------------------

TEST_CASE("audit checker: a payment exceeding the balance is invariant 2 (negative balance)") {
  Audit a;
  a.given(a.held("r1", "u3", {"a1", "a3"}));
  const uint64_t at = a.when(a.paid("r1", "u3"));  // 5'000 - 30'000, balanceAfter says so
  CHECK(a.balance["u3"] == -25'000);
  a.then_violation(at, "PaymentCompleted", 2);
}

TEST_CASE("audit checker: a payment of exactly the balance is fine") {
  Audit a;
  a.given(a.charged("u3", 25'000));
  a.given(a.held("r1", "u3", {"a1", "a3"}));
  a.given(a.paid("r1", "u3"));
  CHECK(a.balance["u3"] == 0);
  a.then_clean();
}

TEST_CASE("audit checker: a balanceAfter that is not charges - payments + refunds is invariant 2") {
  Audit a;
  SUBCASE("on a charge") {
    const uint64_t at = a.when(a.charged("u1", 100, 100'200));
    a.then_violation(at, "BalanceCharged", 2);
  }
  SUBCASE("on a payment") {
    a.given(a.held("r1", "u1", {"a1"}));
    ev::PaymentCompleted p = a.paid("r1", "u1");
    p.balance_after += 1;
    const uint64_t at = a.when(p);
    a.then_violation(at, "PaymentCompleted", 2);
  }
  SUBCASE("on a refund") {
    a.given(a.held("r1", "u1", {"a1"}));
    a.given(a.paid("r1", "u1"));
    ev::ReservationRefunded r = a.refunded("r1");
    r.balance_after -= 10'000;  // as if the refund had not been credited
    const uint64_t at = a.when(r);
    a.then_violation(at, "ReservationRefunded", 2);
  }
}

TEST_CASE("audit checker: a charge outside 1..10^9 is invariant 2") {
  Audit a;
  SUBCASE("above 10^9") {
    const uint64_t at = a.when(a.charged("u1", kChargeMax + 1));
    a.then_violation(at, "BalanceCharged", 2);
  }
  SUBCASE("zero") {
    const uint64_t at = a.when(a.charged("u1", 0));
    a.then_violation(at, "BalanceCharged", 2);
  }
  SUBCASE("negative") {
    const uint64_t at = a.when(a.charged("u1", -5));
    a.then_violation(at, "BalanceCharged", 2);
  }
}

TEST_CASE("audit checker: a balance crossing 10^12 is invariant 2") {
  Audit a;
  a.given(a.charged("u1", kChargeMax - a.balance["u1"]));
  while (a.balance["u1"] < kBalanceMax) a.given(a.charged("u1", kChargeMax));
  REQUIRE(a.balance["u1"] == kBalanceMax);
  SUBCASE("by a charge") {
    const uint64_t at = a.when(a.charged("u1", 1));
    a.then_violation(at, "BalanceCharged", 2);
  }
  SUBCASE("by a refund") {
    a.given(a.held("r1", "u1", {"a3"}));
    a.given(a.paid("r1", "u1"));                   // 10^12 - 20'000
    a.given(a.charged("u1", 20'000));              // 10^12 again
    const uint64_t at = a.when(a.refunded("r1"));  // 10^12 + 20'000
    a.then_violation(at, "ReservationRefunded", 2);
  }
}

TEST_CASE("audit checker: a money event for an unknown user is invariant 2") {
  Audit a;
  const uint64_t at = a.when(a.charged("ghost", 100));
  a.then_violation(at, "BalanceCharged", 2);
}

// --- invariant 3: payments ----------------------------------------------------------------

TEST_CASE("audit checker: a payment at or after expiresAt is invariant 3") {
  Audit a;
  a.given(a.held("r1", "u1", {"a1"}));
  const int64_t expires_at = a.holds.at("r1").expires_at;
  SUBCASE("exactly at expiresAt") {
    a.now = expires_at;
    const uint64_t at = a.when(a.paid("r1", "u1"));
    a.then_violation(at, "PaymentCompleted", 3);
  }
  SUBCASE("later, the expiry not yet processed") {
    a.now = expires_at + 3 * kMinute;
    const uint64_t at = a.when(a.paid("r1", "u1"));
    a.then_violation(at, "PaymentCompleted", 3);
  }
  SUBCASE("paidAt before expiresAt but decided (event time) after it") {
    a.now = expires_at + 1;
    const uint64_t at = a.when(a.paid("r1", "u1", expires_at - 1));
    a.then_violation(at, "PaymentCompleted", 3);
  }
  SUBCASE("after the hold expired and its seats were released") {
    a.now = expires_at;
    a.given(a.released<ev::HoldExpired>("r1"));
    const uint64_t at = a.when(a.paid("r1", "u1"));
    REQUIRE(a.checker.violation_count() >= 1);
    for (const auto& v : a.checker.violations()) {
      CHECK(v.offset == at);
      CHECK(v.invariant == 3);
    }
  }
}

TEST_CASE("audit checker: a payment by a non-owner is invariant 3") {
  Audit a;
  a.given(a.held("r1", "u1", {"a1"}));
  const uint64_t at = a.when(a.paid("r1", "u2"));  // u2 pays from its own balance
  a.then_violation(at, "PaymentCompleted", 3);
}

TEST_CASE("audit checker: a second payment is invariant 3") {
  Audit a;
  a.given(a.held("r1", "u1", {"a1"}));
  a.given(a.paid("r1", "u1"));
  SUBCASE("while confirmed") {
    const uint64_t at = a.when(a.paid("r1", "u1"));
    a.then_violation(at, "PaymentCompleted", 3);
  }
  SUBCASE("after the refund") {
    a.given(a.refunded("r1"));
    const uint64_t at = a.when(a.paid("r1", "u1"));
    a.then_violation(at, "PaymentCompleted", 3);
  }
}

TEST_CASE("audit checker: a payment of a cancelled reservation is invariant 3") {
  Audit a;
  a.given(a.held("r1", "u1", {"a1"}));
  a.given(a.released<ev::ReservationCancelled>("r1"));
  const uint64_t at = a.when(a.paid("r1", "u1"));
  a.then_violation(at, "PaymentCompleted", 3);
}

// --- invariant 4: tokens ------------------------------------------------------------------

TEST_CASE(
    "audit checker: an ACTIVE token beyond LimitsConfigured's activeTokensMax is invariant 4") {
  // The checker's own default (1000) yields to what the log recorded.
  Audit a;
  a.given(ev::LimitsConfigured{kHoldTtl, 10 * kMinute, 2, 4});
  a.given(a.issued("t1", "u1"));
  a.given(a.issued("t2", "u2"));
  a.given(a.issued("t3", "u3"));
  a.given(a.activated("t1", "u1"));
  a.given(a.activated("t2", "u2"));
  SUBCASE("a third ACTIVE token") {
    const uint64_t at = a.when(a.activated("t3", "u3"));
    a.then_violation(at, "TokenActivated", 4);
  }
  SUBCASE("a third once one of two has expired is fine") {
    a.given(a.expired("t1", "u1", true));
    a.given(a.activated("t3", "u3"));
    a.then_clean();
  }
  SUBCASE("a WAITING token expiring frees no ACTIVE place") {
    a.given(a.expired("t3", "u3", false));
    a.given(a.issued("t4", "u3"));
    const uint64_t at = a.when(a.activated("t4", "u3"));
    a.then_violation(at, "TokenActivated", 4);
  }
}

TEST_CASE("audit checker: the configured activeTokensMax is used before any LimitsConfigured") {
  audit::CheckerConfig config;
  config.active_tokens_max = 1;
  audit::Checker checker(config);
  std::vector<ev::ConcertEvent> events = {ev::UserRegistered{"u1", ""},
                                          ev::UserRegistered{"u2", ""},
                                          ev::TokenIssued{"t1", "u1", 1, kT0, 1001},
                                          ev::TokenIssued{"t2", "u2", 2, kT0, 1002},
                                          ev::TokenActivated{"t1", "u1", 1, kT0, kT0 + kMinute},
                                          ev::TokenActivated{"t2", "u2", 2, kT0, kT0 + kMinute}};
  for (size_t i = 0; i < events.size(); ++i) {
    EventEnvelope env = ev::ConcertCatalog::encode(events[i], kT0);
    env.offset = i;
    REQUIRE(checker.feed(env).ok());
  }
  REQUIRE(checker.violation_count() == 1);
  CHECK(checker.violations()[0].offset == 5);
  CHECK(checker.violations()[0].invariant == 4);
}

TEST_CASE("audit checker: a second live token for a user is invariant 4") {
  Audit a;
  a.given(a.issued("t1", "u1"));
  SUBCASE("while the first is WAITING") {
    const uint64_t at = a.when(a.issued("t2", "u1"));
    a.then_violation(at, "TokenIssued", 4);
  }
  SUBCASE("while the first is ACTIVE") {
    a.given(a.activated("t1", "u1"));
    const uint64_t at = a.when(a.issued("t2", "u1"));
    a.then_violation(at, "TokenIssued", 4);
  }
  SUBCASE("once the first has expired it is fine") {
    a.given(a.activated("t1", "u1"));
    a.given(a.expired("t1", "u1", true));
    a.given(a.issued("t2", "u1"));
    a.then_clean();
  }
}

// --- invariant 5: the log -----------------------------------------------------------------

TEST_CASE("audit checker: an offset gap is invariant 5") {
  Audit a;
  SUBCASE("a skipped offset") {
    EventEnvelope env = a.envelope(a.charged("u1", 10));
    env.offset += 1;
    const uint64_t at = a.when(env);
    a.then_violation(at, "BalanceCharged", 5);
  }
  SUBCASE("a repeated offset") {
    EventEnvelope env = a.envelope(a.charged("u1", 10));
    env.offset -= 1;
    const uint64_t at = a.when(env);
    a.then_violation(at, "BalanceCharged", 5);
  }
  SUBCASE("a log that does not start at 0") {
    audit::Checker checker;
    EventEnvelope env = ev::ConcertCatalog::encode(ev::UserRegistered{"u1", ""}, kT0);
    env.offset = 1;
    REQUIRE(checker.feed(env).ok());
    REQUIRE(checker.violation_count() == 1);
    CHECK(checker.violations()[0].offset == 1);
    CHECK(checker.violations()[0].invariant == 5);
  }
}

TEST_CASE("audit checker: an undecodable event is a Corruption status naming its offset") {
  Audit a;
  EventEnvelope env = a.envelope(a.held("r1", "u1", {"a1"}));
  SUBCASE("garbage payload") {
    env.payload = "\xff\xff\xff\xff garbage";
  }
  SUBCASE("truncated payload") {
    env.payload.resize(env.payload.size() / 2);
  }
  SUBCASE("trailing bytes") {
    env.payload += "x";
  }
  SUBCASE("unknown type") {
    env.type = "SeatsTeleported";
  }
  SUBCASE("unknown version") {
    env.version = 99;
  }
  const Status s = a.checker.feed(env);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message().find("offset " + std::to_string(env.offset)) != std::string::npos);
  CHECK(a.checker.violation_count() == 0);
}

// checker.h: "Corruption when the envelope cannot be decoded". The engine's
// own event (IdempotencyRecorded) is no exception: the server's recovery
// (Writer::replay) refuses such a log, so the auditor must not call it sound.
TEST_CASE("audit checker: an undecodable IdempotencyRecorded is a Corruption status too") {
  Audit a;
  EventEnvelope env;
  env.offset = a.next_offset;
  env.time_ms = a.now;
  env.type = "IdempotencyRecorded";
  env.version = 1;
  SUBCASE("garbage payload") {
    env.payload = "\xff\xff\xff\xff garbage";
  }
  SUBCASE("unknown version") {
    ev::IdempotencyRecorded rec{"u1", "k1", 42, 200, "{}"};
    env = ev::EngineCatalog::encode(ev::EngineEvent(rec), a.now);
    env.offset = a.next_offset;
    env.version = 99;
  }
  const Status s = a.checker.feed(env);
  CHECK(s.code() == Status::Code::kCorruption);
}

TEST_CASE("audit checker: a well-formed IdempotencyRecorded changes no invariant") {
  Audit a;
  ev::IdempotencyRecorded rec{"u1", "k1", 42, 200, "{\"result\":\"SUCCESS\"}"};
  EventEnvelope env = ev::EngineCatalog::encode(ev::EngineEvent(rec), a.now);
  env.offset = a.next_offset;
  a.when(env);
  a.given(a.charged("u1", 10));  // offsets still consecutive after it
  a.then_clean();
}

TEST_CASE("audit checker: violations beyond violations_kept_max are counted, not kept") {
  audit::CheckerConfig config;
  config.violations_kept_max = 3;
  Audit a(config);
  for (int i = 0; i < 10; ++i) a.when(a.charged("u1", 10, 1));
  CHECK(a.checker.violation_count() == 10);
  CHECK(a.checker.violations().size() == 3);
}

// --- invariant 6: opening times, numbers, tokenIds (SPEC §5.1) ----------------------------

TEST_CASE("audit checker: a hold before its schedule's reservationOpensAt is invariant 6") {
  Audit a;
  ev::ScheduleSpec drop{"drop", kT0 + 48 * 60 * kMinute, kSeats};
  drop.opens_at = kT0 + 60 * kMinute;
  a.given(ev::ConcertCreated{"c2", "Drop", {drop}});
  a.now = kT0 + 60 * kMinute - 1;
  const uint64_t early = a.when(a.held("r1", "u1", {"a1"}, "drop"));
  a.now = kT0 + 60 * kMinute;
  a.given(a.held("r2", "u1", {"a2"}, "drop"));  // at the opening: fine
  a.then_violation(early, "SeatsHeld", 6);
}

TEST_CASE("audit checker: reservation numbers out of sequence are invariant 6") {
  Audit a;
  a.given(a.held("r1", "u1", {"a1"}));  // numbered 1 by the harness
  ev::SeatsHeld second = a.held("r2", "u1", {"a2"});
  SUBCASE("a gap") {
    second.seq = 3;
  }
  SUBCASE("a repeat") {
    second.seq = 1;
  }
  SUBCASE("a version-2 hold without a number") {
    ev::ConcertEvent e = second;
    const uint64_t at = a.when(a.envelope(e));  // unnumbered, at version 2
    a.then_violation(at, "SeatsHeld", 6);
    return;
  }
  const uint64_t at = a.when(second);
  a.then_violation(at, "SeatsHeld", 6);
}

TEST_CASE(
    "audit checker: payment numbers out of sequence, or naming another reservation, are invariant "
    "6") {
  Audit a;
  a.given(a.held("r1", "u1", {"a1"}));
  a.given(a.held("r2", "u2", {"a2"}));
  a.given(a.paid("r1", "u1"));  // payment 1 of reservation 1
  ev::PaymentCompleted p = a.paid("r2", "u2");
  SUBCASE("a repeated payment number") {
    p.seq = 1;
  }
  SUBCASE("the wrong reservation number") {
    p.reservation_seq = 1;
  }
  const uint64_t at = a.when(p);
  a.then_violation(at, "PaymentCompleted", 6);
}

TEST_CASE("audit checker: version-1 holds and payments are numbered by counting") {
  Audit a;
  // Version-1 events carry no numbers; the version-2 ones after them go on counting.
  a.given(a.v1(a.held("r1", "u1", {"a1"})));
  a.given(a.v1(a.held("r2", "u2", {"a2"})));
  a.given(a.v1(a.paid("r2", "u2")));
  ev::SeatsHeld third = a.held("r3", "u1", {"a3"});
  third.seq = 3;
  a.given(third);
  ev::PaymentCompleted paid = a.paid("r3", "u1");
  paid.seq = 2;
  paid.reservation_seq = 3;
  a.given(paid);
  a.then_clean();
}

TEST_CASE("audit checker: a tokenId outside [1, 2^53) or reused is invariant 6") {
  Audit a;
  a.given(a.issued("t1", "u1"));
  ev::TokenIssued bad = a.issued("t2", "u2");
  SUBCASE("zero") {
    bad.token_id = 0;
  }
  SUBCASE("2^53") {
    bad.token_id = int64_t{1} << 53;
  }
  SUBCASE("negative") {
    bad.token_id = -5;
  }
  SUBCASE("another token's") {
    bad.token_id = 1001;  // t1's: issued() gives 1000 + the issue number
  }
  const uint64_t at = a.when(bad);
  a.then_violation(at, "TokenIssued", 6);
}

TEST_CASE(
    "audit checker: version-1 tokens and catalogs read with derived tokenIds and opening times") {
  Audit a;
  a.given(a.v1(a.issued("t1", "u1")));  // tokenId derived from the token
  a.given(a.v1(a.issued("t2", "u2")));
  a.now += kMinute;
  a.given(a.v1(ev::ConcertCreated{"c-old", "Old", {{"s-old", kT0 + 48 * 60 * kMinute, kSeats}}}));
  a.given(a.held("r1", "u1", {"a1"}, "s-old"));  // opens at creation: a hold after it is fine
  a.then_clean();
}

}  // namespace
