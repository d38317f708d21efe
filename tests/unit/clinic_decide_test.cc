// The clinic core (decide + apply), given events -> when command -> then
// events or refusal. SPEC §6.1 (invariants 6-10), §6.2 (phases, keys, order)
// and §6.4's example; the module's start, snapshot and a Writer over it.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "engine/clinic/commands.h"
#include "engine/clinic/decide.h"
#include "engine/clinic/module.h"
#include "engine/clinic/replies.h"
#include "engine/clinic/snapshot.h"
#include "engine/clinic/state.h"
#include "engine/id_table.h"
#include "engine/writer.h"
#include "events/clinic_events.h"
#include "events/clinic_time.h"
#include "events/os.h"
#include "support/clinic_given.h"
#include "support/memory_log.h"

namespace {

using namespace reservoir;
using namespace reservoir::clinic;
using namespace reservoir::test::clinic_given;
namespace ev = reservoir::events;

using Kind = RefusalKind;

Problem P(Field field, int32_t index, Reason reason) {
  return {field, index, reason};
}
Problem P(Field field, Reason reason) {
  return {field, -1, reason};
}

// --- given events and commands ---------------------------------------------

ev::VisitorRegistered visitor(const std::string& id) {
  return {id, "name of " + id};
}
ev::ZoneCreated zone(const std::string& id, int64_t capacity = 0) {
  return {id, "zone " + id, capacity};
}
ev::ReservationGroupCreated group(const std::string& id, std::vector<std::string> zones) {
  return {id, "group " + id, std::move(zones)};
}

ResourceInput res(int64_t s, int64_t e, const std::string& g = "g-consult",
                  const std::string& z = "consult", const std::string& doctor = "") {
  return {s, e, g, z, doctor};
}
ResourceInput laser(int64_t s, int64_t e) {
  return res(s, e, "g-laser", "laser");
}
ResourceInput room(int64_t s, int64_t e) {
  return res(s, e, "g-room", "room3");
}

Reserve reserve(const std::string& v, std::vector<ResourceInput> rs,
                const std::string& reception = "reception") {
  return Reserve{v, reception, std::move(rs), {}, Api::kV2};
}
// Seed 003's V1: one resource, whose zone is also the reception zone.
Reserve reserve_v1(const std::string& v, int64_t s, int64_t e) {
  return Reserve{v, "consult", {res(s, e)}, {}, Api::kV1};
}
Update update(const std::string& schedule, std::vector<ResourceInput> rs,
              std::vector<ExtraPatch> extras = {}) {
  return Update{schedule, "reception", std::move(rs), std::move(extras)};
}

// Visitors v1..v5; zones reception, consult (unlimited), laser (capacity 1),
// room3 (capacity 3); groups g-laser {laser, consult}, g-consult {consult,
// reception}, g-room {room3}.
Scenario clinic(int64_t utc_offset_min = 0) {
  Scenario g(utc_offset_min);
  g.given(ev::ClinicConfigured{utc_offset_min});
  for (const char* v : {"v1", "v2", "v3", "v4", "v5"}) g.given(visitor(v));
  g.given(zone("reception"), zone("consult"), zone("laser", 1), zone("room3", 3));
  g.given(group("g-laser", {"laser", "consult"}), group("g-consult", {"consult", "reception"}),
          group("g-room", {"room3"}));
  return g;
}

// Reserves and returns the schedule id (the reserve must succeed).
std::string booked(Scenario& g, const Reserve& r) {
  g.when(r);
  return g.reserved_id();
}

// --- admin -------------------------------------------------------------------

TEST_CASE("clinic: register a visitor with its id, or a generated one") {
  Scenario g;
  g.when(RegisterVisitor{"v1", "Kim"});
  CHECK(g.then_reply<Created>().id == "v1");
  auto [e] = g.then_events<ev::VisitorRegistered>();
  CHECK(e.visitor_id == "v1");
  CHECK(e.name == "Kim");

  g.when(RegisterVisitor{"", "Lee"});
  const std::string id = g.then_reply<Created>().id;
  CHECK(id.size() == 24);
  CHECK(std::all_of(id.begin(), id.end(),
                    [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }));
  CHECK(g.state.visitors.contains(id));
}

TEST_CASE("clinic: an existing visitor, zone or group id is a conflict") {
  Scenario g = clinic();
  g.when(RegisterVisitor{"v1", "again"});
  g.then_refusal(Kind::kConflict, {P(Field::kVisitorId, Reason::kAlreadyExists)});
  g.when(CreateZone{"laser", "again", 2});
  g.then_refusal(Kind::kConflict, {P(Field::kZoneId, Reason::kAlreadyExists)});
  g.when(CreateGroup{"g-room", "again", {"room3"}});
  g.then_refusal(Kind::kConflict, {P(Field::kGroupId, Reason::kAlreadyExists)});
}

TEST_CASE("clinic: a generated id that clashes is drawn again") {
  Scenario g;
  const std::string taken(24, 'a');
  g.given(visitor(taken), zone(taken), group(taken, {taken}));
  for (int k = 0; k < 3; ++k) {
    g.random.script(std::string(kGeneratedIdBytes, '\xaa'));  // "aaaa…": taken
    g.random.script(std::string(kGeneratedIdBytes, '\xbb'));
  }
  const std::string fresh(24, 'b');
  g.when(RegisterVisitor{"", "n"});
  CHECK(g.then_reply<Created>().id == fresh);
  g.when(CreateZone{"", "n", 0});
  CHECK(g.then_reply<Created>().id == fresh);
  g.when(CreateGroup{"", "n", {taken}});
  CHECK(g.then_reply<Created>().id == fresh);
  CHECK(g.random.left() == 0);
}

TEST_CASE("clinic: zones and groups are created as given") {
  Scenario g;
  g.when(CreateZone{"z1", "Laser", 2});
  auto [z] = g.then_events<ev::ZoneCreated>();
  CHECK(z.capacity == 2);
  CHECK(g.state.zones.at("z1").capacity == 2);
  g.given(zone("z2"));
  g.when(CreateGroup{"g1", "Both", {"z2", "z1"}});
  auto [gr] = g.then_events<ev::ReservationGroupCreated>();
  CHECK(gr.zone_ids == std::vector<std::string>{"z2", "z1"});
  const Group& group = g.state.groups.at("g1");
  CHECK(group.has(g.state.zones.find("z1")));
  CHECK(group.has(g.state.zones.find("z2")));
}

TEST_CASE("clinic: a group with unknown zones lists each one, before an existing id") {
  Scenario g = clinic();
  g.when(CreateGroup{"g-room", "n", {"nope", "laser", "gone"}});
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kGroupZones, 0, Reason::kNotFound),
                                         P(Field::kGroupZones, 2, Reason::kNotFound)});
}

// --- reserve, update, cancel: success ----------------------------------------

TEST_CASE("clinic: a reserve records the whole schedule under a fresh UUID") {
  Scenario g = clinic();
  const std::vector<Extra> extras = {{"consultationRequired", "true"},
                                     {"reservationMemo", "\"first visit\""}};
  Reserve r{"v1",
            "reception",
            {res(at(10), at(11), "g-consult", "consult", R"({"id":"d1"})")},
            extras,
            Api::kV2};
  g.when(r, at(8));
  const std::string id = g.reserved_id();
  auto [e] = g.then_events<ev::ScheduleReserved>();
  CHECK(e.schedule_id == id);
  CHECK(id.size() == 36);
  CHECK(locating_id(id) == 0);  // self-locating: the first schedule's Id
  CHECK(e.visitor_id == "v1");
  CHECK(e.zone_id == "reception");
  CHECK(e.resources == r.resources);
  CHECK(e.extras == extras);
  CHECK(e.api == "v2");
  CHECK(e.created_at == at(8));
  CHECK(g.state.schedules.at(id).status == ScheduleStatus::kReserved);

  g.when(reserve_v1("v2", at(10), at(11)));
  auto [v1] = g.then_events<ev::ScheduleReserved>();
  CHECK(v1.api == "v1");
  CHECK(v1.zone_id == "consult");
}

TEST_CASE("clinic: an update replaces zone and resources and says what it replaced") {
  Scenario g = clinic();
  const std::string id = booked(g, reserve("v1", {res(at(10), at(11))}));
  Update u{id, "consult", {laser(at(13), at(14)), res(at(13), at(15))}, {}};
  g.when(u, at(9));
  CHECK(std::holds_alternative<Done>(g.last.reply));
  auto [e] = g.then_events<ev::ScheduleUpdated>();
  CHECK(e.schedule_id == id);
  CHECK(e.visitor_id == "v1");
  CHECK(e.zone_id == "consult");
  CHECK(e.resources == u.resources);
  CHECK(e.created_at == kT0);  // the reserve's
  CHECK(e.api == "v2");
  CHECK(e.previous_zone_id == "reception");
  CHECK(e.previous_resources == std::vector<ResourceInput>{res(at(10), at(11))});
  CHECK(g.state.schedules.at(id).body.resources == u.resources);
}

TEST_CASE("clinic: update extras: given -> replaced, null -> removed, absent -> kept") {
  Scenario g = clinic();
  Reserve r = reserve("v1", {res(at(10), at(11))});
  r.extras = {{"consultationRequired", "true"},
              {"funnel", R"({"funnelType":"ONLINE"})"},
              {"reservationMemo", "\"memo\""}};
  const std::string id = booked(g, r);
  g.when(update(id, {res(at(10), at(11))},
                {{"reservationMemo", std::nullopt},
                 {"funnel", std::string(R"({"funnelType":"OFFLINE"})")},
                 {"counselor", std::string(R"({"id":"c1","name":"Park"})")}}));
  auto [e] = g.then_events<ev::ScheduleUpdated>();
  const std::vector<Extra> want = {{"consultationRequired", "true"},
                                   {"funnel", R"({"funnelType":"OFFLINE"})"},
                                   {"counselor", R"({"id":"c1","name":"Park"})"}};
  CHECK(e.extras == want);
  CHECK(g.state.schedules.at(id).body.extras == want);
}

TEST_CASE("clinic: a cancel records the whole schedule as cancelled") {
  Scenario g = clinic();
  const std::string id = booked(g, reserve("v1", {res(at(10), at(11))}));
  g.when(Cancel{id});
  CHECK(std::holds_alternative<Done>(g.last.reply));
  auto [e] = g.then_events<ev::ScheduleCancelled>();
  CHECK(e.schedule_id == id);
  CHECK(e.visitor_id == "v1");
  CHECK(e.resources == std::vector<ResourceInput>{res(at(10), at(11))});
  CHECK(g.state.schedules.at(id).status == ScheduleStatus::kCancelled);
}

// --- lookups and state -------------------------------------------------------

TEST_CASE("clinic: reserve lookups list every failure, in order") {
  Scenario g = clinic();
  g.when(reserve("ghost",
                 {res(at(10), at(11), "g-none", "consult"), res(at(10), at(11), "g-laser", "nope"),
                  res(at(10), at(11), "g-laser", "room3"), res(at(10), at(11))},
                 "nowhere"));
  g.then_refusal(
      Kind::kInvalidRequest,
      {P(Field::kVisitorId, Reason::kNotFound), P(Field::kZoneId, Reason::kNotFound),
       P(Field::kGroupId, 0, Reason::kNotFound), P(Field::kResourceZone, 1, Reason::kNotFound),
       P(Field::kResourceZone, 2, Reason::kNotFound)});
}

TEST_CASE("clinic: a zone that exists but is not in the resource's group is NotFound") {
  Scenario g = clinic();
  g.when(reserve("v1", {res(at(10), at(11), "g-room", "consult")}));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceZone, 0, Reason::kNotFound)});
}

TEST_CASE("clinic: update and cancel of an unknown schedule") {
  Scenario g = clinic();
  Update u = update("no-such", {res(at(10), at(11), "g-x", "consult")});
  u.reception_zone_id = "nowhere";
  g.when(u);
  g.then_refusal(Kind::kInvalidRequest,
                 {P(Field::kScheduleId, Reason::kNotFound), P(Field::kZoneId, Reason::kNotFound),
                  P(Field::kGroupId, 0, Reason::kNotFound)});
  g.when(Cancel{"no-such"});
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kScheduleId, Reason::kNotFound)});
}

TEST_CASE("clinic: a cancelled schedule is a conflict, after the lookups") {
  Scenario g = clinic();
  const std::string id = booked(g, reserve("v1", {res(at(10), at(11))}));
  g.when(Cancel{id});
  g.when(Cancel{id});
  g.then_refusal(Kind::kConflict, {P(Field::kScheduleId, Reason::kCancelled)});
  g.when(update(id, {res(at(12), at(13))}));
  g.then_refusal(Kind::kConflict, {P(Field::kScheduleId, Reason::kCancelled)});
  g.when(update(id, {res(at(12), at(13), "g-room", "laser")}));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceZone, 0, Reason::kNotFound)});
}

// --- availability: the visitor --------------------------------------------------

TEST_CASE("clinic: SPEC 6.4: v1 holds 10:00-11:00Z; 10:30-11:30 refused, 11:00-12:00 accepted") {
  Scenario g = clinic();
  booked(g, reserve_v1("v1", at(10), at(11)));
  g.when(reserve_v1("v1", at(10, 30), at(11, 30)));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceStart, 0, Reason::kNotAvailable)});
  g.when(reserve_v1("v1", at(11), at(12)));
  g.then_events<ev::ScheduleReserved>();
}

TEST_CASE("clinic: half-open intervals: back-to-back fits, one millisecond of overlap does not") {
  Scenario g = clinic();
  booked(g, reserve("v1", {res(at(10), at(11))}));
  g.when(reserve("v1", {res(at(9), at(10))}));  // ends as it starts
  g.then_events<ev::ScheduleReserved>();
  g.when(reserve("v1", {res(at(11) - 1, at(12))}));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceStart, 0, Reason::kNotAvailable)});
  g.when(reserve("v1", {res(at(8), at(9) + 1)}));  // 1 ms into the 9:00 booking
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceStart, 0, Reason::kNotAvailable)});
  g.when(reserve("v1", {res(at(10, 15), at(10, 45))}));  // inside
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceStart, 0, Reason::kNotAvailable)});
  g.when(reserve("v1", {res(at(7), at(13))}));  // around both
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceStart, 0, Reason::kNotAvailable)});
  g.when(reserve("v1", {res(at(11), at(12))}));
  g.then_events<ev::ScheduleReserved>();
  g.when(reserve("v2", {res(at(10), at(11))}));  // another visitor
  g.then_events<ev::ScheduleReserved>();
}

TEST_CASE("clinic: a schedule's own resources may overlap each other") {
  Scenario g = clinic();
  g.when(reserve("v1", {res(at(10), at(11)), res(at(10, 30), at(11, 30)), res(at(10), at(12))}));
  g.then_events<ev::ScheduleReserved>();
  const auto& pieces = g.state.visitors.at("v1").spans.pieces();
  REQUIRE(pieces.size() == 1);  // merged for the visitor
  CHECK(pieces.begin()->first == at(10));
  CHECK(pieces.begin()->second.end == at(12));
  g.when(reserve("v1", {res(at(11, 59), at(13))}));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceStart, 0, Reason::kNotAvailable)});
}

TEST_CASE("clinic: an update may overlap its own old slot, not another schedule") {
  Scenario g = clinic();
  const std::string a = booked(g, reserve("v1", {laser(at(10), at(11))}));
  booked(g, reserve("v1", {res(at(12), at(13))}));
  g.when(update(a, {laser(at(10, 30), at(11, 30))}));  // capacity 1: its old one is not counted
  g.then_events<ev::ScheduleUpdated>();
  g.when(update(a, {laser(at(11), at(12, 30))}));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceStart, 0, Reason::kNotAvailable)});
}

// --- availability: capacity --------------------------------------------------------

TEST_CASE("clinic: capacity 1 with staggered intervals") {
  Scenario g = clinic();
  booked(g, reserve("v1", {laser(at(10), at(11))}));
  g.when(reserve("v2", {laser(at(10, 30), at(11, 30))}));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceZone, 0, Reason::kNotAvailable)});
  g.when(reserve("v2", {laser(at(9), at(10) + 1)}));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceZone, 0, Reason::kNotAvailable)});
  g.when(reserve("v2", {laser(at(11), at(12))}));
  g.then_events<ev::ScheduleReserved>();
  g.when(reserve("v3", {laser(at(9), at(10))}));
  g.then_events<ev::ScheduleReserved>();
  g.when(reserve("v4", {res(at(10), at(12), "g-laser", "consult")}));  // the group's other zone
  g.then_events<ev::ScheduleReserved>();
}

TEST_CASE("clinic: capacity 3 with staggered intervals") {
  Scenario g = clinic();
  booked(g, reserve("v1", {room(at(10), at(12))}));
  booked(g, reserve("v2", {room(at(11), at(13))}));
  booked(g, reserve("v3", {room(at(11, 30), at(12, 30))}));  // three at 11:30-12:00
  g.when(reserve("v4", {room(at(11, 45), at(11, 50))}));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceZone, 0, Reason::kNotAvailable)});
  g.when(reserve("v4", {room(at(9), at(11, 31))}));  // meets the three for a minute
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceZone, 0, Reason::kNotAvailable)});
  g.when(reserve("v4", {room(at(12), at(12, 10))}));  // v1 has left: two, plus this one
  g.then_events<ev::ScheduleReserved>();
  g.when(reserve("v5", {room(at(12, 5), at(12, 6))}));  // v2, v3, v4
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceZone, 0, Reason::kNotAvailable)});
  g.when(reserve("v5", {room(at(12, 30), at(14))}));  // only v2 is left by 12:30
  g.then_events<ev::ScheduleReserved>();
}

TEST_CASE("clinic: a command's own resources count against the capacity") {
  Scenario g = clinic();
  g.when(reserve("v1", {laser(at(10), at(11)), laser(at(10, 30), at(11, 30))}));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceZone, 0, Reason::kNotAvailable),
                                         P(Field::kResourceZone, 1, Reason::kNotAvailable)});
  g.when(reserve("v1", {laser(at(10), at(11)), laser(at(11), at(12))}));  // back to back
  g.then_events<ev::ScheduleReserved>();
  g.when(reserve("v2", {room(at(10), at(11)), room(at(10), at(11)), room(at(10), at(11))}));
  g.then_events<ev::ScheduleReserved>();
  g.when(reserve("v3", {room(at(10, 59), at(11, 30))}));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceZone, 0, Reason::kNotAvailable)});
}

TEST_CASE("clinic: availability lists every failure, per resource in index order") {
  Scenario g = clinic();
  booked(g, reserve("v1", {res(at(10), at(11))}));
  booked(g, reserve("v2", {laser(at(14), at(15))}));
  g.when(reserve("v1", {res(at(10, 30), at(10, 45)), laser(at(14), at(14, 30)),
                        laser(at(10), at(10, 20)), res(at(12), at(13))}));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceStart, 0, Reason::kNotAvailable),
                                         P(Field::kResourceZone, 1, Reason::kNotAvailable),
                                         P(Field::kResourceStart, 2, Reason::kNotAvailable)});
}

TEST_CASE("clinic: capacity is freed by a cancel and by an update") {
  Scenario g = clinic();
  const std::string a = booked(g, reserve("v1", {laser(at(10), at(11))}));
  g.when(reserve("v2", {laser(at(10), at(11))}));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceZone, 0, Reason::kNotAvailable)});
  g.when(Cancel{a});
  g.when(reserve("v2", {laser(at(10), at(11))}));
  const std::string b = g.reserved_id();

  g.when(update(b, {laser(at(15), at(16))}));
  g.then_events<ev::ScheduleUpdated>();
  g.when(reserve("v3", {laser(at(10), at(11))}));
  g.then_events<ev::ScheduleReserved>();
  g.when(reserve("v4", {laser(at(15, 30), at(16, 30))}));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceZone, 0, Reason::kNotAvailable)});
  CHECK(g.state.zones.at("laser").load.max_load(at(0), at(23)) == 1);
}

// --- the InvalidCommand re-check and the clinic day -----------------------------------

TEST_CASE("clinic: decide refuses what the API's InvalidCommand phase refuses") {
  Scenario g = clinic();
  g.when(reserve("v1", {}));
  g.then_refusal(Kind::kInvalidCommand, {P(Field::kResourceStart, 0, Reason::kRequired)});
  g.when(reserve("v1", {res(at(10), at(11)), res(at(11), at(11)), res(at(12), at(11))}));
  g.then_refusal(Kind::kInvalidCommand, {P(Field::kResourceStart, 1, Reason::kInvalid),
                                         P(Field::kResourceStart, 2, Reason::kInvalid)});
  std::vector<ResourceInput> many(kResourcesMax + 1, res(at(10), at(11)));
  g.when(reserve("v1", many));
  g.then_refusal(Kind::kInvalidCommand,
                 {P(Field::kResourceStart, int32_t{kResourcesMax}, Reason::kInvalid)});
  many.pop_back();
  g.when(reserve("v1", many));  // 32 own overlapping resources: fine
  g.then_events<ev::ScheduleReserved>();
  // Before any lookup: an unknown visitor is not reported.
  g.when(reserve("ghost", {res(at(10), at(11)),
                           res(at(10) + clinic_time::kDayMs, at(11) + clinic_time::kDayMs)}));
  g.then_refusal(Kind::kInvalidCommand, {P(Field::kResourceStart, 1, Reason::kNotAvailable)});
}

TEST_CASE("clinic: the clinic day at +09:00: 14:00Z and 15:30Z on the 24th are two days") {
  Scenario kst = clinic(kKstMinutes);
  const std::vector<ResourceInput> rs = {res(at(14), at(14, 30)), res(at(15, 30), at(16))};
  kst.when(reserve("v1", rs));  // 23:00 on the 24th and 00:30 on the 25th, KST
  kst.then_refusal(Kind::kInvalidCommand, {P(Field::kResourceStart, 1, Reason::kNotAvailable)});
  kst.when(reserve("v1", {res(at(15), at(15, 10)), res(at(15, 30), at(16))}));  // both the 25th
  kst.then_events<ev::ScheduleReserved>();
  const std::string id = kst.reserved_id();
  kst.when(update(id, rs));
  kst.then_refusal(Kind::kInvalidCommand, {P(Field::kResourceStart, 1, Reason::kNotAvailable)});

  Scenario utc = clinic(0);
  utc.when(reserve("v1", rs));  // one UTC day
  utc.then_events<ev::ScheduleReserved>();
  // An end on the next day is fine: the rule is on starts.
  utc.when(reserve("v2", {res(at(23), at(25)), res(at(23, 30), at(23, 45))}));
  utc.then_events<ev::ScheduleReserved>();
}

TEST_CASE("clinic: actor scopes") {
  CHECK(actor_of(reserve("v1", {})) == "visitor:v1");
  CHECK(actor_of(update("s1", {})) == "schedule:s1");
  CHECK(actor_of(Cancel{"s2"}) == "schedule:s2");
  CHECK(actor_of(RegisterVisitor{"v", "n"}) == "#admin");
  CHECK(actor_of(CreateZone{"z", "n", 0}) == "#admin");
  CHECK(actor_of(CreateGroup{"g", "n", {}}) == "#admin");
  Module m(Module::Config{});
  CHECK(std::get<std::string>(m.actor(Cancel{"s2"})) == "schedule:s2");
}

// --- retention (state.h, "Retention") -----------------------------------------

TEST_CASE("clinic: a booking may reach kPastHorizonMs back, not further") {
  Scenario g = clinic();
  const int64_t floor = kT0 - kPastHorizonMs;
  g.when(reserve("v1", {res(floor - 1, floor + kHour)}), kT0);
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceStart, 0, Reason::kNotAvailable)});
  const std::string id = booked(g, reserve("v1", {res(floor, floor + kHour)}));
  // An update may not move it further back either.
  g.when(update(id, {res(floor - kHour, floor)}));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceStart, 0, Reason::kNotAvailable)});
}

// v1 holds laser 10:00-11:00, v2 consult 10:00-11:00. kPastHorizonMs after
// 11:00 neither can be booked against or named: decide says NotFound at
// once, and the next reserve makes apply forget them.
TEST_CASE("clinic: a schedule that ended by the floor is NotFound, then forgotten") {
  Scenario g = clinic();
  const std::string old = booked(g, reserve("v1", {laser(at(10), at(11))}));
  const std::string kept = booked(g, reserve("v2", {res(at(10), at(11))}));
  const int64_t later = at(11) + kPastHorizonMs;  // the floor then is their end
  g.when(Cancel{old}, later - 1);
  CHECK(std::holds_alternative<Done>(g.last.reply));  // one ms earlier: still known
  g.when(Cancel{kept}, later);
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kScheduleId, Reason::kNotFound)});
  CHECK(g.state.schedules.contains(kept));  // not forgotten yet: no reserve since
  g.when(update(kept, {res(later + kHour, later + 2 * kHour)}));
  g.then_refusal(Kind::kInvalidRequest, {P(Field::kScheduleId, Reason::kNotFound)});

  // A reserve starting at the floor is allowed (half-open intervals), and
  // its apply forgets both schedules and their index entries.
  const std::string fresh = booked(g, reserve("v2", {laser(later, later + kHour)}));
  CHECK_FALSE(g.state.schedules.contains(old));
  CHECK_FALSE(g.state.schedules.contains(kept));
  CHECK(g.state.schedules.size() == 1);
  CHECK(g.state.horizon_ms == at(11));
  CHECK(g.state.visitors.at("v2").spans.pieces().size() == 1);
  // decide named the new Id before the others were freed; the next reserve
  // reuses a freed one (the last freed first).
  CHECK(g.state.schedules.find(fresh) == 2);
  CHECK(locating_id(fresh) == 2);
  CHECK(g.state.schedules.next_id() == 1);
  const std::string reused = booked(g, reserve("v3", {res(later, later + kHour)}));
  CHECK(g.state.schedules.find(reused) == 1);
  CHECK(locating_id(reused) == 1);
}

TEST_CASE("clinic: snapshots keep forgotten schedules' holes, free list and horizon") {
  Scenario g = clinic();
  for (int i = 0; i < 4; ++i) booked(g, reserve("v1", {res(at(10 + i), at(10 + i, 30))}));
  const int64_t later = at(12) + kPastHorizonMs;  // forgets the first two
  g.now = later;
  booked(g, reserve("v3", {laser(later, later + kHour)}));
  booked(g, reserve("v4", {laser(later + kHour, later + 2 * kHour)}));
  REQUIRE(g.state.schedules.size() == 4);
  REQUIRE(g.state.schedules.id_end() == 5);

  const std::string bytes = encode_state(g.state);
  Scenario restored;
  REQUIRE(decode_state(bytes, restored.state));
  CHECK(fingerprint(restored.state) == fingerprint(g.state));
  CHECK(restored.state.horizon_ms == g.state.horizon_ms);
  State replayed;
  for (const auto& e : g.history) replayed.apply(e);
  CHECK(encode_state(replayed) == bytes);

  // Both take the same next Id, and both forget the same schedules later.
  restored.now = g.now;
  const int64_t much_later = later + 2 * kHour + kPastHorizonMs;
  g.when(reserve("v5", {res(much_later, much_later + kHour)}), much_later);
  restored.when(reserve("v5", {res(much_later, much_later + kHour)}), much_later);
  CHECK(g.state.schedules.find(g.reserved_id()) ==
        restored.state.schedules.find(restored.reserved_id()));
  // (Their new schedules' UUIDs differ: each scenario draws its own.)
  CHECK(g.state.schedules.size() == 1);
  CHECK(restored.state.schedules.size() == 1);
  CHECK(restored.state.schedules.free_ids() == g.state.schedules.free_ids());
  CHECK(restored.state.horizon_ms == g.state.horizon_ms);
}

// --- replay, snapshot, module ---------------------------------------------------

// A busy day: bookings, updates and cancels across visitors and zones.
Scenario busy_day() {
  Scenario g = clinic(kKstMinutes);
  const std::string a = booked(g, reserve("v1", {laser(at(1), at(2)), res(at(1), at(3))}));
  const std::string b = booked(g, reserve("v2", {room(at(1), at(4))}));
  booked(g, reserve("v3", {room(at(2), at(3)), room(at(2), at(5))}));
  g.when(update(a, {laser(at(3), at(4))}));
  g.when(Cancel{b});
  booked(g, reserve("v2", {laser(at(5), at(6)), room(at(5), at(6))}));
  g.when(RegisterVisitor{"", "late"});
  return g;
}

TEST_CASE("clinic: the state rebuilt from the emitted events equals the live state") {
  Scenario g = busy_day();
  State replayed;
  for (const auto& e : g.history) replayed.apply(e);
  CHECK(fingerprint(replayed) == fingerprint(g.state));
  CHECK(replayed.recorded_utc_offset_min == kKstMinutes);
}

TEST_CASE("clinic: snapshot round trip, indexes included") {
  Scenario g = busy_day();
  const std::string bytes = encode_state(g.state);
  REQUIRE(!bytes.empty());
  CHECK(static_cast<uint8_t>(bytes[0]) == kSnapshotFormat);
  Scenario restored(kKstMinutes);
  REQUIRE(decode_state(bytes, restored.state));
  CHECK(fingerprint(restored.state) == fingerprint(g.state));
  CHECK(encode_state(restored.state) == bytes);

  // The rebuilt indexes still refuse: v1's update holds 03:00-04:00 in laser.
  restored.when(reserve("v1", {res(at(3, 30), at(3, 40))}));
  restored.then_refusal(Kind::kInvalidRequest,
                        {P(Field::kResourceStart, 0, Reason::kNotAvailable)});
  restored.when(reserve("v4", {laser(at(3, 30), at(3, 40))}));
  restored.then_refusal(Kind::kInvalidRequest, {P(Field::kResourceZone, 0, Reason::kNotAvailable)});

  State bad;
  CHECK_FALSE(decode_state("", bad));
  CHECK_FALSE(decode_state(std::string(1, '\x06') + bytes.substr(1), bad));  // concert's tag
  for (size_t cut : {size_t{1}, bytes.size() / 2, bytes.size() - 1}) {
    CHECK_FALSE(decode_state(bytes.substr(0, cut), bad));
  }
  CHECK_FALSE(decode_state(bytes + "x", bad));
}

TEST_CASE("clinic module: ClinicConfigured only when the offset changes") {
  std::vector<EventEnvelope> out;
  Module kst(Module::Config{kKstMinutes});
  kst.start(kT0, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].type == "ClinicConfigured");
  kst.start(kT0, out);
  CHECK(out.size() == 1);

  Module again(Module::Config{kKstMinutes});  // a restart with the same flag
  REQUIRE(again.apply(out[0]).ok());
  again.start(kT0, out);
  CHECK(out.size() == 1);

  Module changed(Module::Config{0});  // a restart with another flag
  REQUIRE(changed.apply(out[0]).ok());
  changed.start(kT0, out);
  REQUIRE(out.size() == 2);
  auto e = events::ClinicCatalog::decode(out[1]);
  REQUIRE(e.ok());
  CHECK(std::get<ev::ClinicConfigured>(*e).utc_offset_min == 0);

  Module fresh(Module::Config{0});  // none recorded yet: +00:00 is recorded too
  fresh.start(kT0, out);
  CHECK(out.size() == 3);
}

TEST_CASE("clinic module: execute, apply, snapshot and restore agree") {
  SeededRandom random(7);
  std::vector<EventEnvelope> log;
  Module m(Module::Config{kKstMinutes});
  m.start(kT0, log);
  m.execute(RegisterVisitor{"v1", "Kim"}, kT0, random, log);
  m.execute(CreateZone{"z", "Laser", 1}, kT0, random, log);
  m.execute(CreateGroup{"g", "G", {"z"}}, kT0, random, log);
  Reply r = m.execute(reserve("v1", {res(at(10), at(11), "g", "z")}, "z"), kT0, random, log);
  REQUIRE(std::holds_alternative<Reserved>(r));
  r = m.execute(reserve("v1", {res(at(10), at(11), "g", "z")}, "z"), kT0, random, log);
  REQUIRE(std::holds_alternative<Refusal>(r));
  CHECK(log.size() == 5);
  CHECK(m.next_due_ms() == INT64_MAX);

  Module replayed(Module::Config{kKstMinutes});
  for (const auto& env : log) REQUIRE(replayed.apply(env).ok());
  CHECK(fingerprint(replayed.state()) == fingerprint(m.state()));

  Module restored(Module::Config{kKstMinutes});
  REQUIRE(restored.restore(m.snapshot()));
  CHECK(fingerprint(restored.state()) == fingerprint(m.state()));
  CHECK_FALSE(restored.restore("garbage"));
  CHECK(restored.state().visitors.empty());
}

// --- Writer<clinic::Module> ------------------------------------------------------

Rendered render(const Reply& reply) {
  return std::visit(
      [](const auto& r) -> Rendered {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, DomainError>) {
          return {500, "ERROR " + std::string(error_name(r.code))};
        } else if constexpr (std::is_same_v<R, Refusal>) {
          return {400, "REFUSED " + std::to_string(r.problems.size())};
        } else if constexpr (std::is_same_v<R, Reserved>) {
          return {200, "RESERVED " + r.schedule_id};
        } else if constexpr (std::is_same_v<R, Created>) {
          return {200, "CREATED " + r.id};
        } else {
          return {200, "DONE"};
        }
      },
      reply);
}

TEST_CASE("clinic writer: a reserve end to end over a memory log") {
  test::MemoryLog log;
  ManualClock clock{kT0};
  SeededRandom random(3);
  Module module(Module::Config{kKstMinutes});
  WriterConfig config;
  config.idle_wake_ms = 5;
  Writer<Module> writer(module, log, clock, random, render, config);
  REQUIRE(writer.recover().ok());
  writer.start();
  CHECK(writer.execute(RegisterVisitor{"v1", "Kim"}).body == "CREATED v1");
  CHECK(writer.execute(CreateZone{"z", "Laser", 1}).body == "CREATED z");
  CHECK(writer.execute(CreateGroup{"g", "G", {"z"}}).body == "CREATED g");
  const Rendered ok = writer.execute(reserve("v1", {res(at(10), at(11), "g", "z")}, "z"));
  CHECK(ok.status == 200);
  CHECK(ok.body.rfind("RESERVED ", 0) == 0);
  const Rendered no = writer.execute(reserve("v1", {res(at(10, 30), at(11), "g", "z")}, "z"));
  CHECK(no.body == "REFUSED 2");  // the visitor and the zone
  writer.stop();

  std::vector<std::string> types;
  for (const auto& env : log.envelopes()) types.push_back(env.type);
  CHECK(types == std::vector<std::string>{"ClinicConfigured", "VisitorRegistered", "ZoneCreated",
                                          "ReservationGroupCreated", "ScheduleReserved"});
  CHECK(module.state().schedules.size() == 1);
}

}  // namespace
