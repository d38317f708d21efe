// Races on the clinic API (SPEC §6.1, invariants 6 and 9): many clients
// released at once at one server. One visitor's overlapping reserves: exactly
// one wins. A zone of capacity 3 under 64 visitors: exactly 3 win. One
// schedule updated and cancelled at once: one order of the two, never both
// half applied. Every race ends with `replay --verify` on the log it wrote.
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/clinic_client.h"
#include "support/race.h"
#include "support/server_process.h"

namespace reservoir::test {
namespace {

constexpr int kClients = 64;

std::string reason_of(const Reply& r) {
  const auto* props = member(r.json, "errorProperties");
  if (props == nullptr || !props->IsArray() || props->Empty()) return str(r.json, "message");
  return str((*props)[0], "key") + " " + str((*props)[0], "reason");
}

void stop_and_verify(ServerProcess& server) {
  CHECK(server.terminate() == 0);
  std::vector<std::string> args = {"replay", "--data", server.data_dir(), "--verify"};
  const auto log = server.log_flags();
  args.insert(args.end(), log.begin(), log.end());
  RunResult v = run_reservoir(args, 60s);
  CHECK_MESSAGE(v.status == 0, v.out, v.err);
  CHECK(v.out.find("verify: clinic: checked") != std::string::npos);
  CHECK(v.out.find("verify: OK") != std::string::npos);
}

// Minute `i` past 10:00, as "2036-12-24T10:MM:00Z" (i < 60).
std::string minute(int i) {
  return "2036-12-24T10:" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ":00Z";
}

TEST_CASE("clinic races: 64 overlapping reserves of one visitor, exactly one wins") {
  ServerProcess server;
  const int port = server.port_of(kClinicDialect);
  // Staggered intervals that all overlap one another: [10:i, 11:i).
  auto replies = race_clients<ClinicApi>(
      kClients,
      [](int i, ClinicApi& c) {
        const std::string end = "2036-12-24T11:" + std::string(i % 60 < 10 ? "0" : "") +
                                std::to_string(i % 60) + ":00Z";
        return i % 2 == 0 ? c.reserve_v1("v1", minute(i % 60), end)
                          : c.reserve_v2("v1", {resource(minute(i % 60), end)});
      },
      port);
  int wins = 0;
  for (const auto& r : replies) {
    if (r.ok()) {
      ++wins;
    } else {
      CHECK_MESSAGE(r.status == 400, r.text());
      const std::string why = reason_of(r);
      CHECK_MESSAGE((why == "startDateTime NotAvailable" ||
                     why == "occupiedResources[0].startDateTimeUtc NotAvailable"),
                    r.text());
    }
  }
  CHECK_MESSAGE(wins == 1, outcome_counts(replies, reason_of));
  ClinicApi clinic(port);
  CHECK(member(clinic.visitor_schedules("v1").json, "items")->Size() == 1);
  stop_and_verify(server);
}

TEST_CASE("clinic races: a zone of capacity 3 under 64 visitors takes exactly 3") {
  ServerProcess server(ServerOptions().admin("sesame"));
  const int port = server.port_of(kClinicDialect);
  {
    ClinicApi admin(port);
    const httplib::Headers key = {{"Admin-Key", "sesame"}};
    REQUIRE(admin
                .post("/schedule/open/v1/admin/zones",
                      R"({"zoneId":"room-3","name":"Room 3","capacity":3})", key)
                .ok());
    REQUIRE(admin
                .post("/schedule/open/v1/admin/reservation-groups",
                      R"({"reservationGroupId":"g-room-3","name":"Room 3","zoneIds":["room-3"]})",
                      key)
                .ok());
    for (int i = 0; i < kClients; ++i) {
      const Reply v =
          admin.post("/schedule/open/v1/admin/visitors",
                     R"({"visitorId":"rv)" + std::to_string(i) + R"(","name":"V"})", key);
      REQUIRE_MESSAGE(v.ok(), v.text());
    }
  }
  auto replies = race_clients<ClinicApi>(
      kClients,
      [](int i, ClinicApi& c) {
        return c.reserve_v1("rv" + std::to_string(i), minute(i % 30), "2036-12-24T11:30:00Z",
                            "g-room-3", "room-3");
      },
      port);
  int wins = 0;
  for (const auto& r : replies) {
    if (r.ok()) {
      ++wins;
    } else {
      CHECK_MESSAGE(reason_of(r) == "zoneId NotAvailable", r.text());
    }
  }
  CHECK_MESSAGE(wins == 3, outcome_counts(replies, reason_of));
  ClinicApi clinic(port);
  CHECK(member(clinic.day("room-3", "2036-12-24").json, "items")->Size() == 3);
  stop_and_verify(server);
}

TEST_CASE("clinic races: update and cancel of one schedule at once") {
  ServerProcess server;
  const int port = server.port_of(kClinicDialect);
  std::vector<std::string> ids;
  {
    ClinicApi clinic(port);
    for (int i = 0; i < 8; ++i) {
      const std::string h = std::to_string(8 + i);
      ids.push_back(ClinicApi::id_of(clinic.reserve_v1(
          "v2", "2036-12-24T" + std::string(h.size() < 2 ? "0" : "") + h + ":00:00Z",
          "2036-12-24T" + std::string(h.size() < 2 ? "0" : "") + h + ":30:00Z")));
      REQUIRE(!ids.back().empty());
    }
  }
  auto replies = race_clients<ClinicApi>(
      16,
      [&ids](int i, ClinicApi& c) {
        const std::string& id = ids[static_cast<size_t>(i / 2)];
        if (i % 2 == 0) return c.cancel(id);
        const std::string start =
            "2036-12-25T" + std::string(i < 20 ? "0" : "") + std::to_string(i / 2) + ":00:00Z";
        const std::string end =
            "2036-12-25T" + std::string(i < 20 ? "0" : "") + std::to_string(i / 2) + ":30:00Z";
        return c.update(id, {resource(start, end)});
      },
      port);
  ClinicApi clinic(port);
  for (size_t k = 0; k < ids.size(); ++k) {
    const Reply& cancel = replies[2 * k];
    const Reply& update = replies[2 * k + 1];
    CHECK_MESSAGE(cancel.ok(), cancel.text());
    // The update ran first (200) or found the schedule cancelled (409).
    CHECK_MESSAGE((update.ok() || update.status == 409), update.text());
    CHECK(str(clinic.schedule(ids[k]).json, "status") == "CANCELLED");
  }
  stop_and_verify(server);
}

TEST_CASE("clinic races: one Idempotency-Key sent by 32 clients executes once") {
  ServerProcess server;
  const int port = server.port_of(kClinicDialect);
  auto replies = race_clients<ClinicApi>(
      32,
      [](int, ClinicApi& c) {
        return c.post(kV1Reserve, v1_body("v1", minute(0), minute(30)),
                      {{"Idempotency-Key", "same-key"}});
      },
      port);
  for (const auto& r : replies) {
    CHECK_MESSAGE(r.ok(), r.text());
    CHECK(r.body == replies[0].body);
  }
  CHECK(member(ClinicApi(port).visitor_schedules("v1").json, "items")->Size() == 1);
  stop_and_verify(server);
}

// SPEC §6: a concert burst must not stall clinic commands beyond one group
// commit. The clinic has its own writer and queue, so a concert queue full
// enough to answer 503 OVERLOADED leaves clinic commands untouched.
TEST_CASE(
    "clinic isolation: a concert burst that overloads the concert queue refuses no clinic "
    "command") {
  ServerProcess server(ServerOptions().with({"--queue-max", "4"}));
  const int port = server.port();
  const int clinic_port = server.port_of(kClinicDialect);
  std::atomic<bool> stop{false};
  std::atomic<int> overloaded{0}, clinic_ok{0}, clinic_other{0};
  std::vector<std::thread> concert;
  for (int i = 0; i < 48; ++i) {
    concert.emplace_back([&, i] {
      Api api(port);
      const std::string user = i % 2 == 0 ? "alice" : "bob";
      while (!stop.load()) {
        if (api.charge(user, 1).status == 503) ++overloaded;
      }
    });
  }
  std::vector<std::thread> clinic;
  for (int v = 0; v < 2; ++v) {
    clinic.emplace_back([&, v] {
      ClinicApi c(clinic_port);
      // Each of v1/v2 books back-to-back 15-minute slots while the burst runs.
      for (int n = 0; n < 40; ++n) {
        const std::string day = "2036-12-" + std::to_string(10 + n / 4);
        const std::string h = std::to_string(10 + n % 4);
        const Reply r = c.reserve_v1(v == 0 ? "v1" : "v2", day + "T" + h + ":00:00Z",
                                     day + "T" + h + ":15:00Z");
        (r.ok() ? clinic_ok : clinic_other)++;
        if (!r.ok()) MESSAGE(r.text());
      }
    });
  }
  for (auto& t : clinic) t.join();
  // Keep the burst up until it has overloaded the concert queue at least once.
  CHECK(eventually([&] { return overloaded.load() > 0; }, 10s));
  stop.store(true);
  for (auto& t : concert) t.join();
  CHECK(clinic_other.load() == 0);
  CHECK(clinic_ok.load() == 80);
  MESSAGE("concert answers 503 OVERLOADED: " << overloaded.load());
  stop_and_verify(server);
}

}  // namespace
}  // namespace reservoir::test
