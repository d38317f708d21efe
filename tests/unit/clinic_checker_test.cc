// audit::ClinicChecker (engine/audit/clinic_checker.h), given / when / then:
// a clean clinic log passes; each forged log breaks exactly one of SPEC
// §6.1's invariants 6-10 (or the shared 5) and is reported once, at the
// offset of the event that breaks it, with its type and invariant number;
// an undecodable event is a Corruption status, not a violation.
//
// Events are built as typed values and encoded with events::ClinicCatalog,
// exactly as the clinic writer writes them; offsets are set by the harness.
// Schedule events are honest (previous* and bodies from the harness's own
// record of each schedule) unless a test forges them.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/audit/clinic_checker.h"
#include "events/clinic_events.h"
#include "events/clinic_time.h"
#include "events/engine_events.h"
#include "events/envelope.h"

namespace {

using namespace reservoir;
namespace ev = reservoir::events;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
// 2026-12-24T00:00:00Z (SPEC §6.4's day); times below are hours after it.
constexpr int64_t kDay = 20'811 * clinic_time::kDayMs;

int64_t at(double hours) {
  return kDay + static_cast<int64_t>(hours * static_cast<double>(kHour));
}

ev::OccupiedResource res(double from, double to, const std::string& group = "group-consult",
                         const std::string& zone = "zone-consult") {
  return ev::OccupiedResource{at(from), at(to), group, zone, ""};
}

class ClinicAudit {
 public:
  // Visitors v1, v2, v3; zones zone-reception and zone-consult (unlimited),
  // zone-laser (capacity 1), zone-pair (capacity 2); groups group-laser
  // {zone-laser, zone-consult}, group-consult {zone-consult, zone-reception}
  // and group-pair {zone-pair}.
  explicit ClinicAudit(audit::ClinicCheckerConfig config = {}) : checker(config) {
    given(ev::ClinicConfigured{0});
    for (const char* v : {"v1", "v2", "v3"}) given(ev::VisitorRegistered{v, v});
    given(ev::ZoneCreated{"zone-reception", "Reception", 0});
    given(ev::ZoneCreated{"zone-consult", "Consult", 0});
    given(ev::ZoneCreated{"zone-laser", "Laser", 1});
    given(ev::ZoneCreated{"zone-pair", "Pair", 2});
    given(ev::ReservationGroupCreated{"group-laser", "Laser", {"zone-laser", "zone-consult"}});
    given(ev::ReservationGroupCreated{
        "group-consult", "Consult", {"zone-consult", "zone-reception"}});
    given(ev::ReservationGroupCreated{"group-pair", "Pair", {"zone-pair"}});
  }

  // --- building schedule events (honest unless told otherwise) ---
  ev::ScheduleReserved reserved(const std::string& id, const std::string& visitor,
                                std::vector<ev::OccupiedResource> resources,
                                const std::string& zone = "zone-reception") {
    ev::ScheduleReserved e;
    e.schedule_id = id;
    e.visitor_id = visitor;
    e.zone_id = zone;
    e.resources = std::move(resources);
    e.extras = {{"reservationMemo", "\"first visit\""}};
    e.api = e.resources.size() == 1 ? "v1" : "v2";
    e.created_at = now;
    schedules[id] = e;
    return e;
  }
  ev::ScheduleUpdated updated(const std::string& id, std::vector<ev::OccupiedResource> resources,
                              const std::string& zone = "zone-reception") {
    ev::ScheduleBody& last = schedules.at(id);
    ev::ScheduleUpdated e;
    static_cast<ev::ScheduleBody&>(e) = last;
    e.previous_zone_id = last.zone_id;
    e.previous_resources = last.resources;
    e.zone_id = zone;
    e.resources = std::move(resources);
    last = e;
    return e;
  }
  ev::ScheduleCancelled cancelled(const std::string& id) {
    ev::ScheduleCancelled e;
    static_cast<ev::ScheduleBody&>(e) = schedules.at(id);
    return e;
  }

  // --- feeding the checker ---
  EventEnvelope envelope(const ev::ClinicEvent& e) {
    EventEnvelope env = ev::ClinicCatalog::encode(e, now);
    env.offset = next_offset;
    return env;
  }
  // An event that breaks nothing.
  uint64_t given(const ev::ClinicEvent& e) { return given(envelope(e)); }
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
  // The event under test; returns its offset.
  uint64_t when(const ev::ClinicEvent& e) { return when(envelope(e)); }
  uint64_t when(const EventEnvelope& env) {
    const Status status = checker.feed(env);
    REQUIRE_MESSAGE(status.ok(), status.ToString());
    fed.push_back(env);
    next_offset = env.offset + 1;
    now += kMinute;
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
    CHECK(checker.violation_count(invariant) == 1);
  }

  audit::ClinicChecker checker;
  uint64_t next_offset = 0;
  int64_t now = kDay - 24 * kHour;                    // bookings are made the day before
  std::map<std::string, ev::ScheduleBody> schedules;  // id -> last honest state
  std::vector<EventEnvelope> fed;                     // every event fed, in order
};

}  // namespace

// --- the report's vocabulary ----------------------------------------------------------------

TEST_CASE("clinic checker: domain, invariant numbers and names") {
  CHECK(audit::ClinicChecker::kDomain == "clinic");
  CHECK(audit::ClinicChecker::kInvariants == std::array<int, 6>{5, 6, 7, 8, 9, 10});
  for (int i : audit::ClinicChecker::kInvariants) {
    CHECK(audit::ClinicChecker::invariant_name(i) != "?");
  }
  CHECK(audit::ClinicChecker::invariant_name(1) == "?");
  CHECK(audit::ClinicChecker::invariant_name(11) == "?");
}

// --- clean logs ----------------------------------------------------------------------------

TEST_CASE("clinic checker: a clean log passes every invariant") {
  ClinicAudit a;
  // V1: one resource, its zone also the reception zone.
  a.given(a.reserved("s1", "v1", {res(10, 11)}, "zone-consult"));
  // Back to back (half-open), and a V2 schedule whose own resources overlap.
  a.given(a.reserved("s2", "v1", {res(11, 12), res(11.5, 12.5, "group-laser", "zone-laser")}));
  // Another visitor at the same time in an unlimited zone.
  a.given(a.reserved("s3", "v2", {res(10, 12)}));
  // Capacity 2: two overlapping, a third only after one ends.
  a.given(a.reserved("s4", "v2", {res(13, 15, "group-pair", "zone-pair")}));
  a.given(a.reserved("s5", "v3", {res(14, 16, "group-pair", "zone-pair")}));
  a.given(a.reserved("s6", "v1", {res(15, 16, "group-pair", "zone-pair")}));
  // An engine event between domain events changes nothing.
  EventEnvelope idem = ev::EngineCatalog::encode(
      ev::EngineEvent(ev::IdempotencyRecorded{"visitor:v1", "k1", 42, 200, "{}"}), a.now);
  idem.offset = a.next_offset;
  a.given(idem);
  // An update moving s2 over its own old slot and out of the laser zone...
  a.given(a.updated("s2", {res(11.5, 13)}, "zone-consult"));
  // ...frees the laser for v2, as a cancel frees the pair zone's slot.
  a.given(a.reserved("s7", "v2", {res(12, 12.5, "group-laser", "zone-laser")}));
  a.given(a.cancelled("s5"));
  a.given(a.reserved("s8", "v3", {res(14.5, 15, "group-pair", "zone-pair")}));
  // A cancelled schedule's time is free for its visitor again.
  a.given(a.cancelled("s1"));
  a.given(a.reserved("s9", "v1", {res(10, 11.5)}));

  a.then_clean();
  CHECK(a.checker.events_checked() == a.next_offset);
  CHECK(a.checker.reserved_schedules() == 7);
  for (int i : audit::ClinicChecker::kInvariants) CHECK(a.checker.violation_count(i) == 0);
}

// --- invariant 6: a visitor's schedules never overlap ----------------------------------------

TEST_CASE("clinic checker: two overlapping reserves of one visitor are invariant 6") {
  ClinicAudit a;
  a.given(a.reserved("s1", "v1", {res(10, 11)}));
  SUBCASE("a reserve") {
    const uint64_t off = a.when(a.reserved("s2", "v1", {res(10.5, 11.5)}));
    a.then_violation(off, "ScheduleReserved", 6);
  }
  SUBCASE("a second resource of a V2 reserve, in another zone") {
    const uint64_t off =
        a.when(a.reserved("s2", "v1", {res(9, 9.5), res(9.5, 10.25, "group-laser", "zone-laser")}));
    a.then_violation(off, "ScheduleReserved", 6);
  }
  SUBCASE("an update onto another of the visitor's schedules") {
    a.given(a.reserved("s2", "v1", {res(12, 13)}));
    const uint64_t off = a.when(a.updated("s2", {res(10.75, 11.25)}));
    a.then_violation(off, "ScheduleUpdated", 6);
  }
  SUBCASE("a forged overlap is reported once, and the first schedule stays indexed") {
    const uint64_t off = a.when(a.reserved("s2", "v1", {res(10.5, 11.5)}));
    a.given(a.cancelled("s2"));  // takes nothing of s1's away
    a.when(a.reserved("s3", "v1", {res(10.5, 10.75)}));
    REQUIRE(a.checker.violation_count() == 2);
    CHECK(a.checker.violations()[0].offset == off);
    CHECK(a.checker.violations()[1].invariant == 6);
  }
}

// --- invariant 7: references, lifecycle, previous*, unique ids -------------------------------

TEST_CASE("clinic checker: a reference that does not exist is invariant 7") {
  ClinicAudit a;
  uint64_t off = 0;
  SUBCASE("unknown visitor") {
    off = a.when(a.reserved("s1", "v9", {res(10, 11)}));
  }
  SUBCASE("unknown reception zone") {
    off = a.when(a.reserved("s1", "v1", {res(10, 11)}, "zone-nowhere"));
  }
  SUBCASE("unknown group") {
    off = a.when(a.reserved("s1", "v1", {res(10, 11, "group-nowhere", "zone-consult")}));
  }
  SUBCASE("unknown resource zone") {
    off = a.when(a.reserved("s1", "v1", {res(10, 11, "group-consult", "zone-nowhere")}));
  }
  SUBCASE("a resource's zone not in its group") {
    off = a.when(a.reserved("s1", "v1", {res(10, 11), res(11, 12, "group-pair", "zone-laser")}));
  }
  a.then_violation(off, "ScheduleReserved", 7);
}

TEST_CASE("clinic checker: an update or cancel of a schedule that is not RESERVED is invariant 7") {
  ClinicAudit a;
  a.given(a.reserved("s1", "v1", {res(10, 11)}));
  SUBCASE("update of an unknown schedule") {
    a.schedules["s9"] = a.schedules.at("s1");
    a.schedules["s9"].schedule_id = "s9";
    a.schedules["s9"].visitor_id = "v2";
    const uint64_t off = a.when(a.updated("s9", {res(12, 13)}));
    a.then_violation(off, "ScheduleUpdated", 7);
  }
  SUBCASE("update of a cancelled schedule") {
    a.given(a.cancelled("s1"));
    const uint64_t off = a.when(a.updated("s1", {res(12, 13)}));
    a.then_violation(off, "ScheduleUpdated", 7);
  }
  SUBCASE("cancel of an unknown schedule") {
    a.schedules["s9"] = a.schedules.at("s1");
    a.schedules["s9"].schedule_id = "s9";
    const uint64_t off = a.when(a.cancelled("s9"));
    a.then_violation(off, "ScheduleCancelled", 7);
  }
  SUBCASE("a second cancel") {
    a.given(a.cancelled("s1"));
    const uint64_t off = a.when(a.cancelled("s1"));
    a.then_violation(off, "ScheduleCancelled", 7);
  }
}

TEST_CASE("clinic checker: a forged previous* or cancelled body is invariant 7") {
  ClinicAudit a;
  a.given(a.reserved("s1", "v1", {res(10, 11)}));
  SUBCASE("previousOccupiedResources") {
    ev::ScheduleUpdated e = a.updated("s1", {res(12, 13)});
    e.previous_resources[0].end_ms += kMinute;
    const uint64_t off = a.when(e);
    a.then_violation(off, "ScheduleUpdated", 7);
  }
  SUBCASE("previousZoneId") {
    ev::ScheduleUpdated e = a.updated("s1", {res(12, 13)});
    e.previous_zone_id = "zone-consult";
    const uint64_t off = a.when(e);
    a.then_violation(off, "ScheduleUpdated", 7);
  }
  SUBCASE("an update moving the schedule to another visitor") {
    ev::ScheduleUpdated e = a.updated("s1", {res(12, 13)});
    e.visitor_id = "v2";
    const uint64_t off = a.when(e);
    a.then_violation(off, "ScheduleUpdated", 7);
  }
  SUBCASE("a cancel naming other resources") {
    ev::ScheduleCancelled e = a.cancelled("s1");
    e.resources[0].start_ms -= kMinute;
    const uint64_t off = a.when(e);
    a.then_violation(off, "ScheduleCancelled", 7);
  }
}

TEST_CASE("clinic checker: an id created twice is invariant 7") {
  ClinicAudit a;
  uint64_t off = 0;
  std::string type;
  SUBCASE("visitor") {
    off = a.when(ev::VisitorRegistered{"v1", "again"});
    type = "VisitorRegistered";
  }
  SUBCASE("zone") {
    off = a.when(ev::ZoneCreated{"zone-laser", "again", 5});
    type = "ZoneCreated";
  }
  SUBCASE("group") {
    off = a.when(ev::ReservationGroupCreated{"group-pair", "again", {"zone-consult"}});
    type = "ReservationGroupCreated";
  }
  SUBCASE("schedule") {
    a.given(a.reserved("s1", "v1", {res(10, 11)}));
    off = a.when(a.reserved("s1", "v2", {res(12, 13)}));
    type = "ScheduleReserved";
  }
  SUBCASE("a group naming an unknown zone") {
    off = a.when(ev::ReservationGroupCreated{"group-new", "New", {"zone-consult", "zone-x"}});
    type = "ReservationGroupCreated";
  }
  a.then_violation(off, type, 7);
}

// --- invariant 8: one clinic day per schedule ---------------------------------------------

TEST_CASE("clinic checker: resources on two clinic days are invariant 8, by the recorded offset") {
  ClinicAudit a;
  // 14:00Z and 15:30Z on the 24th: one UTC day; at +09:00, 23:00 on the
  // 24th and 00:30 on the 25th.
  const std::vector<ev::OccupiedResource> rs = {res(14, 14.5), res(15.5, 16)};
  SUBCASE("at +09:00") {
    a.given(ev::ClinicConfigured{540});
    const uint64_t off = a.when(a.reserved("s1", "v1", rs));
    a.then_violation(off, "ScheduleReserved", 8);
  }
  SUBCASE("at +00:00 the same resources are one day") {
    a.given(a.reserved("s1", "v1", rs));
    a.then_clean();
  }
  SUBCASE("an update is judged by the offset in force when it was written") {
    a.given(a.reserved("s1", "v1", {res(14, 14.5)}));
    a.given(ev::ClinicConfigured{540});
    const uint64_t off = a.when(a.updated("s1", rs));
    a.then_violation(off, "ScheduleUpdated", 8);
  }
  SUBCASE("UTC days differ, the +09:00 day is one") {
    a.given(ev::ClinicConfigured{540});
    a.given(a.reserved("s1", "v1", {res(-8, -7.5), res(14, 14.5)}));  // 16:00Z, 14:00Z
    a.then_clean();
  }
}

// --- invariant 9: zone capacity --------------------------------------------------------------

TEST_CASE("clinic checker: more overlapping resources than a zone's capacity are invariant 9") {
  ClinicAudit a;
  SUBCASE("capacity 1, two visitors") {
    a.given(a.reserved("s1", "v1", {res(10, 11, "group-laser", "zone-laser")}));
    const uint64_t off =
        a.when(a.reserved("s2", "v2", {res(10.5, 12, "group-laser", "zone-laser")}));
    a.then_violation(off, "ScheduleReserved", 9);
  }
  SUBCASE("capacity 1, one schedule's own two resources") {
    const uint64_t off = a.when(a.reserved(
        "s1", "v1",
        {res(10, 11, "group-laser", "zone-laser"), res(10.5, 11, "group-laser", "zone-laser")}));
    a.then_violation(off, "ScheduleReserved", 9);
  }
  SUBCASE("capacity 2, three staggered") {
    a.given(a.reserved("s1", "v1", {res(10, 12, "group-pair", "zone-pair")}));
    a.given(a.reserved("s2", "v2", {res(11, 13, "group-pair", "zone-pair")}));
    a.given(a.reserved("s3", "v3", {res(12, 14, "group-pair", "zone-pair")}));  // s1 ended
    const uint64_t off = a.when(a.updated("s3", {res(11.5, 14, "group-pair", "zone-pair")}));
    a.then_violation(off, "ScheduleUpdated", 9);
  }
  SUBCASE("back to back in capacity 1 is fine") {
    a.given(a.reserved("s1", "v1", {res(10, 11, "group-laser", "zone-laser")}));
    a.given(a.reserved("s2", "v2", {res(11, 12, "group-laser", "zone-laser")}));
    a.given(a.reserved("s3", "v3", {res(9, 10, "group-laser", "zone-laser")}));
    a.then_clean();
  }
  SUBCASE("a negative capacity") {
    const uint64_t off = a.when(ev::ZoneCreated{"zone-bad", "Bad", -1});
    a.then_violation(off, "ZoneCreated", 9);
  }
}

// --- invariant 10: start before end ----------------------------------------------------------

TEST_CASE("clinic checker: a resource that does not start before it ends is invariant 10") {
  ClinicAudit a;
  SUBCASE("start == end") {
    const uint64_t off = a.when(a.reserved("s1", "v1", {res(10, 10)}));
    a.then_violation(off, "ScheduleReserved", 10);
  }
  SUBCASE("start after end, in an update") {
    a.given(a.reserved("s1", "v1", {res(10, 11)}));
    const uint64_t off = a.when(a.updated("s1", {res(10, 11), res(12, 11.5)}));
    a.then_violation(off, "ScheduleUpdated", 10);
  }
}

// --- against a brute-force model -------------------------------------------------------------

namespace {

// Which of invariants 6 and 9 `candidate` (schedule `id` of `visitor`)
// breaks against the RESERVED schedules in `live` other than itself, by
// comparing every pair of resources and counting at every start point.
std::set<int> brute_force(const std::map<std::string, ev::ScheduleBody>& live,
                          const std::string& id, const std::string& visitor,
                          const std::vector<ev::OccupiedResource>& candidate) {
  const std::map<std::string, int64_t> capacity = {{"zone-laser", 1}, {"zone-pair", 2}};
  std::vector<const ev::OccupiedResource*> all;
  std::set<int> broken;
  for (const auto& [other, body] : live) {
    if (other == id) continue;
    for (const auto& r : body.resources) {
      all.push_back(&r);
      if (body.visitor_id != visitor) continue;
      for (const auto& c : candidate) {
        if (r.start_ms < c.end_ms && c.start_ms < r.end_ms) broken.insert(6);
      }
    }
  }
  for (const auto& c : candidate) all.push_back(&c);
  for (const auto& c : candidate) {
    auto cap = capacity.find(c.zone_id);
    if (cap == capacity.end()) continue;
    for (const auto* point : all) {
      const int64_t t = std::max(point->start_ms, c.start_ms);
      if (t >= c.end_ms) continue;
      int64_t covering = 0;
      for (const auto* r : all) {
        covering += r->zone_id == c.zone_id && r->start_ms <= t && t < r->end_ms;
      }
      if (covering > cap->second) broken.insert(9);
    }
  }
  return broken;
}

}  // namespace

// Random reserves, updates and cancels: each one the model calls valid is
// fed to the checker and must pass; each invalid one is fed to a fresh
// checker after the valid log so far and must be reported, under exactly
// the invariants the model names.
TEST_CASE("clinic checker: random logs agree with a brute-force model of invariants 6 and 9") {
  ClinicAudit a;
  std::mt19937_64 rng(14);
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(n)); };
  const std::vector<std::pair<std::string, std::string>> places = {
      {"group-laser", "zone-laser"},
      {"group-pair", "zone-pair"},
      {"group-consult", "zone-consult"}};
  std::map<std::string, ev::ScheduleBody> live;  // RESERVED schedules
  int probes = 0;
  std::set<std::set<int>> kinds;  // which combinations the probes broke
  for (int step = 0; step < 400; ++step) {
    const int op = static_cast<int>(pick(10));
    if (op < 2 && !live.empty()) {  // a cancel is always valid
      auto it = std::next(live.begin(), pick(static_cast<int64_t>(live.size())));
      a.given(a.cancelled(it->first));
      live.erase(it);
      continue;
    }
    std::vector<ev::OccupiedResource> rs;
    for (int64_t n = 1 + pick(3); n > 0; --n) {
      const auto& [group, zone] = places[static_cast<size_t>(pick(3))];
      const int64_t start = at(8) + pick(40) * 15 * kMinute;
      rs.push_back({start, start + (1 + pick(6)) * 15 * kMinute, group, zone, ""});
    }
    const bool update = op < 5 && !live.empty();
    const std::string id =
        update ? std::next(live.begin(), pick(static_cast<int64_t>(live.size())))->first
               : "s" + std::to_string(step);
    const std::string visitor = update ? live.at(id).visitor_id : "v" + std::to_string(1 + pick(3));
    const std::set<int> expected = brute_force(live, id, visitor, rs);
    const auto before = a.schedules;
    const EventEnvelope env =
        update ? a.envelope(a.updated(id, rs)) : a.envelope(a.reserved(id, visitor, rs));
    if (expected.empty()) {
      a.given(env);
      live[id] = a.schedules.at(id);
      continue;
    }
    ++probes;
    kinds.insert(expected);
    a.schedules = before;  // the harness forgets the refused event
    audit::ClinicChecker fresh;
    for (const auto& e : a.fed) REQUIRE(fresh.feed(e).ok());
    REQUIRE(fresh.feed(env).ok());
    std::set<int> reported;
    for (const auto& v : fresh.violations()) reported.insert(v.invariant);
    INFO("step ", step, (update ? " update " : " reserve "), id);
    CHECK(reported == expected);
  }
  a.then_clean();
  CHECK(probes > 20);
  CHECK(kinds.contains({6}));
  CHECK(kinds.contains({9}));
  CHECK(kinds.contains({6, 9}));
  CHECK(a.fed.size() > 100);
}

// --- invariant 5 and decoding ----------------------------------------------------------------

TEST_CASE("clinic checker: an offset gap is invariant 5") {
  ClinicAudit a;
  SUBCASE("a skipped offset") {
    EventEnvelope env = a.envelope(a.reserved("s1", "v1", {res(10, 11)}));
    env.offset += 1;
    const uint64_t off = a.when(env);
    a.then_violation(off, "ScheduleReserved", 5);
  }
  SUBCASE("a repeated offset") {
    EventEnvelope env = a.envelope(ev::VisitorRegistered{"v4", "v4"});
    env.offset -= 1;
    const uint64_t off = a.when(env);
    a.then_violation(off, "VisitorRegistered", 5);
  }
  SUBCASE("a log that does not start at 0") {
    audit::ClinicChecker checker;
    EventEnvelope env = ev::ClinicCatalog::encode(ev::VisitorRegistered{"v1", ""}, 0);
    env.offset = 1;
    REQUIRE(checker.feed(env).ok());
    REQUIRE(checker.violation_count() == 1);
    CHECK(checker.violations()[0].offset == 1);
    CHECK(checker.violations()[0].invariant == 5);
  }
}

TEST_CASE("clinic checker: an undecodable event is a Corruption status naming its offset") {
  ClinicAudit a;
  EventEnvelope env = a.envelope(a.reserved("s1", "v1", {res(10, 11)}));
  SUBCASE("garbage payload") {
    env.payload = "\xff\xff\xff\xff garbage";
  }
  SUBCASE("truncated payload") {
    env.payload.resize(env.payload.size() / 2);
  }
  SUBCASE("unknown type") {
    env.type = "ScheduleTeleported";
  }
  SUBCASE("a concert event: the wrong domain's log") {
    env.type = "SeatsHeld";
  }
  SUBCASE("unknown version") {
    env.version = 99;
  }
  const Status s = a.checker.feed(env);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message().find("offset " + std::to_string(env.offset)) != std::string::npos);
  CHECK(a.checker.violation_count() == 0);
}

TEST_CASE("clinic checker: violations beyond violations_kept_max are counted, not kept") {
  audit::ClinicCheckerConfig config;
  config.violations_kept_max = 3;
  ClinicAudit a(config);
  for (int i = 0; i < 10; ++i) a.when(ev::VisitorRegistered{"v1", "again"});
  CHECK(a.checker.violation_count() == 10);
  CHECK(a.checker.violation_count(7) == 10);
  CHECK(a.checker.violations().size() == 3);
}
