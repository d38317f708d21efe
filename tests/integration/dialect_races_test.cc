// The races of race_test.cc through the seed dialects (SPEC §5: one engine,
// so §1's invariants hold whatever dialect wrote the log): many clients, each
// on its own connection and thread, released at once by a latch, once
// through concert-events and once through queue-tokens. Worker threads only
// record replies; the test thread asserts, through canonical queries and
// `reservoir replay --verify` on the data dir after the server stops.
#include <doctest/doctest.h>

#include <latch>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/dialect_client.h"
#include "support/race.h"
#include "support/server_process.h"

namespace reservoir::test {
namespace {

const std::string kAdmin = "dialect-race-admin";

ServerOptions race_options() {
  return ServerOptions().admin(kAdmin).api_port(kCeDialect).with({"--active-tokens", "1000"});
}

// Runs body(i, client) on `n` threads, each with its own warmed-up Client
// (CeApi or QtApi) on `port`, all released together; returns their replies.
template <class Client, class Body>
std::vector<Reply> race(int port, int n, Body body) {
  return race_clients<Client>(n, body, port);
}

// "200 x1, 400 invalid_seat_status x63": replies by status and dialect code.
std::string outcomes(const std::vector<Reply>& replies) {
  return outcome_counts(replies, [](const Reply& r) {
    return std::string(is_ce_error(r) ? ce_code(r) : qt_message(r));
  });
}

size_t winner_of(const std::vector<Reply>& replies) {
  size_t winner = 0;
  while (winner < replies.size() && !replies[winner].ok()) ++winner;
  REQUIRE_MESSAGE(winner < replies.size(), outcomes(replies));
  return winner;
}

// Numeric users "1001".. through the admin API (balance 0).
std::vector<std::string> make_users(Api& canonical, int n) {
  std::vector<std::string> users;
  for (int i = 0; i < n; ++i) users.push_back(std::to_string(1001 + i));
  create_users(canonical, kAdmin, users);
  return users;
}

// Stops the server and checks every invariant of the log it wrote.
void stop_and_verify(ServerProcess& server) {
  CHECK(server.terminate() == 0);
  std::vector<std::string> args = {"replay", "--data", server.data_dir(), "--verify"};
  const auto log = server.log_flags();
  args.insert(args.end(), log.begin(), log.end());
  RunResult v = run_reservoir(args, 60s);
  CHECK_MESSAGE(v.status == 0, v.out, v.err);
  CHECK(v.out.find("verify: OK") != std::string::npos);
}

// Only `winner` has a reservation, holding `seat` of numeric schedule 1.
void check_one_holder(Api& canonical, const std::vector<std::string>& users, size_t winner,
                      const std::string& seat) {
  CHECK(canonical_seat_status(canonical, "1", seat) == "HELD");
  for (size_t i = 0; i < users.size(); ++i) {
    Reply list = canonical.reservations(users[i]);
    REQUIRE_MESSAGE(list.ok(), list.text());
    const auto& items = field(list.data(), "items");
    CHECK(array_size(items) == (i == winner ? 1 : 0));
    if (i == winner && array_size(items) == 1) {
      CHECK(str(items[0], "status") == "PENDING_PAYMENT");
      const auto& seats = field(items[0], "seats");
      CHECK(array_size(seats) == 1);
      if (array_size(seats) == 1) CHECK(str(seats[0], "seatId") == seat);
    }
  }
}

// ------------------------------------------------- one seat, 64 users ---

TEST_CASE("dialect race: 64 clients occupy one seat through concert-events, one wins") {
  ServerProcess server(race_options());
  Api canonical(server);
  CeApi ce(server);
  const auto users = make_users(canonical, 64);
  std::vector<std::string> tokens;
  for (const auto& u : users) tokens.push_back(ce.token_of(u));
  auto replies = race<CeApi>(server.port_of(kCeDialect), 64, [&](int i, CeApi& mine) {
    return mine.occupy(tokens[static_cast<size_t>(i)], "1", "50");
  });
  CHECK(outcomes(replies) == "200 x1, 400 invalid_seat_status x63");
  const size_t winner = winner_of(replies);
  check_one_holder(canonical, users, winner, "50");
  CHECK(ce.reserve(tokens[winner], "1", "50").ok());
  stop_and_verify(server);
}

TEST_CASE("dialect race: 64 clients reserve one seat through queue-tokens, one wins") {
  ServerProcess server(race_options());
  Api canonical(server);
  QtApi qt(server);
  const auto users = make_users(canonical, 64);
  std::vector<std::string> token_ids;
  for (const auto& u : users) token_ids.push_back(qt.token_id_of(u));
  auto replies = race<QtApi>(server.port_of(kQtDialect), 64, [&](int i, QtApi& mine) {
    const size_t k = static_cast<size_t>(i);
    return mine.reserve(token_ids[k], users[k], "1", "1", {"50"});
  });
  CHECK(outcomes(replies) == "200 x1, 400 reservation failed x63");
  const size_t winner = winner_of(replies);
  CHECK(num(replies[winner].json, "reservationId") == 1);
  check_one_holder(canonical, users, winner, "50");
  stop_and_verify(server);
}

// ------------------------------------------- concurrent pays, one debit ---

// One payment of 50000 from user 1 (balance 100000), seat 21 SOLD.
void check_paid_once(Api& canonical, const std::vector<Reply>& replies) {
  int paid = 0;
  for (const auto& r : replies) paid += r.ok();
  CHECK_MESSAGE(paid == 1, outcomes(replies));
  CHECK(canonical.balance_of("1") == 50000);
  CHECK(array_size(field(canonical.payments("1").data(), "items")) == 1);
  CHECK(canonical_seat_status(canonical, "1", "21") == "SOLD");
}

TEST_CASE("dialect race: 16 concurrent pays of one reservation through concert-events debit once") {
  ServerProcess server(race_options());
  Api canonical(server);
  CeApi ce(server);
  const std::string t1 = ce.token_of("1");
  const std::string rid = ce.occupy_reserve(t1, "1", "21");  // 50000
  auto replies = race<CeApi>(server.port_of(kCeDialect), 16,
                             [&](int, CeApi& mine) { return mine.pay(t1, rid); });
  for (const auto& r : replies) {
    if (r.ok()) continue;
    const bool expected =
        r.status == 400 && (ce_code(r) == "expired_token" || ce_code(r) == "already_paid");
    CHECK_MESSAGE(expected, r.text());
  }
  check_paid_once(canonical, replies);
  stop_and_verify(server);
}

TEST_CASE("dialect race: 16 concurrent pays of one reservation through queue-tokens debit once") {
  ServerProcess server(race_options());
  Api canonical(server);
  QtApi qt(server);
  const std::string k1 = qt.token_id_of("1");
  const std::string rid = qt.reserve_ok(k1, "1", "1", "1", {"21"});  // 50000
  auto replies = race<QtApi>(server.port_of(kQtDialect), 16,
                             [&](int, QtApi& mine) { return mine.pay(k1, "1", rid); });
  for (const auto& r : replies) {
    if (r.ok()) continue;
    const bool expected = (r.status == 401 && qt_message(r) == "token expired") ||
                          (r.status == 400 && qt_message(r) == "already paid");
    CHECK_MESSAGE(expected, r.text());
  }
  check_paid_once(canonical, replies);
  stop_and_verify(server);
}

// --------------------------------------------- 100 concurrent charges ---

// 16 threads charge user 1 the amounts 1..100 through `charge(client, amount)`
// and read the balance each answer shows with `balance_in(reply)`.
template <class Client, class Charge, class BalanceIn>
void charge_race(ServerProcess& server, int port, Charge charge, BalanceIn balance_in) {
  std::vector<std::vector<Reply>> per_thread(16);
  race<Client>(port, 16, [&](int t, Client& mine) {
    for (int amount = t + 1; amount <= 100; amount += 16) {
      per_thread[static_cast<size_t>(t)].push_back(charge(mine, amount));
    }
    return Reply{};
  });
  std::set<int64_t> balances;
  int ok = 0;
  for (const auto& replies : per_thread) {
    for (const auto& r : replies) {
      CHECK_MESSAGE(r.ok(), r.text());
      ok += r.ok();
      balances.insert(balance_in(r));
    }
  }
  CHECK(ok == 100);
  CHECK(balances.size() == 100);  // each charge saw its own prefix of the total
  CHECK(*balances.rbegin() == 100000 + 5050);
  Api canonical(server);
  CHECK(canonical.balance_of("1") == 100000 + 5050);
  stop_and_verify(server);
}

TEST_CASE("dialect race: 100 concurrent charges through concert-events all count") {
  ServerProcess server(race_options());
  charge_race<CeApi>(
      server, server.port_of(kCeDialect),
      [](CeApi& ce, int amount) { return ce.charge("1", amount); },
      [](const Reply& r) { return num(field(r.json, "data"), "balance"); });
}

TEST_CASE("dialect race: 100 concurrent charges through queue-tokens all count") {
  ServerProcess server(race_options());
  charge_race<QtApi>(
      server, server.port_of(kQtDialect),
      [](QtApi& qt, int amount) { return qt.recharge("1", amount); },
      [](const Reply& r) { return num(r.json, "currentAmount"); });
}

// ------------------------------------ one key, every dialect at once ---

TEST_CASE("dialect race: one Idempotency-Key on three dialects at once executes once") {
  ServerProcess server(race_options());
  const int canonical_port = server.port(), ce_port = server.port_of(kCeDialect);
  std::vector<Reply> replies(48);
  std::latch ready(48), go(1);
  std::vector<std::thread> threads;
  for (int i = 0; i < 48; ++i) {
    threads.emplace_back([&, i] {
      Api canonical(canonical_port);
      CeApi ce(ce_port);
      QtApi qt(canonical_port);
      (i % 3 == 0 ? canonical : i % 3 == 1 ? ce.raw() : qt.raw()).get("/healthz");
      ready.count_down();
      go.wait();
      const size_t k = static_cast<size_t>(i);
      if (i % 3 == 0) replies[k] = canonical.charge("1", 10, "shared");
      if (i % 3 == 1) replies[k] = ce.charge("1", 10, "shared");
      if (i % 3 == 2) replies[k] = qt.recharge("1", 10, "shared");
    });
  }
  ready.wait();
  go.count_down();
  for (auto& t : threads) t.join();
  std::set<std::string> winning_bodies;
  for (const auto& r : replies) {
    if (r.ok()) winning_bodies.insert(r.body);
    if (!r.ok()) CHECK_MESSAGE(r.status == 422, r.text());
  }
  CHECK(winning_bodies.size() == 1);  // one dialect executed; its retries replayed it
  Api canonical(server);
  CHECK(canonical.balance_of("1") == 100010);
  stop_and_verify(server);
}

}  // namespace
}  // namespace reservoir::test
