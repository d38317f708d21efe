// The concert core (decide + apply + clock), given events -> when command ->
// then events or error. SPEC §1 (invariants) and §2 (errors, check order).
#include <doctest/doctest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/concert/commands.h"
#include "engine/concert/decide.h"
#include "engine/concert/replies.h"
#include "engine/concert/state.h"
#include "engine/reply.h"
#include "events/concert_events.h"
#include "support/given.h"

namespace {

using namespace reservoir;
using namespace reservoir::concert;
using namespace reservoir::test;
namespace ev = reservoir::events;

constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kSoonStart = kT0 + 8 * kMinute;  // schedule "soon" starts then

// --- given events -----------------------------------------------------------

ev::UserRegistered user(const std::string& id) {
  return {id, "name of " + id};
}

// Concert c1: s1 (a1..a6, price n*10000) tomorrow, s2 (b1, b2) the day
// after, and "soon" (x1, x2) starting 8 minutes after kT0.
ev::ConcertCreated catalog() {
  ev::ConcertCreated c{"c1", "Night at the Opera", {}};
  ev::ScheduleSpec s1{"s1", kT0 + kDay, {}};
  for (int n = 1; n <= 6; ++n) s1.seats.push_back({"a" + std::to_string(n), n, n * 10'000});
  c.schedules.push_back(s1);
  c.schedules.push_back({"s2", kT0 + 2 * kDay, {{"b1", 1, 50'000}, {"b2", 2, 50'000}}});
  c.schedules.push_back({"soon", kSoonStart, {{"x1", 1, 7'000}, {"x2", 2, 7'000}}});
  return c;
}

ev::TokenIssued issued(const std::string& token, const std::string& u, int64_t seq,
                       int64_t at = kT0) {
  return {token, u, seq, at};
}

ev::TokenActivated activated(const std::string& token, const std::string& u, int64_t seq,
                             int64_t at = kT0, int64_t ttl = Limits{}.token_ttl_ms) {
  return {token, u, seq, at, at + ttl};
}

// Charges `amount` more to `u` in consistent BalanceCharged events.
void given_balance(Scenario& g, const std::string& u, int64_t amount) {
  while (amount > 0) {
    const int64_t chunk = std::min(amount, kChargeMax);
    g.given(ev::BalanceCharged{u, chunk, g.state.users.at(u).balance + chunk, g.now});
    amount -= chunk;
  }
}

// Users u1..u3, the catalog, t1 (u1) and t2 (u2) ACTIVE since kT0; at most two
// ACTIVE tokens, so a third token waits.
Scenario standard() {
  Limits limits;
  limits.active_tokens_max = 2;
  Scenario g(limits);
  g.given(user("u1"), user("u2"), user("u3"), catalog());
  g.given(issued("t1", "u1", 1), activated("t1", "u1", 1));
  g.given(issued("t2", "u2", 2), activated("t2", "u2", 2));
  return g;
}

// The reservation holding a seat, or "" when it is AVAILABLE.
std::string holder(const Scenario& g, const std::string& schedule, const std::string& id) {
  const Schedule& s = g.state.schedules.at(schedule);
  const Id seat = s.find_seat(id);
  REQUIRE(seat != kNoId);
  const Id r = s.seats[seat].holder;
  return r == kNoId ? std::string() : std::string(g.state.reservations.key(r));
}

int64_t live_seats(const Scenario& g, const std::string& user, const std::string& schedule) {
  return g.state.live_seats(g.state.users.find(user), g.state.schedules.find(schedule));
}

// Holds seats with `token` at `at` and returns the reservation id.
std::string hold(Scenario& g, const std::string& token, const std::string& schedule,
                 std::vector<std::string> seats, int64_t at) {
  g.when(HoldSeats{token, std::nullopt, schedule, std::move(seats)}, at);
  return g.then_reply<ReservationReply>().reservation_id;
}

std::string token_of(Scenario& g, const std::string& u, int64_t at) {
  g.when(IssueToken{u}, at);
  return g.then_reply<TokenReply>().token;
}

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' ||
           c == '-';
  });
}

// ============================================================================
// RegisterUser, CreateConcert

TEST_CASE("decide: RegisterUser records a new user") {
  Scenario g;
  g.when(RegisterUser{"u1", "Kim"}, kT0);
  auto [e] = g.then_events<ev::UserRegistered>();
  CHECK(e.user_id == "u1");
  CHECK(e.name == "Kim");
  CHECK(g.then_reply<UserReply>().user_id == "u1");
  CHECK(g.state.users.count("u1") == 1);
}

TEST_CASE("decide: RegisterUser of a known id is USER_EXISTS") {
  Scenario g;
  g.given(user("u1"));
  g.when(RegisterUser{"u1", "again"}, kT0);
  g.then_error(ErrorCode::USER_EXISTS);
}

TEST_CASE("decide: CreateConcert generates the ids left out and keeps the given ones") {
  Scenario g;
  CreateConcert c{"", "Title", {}};
  c.schedules.push_back({"", kT0 + kDay, {{"", 1, 100}, {"", 2, 200}}});
  c.schedules.push_back({"s-given", kT0 + kDay, {{"seat-x", 1, 5}, {"", 2, 6}}});
  g.when(c, kT0);
  auto [e] = g.then_events<ev::ConcertCreated>();
  CHECK(valid_id(e.concert_id));
  CHECK(e.title == "Title");
  REQUIRE(e.schedules.size() == 2);
  CHECK(valid_id(e.schedules[0].schedule_id));
  CHECK(e.schedules[1].schedule_id == "s-given");
  CHECK(e.schedules[0].schedule_id != e.schedules[1].schedule_id);
  REQUIRE(e.schedules[0].seats.size() == 2);
  CHECK(valid_id(e.schedules[0].seats[0].seat_id));
  CHECK(valid_id(e.schedules[0].seats[1].seat_id));
  CHECK(e.schedules[0].seats[0].seat_id != e.schedules[0].seats[1].seat_id);
  CHECK(e.schedules[0].seats[1].number == 2);
  CHECK(e.schedules[0].seats[1].price == 200);
  CHECK(e.schedules[1].seats[0].seat_id == "seat-x");
  CHECK(valid_id(e.schedules[1].seats[1].seat_id));
  // The reply names the same ids as the event.
  const ConcertReply reply = g.then_reply<ConcertReply>();
  CHECK(reply.created.concert_id == e.concert_id);
  CHECK(reply.created.schedules[0].schedule_id == e.schedules[0].schedule_id);
  CHECK(reply.created.schedules[0].seats[0].seat_id == e.schedules[0].seats[0].seat_id);
  CHECK(g.state.concerts.count(e.concert_id) == 1);
  CHECK(g.state.schedules.at("s-given").seats.size() == 2);
}

TEST_CASE("decide: CreateConcert refuses a used concert or schedule id with CONCERT_EXISTS") {
  Scenario g;
  g.given(catalog());
  SUBCASE("the concert id") {
    g.when(CreateConcert{"c1", "again", {{"s9", kT0 + kDay, {{"z", 1, 1}}}}}, kT0);
  }
  SUBCASE("a schedule id of another concert") {
    g.when(CreateConcert{"c2", "other", {{"s1", kT0 + kDay, {{"z", 1, 1}}}}}, kT0);
  }
  SUBCASE("a schedule id twice in one concert") {
    g.when(CreateConcert{"c2", "other", {{"s9", kT0, {}}, {"s9", kT0, {}}}}, kT0);
  }
  g.then_error(ErrorCode::CONCERT_EXISTS);
  CHECK(g.state.concerts.count("c2") == 0);
  CHECK(g.state.schedules.count("s9") == 0);
}

TEST_CASE("decide: CreateConcert with a seat id repeated in a schedule is INVALID_REQUEST") {
  Scenario g;
  g.when(CreateConcert{"c1", "t", {{"s1", kT0 + kDay, {{"a", 1, 1}, {"a", 2, 1}}}}}, kT0);
  g.then_error(ErrorCode::INVALID_REQUEST);
  CHECK(g.state.concerts.empty());
  // The same seat id in two schedules is fine: seat ids are unique per schedule.
  g.when(CreateConcert{"c1", "t", {{"s1", kT0, {{"a", 1, 1}}}, {"s2", kT0, {{"a", 1, 1}}}}}, kT0);
  g.then_events<ev::ConcertCreated>();
}

// ============================================================================
// IssueToken

TEST_CASE("decide: IssueToken for an unknown user is USER_NOT_FOUND") {
  Scenario g;
  g.when(IssueToken{"ghost"}, kT0);
  g.then_error(ErrorCode::USER_NOT_FOUND);
}

TEST_CASE("decide: IssueToken is ACTIVE at once while slots are free") {
  Scenario g;
  g.given(user("u1"));
  g.when(IssueToken{"u1"}, kT0 + 5);
  auto [iss, act] = g.then_events<ev::TokenIssued, ev::TokenActivated>();
  const TokenReply r = g.then_reply<TokenReply>();
  CHECK(r.state == TokenState::kActive);
  CHECK(r.position == 0);
  CHECK(r.expires_at == kT0 + 5 + g.limits.token_ttl_ms);
  CHECK(valid_id(r.token));
  CHECK(r.token.size() == 36);  // a version-4 UUID: 122 random bits (SPEC §1)
  CHECK(r.token[14] == '4');
  CHECK(g.state.find_token(r.token) != kNoId);
  CHECK(iss.token_hash == hashed(r.token));  // the event names it only by its hash
  CHECK(iss.legacy_token.empty());
  CHECK(secrets::open_token(secrets::test_key(), iss.token_seal, iss.token_hash) == r.token);
  CHECK(iss.user_id == "u1");
  CHECK(iss.issued_at == kT0 + 5);
  CHECK(act.token_hash == iss.token_hash);
  CHECK(act.seq == iss.seq);
  CHECK(act.activated_at == kT0 + 5);
  CHECK(act.expires_at == kT0 + 5 + g.limits.token_ttl_ms);
}

TEST_CASE("decide: IssueToken waits when the active slots are taken; FIFO admission") {
  Scenario g = standard();  // t1 and t2 hold both slots
  g.given(user("u4"));
  given_balance(g, "u1", 100'000);
  given_balance(g, "u2", 100'000);

  g.when(IssueToken{"u3"}, kT0 + 1);
  g.then_events<ev::TokenIssued>();
  const TokenReply w3 = g.then_reply<TokenReply>();
  CHECK(w3.state == TokenState::kWaiting);
  CHECK(w3.position == 1);
  CHECK(w3.expires_at == 0);
  CHECK(w3.estimated_wait_seconds > 0);

  g.when(IssueToken{"u4"}, kT0 + 2);
  const TokenReply w4 = g.then_reply<TokenReply>();
  CHECK(w4.state == TokenState::kWaiting);
  CHECK(w4.position == 2);
  CHECK(w4.estimated_wait_seconds >= w3.estimated_wait_seconds);

  // A user with a live token gets the same token back, and nothing happens.
  g.when(IssueToken{"u3"}, kT0 + 3);
  g.then_no_events();
  CHECK(g.then_reply<TokenReply>().token == w3.token);
  CHECK(g.then_reply<TokenReply>().position == 1);
  g.when(IssueToken{"u1"}, kT0 + 3);
  g.then_no_events();
  CHECK(g.then_reply<TokenReply>().token == "t1");
  CHECK(g.then_reply<TokenReply>().state == TokenState::kActive);
  CHECK(g.then_reply<TokenReply>().expires_at == kT0 + g.limits.token_ttl_ms);

  // A payment spends t1: the first in line (u3) is admitted in the same step.
  const std::string r1 = hold(g, "t1", "s1", {"a1"}, kT0 + 10);
  g.when(PayReservation{"t1", std::nullopt, r1}, kT0 + 20);
  auto [paid, spent, admitted] =
      g.then_events<ev::PaymentCompleted, ev::TokenExpired, ev::TokenActivated>();
  CHECK(spent.token_hash == hashed("t1"));
  CHECK(spent.reason == "PAID");
  CHECK(admitted.token_hash == hashed(w3.token));
  CHECK(admitted.activated_at == kT0 + 20);
  CHECK(admitted.expires_at == kT0 + 20 + g.limits.token_ttl_ms);
  g.when(IssueToken{"u4"}, kT0 + 21);
  CHECK(g.then_reply<TokenReply>().position == 1);  // u4 moved up

  // Then u2 pays: u4 is admitted.
  const std::string r2 = hold(g, "t2", "s1", {"a2"}, kT0 + 30);
  g.when(PayReservation{"t2", std::nullopt, r2}, kT0 + 40);
  auto [paid2, spent2, admitted2] =
      g.then_events<ev::PaymentCompleted, ev::TokenExpired, ev::TokenActivated>();
  CHECK(admitted2.token_hash == hashed(w4.token));
  g.when(IssueToken{"u4"}, kT0 + 41);
  CHECK(g.then_reply<TokenReply>().state == TokenState::kActive);
  CHECK(g.state.active_tokens == 2);
}

TEST_CASE("decide: a new token never overtakes a WAITING one, even with a slot free") {
  // Pure decide, before the caller's clock step has admitted the first in
  // line: the newcomer queues behind it.
  Scenario g = standard();
  g.given(user("u4"), issued("t3", "u3", 3), ev::TokenExpired{"t1", "u1", "TTL", true, kT0 + 1});
  REQUIRE(g.state.active_tokens < g.limits.active_tokens_max);
  Context ctx{kT0 + 2, g.random, g.limits};
  Events out;
  const Reply reply = decide(g.state, IssueToken{"u4"}, ctx, out);
  REQUIRE(std::holds_alternative<TokenReply>(reply));
  CHECK(std::get<TokenReply>(reply).state == TokenState::kWaiting);
  CHECK(std::get<TokenReply>(reply).position == 2);
  REQUIRE(out.size() == 1);
  CHECK(std::holds_alternative<ev::TokenIssued>(out[0]));
}

TEST_CASE("decide: a token expires by TTL at its expiresAt and admits the next") {
  Limits limits;
  limits.active_tokens_max = 1;
  Scenario g(limits);
  g.given(user("u1"), user("u2"));
  const std::string a = token_of(g, "u1", kT0);
  const std::string b = token_of(g, "u2", kT0 + 1);
  CHECK(g.then_reply<TokenReply>().state == TokenState::kWaiting);

  CHECK(g.tick(kT0 + limits.token_ttl_ms - 1).empty());
  g.when(IssueToken{"u2"}, kT0 + limits.token_ttl_ms);  // no tick ran in between
  auto [expired, admitted] = g.then_events<ev::TokenExpired, ev::TokenActivated>();
  CHECK(expired.token_hash == hashed(a));
  CHECK(expired.reason == "TTL");
  CHECK(expired.was_active);
  CHECK(expired.expired_at == kT0 + limits.token_ttl_ms);
  CHECK(admitted.token_hash == hashed(b));
  CHECK(admitted.expires_at == kT0 + 2 * limits.token_ttl_ms);
  const TokenReply rb = g.then_reply<TokenReply>();
  CHECK(rb.token == b);
  CHECK(rb.state == TokenState::kActive);

  // u1's token is EXPIRED now: asking again issues a new one, which waits.
  g.when(IssueToken{"u1"}, kT0 + limits.token_ttl_ms + 1);
  const TokenReply ra = g.then_reply<TokenReply>();
  CHECK(ra.token != a);
  CHECK(ra.state == TokenState::kWaiting);
  CHECK(ra.position == 1);
  CHECK(g.state.tokens[g.state.find_token(a)].state == TokenState::kExpired);
}

// ============================================================================
// HoldSeats

TEST_CASE("decide: HoldSeats holds the seats all at once") {
  Scenario g = standard();
  const int64_t at = kT0 + kSecond;
  SUBCASE("without a body userId") {
    g.when(HoldSeats{"t1", std::nullopt, "s1", {"a3", "a1"}}, at);
  }
  SUBCASE("with the token's own userId") {
    g.when(HoldSeats{"t1", "u1", "s1", {"a3", "a1"}}, at);
  }
  auto [e] = g.then_events<ev::SeatsHeld>();
  CHECK(valid_id(e.reservation_id));
  CHECK(locating_id(e.reservation_id) == g.state.reservations.find(e.reservation_id));
  CHECK(g.state.reservations.indexed() == 0);
  CHECK(e.user_id == "u1");
  CHECK(e.concert_id == "c1");
  CHECK(e.schedule_id == "s1");
  REQUIRE(e.seats.size() == 2);
  CHECK(e.seats[0].seat_id == "a3");
  CHECK(e.seats[0].number == 3);
  CHECK(e.seats[0].price == 30'000);
  CHECK(e.seats[1].seat_id == "a1");
  CHECK(e.seats[1].price == 10'000);
  CHECK(e.total_price == 40'000);
  CHECK(e.created_at == at);
  CHECK(e.expires_at == at + g.limits.hold_ttl_ms);

  const ReservationReply r = g.then_reply<ReservationReply>();
  CHECK(r.reservation_id == e.reservation_id);
  CHECK(r.user_id == "u1");
  CHECK(r.schedule_id == "s1");
  CHECK(r.seats.size() == 2);
  CHECK(r.total_price == 40'000);
  CHECK(r.state == ReservationState::kPendingPayment);
  CHECK(r.created_at == at);
  CHECK(r.expires_at == at + g.limits.hold_ttl_ms);
  CHECK(r.paid_at == 0);

  CHECK(holder(g, "s1", "a1") == e.reservation_id);
  CHECK(holder(g, "s1", "a3") == e.reservation_id);
  CHECK(holder(g, "s1", "a2").empty());
  CHECK(live_seats(g, "u1", "s1") == 2);
}

TEST_CASE("decide: HoldSeats token checks: TOKEN_EXPIRED, TOKEN_NOT_ACTIVE, FORBIDDEN") {
  Scenario g = standard();
  SUBCASE("an expired token") {
    g.given(ev::TokenExpired{"t1", "u1", "TTL", true, kT0 + 1});
    g.when(HoldSeats{"t1", std::nullopt, "s1", {"a1"}}, kT0 + 2);
    g.then_error(ErrorCode::TOKEN_EXPIRED);
  }
  SUBCASE("a token past its TTL by the command's time, no tick having run") {
    g.when(HoldSeats{"t1", std::nullopt, "s1", {"a1"}}, kT0 + g.limits.token_ttl_ms);
    g.then_error(ErrorCode::TOKEN_EXPIRED);
    CHECK(g.last.events.size() == 2);  // both tokens expired by the clock first
  }
  SUBCASE("a WAITING token") {
    g.given(issued("t3", "u3", 3));
    g.when(HoldSeats{"t3", std::nullopt, "s1", {"a1"}}, kT0 + 2);
    g.then_error(ErrorCode::TOKEN_NOT_ACTIVE);
  }
  SUBCASE("a body userId that is not the token's") {
    g.when(HoldSeats{"t1", "u2", "s1", {"a1"}}, kT0 + 2);
    g.then_error(ErrorCode::FORBIDDEN);
  }
  SUBCASE("token state comes first: an expired token with a foreign userId") {
    g.given(ev::TokenExpired{"t1", "u1", "TTL", true, kT0 + 1});
    g.when(HoldSeats{"t1", "u2", "nope", {"zz"}}, kT0 + 2);
    g.then_error(ErrorCode::TOKEN_EXPIRED);
  }
  SUBCASE("a WAITING token with a foreign userId") {
    g.given(issued("t3", "u3", 3));
    g.when(HoldSeats{"t3", "u1", "nope", {"zz"}}, kT0 + 2);
    g.then_error(ErrorCode::TOKEN_NOT_ACTIVE);
  }
  CHECK(holder(g, "s1", "a1").empty());
}

TEST_CASE("decide: HoldSeats SCHEDULE_NOT_FOUND and SEAT_NOT_FOUND") {
  Scenario g = standard();
  SUBCASE("unknown schedule") {
    g.when(HoldSeats{"t1", std::nullopt, "nope", {"a1"}}, kT0 + 1);
    g.then_error(ErrorCode::SCHEDULE_NOT_FOUND);
  }
  SUBCASE("unknown seat") {
    g.when(HoldSeats{"t1", std::nullopt, "s1", {"a1", "zz"}}, kT0 + 1);
    g.then_error(ErrorCode::SEAT_NOT_FOUND);
  }
  SUBCASE("a seat of another schedule") {
    g.when(HoldSeats{"t1", std::nullopt, "s1", {"b1"}}, kT0 + 1);
    g.then_error(ErrorCode::SEAT_NOT_FOUND);
  }
  SUBCASE("404 before 409: an unknown seat in a started schedule") {
    g.when(HoldSeats{"t1", std::nullopt, "soon", {"zz"}}, kSoonStart);
    g.then_error(ErrorCode::SEAT_NOT_FOUND);
  }
  CHECK(holder(g, "s1", "a1").empty());
}

TEST_CASE("decide: HoldSeats is SCHEDULE_CLOSED at and after startsAt") {
  Scenario g = standard();
  SUBCASE("at startsAt") {
    g.when(HoldSeats{"t1", std::nullopt, "soon", {"x1"}}, kSoonStart);
    g.then_error(ErrorCode::SCHEDULE_CLOSED);
  }
  SUBCASE("after startsAt") {
    g.when(HoldSeats{"t1", std::nullopt, "soon", {"x1"}}, kSoonStart + kMinute);
    g.then_error(ErrorCode::SCHEDULE_CLOSED);
  }
  SUBCASE("one millisecond before is still open") {
    g.when(HoldSeats{"t1", std::nullopt, "soon", {"x1"}}, kSoonStart - 1);
    g.then_events<ev::SeatsHeld>();
  }
}

TEST_CASE("decide: HoldSeats SEAT_LIMIT_EXCEEDED counts a user's seats across reservations") {
  Scenario g = standard();  // seats_per_user_max = 4
  given_balance(g, "u1", 1'000'000);
  const std::string r1 = hold(g, "t1", "s1", {"a1", "a2", "a3"}, kT0 + 1);
  g.when(HoldSeats{"t1", std::nullopt, "s1", {"a4", "a5"}}, kT0 + 2);
  g.then_error(ErrorCode::SEAT_LIMIT_EXCEEDED);
  CHECK(holder(g, "s1", "a4").empty());
  // Another user and another schedule have limits of their own.
  hold(g, "t2", "s1", {"a4", "a5"}, kT0 + 3);
  hold(g, "t1", "s2", {"b1", "b2"}, kT0 + 4);
  hold(g, "t1", "s1", {"a6"}, kT0 + 5);  // 4 in s1 now
  g.when(HoldSeats{"t1", std::nullopt, "soon", {"x1"}}, kT0 + 6);
  g.then_events<ev::SeatsHeld>();

  // A released hold gives its seats back to the count.
  g.when(CancelReservation{"t1", r1}, kT0 + 7);
  g.then_events<ev::ReservationCancelled>();
  CHECK(live_seats(g, "u1", "s1") == 1);
  g.when(HoldSeats{"t1", std::nullopt, "s1", {"a1", "a2", "a3"}}, kT0 + 8);
  g.then_events<ev::SeatsHeld>();
}

TEST_CASE("decide: HoldSeats counts confirmed seats toward SEAT_LIMIT_EXCEEDED") {
  Scenario g = standard();
  given_balance(g, "u1", 1'000'000);
  const std::string r1 = hold(g, "t1", "s1", {"a1", "a2", "a3"}, kT0 + 1);
  g.when(PayReservation{"t1", std::nullopt, r1}, kT0 + 2);
  g.then_events<ev::PaymentCompleted, ev::TokenExpired>();
  const std::string t = token_of(g, "u1", kT0 + 3);
  g.when(HoldSeats{t, std::nullopt, "s1", {"a4", "a5"}}, kT0 + 4);
  g.then_error(ErrorCode::SEAT_LIMIT_EXCEEDED);
  g.when(HoldSeats{t, std::nullopt, "s1", {"a4"}}, kT0 + 5);
  g.then_events<ev::SeatsHeld>();
}

TEST_CASE("decide: HoldSeats SEAT_UNAVAILABLE is all-or-nothing") {
  Scenario g = standard();
  const std::string r2 = hold(g, "t2", "s1", {"a2"}, kT0 + 1);
  g.when(HoldSeats{"t1", std::nullopt, "s1", {"a1", "a2"}}, kT0 + 2);
  g.then_error(ErrorCode::SEAT_UNAVAILABLE);
  g.then_no_events();
  CHECK(holder(g, "s1", "a1").empty());  // nothing held
  CHECK(holder(g, "s1", "a2") == r2);
  CHECK(live_seats(g, "u1", "s1") == 0);
  // The free seat alone can be held.
  hold(g, "t1", "s1", {"a1"}, kT0 + 3);
  // A seat of one's own reservation is not available either.
  g.when(HoldSeats{"t1", std::nullopt, "s1", {"a1"}}, kT0 + 4);
  g.then_error(ErrorCode::SEAT_UNAVAILABLE);
}

TEST_CASE("decide: HoldSeats refuses a SOLD seat with SEAT_UNAVAILABLE") {
  Scenario g = standard();
  given_balance(g, "u2", 100'000);
  const std::string r2 = hold(g, "t2", "s1", {"a2"}, kT0 + 1);
  g.when(PayReservation{"t2", std::nullopt, r2}, kT0 + 2);
  g.then_events<ev::PaymentCompleted, ev::TokenExpired>();
  // Long after the hold would have expired, the sold seat stays sold.
  g.when(HoldSeats{"t1", std::nullopt, "s1", {"a2"}}, kT0 + 9 * kMinute);
  g.then_error(ErrorCode::SEAT_UNAVAILABLE);
  CHECK(holder(g, "s1", "a2") == r2);
}

TEST_CASE("decide: HoldSeats INVALID_REQUEST for an empty, repeating or too long seat list") {
  Scenario g = standard();
  SUBCASE("empty") {
    g.when(HoldSeats{"t1", std::nullopt, "s1", {}}, kT0 + 1);
  }
  SUBCASE("a repeated id") {
    g.when(HoldSeats{"t1", std::nullopt, "s1", {"a1", "a1"}}, kT0 + 1);
  }
  SUBCASE("more than seats_per_user_max") {
    g.when(HoldSeats{"t1", std::nullopt, "s1", {"a1", "a2", "a3", "a4", "a5"}}, kT0 + 1);
  }
  g.then_error(ErrorCode::INVALID_REQUEST);
  CHECK(holder(g, "s1", "a1").empty());
}

TEST_CASE("decide: a hold past expiresAt frees its seats for the next command, tick or not") {
  Scenario g = standard();
  const std::string r2 = hold(g, "t2", "s1", {"a1", "a2"}, kT0);
  const int64_t expires = kT0 + g.limits.hold_ttl_ms;

  g.when(HoldSeats{"t1", std::nullopt, "s1", {"a1"}}, expires - 1);
  g.then_error(ErrorCode::SEAT_UNAVAILABLE);

  g.when(HoldSeats{"t1", std::nullopt, "s1", {"a1"}}, expires);
  auto [gone, held] = g.then_events<ev::HoldExpired, ev::SeatsHeld>();
  CHECK(gone.reservation_id == r2);
  CHECK(gone.user_id == "u2");
  CHECK(gone.schedule_id == "s1");
  CHECK(gone.seats.size() == 2);
  CHECK(gone.released_at == expires);
  CHECK(held.user_id == "u1");
  CHECK(g.state.reservations.at(r2).state == ReservationState::kExpired);
  CHECK(holder(g, "s1", "a1") == held.reservation_id);
  CHECK(holder(g, "s1", "a2").empty());
  CHECK(live_seats(g, "u2", "s1") == 0);
}

// ============================================================================
// PayReservation

TEST_CASE("decide: PayReservation debits the balance and spends the token") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  const std::string r = hold(g, "t1", "s1", {"a1", "a2"}, kT0 + 1);
  const int64_t at = kT0 + kMinute;
  SUBCASE("without a body userId") {
    g.when(PayReservation{"t1", std::nullopt, r}, at);
  }
  SUBCASE("with the owner's userId") {
    g.when(PayReservation{"t1", "u1", r}, at);
  }
  auto [paid, spent] = g.then_events<ev::PaymentCompleted, ev::TokenExpired>();
  CHECK(valid_id(paid.payment_id));
  CHECK(paid.reservation_id == r);
  CHECK(paid.user_id == "u1");
  CHECK(paid.schedule_id == "s1");
  CHECK(paid.seats.size() == 2);
  CHECK(paid.amount == 30'000);
  CHECK(paid.paid_at == at);
  CHECK(paid.balance_after == 70'000);
  CHECK(spent.token_hash == hashed("t1"));
  CHECK(spent.user_id == "u1");
  CHECK(spent.reason == "PAID");
  CHECK(spent.was_active);
  CHECK(spent.expired_at == at);

  const PaymentReply reply = g.then_reply<PaymentReply>();
  CHECK(reply.payment_id == paid.payment_id);
  CHECK(reply.reservation_id == r);
  CHECK(reply.amount == 30'000);
  CHECK(reply.paid_at == at);
  CHECK(reply.balance == 70'000);

  const Reservation& res = g.state.reservations.at(r);
  CHECK(res.state == ReservationState::kConfirmed);
  CHECK(res.paid_at == at);
  CHECK(holder(g, "s1", "a1") == r);  // SOLD
  CHECK(g.state.users.at("u1").balance == 70'000);
  CHECK(g.state.users.at("u1").live_token == kNoId);
  CHECK(g.state.tokens[g.state.find_token("t1")].state == TokenState::kExpired);
  CHECK_FALSE(g.state.hold_deadlines.contains(g.state.reservations.find(r)));

  // Paying again: the token is spent.
  g.when(PayReservation{"t1", std::nullopt, r}, at + 1);
  g.then_error(ErrorCode::TOKEN_EXPIRED);
}

TEST_CASE("decide: PayReservation RESERVATION_NOT_FOUND and FORBIDDEN") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  given_balance(g, "u2", 100'000);
  const std::string r = hold(g, "t1", "s1", {"a1"}, kT0 + 1);
  SUBCASE("unknown reservation") {
    g.when(PayReservation{"t2", std::nullopt, "nope"}, kT0 + 2);
    g.then_error(ErrorCode::RESERVATION_NOT_FOUND);
  }
  SUBCASE("another user's reservation") {
    g.when(PayReservation{"t2", std::nullopt, r}, kT0 + 2);
    g.then_error(ErrorCode::FORBIDDEN);
  }
  SUBCASE("a body userId that is not the token's") {
    g.when(PayReservation{"t1", "u2", r}, kT0 + 2);
    g.then_error(ErrorCode::FORBIDDEN);
  }
  CHECK(g.state.users.at("u2").balance == 100'000);
  CHECK(g.state.users.at("u1").balance == 100'000);
  CHECK(g.state.reservations.at(r).state == ReservationState::kPendingPayment);
}

TEST_CASE("decide: PayReservation is RESERVATION_EXPIRED at expiresAt and after") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  const std::string r = hold(g, "t1", "s1", {"a1"}, kT0);
  const int64_t expires = kT0 + g.limits.hold_ttl_ms;
  SUBCASE("exactly at expiresAt, no tick having run") {
    g.when(PayReservation{"t1", std::nullopt, r}, expires);
    g.then_error(ErrorCode::RESERVATION_EXPIRED);
    auto [gone] = g.then_events<ev::HoldExpired>();
    CHECK(gone.reservation_id == r);
  }
  SUBCASE("after expiresAt") {
    g.tick(expires + 1);
    g.when(PayReservation{"t1", std::nullopt, r}, expires + kSecond);
    g.then_error(ErrorCode::RESERVATION_EXPIRED);
    g.then_no_events();
  }
  SUBCASE("one millisecond before is in time") {
    g.when(PayReservation{"t1", std::nullopt, r}, expires - 1);
    g.then_events<ev::PaymentCompleted, ev::TokenExpired>();
  }
  if (g.state.reservations.at(r).state != ReservationState::kConfirmed) {
    CHECK(g.state.users.at("u1").balance == 100'000);
    CHECK(holder(g, "s1", "a1").empty());
  }
}

TEST_CASE("decide: pay and cancel judge expiry by the command's time even if not yet applied") {
  // The pure rule, without the caller's clock step: the state still says
  // PENDING_PAYMENT, the command's time is at expiresAt.
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  const std::string r = hold(g, "t1", "s1", {"a1"}, kT0);
  const int64_t expires = g.state.reservations.at(r).expires_at;
  REQUIRE(g.state.reservations.at(r).state == ReservationState::kPendingPayment);
  Context ctx{expires, g.random, g.limits};
  Events out;
  Reply pay = decide(g.state, PayReservation{"t1", std::nullopt, r}, ctx, out);
  REQUIRE(std::holds_alternative<DomainError>(pay));
  CHECK(std::get<DomainError>(pay).code == ErrorCode::RESERVATION_EXPIRED);
  Reply cancel = decide(g.state, CancelReservation{"t1", r}, ctx, out);
  REQUIRE(std::holds_alternative<DomainError>(cancel));
  CHECK(std::get<DomainError>(cancel).code == ErrorCode::RESERVATION_EXPIRED);
  CHECK(out.empty());
}

TEST_CASE("decide: PayReservation ALREADY_PAID for CONFIRMED and REFUNDED") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  const std::string r = hold(g, "t1", "s1", {"a1"}, kT0 + 1);
  g.when(PayReservation{"t1", std::nullopt, r}, kT0 + 2);
  g.then_events<ev::PaymentCompleted, ev::TokenExpired>();
  const std::string t = token_of(g, "u1", kT0 + 3);  // a fresh ACTIVE token
  SUBCASE("confirmed") {}
  SUBCASE("refunded") {
    g.when(CancelReservation{t, r}, kT0 + 4);
    g.then_events<ev::ReservationRefunded>();
  }
  const int64_t balance = g.state.users.at("u1").balance;
  g.when(PayReservation{t, std::nullopt, r}, kT0 + 5);
  g.then_error(ErrorCode::ALREADY_PAID);
  CHECK(g.state.users.at("u1").balance == balance);
  CHECK(g.state.tokens[g.state.find_token(t)].state ==
        TokenState::kActive);  // a refusal spends nothing
}

TEST_CASE("decide: PayReservation RESERVATION_CANCELLED") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  const std::string r = hold(g, "t1", "s1", {"a1"}, kT0 + 1);
  g.when(CancelReservation{"t1", r}, kT0 + 2);
  g.when(PayReservation{"t1", std::nullopt, r}, kT0 + 3);
  g.then_error(ErrorCode::RESERVATION_CANCELLED);
  CHECK(g.state.users.at("u1").balance == 100'000);
}

TEST_CASE("decide: PayReservation is SCHEDULE_CLOSED at or after startsAt") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  const std::string r = hold(g, "t1", "soon", {"x1"}, kSoonStart - 3 * kMinute);
  SUBCASE("at startsAt") {
    g.when(PayReservation{"t1", std::nullopt, r}, kSoonStart);
  }
  SUBCASE("after startsAt") {
    g.when(PayReservation{"t1", std::nullopt, r}, kSoonStart + 1);
  }
  g.then_error(ErrorCode::SCHEDULE_CLOSED);
  CHECK(g.state.users.at("u1").balance == 100'000);
  CHECK(g.state.reservations.at(r).state == ReservationState::kPendingPayment);
}

TEST_CASE("decide: PayReservation INSUFFICIENT_BALANCE changes nothing") {
  Scenario g = standard();
  given_balance(g, "u1", 19'999);
  const std::string r = hold(g, "t1", "s1", {"a2"}, kT0 + 1);  // 20000
  g.when(PayReservation{"t1", std::nullopt, r}, kT0 + 2);
  g.then_error(ErrorCode::INSUFFICIENT_BALANCE);
  g.then_no_events();
  CHECK(g.state.users.at("u1").balance == 19'999);
  CHECK(g.state.reservations.at(r).state == ReservationState::kPendingPayment);
  CHECK(g.state.tokens[g.state.find_token("t1")].state == TokenState::kActive);
  // Exactly enough is enough: the balance may reach 0.
  g.given(ev::BalanceCharged{"u1", 1, 20'000, kT0 + 3});
  g.when(PayReservation{"t1", std::nullopt, r}, kT0 + 4);
  auto [paid, spent] = g.then_events<ev::PaymentCompleted, ev::TokenExpired>();
  CHECK(paid.balance_after == 0);
}

TEST_CASE("decide: PayReservation check order: token, then 403, 404, then 409") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  const std::string r1 = hold(g, "t1", "s1", {"a1"}, kT0);
  SUBCASE("TOKEN_EXPIRED before RESERVATION_NOT_FOUND") {
    g.given(ev::TokenExpired{"t2", "u2", "TTL", true, kT0 + 1});
    g.when(PayReservation{"t2", std::nullopt, "nope"}, kT0 + 2);
    g.then_error(ErrorCode::TOKEN_EXPIRED);
  }
  SUBCASE("TOKEN_NOT_ACTIVE before RESERVATION_NOT_FOUND") {
    g.given(issued("t3", "u3", 3));
    g.when(PayReservation{"t3", std::nullopt, "nope"}, kT0 + 2);
    g.then_error(ErrorCode::TOKEN_NOT_ACTIVE);
  }
  SUBCASE("TOKEN_NOT_ACTIVE before FORBIDDEN") {
    g.given(issued("t3", "u3", 3));
    g.when(PayReservation{"t3", std::nullopt, r1}, kT0 + 2);
    g.then_error(ErrorCode::TOKEN_NOT_ACTIVE);
  }
  SUBCASE("a foreign body userId (403) before RESERVATION_NOT_FOUND") {
    g.when(PayReservation{"t2", "u1", "nope"}, kT0 + 2);
    g.then_error(ErrorCode::FORBIDDEN);
  }
  SUBCASE("FORBIDDEN before RESERVATION_EXPIRED") {
    g.when(PayReservation{"t2", std::nullopt, r1}, kT0 + g.limits.hold_ttl_ms + 1);
    g.then_error(ErrorCode::FORBIDDEN);
  }
  SUBCASE("FORBIDDEN before RESERVATION_CANCELLED") {
    g.when(CancelReservation{"t1", r1}, kT0 + 1);
    g.when(PayReservation{"t2", std::nullopt, r1}, kT0 + 2);
    g.then_error(ErrorCode::FORBIDDEN);
  }
}

// ============================================================================
// CancelReservation

TEST_CASE("decide: CancelReservation of a pending hold releases its seats") {
  Scenario g = standard();
  const std::string r = hold(g, "t1", "s1", {"a1", "a2"}, kT0 + 1);
  g.when(CancelReservation{"t1", r}, kT0 + 2);
  auto [e] = g.then_events<ev::ReservationCancelled>();
  CHECK(e.reservation_id == r);
  CHECK(e.user_id == "u1");
  CHECK(e.schedule_id == "s1");
  CHECK(e.seats.size() == 2);
  CHECK(e.released_at == kT0 + 2);
  const ReservationReply reply = g.then_reply<ReservationReply>();
  CHECK(reply.reservation_id == r);
  CHECK(reply.state == ReservationState::kCancelled);
  CHECK(reply.total_price == 30'000);
  CHECK(g.state.reservations.at(r).state == ReservationState::kCancelled);
  CHECK(holder(g, "s1", "a1").empty());
  CHECK(holder(g, "s1", "a2").empty());
  CHECK(live_seats(g, "u1", "s1") == 0);
  CHECK(g.state.tokens[g.state.find_token("t1")].state ==
        TokenState::kActive);  // cancelling spends nothing
  CHECK(g.state.hold_deadlines.empty());
}

TEST_CASE("decide: CancelReservation works with a WAITING token; hold and pay do not") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  const std::string r = hold(g, "t1", "s1", {"a1"}, kT0 + 1);
  // t1 expires; u3 takes the free slot; u1's new token waits behind t2 and t3.
  g.given(ev::TokenExpired{"t1", "u1", "TTL", true, kT0 + 2});
  g.given(issued("t3", "u3", 3, kT0 + 3), activated("t3", "u3", 3, kT0 + 3));
  g.given(issued("t4", "u1", 4, kT0 + 4));
  REQUIRE(g.state.tokens[g.state.find_token("t4")].state == TokenState::kWaiting);

  g.when(HoldSeats{"t4", std::nullopt, "s1", {"a2"}}, kT0 + 5);
  g.then_error(ErrorCode::TOKEN_NOT_ACTIVE);
  g.when(PayReservation{"t4", std::nullopt, r}, kT0 + 5);
  g.then_error(ErrorCode::TOKEN_NOT_ACTIVE);
  g.when(CancelReservation{"t4", r}, kT0 + 6);
  g.then_events<ev::ReservationCancelled>();
  CHECK(g.state.tokens[g.state.find_token("t4")].state == TokenState::kWaiting);
}

TEST_CASE("decide: CancelReservation of a confirmed reservation refunds it") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  const std::string r = hold(g, "t1", "s1", {"a1", "a3"}, kT0 + 1);
  g.when(PayReservation{"t1", std::nullopt, r}, kT0 + 2);
  const std::string payment = g.then_reply<PaymentReply>().payment_id;
  CHECK(g.state.users.at("u1").balance == 60'000);
  const std::string t = token_of(g, "u1", kT0 + 3);

  g.when(CancelReservation{t, r}, kT0 + 4);
  auto [e] = g.then_events<ev::ReservationRefunded>();
  CHECK(e.reservation_id == r);
  CHECK(e.payment_id == payment);
  CHECK(e.user_id == "u1");
  CHECK(e.schedule_id == "s1");
  CHECK(e.seats.size() == 2);
  CHECK(e.amount == 40'000);
  CHECK(e.refunded_at == kT0 + 4);
  CHECK(e.balance_after == 100'000);
  const ReservationReply reply = g.then_reply<ReservationReply>();
  CHECK(reply.state == ReservationState::kRefunded);
  CHECK(reply.paid_at == kT0 + 2);
  CHECK(g.state.users.at("u1").balance == 100'000);
  CHECK(g.state.reservations.at(r).state == ReservationState::kRefunded);
  CHECK(holder(g, "s1", "a1").empty());
  CHECK(holder(g, "s1", "a3").empty());
  CHECK(live_seats(g, "u1", "s1") == 0);
  // The seats are AVAILABLE again: someone else can hold them.
  hold(g, "t2", "s1", {"a1", "a3"}, kT0 + 5);
}

TEST_CASE("decide: a refund at or after startsAt is SCHEDULE_CLOSED; a pending cancel is not") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  const std::string r = hold(g, "t1", "soon", {"x1"}, kSoonStart - 3 * kMinute);
  SUBCASE("refund") {
    g.when(PayReservation{"t1", std::nullopt, r}, kSoonStart - 2 * kMinute);
    const std::string t = token_of(g, "u1", kSoonStart - kMinute);
    SUBCASE("at startsAt") {
      g.when(CancelReservation{t, r}, kSoonStart);
      g.then_error(ErrorCode::SCHEDULE_CLOSED);
      CHECK(g.state.users.at("u1").balance == 93'000);
    }
    SUBCASE("after startsAt") {
      g.when(CancelReservation{t, r}, kSoonStart + 1);
      g.then_error(ErrorCode::SCHEDULE_CLOSED);
    }
    SUBCASE("just before startsAt") {
      g.when(CancelReservation{t, r}, kSoonStart - 1);
      g.then_events<ev::ReservationRefunded>();
      CHECK(g.state.users.at("u1").balance == 100'000);
    }
  }
  SUBCASE("a pending hold can be cancelled after the start") {
    g.when(CancelReservation{"t1", r}, kSoonStart + kMinute);
    g.then_events<ev::ReservationCancelled>();
  }
}

TEST_CASE("decide: CancelReservation RESERVATION_EXPIRED at expiresAt and after") {
  Scenario g = standard();
  const std::string r = hold(g, "t1", "s1", {"a1"}, kT0);
  const int64_t expires = kT0 + g.limits.hold_ttl_ms;
  SUBCASE("at expiresAt") {
    g.when(CancelReservation{"t1", r}, expires);
    g.then_error(ErrorCode::RESERVATION_EXPIRED);
    g.then_events<ev::HoldExpired>();
  }
  SUBCASE("after") {
    g.tick(expires);
    g.when(CancelReservation{"t1", r}, expires + kSecond);
    g.then_error(ErrorCode::RESERVATION_EXPIRED);
  }
  CHECK(g.state.reservations.at(r).state == ReservationState::kExpired);
}

TEST_CASE("decide: CancelReservation RESERVATION_CANCELLED once cancelled or refunded") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  const std::string r = hold(g, "t1", "s1", {"a1"}, kT0 + 1);
  std::string t = "t1";
  SUBCASE("cancelled") {
    g.when(CancelReservation{t, r}, kT0 + 2);
    g.then_events<ev::ReservationCancelled>();
  }
  SUBCASE("refunded") {
    g.when(PayReservation{t, std::nullopt, r}, kT0 + 2);
    t = token_of(g, "u1", kT0 + 3);
    g.when(CancelReservation{t, r}, kT0 + 4);
    g.then_events<ev::ReservationRefunded>();
  }
  const int64_t balance = g.state.users.at("u1").balance;
  g.when(CancelReservation{t, r}, kT0 + 5);
  g.then_error(ErrorCode::RESERVATION_CANCELLED);
  CHECK(g.state.users.at("u1").balance == balance);
}

TEST_CASE("decide: a refund that would cross 10^12 is BALANCE_LIMIT_EXCEEDED") {
  Scenario g = standard();
  given_balance(g, "u1", 20'000);
  const std::string r = hold(g, "t1", "s1", {"a2"}, kT0 + 1);  // 20000
  g.when(PayReservation{"t1", std::nullopt, r}, kT0 + 2);
  REQUIRE(g.state.users.at("u1").balance == 0);
  const std::string t = token_of(g, "u1", kT0 + 3);
  SUBCASE("crossing is refused") {
    given_balance(g, "u1", kBalanceMax - 19'999);
    g.when(CancelReservation{t, r}, kT0 + 4);
    g.then_error(ErrorCode::BALANCE_LIMIT_EXCEEDED);
    CHECK(g.state.users.at("u1").balance == kBalanceMax - 19'999);
    CHECK(g.state.reservations.at(r).state == ReservationState::kConfirmed);
    CHECK(holder(g, "s1", "a2") == r);
  }
  SUBCASE("reaching exactly 10^12 is allowed") {
    given_balance(g, "u1", kBalanceMax - 20'000);
    g.when(CancelReservation{t, r}, kT0 + 4);
    auto [e] = g.then_events<ev::ReservationRefunded>();
    CHECK(e.balance_after == kBalanceMax);
  }
}

TEST_CASE("decide: CancelReservation FORBIDDEN, RESERVATION_NOT_FOUND, TOKEN_EXPIRED") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  const std::string r = hold(g, "t1", "s1", {"a1"}, kT0 + 1);
  SUBCASE("another user's reservation") {
    g.when(CancelReservation{"t2", r}, kT0 + 2);
    g.then_error(ErrorCode::FORBIDDEN);
    CHECK(g.state.reservations.at(r).state == ReservationState::kPendingPayment);
  }
  SUBCASE("unknown reservation") {
    g.when(CancelReservation{"t1", "nope"}, kT0 + 2);
    g.then_error(ErrorCode::RESERVATION_NOT_FOUND);
  }
  SUBCASE("the token spent by the payment") {
    g.when(PayReservation{"t1", std::nullopt, r}, kT0 + 2);
    g.when(CancelReservation{"t1", r}, kT0 + 3);
    g.then_error(ErrorCode::TOKEN_EXPIRED);
    CHECK(g.state.reservations.at(r).state == ReservationState::kConfirmed);
  }
  SUBCASE("TOKEN_EXPIRED before FORBIDDEN") {
    g.given(ev::TokenExpired{"t2", "u2", "TTL", true, kT0 + 1});
    g.when(CancelReservation{"t2", r}, kT0 + 2);
    g.then_error(ErrorCode::TOKEN_EXPIRED);
  }
}

// ============================================================================
// ChargeBalance

TEST_CASE("decide: ChargeBalance adds to the balance") {
  Scenario g;
  g.given(user("u1"));
  g.when(ChargeBalance{"u1", 5'000}, kT0 + 7);
  auto [e] = g.then_events<ev::BalanceCharged>();
  CHECK(e.user_id == "u1");
  CHECK(e.amount == 5'000);
  CHECK(e.balance_after == 5'000);
  CHECK(e.charged_at == kT0 + 7);
  CHECK(g.then_reply<BalanceReply>().balance == 5'000);
  g.when(ChargeBalance{"u1", kChargeMax}, kT0 + 8);
  CHECK(g.then_reply<BalanceReply>().balance == 5'000 + kChargeMax);
  CHECK(g.then_reply<BalanceReply>().user_id == "u1");
}

TEST_CASE("decide: ChargeBalance INVALID_AMOUNT outside 1..10^9, checked before the user") {
  Scenario g;
  g.given(user("u1"));
  int64_t amount = 0;
  std::string who = "u1";
  SUBCASE("zero") {
    amount = 0;
  }
  SUBCASE("negative") {
    amount = -1;
  }
  SUBCASE("the least int64") {
    amount = INT64_MIN;
  }
  SUBCASE("10^9 + 1") {
    amount = kChargeMax + 1;
  }
  SUBCASE("an unknown user and a bad amount") {
    amount = 0;
    who = "ghost";
  }
  g.when(ChargeBalance{who, amount}, kT0);
  g.then_error(ErrorCode::INVALID_AMOUNT);
  CHECK(g.state.users.at("u1").balance == 0);
}

TEST_CASE("decide: ChargeBalance USER_NOT_FOUND") {
  Scenario g;
  g.when(ChargeBalance{"ghost", 10}, kT0);
  g.then_error(ErrorCode::USER_NOT_FOUND);
}

TEST_CASE("decide: ChargeBalance BALANCE_LIMIT_EXCEEDED when crossing 10^12, not reaching it") {
  Scenario g;
  g.given(user("u1"));
  given_balance(g, "u1", kBalanceMax - 10);
  g.when(ChargeBalance{"u1", 11}, kT0);
  g.then_error(ErrorCode::BALANCE_LIMIT_EXCEEDED);
  CHECK(g.state.users.at("u1").balance == kBalanceMax - 10);
  g.when(ChargeBalance{"u1", 10}, kT0);
  CHECK(g.then_reply<BalanceReply>().balance == kBalanceMax);
  g.when(ChargeBalance{"u1", 1}, kT0);
  g.then_error(ErrorCode::BALANCE_LIMIT_EXCEEDED);
}

// ============================================================================
// actor_of, next_due_ms

TEST_CASE("decide: actor_of names the user a command acts for") {
  Scenario g = standard();
  auto actor = [&](const Command& c) { return actor_of(g.state, c); };
  auto is_error = [](const std::variant<std::string, DomainError>& a, ErrorCode code) {
    return std::holds_alternative<DomainError>(a) && std::get<DomainError>(a).code == code;
  };
  CHECK(is_error(actor(HoldSeats{"bogus", std::nullopt, "s1", {"a1"}}), ErrorCode::INVALID_TOKEN));
  CHECK(is_error(actor(PayReservation{"bogus", std::nullopt, "r"}), ErrorCode::INVALID_TOKEN));
  CHECK(is_error(actor(CancelReservation{"bogus", "r"}), ErrorCode::INVALID_TOKEN));
  CHECK(is_error(actor(CancelReservation{"", "r"}), ErrorCode::INVALID_TOKEN));
  auto scope = [&](const Command& c) {
    auto a = actor(c);
    return std::holds_alternative<std::string>(a) ? std::get<std::string>(a) : "(error)";
  };
  CHECK(scope(RegisterUser{"u9", ""}) == kAdminScope);
  CHECK(scope(CreateConcert{"c9", "t", {}}) == "#admin");
  CHECK(scope(IssueToken{"ghost"}) == "ghost");
  CHECK(scope(ChargeBalance{"u2", 5}) == "u2");
  // queue-tokens names its user first: an unknown one is refused before any key.
  CHECK(is_error(actor(IssueToken{"ghost", true}), ErrorCode::USER_NOT_FOUND));
  CHECK(is_error(actor(ChargeBalance{"ghost", 5, true}), ErrorCode::USER_NOT_FOUND));
  CHECK(scope(ChargeBalance{"u2", 5, true}) == "u2");
  CHECK(scope(HoldSeats{"t1", "u2", "s1", {"a1"}}) == "u1");  // the token's user
  CHECK(scope(PayReservation{"t2", std::nullopt, "r"}) == "u2");
  // A known but expired token still names its user (its answers are remembered).
  g.given(ev::TokenExpired{"t1", "u1", "TTL", true, kT0 + 1});
  CHECK(scope(CancelReservation{"t1", "r"}) == "u1");

  // Through when(): an unknown token is answered INVALID_TOKEN.
  g.when(HoldSeats{"bogus", std::nullopt, "s1", {"a1"}}, kT0 + 2);
  g.then_error(ErrorCode::INVALID_TOKEN);
}

TEST_CASE("decide: decide alone answers INVALID_TOKEN for an unknown token") {
  Scenario g = standard();
  Context ctx{kT0 + 1, g.random, g.limits};
  Events out;
  for (const Command& c : {Command(HoldSeats{"bogus", std::nullopt, "s1", {"a1"}}),
                           Command(PayReservation{"bogus", std::nullopt, "r"}),
                           Command(CancelReservation{"bogus", "r"})}) {
    const Reply reply = decide(g.state, c, ctx, out);
    REQUIRE(std::holds_alternative<DomainError>(reply));
    CHECK(std::get<DomainError>(reply).code == ErrorCode::INVALID_TOKEN);
  }
  CHECK(out.empty());
}

TEST_CASE("decide: next_due_ms tells when the clock has work") {
  Limits limits;
  limits.active_tokens_max = 1;
  Scenario g(limits);
  CHECK(next_due_ms(g.state, limits) == INT64_MAX);
  g.given(user("u1"), user("u2"), catalog());
  const std::string a = token_of(g, "u1", kT0);
  CHECK(next_due_ms(g.state, limits) == kT0 + limits.token_ttl_ms);
  hold(g, a, "s1", {"a1"}, kT0 + 1);
  CHECK(next_due_ms(g.state, limits) == kT0 + 1 + limits.hold_ttl_ms);
  token_of(g, "u2", kT0 + 2);  // waits: the slot is taken
  CHECK(next_due_ms(g.state, limits) == kT0 + 1 + limits.hold_ttl_ms);
  CHECK_FALSE(next_clock_event(g.state, kT0 + limits.hold_ttl_ms, limits).has_value());
  // Once the slot is free the admission is due at once.
  g.given(ev::TokenExpired{a, "u1", "TTL", true, kT0 + 3});
  CHECK(next_due_ms(g.state, limits) == INT64_MIN);
}

// ============================================================================
// Invariants (SPEC §1) as properties over random command streams

// What a user of the state can observe, for comparing two states.
struct Observed {
  std::map<std::string, int64_t> balances;
  std::map<std::string, std::string> live_tokens;
  std::map<std::string, std::string> holders;  // "schedule/seat" -> reservation
  std::map<std::string, ReservationState> reservations;
  std::map<std::string, std::pair<TokenState, int64_t>> tokens;
  std::vector<std::string> waiting;
  int64_t active_tokens = 0;
  int64_t admitted_seq = 0;
  bool operator==(const Observed&) const = default;
};

// A state's string view of an Id (empty for kNoId; "#gone" for an id
// without a record, as a seat sold to an evicted reservation names).
template <class T>
std::string key_of(const IdTable<T>& table, Id id) {
  if (id == kNoId) return std::string();
  return table.live(id) ? std::string(table.key(id)) : std::string("#gone");
}

Observed observe(const State& s) {
  Observed o;
  for (Id u = 0; u < s.users.size(); ++u) {
    o.balances[key_of(s.users, u)] = s.users[u].balance;
    o.live_tokens[key_of(s.users, u)] = key_of(s.tokens, s.users[u].live_token);
  }
  for (Id id = 0; id < s.schedules.size(); ++id) {
    for (const auto& seat : s.schedules[id].seats) {
      o.holders[key_of(s.schedules, id) + "/" + seat.seat_id] = key_of(s.reservations, seat.holder);
    }
  }
  for (Id r = 0; r < s.reservations.id_end(); ++r) {
    if (s.reservations.live(r)) o.reservations[key_of(s.reservations, r)] = s.reservations[r].state;
  }
  for (Id t = 0; t < s.tokens.id_end(); ++t) {
    if (!s.tokens.live(t)) continue;
    o.tokens[key_of(s.tokens, t)] = {s.tokens[t].state, s.tokens[t].expires_at};
  }
  for (Id t : s.waiting) o.waiting.push_back(key_of(s.tokens, t));
  o.active_tokens = s.active_tokens;
  o.admitted_seq = s.admitted_seq;
  return o;
}

// An independent model of the invariants, fed only the emitted events. Each
// check names the seed and step that break it.
class Auditor {
 public:
  Auditor(int64_t active_max, std::string where) : active_max_(active_max), where_(where) {}
  void set_where(std::string w) { where_ = std::move(w); }

  void apply(const ev::ConcertEvent& e) {
    std::visit([this](const auto& x) { on(x); }, e);
  }

  std::map<std::string, int64_t> balance;  // charges - payments + refunds
  std::map<std::string, std::string> seat_owner;
  std::map<std::string, ReservationState> res_state;
  std::map<std::string, TokenState> token_state;
  std::map<std::string, std::string> live_token;  // user -> WAITING/ACTIVE token

 private:
  struct Res {
    std::string user;
    std::string schedule;
    std::vector<ev::SeatRef> seats;
    int64_t expires_at = 0;
  };

  void fail_unless(bool ok, const std::string& what) {
    if (!ok) FAIL(where_, ": ", what);
  }
  void on(const ev::UserRegistered& e) { balance.emplace(e.user_id, 0); }
  void on(const ev::ConcertCreated&) {}
  void on(const ev::LimitsConfigured&) {}
  void on(const ev::TokenIssued& e) {
    fail_unless(live_token[e.user_id].empty(), "a user got a second live token");
    live_token[e.user_id] = e.token_hash;
    token_state[e.token_hash] = TokenState::kWaiting;
    waiting_.push_back(e.token_hash);
  }
  void on(const ev::TokenActivated& e) {
    fail_unless(!waiting_.empty() && waiting_.front() == e.token_hash,
                "admission out of FIFO order");
    waiting_.pop_front();
    fail_unless(token_state[e.token_hash] == TokenState::kWaiting, "activated a non-waiting token");
    token_state[e.token_hash] = TokenState::kActive;
    fail_unless(++active_ <= active_max_, "more ACTIVE tokens than active_tokens_max");
  }
  void on(const ev::TokenExpired& e) {
    fail_unless(token_state[e.token_hash] == TokenState::kActive, "expired a non-active token");
    token_state[e.token_hash] = TokenState::kExpired;
    --active_;
    if (live_token[e.user_id] == e.token_hash) live_token[e.user_id].clear();
  }
  void on(const ev::SeatsHeld& e) {
    for (const auto& s : e.seats) {
      std::string& owner = seat_owner[e.schedule_id + "/" + s.seat_id];
      fail_unless(owner.empty(), "seat " + s.seat_id + " held twice");
      owner = e.reservation_id;
    }
    res_[e.reservation_id] = {e.user_id, e.schedule_id, e.seats, e.expires_at};
    res_state[e.reservation_id] = ReservationState::kPendingPayment;
  }
  void release(const ev::HoldReleased& e, ReservationState to) {
    fail_unless(res_state[e.reservation_id] == ReservationState::kPendingPayment,
                "released a reservation that was not pending");
    free_seats(e.reservation_id);
    res_state[e.reservation_id] = to;
  }
  void free_seats(const std::string& id) {
    const Res& r = res_.at(id);
    for (const auto& s : r.seats) {
      std::string& owner = seat_owner[r.schedule + "/" + s.seat_id];
      fail_unless(owner == id, "freed a seat the reservation did not hold");
      owner.clear();
    }
  }
  void on(const ev::HoldExpired& e) {
    fail_unless(e.released_at >= res_.at(e.reservation_id).expires_at, "hold expired early");
    release(e, ReservationState::kExpired);
  }
  void on(const ev::ReservationCancelled& e) { release(e, ReservationState::kCancelled); }
  void on(const ev::PaymentCompleted& e) {
    const Res& r = res_.at(e.reservation_id);
    fail_unless(res_state[e.reservation_id] == ReservationState::kPendingPayment,
                "paid a reservation twice or after it ended");
    fail_unless(e.user_id == r.user, "paid by someone other than the owner");
    fail_unless(e.paid_at < r.expires_at, "paid at or after expiresAt");
    res_state[e.reservation_id] = ReservationState::kConfirmed;
    money(e.user_id, -e.amount, e.balance_after);
  }
  void on(const ev::ReservationRefunded& e) {
    fail_unless(res_state[e.reservation_id] == ReservationState::kConfirmed,
                "refunded a reservation that was not confirmed");
    free_seats(e.reservation_id);
    res_state[e.reservation_id] = ReservationState::kRefunded;
    money(e.user_id, e.amount, e.balance_after);
  }
  void on(const ev::BalanceCharged& e) {
    fail_unless(e.amount >= 1 && e.amount <= kChargeMax, "charge amount out of range");
    money(e.user_id, e.amount, e.balance_after);
  }
  void money(const std::string& u, int64_t delta, int64_t after) {
    int64_t& b = balance[u];
    b += delta;
    fail_unless(b >= 0 && b <= kBalanceMax, "balance out of [0, 10^12]");
    fail_unless(b == after, "balanceAfter differs from charges - payments + refunds");
  }

  int64_t active_max_;
  std::string where_;
  int64_t active_ = 0;
  std::deque<std::string> waiting_;
  std::map<std::string, Res> res_;
};

// Checks the state against the auditor's model and the invariants; one
// doctest assertion per failure, none per success (they run every step).
void check_state(const State& s, const Auditor& a, const Limits& limits, const std::string& where) {
  auto expect = [&](bool ok, const std::string& what) {
    if (!ok) FAIL(where, ": ", what);
  };
  auto get = [](const std::map<std::string, std::string>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? std::string() : it->second;
  };
  for (Id uid = 0; uid < s.users.size(); ++uid) {
    const std::string id = key_of(s.users, uid);
    const User& u = s.users[uid];
    expect(u.balance >= 0 && u.balance <= kBalanceMax, "balance of " + id + " out of range");
    expect(u.balance == a.balance.at(id), "balance of " + id + " != charges - payments + refunds");
    const std::string live = u.live_token == kNoId ? "" : s.token_hash(u.live_token);
    expect(live == get(a.live_token, id), "live token of " + id + " differs");
    for (const auto& [schedule, n] : u.live_seats) {
      expect(n > 0, "a zero live-seat count of " + id + " is kept");
      expect(n <= limits.seats_per_user_max, id + " holds too many seats");
      (void)schedule;
    }
  }
  std::map<std::string, int> live_per_seat;
  for (Id rid = 0; rid < s.reservations.id_end(); ++rid) {
    if (!s.reservations.live(rid)) continue;
    const std::string id = key_of(s.reservations, rid);
    const Reservation& r = s.reservations[rid];
    expect(r.state == a.res_state.at(id), "state of reservation " + id + " differs");
    if (r.state != ReservationState::kPendingPayment && r.state != ReservationState::kConfirmed) {
      continue;
    }
    const Schedule& sc = s.schedules[r.schedule];
    for (Id seat : s.seats_of(r)) {
      ++live_per_seat[key_of(s.schedules, r.schedule) + "/" + sc.seats[seat].seat_id];
      expect(sc.seats[seat].holder == rid,
             "seat " + sc.seats[seat].seat_id + " is not held by its live reservation " + id);
    }
  }
  for (const auto& [seat, n] : live_per_seat) {
    expect(n == 1, "seat " + seat + " has " + std::to_string(n) + " live reservations");
  }
  for (Id sid = 0; sid < s.schedules.size(); ++sid) {
    for (const auto& seat : s.schedules[sid].seats) {
      const std::string key = key_of(s.schedules, sid) + "/" + seat.seat_id;
      const std::string held_by = key_of(s.reservations, seat.holder);
      expect(held_by == get(a.seat_owner, key), "holder of " + key + " differs");
      expect(held_by.empty() == (live_per_seat.count(key) == 0),
             "seat " + key + " held without a live reservation");
    }
  }
  int64_t active = 0;
  std::map<std::string, int> live_per_user;
  for (Id tid = 0; tid < s.tokens.id_end(); ++tid) {
    if (!s.tokens.live(tid)) continue;
    const Token& t = s.tokens[tid];
    expect(t.state == a.token_state.at(s.token_hash(tid)),
           "state of token " + key_of(s.tokens, tid) + " differs");
    if (t.state == TokenState::kActive) ++active;
    if (t.state != TokenState::kExpired) ++live_per_user[key_of(s.users, t.user)];
    expect((t.state == TokenState::kActive) == s.token_deadlines.contains(tid),
           "token " + key_of(s.tokens, tid) + ": ACTIVE iff it has a deadline");
  }
  for (Id rid = 0; rid < s.reservations.id_end(); ++rid) {
    if (!s.reservations.live(rid)) continue;
    const bool pending = s.reservations[rid].state == ReservationState::kPendingPayment;
    expect(pending == s.hold_deadlines.contains(rid),
           "reservation " + key_of(s.reservations, rid) + ": pending iff it has a deadline");
  }
  expect(active <= limits.active_tokens_max, "too many ACTIVE tokens");
  expect(active == s.active_tokens, "active_tokens count differs");
  for (const auto& [u, n] : live_per_user) expect(n == 1, u + " has two live tokens");
}

struct Fuzzer {
  Fuzzer(uint64_t seed, Scenario& g) : rng(seed), g(g) {}

  int64_t pick(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  }
  bool chance(int percent) { return pick(1, 100) <= percent; }
  template <class T>
  const T& one_of(const std::vector<T>& v) {
    return v[static_cast<size_t>(pick(0, static_cast<int64_t>(v.size()) - 1))];
  }

  std::string some_user() { return chance(95) ? one_of(users) : "ghost"; }

  // Mostly a token that can act (ACTIVE, else WAITING), sometimes an old or
  // unknown one. The fuzzer may peek at the state to aim its commands.
  std::string some_token() {
    const int64_t roll = pick(1, 100);
    if (roll <= 55 && !g.state.token_deadlines.empty()) {
      const auto active = g.state.token_deadlines.sorted();
      return clear_token(g.state, one_of(active).second);
    }
    if (roll <= 65 && !g.state.waiting.empty()) {
      return clear_token(g.state, g.state.waiting.front());
    }
    if (roll <= 68) return "bogus-token";
    auto& mine = tokens[one_of(users)];
    if (mine.empty()) return "bogus-token";
    return chance(70) ? mine.back() : one_of(mine);
  }

  // Mostly a pending reservation, else a recent or any one.
  std::string some_reservation() {
    const int64_t roll = pick(1, 100);
    if (roll <= 3 || reservations.empty()) return "bogus-reservation";
    if (roll <= 50 && !g.state.hold_deadlines.empty()) {
      const auto pending = g.state.hold_deadlines.sorted();
      return key_of(g.state.reservations, one_of(pending).second);
    }
    if (roll <= 80) {
      const auto n = static_cast<int64_t>(reservations.size());
      return reservations[static_cast<size_t>(pick(std::max<int64_t>(0, n - 8), n - 1))];
    }
    return one_of(reservations);
  }

  // The owner's live token for a reservation, mostly; else any token.
  std::string token_for(const std::string& reservation) {
    const Id r = g.state.reservations.find(reservation);
    if (r != kNoId && chance(75)) {
      const Id live = g.state.users[g.state.reservations[r].user].live_token;
      if (live != kNoId) return clear_token(g.state, live);
    }
    return some_token();
  }

  std::optional<std::string> some_body_user(const std::string& token) {
    if (chance(88)) return std::nullopt;
    const Id t = g.state.find_token(token);
    if (t != kNoId && chance(60)) return std::string(g.state.token_user(t));
    return one_of(users);
  }

  Command next() {
    const int64_t roll = pick(1, 100);
    if (roll <= 15) return IssueToken{some_user()};
    if (roll <= 45) {
      HoldSeats c;
      c.token = some_token();
      c.user_id = some_body_user(c.token);
      const int64_t s = pick(0, 19);
      c.schedule_id = s < 12 ? "s1" : s < 19 ? "s2" : "nope";
      const auto& pool = c.schedule_id == "s2" ? seats_s2 : seats_s1;
      const int64_t n = pick(1, 100) <= 60 ? 1 : pick(2, 4);
      for (int64_t i = 0; i < n; ++i) c.seat_ids.push_back(chance(3) ? "q9" : one_of(pool));
      return c;
    }
    if (roll <= 68) {
      PayReservation c;
      c.reservation_id = some_reservation();
      c.token = token_for(c.reservation_id);
      c.user_id = some_body_user(c.token);
      return c;
    }
    if (roll <= 80) {
      CancelReservation c;
      c.reservation_id = some_reservation();
      c.token = token_for(c.reservation_id);
      return c;
    }
    if (roll <= 98) {
      int64_t amount = pick(1, 150'000);
      const int64_t odd = pick(1, 100);
      if (odd <= 3) {
        amount = pick(-5, 0);
      } else if (odd <= 6) {
        amount = kChargeMax + pick(0, 1);
      }
      return ChargeBalance{some_user(), amount};
    }
    // Mostly USER_EXISTS; a few late users join.
    if (late < 3 && chance(30)) return RegisterUser{"late" + std::to_string(++late), "late"};
    return RegisterUser{one_of(users), "again"};
  }

  // A token in clear, opened from its seal (Scenario decides under the
  // test key): the state holds only its hash and seal.
  static std::string clear_token(const State& s, Id t) {
    return secrets::open_token(secrets::test_key(), s.tokens[t].seal_text(), s.token_hash(t))
        .value_or("");
  }
  // The same from its event.
  static std::string open(const ev::TokenIssued& t) {
    return secrets::open_token(secrets::test_key(), t.token_seal, t.token_hash).value_or("");
  }
  void learn(const Events& events) {
    for (const auto& e : events) {
      if (const auto* t = std::get_if<ev::TokenIssued>(&e)) tokens[t->user_id].push_back(open(*t));
      if (const auto* h = std::get_if<ev::SeatsHeld>(&e)) reservations.push_back(h->reservation_id);
      if (const auto* u = std::get_if<ev::UserRegistered>(&e)) users.push_back(u->user_id);
    }
  }

  std::mt19937_64 rng;
  Scenario& g;
  std::vector<std::string> users;
  std::vector<std::string> seats_s1, seats_s2;
  std::map<std::string, std::vector<std::string>> tokens;
  std::vector<std::string> reservations;
  int late = 0;
};

TEST_CASE("decide: invariants hold after every step of random command streams") {
  constexpr int kSeeds = 20;
  constexpr int kSteps = 3000;
  std::map<std::string, int> seen;  // outcome -> count, to prove the streams reach far
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    Limits limits;
    limits.active_tokens_max = 3;
    limits.seats_per_user_max = 3;
    limits.hold_ttl_ms = 5 * kMinute;
    limits.token_ttl_ms = 10 * kMinute;
    Scenario g(limits, seed);
    Fuzzer f(seed, g);
    Auditor audit(limits.active_tokens_max, "seed " + std::to_string(seed) + " setup");

    ev::ConcertCreated c{"c1", "fuzz", {}};
    ev::ScheduleSpec s1{"s1", kT0 + 10 * kHour, {}}, s2{"s2", kT0 + 20 * kHour, {}};
    for (int n = 1; n <= 8; ++n) s1.seats.push_back({"p" + std::to_string(n), n, n * 1'000});
    for (int n = 1; n <= 4; ++n) s2.seats.push_back({"q" + std::to_string(n), n, 20'000});
    c.schedules = {s1, s2};
    for (const auto& s : s1.seats) f.seats_s1.push_back(s.seat_id);
    for (const auto& s : s2.seats) f.seats_s2.push_back(s.seat_id);
    g.given(c);
    for (int u = 0; u < 5; ++u) g.given(user("u" + std::to_string(u)));
    given_balance(g, "u4", kBalanceMax - 100'000);  // a rich user meets the ceiling
    for (const auto& e : g.history) audit.apply(e);
    f.learn(g.history);

    int64_t now = kT0;
    for (int step = 0; step < kSteps; ++step) {
      const int64_t jump = f.pick(1, 100);
      now += jump <= 70   ? f.pick(0, 3 * kSecond)
             : jump <= 95 ? f.pick(0, kMinute)
                          : f.pick(2 * kMinute, 8 * kMinute);
      const Command command = f.next();
      const Outcome& out = g.when(command, now);
      const std::string where = "seed " + std::to_string(seed) + " step " + std::to_string(step);
      audit.set_where(where);
      if (const auto* err = std::get_if<DomainError>(&out.reply)) {
        ++seen[std::string(error_name(err->code))];
        if (!out.decided.empty()) FAIL(where, ": an error decided events");
      } else if (out.decided.empty() && !std::holds_alternative<TokenReply>(out.reply)) {
        FAIL(where, ": only a token reply may come without events");
      }
      for (const auto& e : out.events) {
        audit.apply(e);
        ++seen[event_name(e)];
        if (const auto* x = std::get_if<ev::TokenExpired>(&e)) ++seen["TokenExpired/" + x->reason];
      }
      f.learn(out.events);
      check_state(g.state, audit, limits, where);
      if (step % 500 == 499 || step == kSteps - 1) {
        State replayed;
        for (const auto& e : g.history) replayed.apply(e);
        if (!(observe(replayed) == observe(g.state))) FAIL(where, ": replay differs");
      }
    }
  }
  INFO("outcomes seen: ", [&] {
    std::string s;
    for (const auto& [k, v] : seen) s += k + "=" + std::to_string(v) + " ";
    return s;
  }());
  for (const char* must : {"SeatsHeld",
                           "PaymentCompleted",
                           "ReservationRefunded",
                           "ReservationCancelled",
                           "HoldExpired",
                           "TokenActivated",
                           "TokenExpired/TTL",
                           "TokenExpired/PAID",
                           "SEAT_UNAVAILABLE",
                           "SEAT_LIMIT_EXCEEDED",
                           "INSUFFICIENT_BALANCE",
                           "TOKEN_EXPIRED",
                           "TOKEN_NOT_ACTIVE",
                           "FORBIDDEN",
                           "RESERVATION_EXPIRED",
                           "ALREADY_PAID",
                           "RESERVATION_CANCELLED",
                           "BALANCE_LIMIT_EXCEEDED",
                           "INVALID_TOKEN",
                           "SCHEDULE_CLOSED"}) {
    CHECK_MESSAGE(seen[must] > 0, must, " never happened");
  }
}

// ============================================================================
// SPEC §5.1: reservationOpensAt, sequence numbers, tokenIds

HoldSeats hold_by_id(int64_t token_id, std::optional<std::string> named, std::string schedule,
                     std::vector<std::string> seats) {
  HoldSeats h;
  h.token_id = token_id;
  h.named_user = std::move(named);
  h.schedule_id = std::move(schedule);
  h.seat_ids = std::move(seats);
  return h;
}

// The tokenId a user's token got when issued through IssueToken.
int64_t token_id_of(Scenario& g, const std::string& u, int64_t at) {
  g.when(IssueToken{u}, at);
  return g.then_reply<TokenReply>().token_id;
}

TEST_CASE("decide: CreateConcert opens a schedule at once, or at its reservationOpensAt") {
  Scenario g;
  CreateConcert c{"c9", "Drop", {}};
  c.schedules.push_back({"now", kT0 + kDay, {{"n1", 1, 100}}});
  c.schedules.push_back({"later", kT0 + kDay, {{"l1", 1, 100}}, kT0 + kHour});
  g.when(c, kT0 + 5);
  auto [e] = g.then_events<ev::ConcertCreated>();
  REQUIRE(e.schedules.size() == 2);
  CHECK(e.schedules[0].opens_at == kT0 + 5);  // left out: the command's time
  CHECK(e.schedules[1].opens_at == kT0 + kHour);
  CHECK(g.state.schedules.at("now").opens_at == kT0 + 5);
  CHECK(g.state.schedules.at("later").opens_at == kT0 + kHour);
  CHECK(g.state.concerts.at("c9").title == "Drop");
  CHECK(g.then_reply<ConcertReply>().created.schedules[1].opens_at == kT0 + kHour);
}

TEST_CASE("decide: a reservationOpensAt at or after startsAt is INVALID_REQUEST naming it") {
  Scenario g;
  for (int64_t opens : {kT0 + kDay, kT0 + kDay + 1}) {
    CAPTURE(opens);
    CreateConcert c{"c9", "Drop", {{"s9", kT0 + kDay, {{"x", 1, 1}}, opens}}};
    g.when(c, kT0);
    g.then_error(ErrorCode::INVALID_REQUEST);
    CHECK(std::get<DomainError>(g.last.reply).message.find("reservationOpensAt") !=
          std::string::npos);
  }
  CHECK_FALSE(g.state.concerts.contains("c9"));
}

// standard() plus concert "c2" whose schedule "drop" opens an hour after kT0.
Scenario with_drop() {
  Scenario g = standard();
  ev::ConcertCreated c2{"c2", "Ticket drop", {}};
  ev::ScheduleSpec drop{"drop", kT0 + kDay, {{"d1", 1, 1'000}, {"d2", 2, 1'000}}};
  drop.opens_at = kT0 + kHour;
  c2.schedules.push_back(drop);
  g.given(c2);
  return g;
}

TEST_CASE("decide: HoldSeats before reservationOpensAt is SCHEDULE_NOT_OPEN; at it, held") {
  Scenario g = with_drop();
  g.limits.token_ttl_ms = 2 * kHour;  // t1 outlives the wait
  g.given(ev::TokenExpired{"t1", "u1", "TTL", true, kT0});
  const std::string t = token_of(g, "u1", kT0);
  SUBCASE("a millisecond before") {
    g.when(HoldSeats{t, std::nullopt, "drop", {"d1"}}, kT0 + kHour - 1);
    g.then_error(ErrorCode::SCHEDULE_NOT_OPEN);
    CHECK(holder(g, "drop", "d1").empty());
  }
  SUBCASE("404 before 409: an unknown seat of a schedule not open yet") {
    g.when(HoldSeats{t, std::nullopt, "drop", {"zz"}}, kT0 + 1);
    g.then_error(ErrorCode::SEAT_NOT_FOUND);
  }
  SUBCASE("before the seat checks: a taken seat of a schedule not open is not checked") {
    g.given(ev::SeatsHeld{
        "forged", "u2", "c2", "drop", {{"d1", 1, 1'000}}, 1'000, kT0, kT0 + 2 * kHour});
    g.when(HoldSeats{t, std::nullopt, "drop", {"d1"}}, kT0 + 1);
    g.then_error(ErrorCode::SCHEDULE_NOT_OPEN);
  }
  SUBCASE("at reservationOpensAt") {
    g.when(HoldSeats{t, std::nullopt, "drop", {"d1"}}, kT0 + kHour);
    const auto reply = g.then_reply<ReservationReply>();  // (t2's expiry ran first)
    CHECK(holder(g, "drop", "d1") == reply.reservation_id);
    CHECK(reply.concert_title == "Ticket drop");
  }
}

TEST_CASE("decide: reservations and payments are numbered 1, 2, 3 in log order") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  given_balance(g, "u2", 100'000);
  g.when(HoldSeats{"t1", std::nullopt, "s1", {"a1"}}, kT0 + 1);
  auto [h1] = g.then_events<ev::SeatsHeld>();
  const auto r1 = g.then_reply<ReservationReply>();
  g.when(HoldSeats{"t2", std::nullopt, "s1", {"a2", "a3"}}, kT0 + 2);
  auto [h2] = g.then_events<ev::SeatsHeld>();
  CHECK(h1.seq == 1);
  CHECK(h2.seq == 2);
  CHECK(r1.seq == 1);
  CHECK(r1.concert_id == "c1");
  CHECK(r1.concert_title == "Night at the Opera");
  CHECK(r1.starts_at == kT0 + kDay);
  CHECK(g.state.find_reservation_seq(2) == g.state.reservations.find(h2.reservation_id));
  CHECK(g.state.find_reservation_seq(3) == kNoId);

  g.when(PayReservation{"t2", std::nullopt, h2.reservation_id}, kT0 + 3);
  const auto p1 = std::get<0>(g.then_events<ev::PaymentCompleted, ev::TokenExpired>());
  CHECK(p1.seq == 1);
  CHECK(p1.reservation_seq == 2);
  const auto pay = g.then_reply<PaymentReply>();
  CHECK(pay.seq == 1);
  CHECK(pay.reservation_seq == 2);
  g.when(PayReservation{"t1", std::nullopt, h1.reservation_id}, kT0 + 4);
  const auto p2 = std::get<0>(g.then_events<ev::PaymentCompleted, ev::TokenExpired>());
  CHECK(p2.seq == 2);
  CHECK(p2.reservation_seq == 1);
  CHECK(g.state.reservations.at(h1.reservation_id).payment_seq == 2);
}

TEST_CASE("decide: version-1 holds and payments (no numbers) are numbered by counting") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  // As a version-1 log decodes: seq 0, reservationSeq 0.
  g.given(ev::SeatsHeld{"old1", "u1", "c1", "s1", {{"a1", 1, 10'000}}, 10'000, kT0, kT0 + kDay});
  g.given(ev::SeatsHeld{"old2", "u2", "c1", "s1", {{"a2", 2, 20'000}}, 20'000, kT0, kT0 + kDay});
  g.given(
      ev::PaymentCompleted{"p-old", "old1", "u1", "s1", {{"a1", 1, 10'000}}, 10'000, kT0, 90'000});
  const Reservation& old1 = g.state.reservations.at("old1");
  CHECK(old1.seq == 1);
  CHECK(old1.payment_seq == 1);
  CHECK(g.state.reservations.at("old2").seq == 2);
  g.when(HoldSeats{"t1", std::nullopt, "s1", {"a3"}}, kT0 + 1);
  auto [h] = g.then_events<ev::SeatsHeld>();
  CHECK(h.seq == 3);
  g.when(PayReservation{"t1", std::nullopt, h.reservation_id}, kT0 + 2);
  const auto p = std::get<0>(g.then_events<ev::PaymentCompleted, ev::TokenExpired>());
  CHECK(p.seq == 2);
  CHECK(p.reservation_seq == 3);
}

TEST_CASE(
    "decide: IssueToken draws a tokenId in [1, 2^53); the reply names it, its number, its time") {
  Scenario g = standard();
  g.when(IssueToken{"u3"}, kT0 + 7);
  auto [issued_event] = g.then_events<ev::TokenIssued>();  // a third token waits
  const auto reply = g.then_reply<TokenReply>();
  CHECK(issued_event.token_id >= 1);
  CHECK(issued_event.token_id < (int64_t{1} << 53));
  CHECK(reply.token_id == issued_event.token_id);
  CHECK(reply.seq == 3);
  CHECK(reply.issued_at == kT0 + 7);
  CHECK(g.state.find_token_id(reply.token_id) == g.state.find_token(reply.token));
  g.when(IssueToken{"u3"}, kT0 + 9);  // the same token back, with the same numbers
  const auto again = g.then_reply<TokenReply>();
  CHECK(again.token == reply.token);
  CHECK(again.token_id == reply.token_id);
  CHECK(again.seq == 3);
  CHECK(again.issued_at == kT0 + 7);
}

TEST_CASE("decide: a tokenId that clashes with any token ever issued is drawn again") {
  Scenario g = standard();
  constexpr int64_t kTaken = 12345, kFresh = 67890;
  ev::TokenIssued old{"t-old", "u3", 3, kT0, kTaken};
  g.given(old, ev::TokenActivated{"t-old", "u3", 3, kT0, kT0 + kMinute});
  g.tick(kT0 + kMinute);  // t-old EXPIRED: its tokenId stays taken
  REQUIRE(g.state.tokens[g.state.find_token("t-old")].state == TokenState::kExpired);
  // Draws are the top 53 bits of 64: a taken id, then 0 (outside the range), then a fresh one.
  ScriptedRandom random({uint64_t{kTaken} << 11, 0, uint64_t{kFresh} << 11});
  Context ctx{g.now, random, g.limits};
  Events out;
  const Reply reply = decide(g.state, IssueToken{"u3"}, ctx, out);
  REQUIRE(std::holds_alternative<TokenReply>(reply));
  CHECK(std::get<TokenReply>(reply).token_id == kFresh);
  CHECK(random.left() == 0);
  REQUIRE(std::holds_alternative<ev::TokenIssued>(out[0]));
  CHECK(std::get<ev::TokenIssued>(out[0]).token_id == kFresh);
}

TEST_CASE("decide: queue-tokens names the token by tokenId and the user by id") {
  Scenario g = standard();
  g.given(ev::TokenExpired{"t1", "u1", "TTL", true, kT0});  // u1 takes a numbered token
  const int64_t k1 = token_id_of(g, "u1", kT0 + 1);
  SUBCASE("the named user's own tokenId holds") {
    g.when(hold_by_id(k1, "u1", "s1", {"a1"}), kT0 + 2);
    auto [h] = g.then_events<ev::SeatsHeld>();
    CHECK(h.user_id == "u1");
    CHECK(std::get<std::string>(actor_of(g.state, hold_by_id(k1, "u1", "s1", {"a1"}))) == "u1");
  }
  SUBCASE("a tokenId alone identifies too") {
    g.when(hold_by_id(k1, std::nullopt, "s1", {"a1"}), kT0 + 2);
    g.then_events<ev::SeatsHeld>();
  }
  SUBCASE("an unknown named user is USER_NOT_FOUND, before the token") {
    for (int64_t id : {k1, int64_t{0}, k1 + 1}) {
      const auto actor = actor_of(g.state, hold_by_id(id, "nobody", "s1", {"a1"}));
      REQUIRE(std::holds_alternative<DomainError>(actor));
      CHECK(std::get<DomainError>(actor).code == ErrorCode::USER_NOT_FOUND);
    }
  }
  SUBCASE("another user's, a missing or an unknown tokenId is INVALID_TOKEN") {
    for (int64_t id : {k1, int64_t{0}, k1 + 1}) {
      CAPTURE(id);
      const auto actor = actor_of(g.state, hold_by_id(id, "u2", "s1", {"a1"}));
      REQUIRE(std::holds_alternative<DomainError>(actor));
      CHECK(std::get<DomainError>(actor).code == ErrorCode::INVALID_TOKEN);
      g.when(hold_by_id(id, "u2", "s1", {"a1"}), kT0 + 2);
      g.then_error(ErrorCode::INVALID_TOKEN);
    }
  }
}

TEST_CASE(
    "decide: HoldSeats with a concert named: CONCERT_NOT_FOUND, or another's SCHEDULE_NOT_FOUND") {
  Scenario g = with_drop();
  HoldSeats h{"t1", std::nullopt, "s1", {"a1"}};
  SUBCASE("unknown concert") {
    h.concert_id = "c-none";
    g.when(h, kT0 + 1);
    g.then_error(ErrorCode::CONCERT_NOT_FOUND);
  }
  SUBCASE("a schedule of another concert") {
    h.concert_id = "c2";
    g.when(h, kT0 + 1);
    g.then_error(ErrorCode::SCHEDULE_NOT_FOUND);
  }
  SUBCASE("its own concert") {
    h.concert_id = "c1";
    g.when(h, kT0 + 1);
    g.then_events<ev::SeatsHeld>();
  }
}

TEST_CASE("decide: PayReservation names the reservation by its sequence number") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  const std::string r1 = hold(g, "t1", "s1", {"a1"}, kT0 + 1);
  const std::string r2 = hold(g, "t2", "s1", {"a2"}, kT0 + 2);
  PayReservation pay;
  pay.token = "t1";
  SUBCASE("an unknown number") {
    pay.reservation_seq = 3;
    g.when(pay, kT0 + 3);
    g.then_error(ErrorCode::RESERVATION_NOT_FOUND);
  }
  SUBCASE("another user's") {
    pay.reservation_seq = 2;
    g.when(pay, kT0 + 3);
    g.then_error(ErrorCode::FORBIDDEN);
  }
  SUBCASE("its own: the events name the canonical id") {
    pay.reservation_seq = 1;
    g.when(pay, kT0 + 3);
    auto [paid, spent] = g.then_events<ev::PaymentCompleted, ev::TokenExpired>();
    CHECK(paid.reservation_id == r1);
    CHECK(spent.token_hash == hashed("t1"));
    CHECK(g.then_reply<PaymentReply>().reservation_id == r1);
  }
  SUBCASE("queue-tokens: by tokenId and named user") {
    g.given(ev::TokenExpired{"t1", "u1", "TTL", true, kT0 + 3});
    pay.token.clear();
    pay.token_id = token_id_of(g, "u1", kT0 + 3);
    pay.named_user = "u1";
    pay.reservation_seq = 1;
    g.when(pay, kT0 + 4);
    auto [paid, spent] = g.then_events<ev::PaymentCompleted, ev::TokenExpired>();
    CHECK(paid.reservation_id == r1);
    CHECK(spent.token_hash == g.state.token_hash(g.state.find_token_id(pay.token_id)));
  }
  CHECK(holder(g, "s1", "a2") == r2);
}

// ============================================================================
// FindReservation (concert-events `reserve`, SPEC §5.3)

TEST_CASE("decide: FindReservation answers the newest live reservation holding the seat") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  const std::string old = hold(g, "t1", "s1", {"a1", "a2"}, kT0 + 1);
  g.when(CancelReservation{"t1", old}, kT0 + 2);
  const std::string r = hold(g, "t1", "s1", {"a1"}, kT0 + 3);
  SUBCASE("pending, before expiresAt") {
    g.when(FindReservation{"t1", "s1", "a1"}, kT0 + 4);
    g.then_no_events();
    const auto reply = g.then_reply<ReservationReply>();
    CHECK(reply.reservation_id == r);
    CHECK(reply.seq == 2);
    CHECK(reply.state == ReservationState::kPendingPayment);
    CHECK(reply.concert_title == "Night at the Opera");
    CHECK(reply.seats.size() == 1);
  }
  SUBCASE("confirmed") {
    g.when(PayReservation{"t1", std::nullopt, r}, kT0 + 4);
    g.given(issued("t1b", "u1", 3), activated("t1b", "u1", 3));
    g.when(FindReservation{"t1b", "s1", "a1"}, kT0 + 5);
    CHECK(g.then_reply<ReservationReply>().state == ReservationState::kConfirmed);
  }
  SUBCASE("the newest is cancelled") {
    g.when(CancelReservation{"t1", r}, kT0 + 4);
    g.when(FindReservation{"t1", "s1", "a1"}, kT0 + 5);
    g.then_error(ErrorCode::RESERVATION_CANCELLED);
  }
  SUBCASE("an older reservation holding only that seat counts") {
    g.when(FindReservation{"t1", "s1", "a2"}, kT0 + 5);
    g.then_error(ErrorCode::RESERVATION_CANCELLED);
  }
  SUBCASE("at expiresAt: the expiry runs first, and it is EXPIRED") {
    g.when(FindReservation{"t1", "s1", "a1"}, kT0 + 3 + g.limits.hold_ttl_ms);
    g.then_error(ErrorCode::RESERVATION_EXPIRED);
  }
  SUBCASE("at expiresAt, judged by the command's time before any expiry") {
    Context ctx{kT0 + 3 + g.limits.hold_ttl_ms, g.random, g.limits};
    Events out;
    const Reply reply = decide(g.state, FindReservation{"t1", "s1", "a1"}, ctx, out);
    REQUIRE(std::holds_alternative<DomainError>(reply));
    CHECK(std::get<DomainError>(reply).code == ErrorCode::RESERVATION_EXPIRED);
    CHECK(out.empty());
  }
}

TEST_CASE("decide: FindReservation's refusals") {
  Scenario g = standard();
  given_balance(g, "u1", 100'000);
  const std::string r = hold(g, "t1", "s1", {"a1"}, kT0 + 1);
  SUBCASE("another user's reservation is not found") {
    g.when(FindReservation{"t2", "s1", "a1"}, kT0 + 2);
    g.then_error(ErrorCode::RESERVATION_NOT_FOUND);
  }
  SUBCASE("a seat never held") {
    g.when(FindReservation{"t1", "s1", "a2"}, kT0 + 2);
    g.then_error(ErrorCode::RESERVATION_NOT_FOUND);
  }
  SUBCASE("unknown schedule") {
    g.when(FindReservation{"t1", "nope", "a1"}, kT0 + 2);
    g.then_error(ErrorCode::SCHEDULE_NOT_FOUND);
  }
  SUBCASE("a seat not in the schedule") {
    g.when(FindReservation{"t1", "s1", "b1"}, kT0 + 2);
    g.then_error(ErrorCode::SEAT_NOT_FOUND);
  }
  SUBCASE("unknown token, from actor_of") {
    const auto actor = actor_of(g.state, FindReservation{"t-none", "s1", "a1"});
    REQUIRE(std::holds_alternative<DomainError>(actor));
    CHECK(std::get<DomainError>(actor).code == ErrorCode::INVALID_TOKEN);
  }
  SUBCASE("an expired token") {
    g.when(PayReservation{"t1", std::nullopt, r}, kT0 + 2);
    g.when(FindReservation{"t1", "s1", "a1"}, kT0 + 3);
    g.then_error(ErrorCode::TOKEN_EXPIRED);
  }
  SUBCASE("a WAITING token is live enough") {
    // t2 and t3 fill both ACTIVE places, so u1's new token waits.
    g.given(ev::TokenExpired{"t1", "u1", "TTL", true, kT0 + 1}, issued("t3", "u3", 3),
            activated("t3", "u3", 3), issued("t1w", "u1", 4));
    REQUIRE(g.state.tokens[g.state.find_token("t1w")].state == TokenState::kWaiting);
    g.when(FindReservation{"t1w", "s1", "a1"}, kT0 + 2);
    CHECK(g.then_reply<ReservationReply>().reservation_id == r);
  }
  SUBCASE("refunded") {
    g.when(PayReservation{"t1", std::nullopt, r}, kT0 + 2);
    g.given(issued("t1b", "u1", 3), activated("t1b", "u1", 3));
    g.when(CancelReservation{"t1b", r}, kT0 + 3);
    g.then_events<ev::ReservationRefunded>();
    g.when(FindReservation{"t1b", "s1", "a1"}, kT0 + 4);
    g.then_error(ErrorCode::RESERVATION_CANCELLED);
  }
}

}  // namespace
