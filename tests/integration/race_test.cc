// Concurrency over real HTTP (SPEC §1 invariants 1-3, §2 idempotency):
// many clients, each on its own connection and thread, released at once
// by a latch. Worker threads only record replies; the test thread asserts.
#include <doctest/doctest.h>

#include <latch>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/race.h"
#include "support/server_process.h"

namespace reservoir::test {
namespace {

const std::string kAdmin = "race-admin";

// Runs body(i, api) on `n` threads with their own warmed-up connection,
// all released together; returns what each returned.
template <class Body>
std::vector<Reply> race(const ServerProcess& server, int n, Body body) {
  return race_clients<Api>(n, body, server);
}

// "200 x1, 409 SEAT_UNAVAILABLE x63": how many replies of each status and code.
std::string outcomes(const std::vector<Reply>& replies) {
  return outcome_counts(replies, [](const Reply& r) { return std::string(r.code()); });
}

std::vector<std::string> make_users(Api& api, const std::string& prefix, int n) {
  std::vector<std::string> users;
  for (int i = 0; i < n; ++i) users.push_back(prefix + std::to_string(i));
  create_users(api, kAdmin, users);
  return users;
}

ServerOptions race_options() {
  return ServerOptions().admin(kAdmin).with({"--active-tokens", "1000"});
}

TEST_CASE("race: 64 clients hold the same seat, exactly one wins") {
  ServerProcess server(race_options());
  Api api(server);
  const auto users = make_users(api, "racer-", 64);
  std::vector<std::string> tokens;
  for (const auto& u : users) tokens.push_back(api.active_token(u));
  auto replies = race(server, 64, [&](int i, Api& mine) {
    return mine.hold(tokens[static_cast<size_t>(i)], kSchedule1, {"A1"});
  });
  CHECK(outcomes(replies) == "200 x1, 409 SEAT_UNAVAILABLE x63");
  size_t winner = 0;
  while (winner < replies.size() && !replies[winner].ok()) ++winner;
  REQUIRE(winner < replies.size());
  const std::string rid = str(replies[winner].data(), "reservationId");
  CHECK(api.seat_status(kSchedule1, "A1") == "HELD");
  Reply read = api.reservation(tokens[winner], rid);
  REQUIRE(read.ok());
  CHECK(str(read.data(), "status") == "PENDING_PAYMENT");
  CHECK(str(read.data(), "userId") == users[winner]);
  CHECK(str(read.data()["seats"][0], "seatId") == "A1");
  for (size_t i = 0; i < users.size(); ++i) {
    const size_t listed = api.reservations(users[i]).data()["items"].Size();
    CHECK(listed == (i == winner ? 1u : 0u));
  }
}

TEST_CASE("race: overlapping multi-seat holds never share a seat") {
  ServerProcess server(race_options());
  Api api(server);
  const auto users = make_users(api, "overlap-", 32);
  std::vector<std::string> tokens;
  for (const auto& u : users) tokens.push_back(api.active_token(u));
  const std::vector<std::string> seats = {"B1", "B2", "B3", "B4", "B5", "B6"};
  auto pair_of = [&](int i) -> std::vector<std::string> {
    return {seats[static_cast<size_t>(i % 6)],
            seats[static_cast<size_t>((i + 1 + (i / 6) % 5) % 6)]};
  };
  auto replies = race(server, 32, [&](int i, Api& mine) {
    return mine.hold(tokens[static_cast<size_t>(i)], kSchedule1, pair_of(i));
  });
  std::set<std::string> taken;
  for (int i = 0; i < 32; ++i) {
    const Reply& r = replies[static_cast<size_t>(i)];
    if (!r.ok()) {
      CHECK_MESSAGE(r.code() == "SEAT_UNAVAILABLE", r.text());
      continue;
    }
    for (const auto& s : pair_of(i))
      CHECK_MESSAGE(taken.insert(s).second, "seat held twice: " << s);
  }
  CHECK(!taken.empty());
  for (const auto& s : seats) {
    CHECK(api.seat_status(kSchedule1, s) == (taken.count(s) ? "HELD" : "AVAILABLE"));
  }
}

TEST_CASE("race: 16 concurrent pays of one reservation debit once") {
  ServerProcess server(race_options());
  Api api(server);
  const std::string tok = api.active_token("alice");
  const std::string rid = api.hold_ok(tok, kSchedule1, {"A1"});  // 150000
  auto replies = race(server, 16, [&](int, Api& mine) { return mine.pay(tok, rid); });
  int paid = 0;
  for (const auto& r : replies) {
    if (r.ok()) {
      ++paid;
      continue;
    }
    const bool expected = (r.status == 401 && r.code() == "TOKEN_EXPIRED") ||
                          (r.status == 409 && r.code() == "ALREADY_PAID");
    CHECK_MESSAGE(expected, r.text());
  }
  CHECK(paid == 1);
  CHECK(api.balance_of("alice") == 350000);
  Reply payments = api.payments("alice");
  REQUIRE(payments.ok());
  CHECK(payments.data()["items"].Size() == 1);
  CHECK(api.seat_status(kSchedule1, "A1") == "SOLD");
}

TEST_CASE("race: 100 concurrent charges of distinct amounts all count") {
  ServerProcess server(race_options());
  Api api(server);
  std::vector<std::vector<Reply>> per_thread(16);
  race(server, 16, [&](int t, Api& mine) {
    for (int amount = t + 1; amount <= 100; amount += 16) {
      per_thread[static_cast<size_t>(t)].push_back(mine.charge("alice", amount));
    }
    return Reply{};
  });
  std::set<int64_t> balances;
  int ok = 0;
  for (const auto& replies : per_thread) {
    for (const auto& r : replies) {
      CHECK_MESSAGE(r.ok(), r.text());
      ok += r.ok();
      balances.insert(num(r.data(), "balance"));
    }
  }
  CHECK(ok == 100);
  CHECK(balances.size() == 100);  // each charge saw its own prefix of the total
  CHECK(api.balance_of("alice") == 500000 + 5050);
  CHECK(*balances.rbegin() == 500000 + 5050);
}

TEST_CASE("race: 16 concurrent charges with one Idempotency-Key execute once") {
  ServerProcess server(race_options());
  Api api(server);
  auto replies = race(server, 16, [&](int, Api& mine) { return mine.charge("bob", 777, "once"); });
  for (const auto& r : replies) {
    CHECK_MESSAGE(r.ok(), r.text());
    CHECK(r.status == replies[0].status);
    CHECK(r.body == replies[0].body);
  }
  CHECK(num(replies[0].data(), "balance") == 500777);
  CHECK(api.balance_of("bob") == 500777);
}

TEST_CASE("race: one key, two different bodies at once: one executes, the other is 422") {
  ServerProcess server(race_options());
  Api api(server);
  auto replies = race(server, 16, [&](int i, Api& mine) {
    return mine.charge("carol", i % 2 == 0 ? 100 : 200, "contested");
  });
  int executed = 0;
  std::string first_body;
  for (const auto& r : replies) {
    if (r.status == 422) {
      CHECK(r.code() == "IDEMPOTENCY_KEY_REUSED");
      continue;
    }
    CHECK_MESSAGE(r.ok(), r.text());
    if (first_body.empty()) first_body = r.body;
    CHECK(r.body == first_body);  // every 200 is the one execution's answer
    ++executed;
  }
  REQUIRE(executed >= 1);
  const int64_t balance = api.balance_of("carol");
  CHECK(balance == num(replies[0].ok() ? replies[0].data() : replies[1].data(), "balance"));
  CHECK((balance == 500100 || balance == 500200));
}

TEST_CASE("race: 16 concurrent token requests of one user get one token") {
  ServerProcess server(race_options());
  auto replies = race(server, 16, [&](int, Api& mine) { return mine.token("alice"); });
  std::set<std::string> tokens;
  for (const auto& r : replies) {
    CHECK_MESSAGE(r.ok(), r.text());
    tokens.insert(str(r.data(), "token"));
  }
  CHECK(tokens.size() == 1);
}

TEST_CASE("race: 32 users ask for a token at once with --active-tokens 4") {
  ServerProcess server(ServerOptions().admin(kAdmin).with({"--active-tokens", "4"}));
  Api api(server);
  const auto users = make_users(api, "queuer-", 32);
  auto replies =
      race(server, 32, [&](int i, Api& mine) { return mine.token(users[static_cast<size_t>(i)]); });
  int active = 0;
  std::set<int64_t> positions;
  for (const auto& r : replies) {
    REQUIRE_MESSAGE(r.ok(), r.text());
    if (str(r.data(), "tokenStatus") == "ACTIVE") {
      ++active;
    } else {
      CHECK(str(r.data(), "tokenStatus") == "WAITING");
      positions.insert(num(r.data(), "position"));
    }
  }
  CHECK(active == 4);
  CHECK(positions.size() == 28);  // 1..28, each once
  CHECK(*positions.begin() == 1);
  CHECK(*positions.rbegin() == 28);
}

// With a command queue of 1, a burst is shed: whatever is refused is 503
// OVERLOADED with Retry-After and never executed.
TEST_CASE("race: a shed command is 503 OVERLOADED with Retry-After and not executed") {
  ServerProcess server(race_options().with({"--queue-max", "1"}));
  Api api(server);
  std::vector<std::vector<std::pair<int64_t, Reply>>> per_thread(32);
  race(server, 32, [&](int t, Api& mine) {
    for (int k = 0; k < 10; ++k) {
      const int64_t amount = t * 10 + k + 1;
      per_thread[static_cast<size_t>(t)].emplace_back(amount, mine.charge("alice", amount));
    }
    return Reply{};
  });
  int64_t acked = 0;
  for (const auto& replies : per_thread) {
    for (const auto& [amount, r] : replies) {
      if (r.ok()) {
        acked += amount;
        continue;
      }
      CHECK_MESSAGE(r.status == 503, r.text());
      CHECK(r.code() == "OVERLOADED");
      CHECK(!r.header("Retry-After").empty());
    }
  }
  CHECK(acked > 0);
  CHECK(api.balance_of("alice") == 500000 + acked);
}

}  // namespace
}  // namespace reservoir::test
