// Crash safety over real HTTP (SPEC §1 invariant 5, §4 "a kill -9 at any
// moment loses no acknowledged command and leaves no half command"):
// load from 8 charging threads (one user each, sequential, distinct amounts)
// and one booking thread (token -> hold -> pay -> token -> refund, for
// carol); the server is killed mid-load, restarted on the same data dir,
// and then:
// - each charged user's balance is base + acknowledged, or that plus the
//   one charge in flight when the server died (each thread stops at its
//   first non-200, so at most one answer per user is unknown);
// - carol's reservations, payments, balance and seats agree with each
//   other (a payment is whole or absent);
// - queries and new commands work.
#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/server_process.h"

namespace reservoir::test {
namespace {

const std::string kAdmin = "crash-admin";
constexpr int kChargers = 8;
constexpr int64_t kCarolStart = 500000;

// One user charged by one thread, one request at a time.
struct Lane {
  std::string user;
  int64_t base = 0;       // balance when the round started
  int64_t acked = 0;      // sum of the charges answered 200 this round
  int64_t uncertain = 0;  // the charge that got no 200 (0: none)
  int64_t next_amount = 1;
  int wrong_balances = 0;  // 200s whose balance was not base + acked
};

void run_lane(int port, Lane& lane, std::atomic<int64_t>& acked_total) {
  Api api(port);
  for (;;) {  // until the server goes away
    const int64_t amount = lane.next_amount++;
    Reply r = api.charge(lane.user, amount);
    if (!r.ok()) {
      lane.uncertain = amount;
      return;
    }
    lane.acked += amount;
    lane.wrong_balances += num(r.data(), "balance") != lane.base + lane.acked;
    ++acked_total;
  }
}

// carol books `seat` and refunds it, over and over, until a request fails.
void run_bookings(int port, const std::string& seat) {
  Api api(port);
  for (;;) {
    Reply t = api.token("carol");
    if (!t.ok()) return;
    Reply h = api.hold(str(t.data(), "token"), kSchedule2, {seat});
    if (!h.ok()) return;
    const std::string rid = str(h.data(), "reservationId");
    if (!api.pay(str(t.data(), "token"), rid).ok()) return;
    Reply t2 = api.token("carol");
    if (!t2.ok() || !api.cancel(str(t2.data(), "token"), rid).ok()) return;
  }
}

// Every item of a paged list.
std::vector<rapidjson::Document> all_items(Api& api, const std::string& path) {
  std::vector<rapidjson::Document> items;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    Reply r = api.get(path + "?limit=100" + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE_MESSAGE(r.ok(), r.text());
    for (const auto& item : r.data()["items"].GetArray()) {
      rapidjson::Document copy;
      copy.CopyFrom(item, copy.GetAllocator());
      items.push_back(std::move(copy));
    }
    if (is_null(r.data(), "nextCursor")) return items;
    cursor = str(r.data(), "nextCursor");
  }
  FAIL("too many pages");
  return items;
}

// carol's balance, payments and seats agree with her reservations.
void check_carol(Api& api) {
  int64_t debited = 0;
  int paid = 0;
  std::map<std::string, std::string> seat_state;  // seat -> status from live reservations
  for (const auto& r : all_items(api, "/api/v1/users/carol/reservations")) {
    const std::string status = str(r, "status");
    const std::string seat = str(r["seats"][0], "seatId");
    if (status == "CONFIRMED") debited += num(r, "totalPrice");
    if (status == "CONFIRMED" || status == "REFUNDED") ++paid;
    if (status == "CONFIRMED") seat_state[seat] = "SOLD";
    if (status == "PENDING_PAYMENT") seat_state[seat] = "HELD";
    if (!seat_state.count(seat)) seat_state[seat] = "AVAILABLE";
  }
  CHECK(api.balance_of("carol") == kCarolStart - debited);
  CHECK(all_items(api, "/api/v1/users/carol/payments").size() == static_cast<size_t>(paid));
  for (const auto& [seat, status] : seat_state) {
    CAPTURE(seat);
    CHECK(api.seat_status(kSchedule2, seat) == status);
  }
}

// Queries work and new commands are accepted.
void check_serving(Api& api, Lane& lane) {
  Reply c = api.charge(lane.user, lane.next_amount++);
  REQUIRE_MESSAGE(c.ok(), c.text());
  CHECK(api.payments(lane.user).ok());
  CHECK(api.reservations(lane.user).ok());
  const std::string tok = api.active_token("alice");
  const std::string rid =
      api.hold_ok(tok, kSchedule1, {"A" + std::to_string(lane.next_amount % 10 + 1)});
  Reply pay = api.pay(tok, rid);
  CHECK_MESSAGE(pay.ok(), pay.text());
  Reply refund = api.cancel(api.active_token("alice"), rid);
  CHECK_MESSAGE(refund.ok(), refund.text());
}

class Fleet {
 public:
  explicit Fleet(ServerProcess& server) : server_(server) {
    Api api(server_);
    lanes_.resize(kChargers);
    for (int i = 0; i < kChargers; ++i)
      lanes_[static_cast<size_t>(i)].user = "charger-" + std::to_string(i);
    for (const auto& lane : lanes_) create_users(api, kAdmin, {lane.user});
  }

  // Loads the server until `acked` charges are answered (at most 10 s),
  // then stops it with `stop` (which returns the exit status), restarts it
  // and checks the state. `round` picks carol's seat.
  template <class Stop>
  void round(int round, int64_t acked, Stop stop) {
    begin_round();
    std::atomic<int64_t> total{0};
    std::vector<std::thread> threads;
    const int port = server_.port();
    for (auto& lane : lanes_) threads.emplace_back(run_lane, port, std::ref(lane), std::ref(total));
    threads.emplace_back(run_bookings, port, "E" + std::to_string(round + 1));
    eventually([&] { return total >= acked; }, 10s);
    stop();
    for (auto& t : threads) t.join();
    CHECK(total > 0);  // the stop came in the middle of the load
    server_.start();
    check_after_restart();
  }

 private:
  void begin_round() {
    Api api(server_);
    for (auto& lane : lanes_) {
      lane.base = api.balance_of(lane.user);
      lane.acked = lane.uncertain = 0;
    }
  }
  void check_after_restart() {
    Api api(server_);
    for (auto& lane : lanes_) {
      CAPTURE(lane.user);
      CHECK(lane.wrong_balances == 0);
      const int64_t balance = api.balance_of(lane.user);
      const int64_t sure = lane.base + lane.acked;
      const bool ok = balance == sure || (lane.uncertain != 0 && balance == sure + lane.uncertain);
      CHECK_MESSAGE(ok, "balance " << balance << ", acknowledged " << sure << ", in flight "
                                   << lane.uncertain);
    }
    check_carol(api);
    check_serving(api, lanes_[0]);
  }

  ServerProcess& server_;
  std::vector<Lane> lanes_;
};

ServerOptions crash_options() {
  return ServerOptions().admin(kAdmin).with({"--max-seats", "8"});
}

TEST_CASE("crash: kill -9 at three moments of a load loses no acknowledged command") {
  ServerProcess server(crash_options());
  Fleet fleet(server);
  int round = 0;
  for (int64_t acked : {20, 400, 2500}) {
    CAPTURE(acked);
    fleet.round(round++, acked, [&] { server.kill9(); });
  }
}

TEST_CASE("crash: SIGTERM during a load exits 0 and keeps every acknowledged command") {
  ServerProcess server(crash_options());
  Fleet fleet(server);
  fleet.round(0, 500, [&] { CHECK(server.terminate() == 0); });
}

}  // namespace
}  // namespace reservoir::test
