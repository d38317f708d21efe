// A hot standby takes over (SPEC §7, docs/SCALING.md "Standby and
// failover") on one `reservoir kafka-mock`: a writer with --ha and a
// `serve --role standby`, both with --failover-timeout 3s.
// (a) kill -9 of the writer under a load of charges with Idempotency-Keys:
//     the standby takes over; every key retried through it gets the first
//     answer when there was one, every key is applied exactly once (the
//     balance), and `replay --verify` passes.
// (b) SIGSTOP of the writer while commands wait on it: the standby takes
//     over; after SIGCONT the old writer answers them 503, exits 1, and
//     nothing it committed after the takeover is in the log.
#include <doctest/doctest.h>

#include <signal.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/server_process.h"

namespace reservoir::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kAdmin = "k";
constexpr int kLoadThreads = 4;
// Bounds for the takeover: --failover-timeout plus a loaded machine's start.
constexpr auto kTakeoverBound = 30s;

ServerOptions ha_options(const std::shared_ptr<KafkaMock>& mock, const std::string& role,
                         const std::string& node) {
  return ServerOptions().on_mock(mock).admin(kAdmin).with(
      {"--role", role, "--failover-timeout", "3s", "--node", node});
}

struct Pair {
  std::shared_ptr<KafkaMock> mock = std::make_shared<KafkaMock>();
  ServerProcess writer{ha_options(mock, "writer", "node-a").with({"--ha"})};
  ServerProcess standby{ha_options(mock, "standby", "node-b").no_demo()};
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Sends charges of 1 to alice through the standby's port until one is
// answered 200 (the standby became the writer); the probe is a command too.
Reply wait_for_takeover(const ServerProcess& standby, const std::string& key) {
  Reply r;
  eventually(
      [&] {
        r = Api(standby.port()).charge("alice", 1, key);
        return r.ok();
      },
      kTakeoverBound);
  return r;
}

// alice's balance on `server` once it shows `want` (its follower may lag a
// little behind the writer's answers), else the last one seen.
int64_t balance_when(const ServerProcess& server, int64_t want) {
  int64_t seen = -1;
  eventually(
      [&] {
        Reply r = Api(server.port()).balance("alice");
        if (r.ok()) seen = num(r.data(), "balance");
        return seen == want;
      },
      10s);
  return seen;
}

TEST_CASE("failover: kill -9 of the writer under load; the standby answers every key once") {
  Pair p;
  const int64_t before = Api(p.writer).balance_of("alice");
  std::mutex mu;
  std::map<std::string, Reply> first;  // key -> the old writer's answer (status 0: none)
  std::atomic<bool> stop{false};
  std::vector<std::thread> load;
  for (int t = 0; t < kLoadThreads; ++t) {
    load.emplace_back([&, t] {
      Api api(p.writer.port());
      for (int j = 0; !stop.load(); ++j) {
        const std::string key = "f" + std::to_string(t) + "-" + std::to_string(j);
        Reply r = api.charge("alice", 1, key);
        const bool down = r.status == 0;
        std::lock_guard lock(mu);
        first.emplace(key, std::move(r));
        if (down) return;  // the writer is gone
      }
    });
  }
  std::this_thread::sleep_for(500ms);
  p.writer.kill9();
  std::this_thread::sleep_for(200ms);
  stop.store(true);
  for (auto& t : load) t.join();
  size_t acknowledged = 0;
  for (const auto& [key, r] : first) acknowledged += r.ok() ? 1 : 0;
  REQUIRE(acknowledged > 0);

  const Reply probe = wait_for_takeover(p.standby, "probe");
  REQUIRE_MESSAGE(probe.ok(), probe.text());
  // Every key through the new writer: the first answer where there was one.
  Api api(p.standby.port());
  for (const auto& [key, r] : first) {
    const Reply again = api.charge("alice", 1, key);
    INFO(key << ": first " << r.text() << " retry " << again.text());
    REQUIRE(again.ok());
    if (r.ok()) CHECK(again.body == r.body);
  }
  // Each key applied exactly once: none lost, none twice.
  CHECK(balance_when(p.standby, before + static_cast<int64_t>(first.size()) + 1) ==
        before + static_cast<int64_t>(first.size()) + 1);
  const std::string log = p.standby.stderr_text();
  CHECK(contains(log, "failover"));
  CHECK(contains(log, "node-b"));
  RunResult v = run_reservoir({"replay", "--verify", "--kafka-brokers", p.mock->bootstrap()});
  CHECK_MESSAGE(v.status == 0, v.out, v.err);
  CHECK(contains(v.out, "verify: OK"));
}

TEST_CASE("failover: a writer paused past the takeover answers 503, commits nothing, exits") {
  Pair p;
  const int64_t before = Api(p.writer).balance_of("alice");
  REQUIRE(::kill(p.writer.pid(), SIGSTOP) == 0);
  // Commands sent to the paused writer wait in its sockets and queue.
  std::vector<Reply> held(kLoadThreads);
  std::vector<std::thread> clients;
  for (int t = 0; t < kLoadThreads; ++t) {
    clients.emplace_back([&, t] {
      held[t] = Api(p.writer.port()).charge("alice", 1000, "held-" + std::to_string(t));
    });
  }
  const Reply probe = wait_for_takeover(p.standby, "probe");
  REQUIRE_MESSAGE(probe.ok(), probe.text());
  REQUIRE(::kill(p.writer.pid(), SIGCONT) == 0);
  for (auto& t : clients) t.join();
  for (const Reply& r : held) {
    INFO(r.text());
    CHECK((r.status == 503 || r.status == 0));  // 0: the connection closed as it exited
  }
  const auto exited = p.writer.wait_exit(20s);
  REQUIRE(exited.has_value());
  CHECK(*exited == 1);
  // Only the probe counts: whatever the old writer committed is void.
  CHECK(balance_when(p.standby, before + 1) == before + 1);
  Api api(p.standby.port());
  for (int t = 0; t < kLoadThreads; ++t) {
    const Reply again = api.charge("alice", 1000, "held-" + std::to_string(t));
    CHECK_MESSAGE(again.ok(), again.text());  // decided now, by the new writer, once
  }
  CHECK(balance_when(p.standby, before + 1 + 1000 * kLoadThreads) ==
        before + 1 + 1000 * kLoadThreads);
  RunResult v = run_reservoir({"replay", "--verify", "--kafka-brokers", p.mock->bootstrap()});
  CHECK_MESSAGE(v.status == 0, v.out, v.err);
}

}  // namespace
}  // namespace reservoir::test
