// `reservoir replay --verify` on clinic logs (SPEC §6.1, §6.4): a forged
// breach of each of invariants 6-10 is reported with its offset, its event
// and its invariant, and the run exits 1; a clean log exits 0. The logs are
// written here with EmbeddedLog under <data>/clinic/log, as a server lays
// them out, so no server is needed.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "events/clinic_events.h"
#include "events/embedded_log.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace reservoir::test {
namespace {

namespace ev = reservoir::events;

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDay = 1'798'070'400'000;  // 2026-12-24T00:00:00Z

ev::OccupiedResource res(int64_t from_h, int64_t to_h, const std::string& group,
                         const std::string& zone) {
  return ev::OccupiedResource{kDay + from_h * kHourMs, kDay + to_h * kHourMs, group, zone, ""};
}

ev::ScheduleReserved reserved(const std::string& id, const std::string& visitor,
                              std::vector<ev::OccupiedResource> resources) {
  ev::ScheduleReserved e;
  e.schedule_id = id;
  e.visitor_id = visitor;
  e.zone_id = "reception";
  e.resources = std::move(resources);
  e.api = "v2";
  e.created_at = kDay;
  return e;
}

// A valid clinic: offset +09:00; visitors a, b; zones reception, room
// (capacity 1), hall; group g {room, hall}; schedule s1 of a in hall 10-11.
std::vector<ev::ClinicEvent> clinic_base() {
  return {ev::ClinicConfigured{540},
          ev::VisitorRegistered{"a", "A"},
          ev::VisitorRegistered{"b", "B"},
          ev::ZoneCreated{"reception", "Reception", 0},
          ev::ZoneCreated{"room", "Room", 1},
          ev::ZoneCreated{"hall", "Hall", 0},
          ev::ReservationGroupCreated{"g", "G", {"room", "hall"}},
          reserved("s1", "a", {res(1, 2, "g", "hall")})};
}

// Writes `events` as <data>/clinic/log, one batch each.
void write_clinic_log(const std::string& data, const std::vector<ev::ClinicEvent>& events) {
  std::filesystem::create_directories(data + "/clinic");
  auto log = EmbeddedLog::open(data + "/clinic/log", EmbeddedLog::Mode::kReadWrite);
  REQUIRE_MESSAGE(log.ok(), log.status().ToString());
  for (const auto& e : events) {
    std::vector<EventEnvelope> batch = {ev::ClinicCatalog::encode(e, kDay)};
    Status s = (*log)->append(batch);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
}

RunResult verify_clinic(const std::string& data) {
  return run_reservoir({"replay", "--data", data, "--domain", "clinic", "--verify"});
}

// The base log plus `forged`, verified: exit 1, one violation of
// `invariant` at the forged event's offset.
void check_forged(const ev::ClinicEvent& forged, int invariant, const std::string& type) {
  TempDir dir;
  auto events = clinic_base();
  events.push_back(forged);
  write_clinic_log(dir.path(), events);
  const RunResult r = verify_clinic(dir.path());
  CAPTURE(r.out);
  CAPTURE(r.err);
  CHECK(r.status == 1);
  const std::string offset = std::to_string(events.size() - 1);
  CHECK(r.out.find("VIOLATION clinic offset " + offset + " " + type + ": invariant " +
                   std::to_string(invariant) + ":") != std::string::npos);
  CHECK(r.out.find("invariant " + std::to_string(invariant) + " (") != std::string::npos);
  CHECK(r.out.find("1 violation(s)") != std::string::npos);
  CHECK(r.out.find("verify: FAILED") != std::string::npos);
}

TEST_CASE("clinic verify: a clean clinic log holds every invariant") {
  TempDir dir;
  auto events = clinic_base();
  events.push_back(reserved("s2", "a", {res(2, 3, "g", "room")}));  // back to back
  events.push_back(reserved("s3", "b", {res(3, 4, "g", "room")}));
  write_clinic_log(dir.path(), events);
  const RunResult r = verify_clinic(dir.path());
  CHECK_MESSAGE(r.status == 0, r.out, r.err);
  CHECK(r.out.find("verify: clinic: checked " + std::to_string(events.size()) + " events") !=
        std::string::npos);
  for (int i = 5; i <= 10; ++i) {
    CHECK(r.out.find("invariant " + std::to_string(i) + " (") != std::string::npos);
  }
  CHECK(r.out.find("verify: OK") != std::string::npos);
  // The printed log names its domain.
  const RunResult json =
      run_reservoir({"replay", "--data", dir.path(), "--domain", "clinic", "--format", "json"});
  CHECK(json.status == 0);
  CHECK(json.out.find(R"("domain":"clinic")") != std::string::npos);
  const RunResult text =
      run_reservoir({"replay", "--data", dir.path(), "--domain", "clinic", "--schedule", "s3"});
  CHECK(text.status == 0);
  CHECK(text.out.rfind("clinic#9 ", 0) == 0);
  CHECK(std::count(text.out.begin(), text.out.end(), '\n') == 1);
}

TEST_CASE("clinic verify: a forged breach of each invariant 6-10 is reported, exit 1") {
  SUBCASE("6: a visitor's schedules overlap") {
    check_forged(reserved("s2", "a", {res(1, 3, "g", "room")}), 6, "ScheduleReserved");
  }
  SUBCASE("7: a resource's zone is outside its group") {
    check_forged(reserved("s2", "b", {res(5, 6, "g", "reception")}), 7, "ScheduleReserved");
  }
  SUBCASE("7: an unknown visitor") {
    check_forged(reserved("s2", "nobody", {res(5, 6, "g", "hall")}), 7, "ScheduleReserved");
  }
  SUBCASE("8: resources on two clinic days (+09:00), one UTC day") {
    // 14:00Z and 15:30Z on the 24th: 23:00 and 00:30 in +09:00.
    ev::ScheduleReserved e = reserved("s2", "b", {res(14, 15, "g", "hall")});
    e.resources.push_back(ev::OccupiedResource{kDay + 15 * kHourMs + 30 * 60'000,
                                               kDay + 16 * kHourMs, "g", "hall", ""});
    check_forged(e, 8, "ScheduleReserved");
  }
  SUBCASE("9: a capacity-1 zone holds two resources at once") {
    TempDir dir;
    auto events = clinic_base();
    events.push_back(reserved("s2", "a", {res(5, 7, "g", "room")}));
    events.push_back(reserved("s3", "b", {res(6, 8, "g", "room")}));
    write_clinic_log(dir.path(), events);
    const RunResult r = verify_clinic(dir.path());
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.out.find("VIOLATION clinic offset " + std::to_string(events.size() - 1) +
                             " ScheduleReserved: invariant 9:") != std::string::npos,
                  r.out);
  }
  SUBCASE("10: a resource that ends where it starts") {
    check_forged(reserved("s2", "b", {res(5, 5, "g", "hall")}), 10, "ScheduleReserved");
  }
  SUBCASE("7: an update whose previous resources are forged") {
    ev::ScheduleUpdated u;
    static_cast<ev::ScheduleBody&>(u) = reserved("s1", "a", {res(3, 4, "g", "hall")});
    u.previous_zone_id = "reception";
    u.previous_resources = {res(8, 9, "g", "hall")};  // s1 was at 1-2
    check_forged(u, 7, "ScheduleUpdated");
  }
}

}  // namespace
}  // namespace reservoir::test
