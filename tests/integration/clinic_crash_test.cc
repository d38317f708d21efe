// Crash safety of the clinic domain over real HTTP (SPEC §4's "a kill -9 at
// any moment loses no acknowledged command and leaves no half command", for
// SPEC §6): 8 threads, each owning one visitor, reserve consecutive
// 30-minute slots (V1 and V2 in turn) until the server is killed mid-load;
// it restarts on the same data dir, and then
// - every acknowledged reservation is there, RESERVED, with its slot;
// - each visitor has the acknowledged ones, plus at most the one in flight;
// - the acknowledged slots are still taken (an overlapping reserve is
//   refused), new reserves work, and `replay --verify` holds on both logs.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/clinic_client.h"
#include "support/server_process.h"

namespace reservoir::test {
namespace {

const std::string kAdmin = "clinic-crash-admin";
constexpr int kVisitors = 8;

// Slot n of a visitor: 30 minutes, back to back from 2037-01-01T00:00Z.
std::string slot_time(int n) {
  const int minutes = n * 30;
  const int day = 1 + minutes / (24 * 60);
  const int hour = minutes / 60 % 24;
  const int minute = minutes % 60;
  char out[32];
  std::snprintf(out, sizeof out, "2037-01-%02dT%02d:%02d:00Z", day, hour, minute);
  return out;
}

struct Lane {
  std::string visitor;
  std::vector<std::string> acked;  // reservation ids answered 200, slot n = index n
  bool uncertain = false;          // the last reserve got no 200
};

void run_lane(int port, Lane& lane, std::atomic<int>& total) {
  ClinicApi clinic(port);
  for (int n = 0; n < 60 * 48; ++n) {  // at most 60 days of slots
    const Reply r =
        n % 2 == 0 ? clinic.reserve_v1(lane.visitor, slot_time(n), slot_time(n + 1))
                   : clinic.reserve_v2(lane.visitor, {resource(slot_time(n), slot_time(n + 1))});
    if (!r.ok()) {
      lane.uncertain = true;
      return;
    }
    lane.acked.push_back(ClinicApi::id_of(r));
    ++total;
  }
}

size_t schedules_of(ClinicApi& clinic, const std::string& visitor) {
  size_t n = 0;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    const Reply r = clinic.visitor_schedules(
        visitor, "limit=100" + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE_MESSAGE(r.ok(), r.text());
    n += member(r.json, "items")->Size();
    const auto* next = member(r.json, "nextCursor");
    if (next == nullptr || next->IsNull()) return n;
    cursor = next->GetString();
  }
  FAIL("too many pages");
  return n;
}

TEST_CASE("clinic crash: kill -9 under a reserve load loses no acknowledged reserve") {
  ServerProcess server(ServerOptions().admin(kAdmin));
  std::vector<Lane> lanes(kVisitors);
  {
    ClinicApi admin(server);
    for (int i = 0; i < kVisitors; ++i) {
      lanes[static_cast<size_t>(i)].visitor = "crash-v" + std::to_string(i);
      const Reply v = admin.post(
          "/schedule/open/v1/admin/visitors",
          R"({"visitorId":")" + lanes[static_cast<size_t>(i)].visitor + R"(","name":"Crash"})",
          {{"Admin-Key", kAdmin}});
      REQUIRE_MESSAGE(v.ok(), v.text());
    }
  }
  std::atomic<int> total{0};
  std::vector<std::thread> threads;
  const int port = server.port_of(kClinicDialect);
  for (auto& lane : lanes) threads.emplace_back(run_lane, port, std::ref(lane), std::ref(total));
  REQUIRE(eventually([&] { return total.load() >= 200; }, 30s));
  CHECK(server.kill9() == 128 + SIGKILL);
  for (auto& t : threads) t.join();

  server.restart();
  ClinicApi clinic(server);
  for (const Lane& lane : lanes) {
    CAPTURE(lane.visitor);
    for (size_t n = 0; n < lane.acked.size(); ++n) {
      const Reply s = clinic.schedule(lane.acked[n]);
      REQUIRE_MESSAGE(s.ok(), s.text());
      CHECK(str(s.json, "status") == "RESERVED");
      CHECK(s.body.find(slot_time(static_cast<int>(n)).substr(0, 19)) != std::string::npos);
    }
    const size_t held = schedules_of(clinic, lane.visitor);
    CHECK(held >= lane.acked.size());
    CHECK(held <= lane.acked.size() + (lane.uncertain ? 1 : 0));
    if (!lane.acked.empty()) {
      CHECK(clinic.reserve_v1(lane.visitor, slot_time(0), slot_time(1)).status == 400);
    }
    const int next = static_cast<int>(lane.acked.size()) + 2;
    CHECK(clinic.reserve_v1(lane.visitor, slot_time(next), slot_time(next + 1)).ok());
  }
  CHECK(server.terminate() == 0);
  std::vector<std::string> args = {"replay", "--data", server.data_dir(), "--verify"};
  const auto log = server.log_flags();
  args.insert(args.end(), log.begin(), log.end());
  const RunResult v = run_reservoir(args, 120s);
  CHECK_MESSAGE(v.status == 0, v.out, v.err);
  CHECK(v.out.find("verify: clinic: checked") != std::string::npos);
}

}  // namespace
}  // namespace reservoir::test
