// Recycled storage of decide's output (engine/concert/spares.h): an
// EventList keeps its events in order and hands out recycled events and
// replies with their numbers reset; set() overwrites ids of any length;
// copies are deep; a decide with spares decides exactly what one without
// them does, for every kind of command and ids of different lengths.
#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "engine/concert/decide.h"
#include "engine/concert/spares.h"
#include "support/given.h"

namespace {

using namespace reservoir;
using namespace reservoir::concert;
namespace ev = reservoir::events;

TEST_CASE("event list: in order; a recycled event comes back with its numbers reset") {
  EventList list;
  auto& held = list.add<ev::SeatsHeld>();
  held.reservation_id = std::string(36, 'r');
  held.user_id = "u1";
  held.seats.push_back({"a1", 1, 100});
  held.total_price = 100;
  held.expires_at = 5;
  list.add<ev::BalanceCharged>().amount = 7;
  REQUIRE(list.size() == 2);
  CHECK(std::get<ev::SeatsHeld>(list[0]).reservation_id == std::string(36, 'r'));
  CHECK(std::get<ev::BalanceCharged>(list.back()).amount == 7);
  int n = 0;
  for (const auto& e : list) n += static_cast<int>(e.index());
  CHECK(n == static_cast<int>(list[0].index() + list[1].index()));

  const EventList copy = list;  // deep: survives the original's clear
  list.clear();
  CHECK(list.empty());
  const auto& again = list.add<ev::SeatsHeld>();  // the same storage, numbers reset
  CHECK(again.total_price == 0);
  CHECK(again.expires_at == 0);
  REQUIRE(copy.size() == 2);
  CHECK(std::get<ev::SeatsHeld>(copy[0]).seats.size() == 1);

  list.push_back(ev::ConcertEvent(ev::TokenExpired{"t", "u", "PAID", true, 9}));
  const auto& expired = std::get<ev::TokenExpired>(list.back());
  CHECK(expired.reason == "PAID");
  CHECK(expired.was_active);
}

TEST_CASE("spares: a recycled reply comes back with its numbers and state reset") {
  Spares spares;
  ReservationReply r;
  r.reservation_id = std::string(36, 'x');
  r.seats.push_back({"a1", 1, 100});
  r.paid_at = 3;
  r.state = ReservationState::kConfirmed;
  spares.give(Reply(std::move(r)));
  const auto again = spares.take<ReservationReply>();
  CHECK(again.paid_at == 0);
  CHECK(again.state == ReservationState::kPendingPayment);
  spares.give(Reply(DomainError{ErrorCode::FORBIDDEN, "no"}));  // not kept, no harm
  CHECK(spares.take<TokenReply>().position == 0);
}

TEST_CASE("set: overwrites in place at the same length, assigns otherwise") {
  std::string s(36, 'a');
  const char* before = s.data();
  for (size_t n : {36, 36, 3, 7, 8, 15, 16, 17, 33, 64, 0, 36}) {
    const std::string want(n, static_cast<char>('b' + n % 20));
    set(s, want);
    CHECK(s == want);
  }
  set(s, std::string(36, 'z'));
  CHECK(s == std::string(36, 'z'));
  (void)before;
  std::vector<ev::SeatRef> seats{{"a1", 1, 2}, {"a2", 3, 4}, {"a3", 5, 6}};
  set_seats(seats, {{"longer-seat-id-x", 7, 8}});
  REQUIRE(seats.size() == 1);
  CHECK(seats[0].seat_id == "longer-seat-id-x");
  CHECK(seats[0].price == 8);
}

TEST_CASE("spares: deciding with recycled storage decides the same as without") {
  // Two scenarios from the same seed: one decides through a long-lived
  // Events + Spares (as Module does), the other fresh each time.
  test::Scenario a, b;
  for (auto* g : {&a, &b}) {
    g->given(ev::UserRegistered{"u1", ""}, ev::UserRegistered{"u2", ""},
             ev::UserRegistered{"user-with-a-longer-id", ""},
             ev::ConcertCreated{"c1", "t", {{"s1", test::kT0 + 3600'000, {{"a1", 1, 10}}}}},
             ev::BalanceCharged{"u1", 1000, 1000, test::kT0});
  }
  Events events;
  Spares spares;
  Reply last;
  auto run = [&](const Command& c) {
    events.clear();
    spares.give(std::move(last));
    Context ctx{test::kT0, a.random, a.limits, &spares};
    last = decide(a.state, c, ctx, events);
    for (const auto& e : events) a.state.apply(e);
    b.when(c, test::kT0);
    REQUIRE(events.size() == b.last.decided.size());
    for (size_t i = 0; i < events.size(); ++i) {
      CHECK(ev::ConcertCatalog::encode(events[i], 0).payload ==
            ev::ConcertCatalog::encode(b.last.decided[i], 0).payload);
    }
    CHECK(last.index() == b.last.reply.index());
  };
  for (int round = 0; round < 3; ++round) {
    run(ChargeBalance{"ghost", 5});  // USER_NOT_FOUND: an error in between
    run(IssueToken{"u1"});
    const std::string token = std::get<TokenReply>(last).token;
    CHECK(token == std::get<TokenReply>(b.last.reply).token);
    run(HoldSeats{token, std::nullopt, "s1", {"a1"}});
    const std::string r = std::get<ReservationReply>(last).reservation_id;
    run(PayReservation{token, std::nullopt, r});
    CHECK(std::get<PaymentReply>(last).payment_id ==
          std::get<PaymentReply>(b.last.reply).payment_id);
    run(IssueToken{"u1"});
    run(CancelReservation{std::get<TokenReply>(last).token, r});
    CHECK(std::get<ReservationReply>(last).state == ReservationState::kRefunded);
    run(ChargeBalance{"u2", 5});
    // A pending hold cancelled, then ids of another length (a long user).
    run(IssueToken{"u1"});
    const std::string t2 = std::get<TokenReply>(last).token;
    run(HoldSeats{t2, std::nullopt, "s1", {"a1"}});
    run(CancelReservation{t2, std::get<ReservationReply>(last).reservation_id});
    CHECK(std::get<ReservationReply>(last).state == ReservationState::kCancelled);
    run(IssueToken{"user-with-a-longer-id"});
    run(ChargeBalance{"user-with-a-longer-id", 7});
    CHECK(std::get<BalanceReply>(last).user_id == "user-with-a-longer-id");
  }
}

}  // namespace
