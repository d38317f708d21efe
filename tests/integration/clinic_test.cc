// The clinic API of SPEC §6 over real HTTP, on `reservoir serve --demo`
// (which serves clinic on --port beside canonical and queue-tokens): the
// seeds' error examples byte for byte (003, 004), SPEC §6.4's example, the
// whole life of a booking (V1 reserve, V2 move, day view, visitor list,
// cancel), capacity, admin and bearer rules, idempotency, bad input, and
// restart / rebuild / replay on the log it wrote.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/clinic_client.h"
#include "support/server_process.h"

namespace reservoir::test {
namespace {

const std::string kInvalidRequest = "InvalidRequestException";
const std::string kInvalidCommand = "InvalidCommandException";

void check_body(const Reply& r, int status, const std::string& body) {
  CHECK_MESSAGE(r.status == status, r.text());
  CHECK(r.body == body);
}

// ============================================== seed 003 (V1 reserve) ===

TEST_CASE("clinic: seed 003 and SPEC 6.4: overlap refused, back-to-back accepted") {
  ServerProcess server;
  ClinicApi clinic(server);
  const Reply first = clinic.reserve_v1("v1", at("10:00"), at("11:00"));
  REQUIRE_MESSAGE(first.ok(), first.text());
  CHECK(ClinicApi::id_of(first).size() == 36);  // a UUID
  check_body(clinic.reserve_v1("v1", at("10:30"), at("11:30")), 400,
             clinic_error(400, kInvalidRequest, {{"startDateTime", "NotAvailable"}}));
  const Reply next = clinic.reserve_v1("v1", at("11:00"), at("12:00"));
  CHECK_MESSAGE(next.ok(), next.text());
  CHECK(ClinicApi::id_of(next) != ClinicApi::id_of(first));
  // Another visitor may overlap in an unlimited zone.
  CHECK(clinic.reserve_v1("v2", at("10:30"), at("11:30")).ok());
}

TEST_CASE("clinic: seed 003: an unknown visitor") {
  ServerProcess server;
  ClinicApi clinic(server);
  check_body(clinic.reserve_v1("nobody", at("10:00"), at("11:00")), 400,
             clinic_error(400, kInvalidRequest, {{"visitorId", "NotFound"}}));
}

TEST_CASE("clinic: one millisecond of overlap is refused") {
  ServerProcess server;
  ClinicApi clinic(server);
  REQUIRE(clinic.reserve_v1("v1", at("10:00"), at("11:00")).ok());
  check_body(clinic.reserve_v1("v1", "2036-12-24T10:59:59.999Z", at("12:00")), 400,
             clinic_error(400, kInvalidRequest, {{"startDateTime", "NotAvailable"}}));
  CHECK(clinic.reserve_v1("v1", "2036-12-24T11:00:00.000Z", at("12:00")).ok());
}

TEST_CASE("clinic: a zone of capacity 1 takes one resource at a time (V1 key zoneId)") {
  ServerProcess server;
  ClinicApi clinic(server);
  REQUIRE(clinic.reserve_v1("v1", at("10:00"), at("11:00"), kGroupLaser, kLaser).ok());
  check_body(clinic.reserve_v1("v2", at("10:30"), at("11:30"), kGroupLaser, kLaser), 400,
             clinic_error(400, kInvalidRequest, {{"zoneId", "NotAvailable"}}));
  CHECK(clinic.reserve_v1("v2", at("11:00"), at("11:30"), kGroupLaser, kLaser).ok());
}

// ============================================ seed 004 (V2 update) ===

TEST_CASE("clinic: seed 004's error examples, byte for byte") {
  ServerProcess server;
  ClinicApi clinic(server);
  const std::string id = ClinicApi::id_of(clinic.reserve_v1("v1", at("10:00"), at("11:00")));
  REQUIRE(!id.empty());
  const std::string ok = resource(at("10:00"), at("11:00"));

  SUBCASE("scheduleId NotFound") {
    check_body(clinic.update("0123456789abcdef01234567", {ok}), 400,
               clinic_error(400, kInvalidRequest, {{"scheduleId", "NotFound"}}));
  }
  SUBCASE("occupiedResources Required: empty, missing or null") {
    const std::string want =
        clinic_error(400, kInvalidCommand, {{"occupiedResources", "Required"}});
    check_body(clinic.update(id, {}), 400, want);
    check_body(
        clinic.post(kV2Update, R"({"scheduleId":")" + id + R"(","zoneId":")" + kReception + "\"}"),
        400, want);
    check_body(clinic.post(kV2Update, R"({"scheduleId":")" + id + R"(","zoneId":")" + kReception +
                                          R"(","occupiedResources":null})"),
               400, want);
  }
  SUBCASE("occupiedResources[n].configuration Required") {
    const std::string bare =
        R"({"startDateTimeUtc":")" + at("12:00") + R"(","endDateTimeUtc":")" + at("13:00") + "\"}";
    check_body(
        clinic.update(id, {ok, bare}), 400,
        clinic_error(400, kInvalidCommand, {{"occupiedResources[1].configuration", "Required"}}));
  }
  SUBCASE("occupiedResources[n].reservationGroup Required") {
    const std::string no_group = R"({"startDateTimeUtc":")" + at("12:00") +
                                 R"(","endDateTimeUtc":")" + at("13:00") +
                                 R"(","reservationGroup":null,"other":1})";
    check_body(clinic.update(id, {ok, no_group}), 400,
               clinic_error(400, kInvalidCommand,
                            {{"occupiedResources[1].reservationGroup", "Required"}}));
  }
  SUBCASE("occupiedResources[n].startDateTimeUtc NotAvailable: another clinic day") {
    check_body(
        clinic.update(id, {ok, resource(at("10:00", "2036-12-25"), at("11:00", "2036-12-25"))}),
        400,
        clinic_error(400, kInvalidCommand,
                     {{"occupiedResources[1].startDateTimeUtc", "NotAvailable"}}));
  }
  SUBCASE("zoneId NotFound: the reception zone") {
    check_body(clinic.post(kV2Update, update_body(id, {ok}, "no-such-zone")), 400,
               clinic_error(400, kInvalidRequest, {{"zoneId", "NotFound"}}));
  }
  SUBCASE("occupiedResources[n].zoneId NotFound: a zone outside its group") {
    check_body(clinic.update(id, {ok, resource(at("12:00"), at("13:00"), kGroupConsult, kLaser)}),
               400,
               clinic_error(400, kInvalidRequest, {{"occupiedResources[1].zoneId", "NotFound"}}));
  }
  // Nothing above changed the schedule.
  const Reply s = clinic.schedule(id);
  REQUIRE_MESSAGE(s.ok(), s.text());
  CHECK(s.body.find(at("10:00").substr(0, 19)) != std::string::npos);
}

TEST_CASE("clinic: every failing lookup is listed, in SPEC 6.2's order") {
  ServerProcess server;
  ClinicApi clinic(server);
  const Reply r = clinic.post(
      kV2Reserve, v2_reserve_body("ghost",
                                  {resource(at("10:00"), at("11:00"), "no-group", kConsult),
                                   resource(at("11:00"), at("12:00"), kGroupConsult, "no-zone")},
                                  "no-reception"));
  check_body(r, 400,
             clinic_error(400, kInvalidRequest,
                          {{"visitorId", "NotFound"},
                           {"zoneId", "NotFound"},
                           {"occupiedResources[0].reservationGroupId", "NotFound"},
                           {"occupiedResources[1].zoneId", "NotFound"}}));
}

// ================================================ a booking's life ===

TEST_CASE("clinic: V1 reserve, V2 move by its reservationId, day view, visitor list, cancel") {
  ServerProcess server;
  ClinicApi clinic(server);
  const std::string id = ClinicApi::id_of(clinic.post(
      kV1Reserve, R"({"visitorId":"v1","reservationGroupId":"group-consult",)"
                  R"("zoneId":"zone-consult","startDateTimeUtc":"2036-12-24T10:00:00Z",)"
                  R"("endDateTimeUtc":"2036-12-24T11:00:00Z","reservationMemo":"first visit",)"
                  R"("requestedProcedures":[{"type":"TICKET","ticketConfiguration":)"
                  R"({"ticketId":"t1","ticketTitle":"Laser","optionTitle":"5 shots"}}]})"));
  REQUIRE(!id.empty());

  Reply s = clinic.schedule(id);
  REQUIRE_MESSAGE(s.ok(), s.text());
  CHECK(str(s.json, "scheduleId") == id);
  CHECK(str(s.json, "visitorId") == "v1");
  CHECK(str(s.json, "status") == "RESERVED");
  CHECK(s.body.find(R"("reservationMemo":"first visit")") != std::string::npos);
  CHECK(
      s.body.find(
          R"("requestedProcedures":[{"type":"TICKET","ticketConfiguration":{"ticketId":"t1","ticketTitle":"Laser","optionTitle":"5 shots"}}])") !=
      std::string::npos);

  // Moved with V2: two resources, one with a doctor; the memo replaced.
  const Reply moved = clinic.post(
      kV2Update,
      update_body(
          id,
          {resource(at("13:00"), at("14:00")),
           R"({"startDateTimeUtc":")" + at("13:30") + R"(","endDateTimeUtc":")" + at("14:00") +
               R"(","reservationGroup":{"reservationGroupId":"group-laser","zoneId":"zone-laser","doctor":{"id":"d1","name":"Dr. Kim"}}})"},
          kReception, R"(,"reservationMemo":"moved")"));
  check_body(moved, 200, "{}");
  s = clinic.schedule(id);
  REQUIRE(s.ok());
  CHECK(member(s.json, "occupiedResources")->Size() == 2);
  CHECK(s.body.find(R"("reservationMemo":"moved")") != std::string::npos);
  CHECK(s.body.find(R"("requestedProcedures")") != std::string::npos);  // absent: kept
  CHECK(s.body.find(R"("doctor":{"id":"d1","name":"Dr. Kim"})") != std::string::npos);

  // The old slot is free again; the new one is taken.
  CHECK(clinic.reserve_v1("v1", at("10:00"), at("11:00")).ok());
  CHECK(clinic.reserve_v1("v1", at("13:15"), at("13:45")).status == 400);

  const Reply laser = clinic.day(kLaser, "2036-12-24");
  REQUIRE_MESSAGE(laser.ok(), laser.text());
  CHECK(str(laser.json, "zoneId") == kLaser);
  CHECK(str(laser.json, "date") == "2036-12-24");
  CHECK(member(laser.json, "capacity")->GetInt() == 1);
  REQUIRE(member(laser.json, "items")->Size() == 1);
  CHECK(str((*member(laser.json, "items"))[0], "scheduleId") == id);

  const Reply list = clinic.visitor_schedules("v1");
  REQUIRE_MESSAGE(list.ok(), list.text());
  CHECK(member(list.json, "items")->Size() == 2);

  check_body(clinic.cancel(id), 200, "{}");
  s = clinic.schedule(id);
  CHECK(str(s.json, "status") == "CANCELLED");
  check_body(clinic.cancel(id), 409,
             clinic_error(409, "ConflictException", {{"scheduleId", "Cancelled"}}));
  check_body(clinic.update(id, {resource(at("15:00"), at("16:00"))}), 409,
             clinic_error(409, "ConflictException", {{"scheduleId", "Cancelled"}}));
  CHECK(member(clinic.day(kLaser, "2036-12-24").json, "items")->Size() == 0);
  CHECK(clinic.reserve_v1("v2", at("13:30"), at("14:00"), kGroupLaser, kLaser).ok());
}

TEST_CASE("clinic: queries answer 404 and 400 in the seeds' format") {
  ServerProcess server;
  ClinicApi clinic(server);
  check_body(clinic.schedule("0123456789abcdef01234567"), 404,
             clinic_error(404, "NotFoundException", {{"scheduleId", "NotFound"}}));
  check_body(clinic.day("no-such-zone", "2036-12-24"), 404,
             clinic_error(404, "NotFoundException", {{"zoneId", "NotFound"}}));
  check_body(clinic.day(kLaser, "2026-02-30"), 400,
             clinic_error(400, kInvalidCommand, {{"date", "Invalid"}}));
  check_body(clinic.visitor_schedules("ghost"), 404,
             clinic_error(404, "NotFoundException", {{"visitorId", "NotFound"}}));
  check_body(clinic.visitor_schedules("v1", "limit=0"), 400,
             clinic_error(400, kInvalidCommand, {{"limit", "Invalid"}}));
  const Reply unknown = clinic.get("/schedule/open/v1/nothing-here");
  CHECK(unknown.status == 404);
  CHECK(unknown.body.find("NotFoundException") != std::string::npos);
  const Reply method = clinic.get(kV2Update);
  CHECK(method.status == 405);
  CHECK(method.body.find("MethodNotAllowedException") != std::string::npos);
}

TEST_CASE("clinic: visitor schedules page by first start with a cursor") {
  ServerProcess server;
  ClinicApi clinic(server);
  std::vector<std::string> ids;
  for (const char* h : {"09", "10", "11", "12", "13"}) {
    ids.push_back(ClinicApi::id_of(
        clinic.reserve_v1("v2", at(std::string(h) + ":00"), at(std::string(h) + ":30"))));
    REQUIRE(!ids.back().empty());
  }
  Reply page = clinic.visitor_schedules("v2", "limit=2");
  REQUIRE_MESSAGE(page.ok(), page.text());
  REQUIRE(member(page.json, "items")->Size() == 2);
  CHECK(str((*member(page.json, "items"))[0], "scheduleId") == ids[0]);
  const std::string cursor = str(page.json, "nextCursor");
  REQUIRE(!cursor.empty());
  page = clinic.visitor_schedules("v2", "limit=2&cursor=" + cursor);
  REQUIRE(page.ok());
  CHECK(str((*member(page.json, "items"))[0], "scheduleId") == ids[2]);
  page = clinic.visitor_schedules(
      "v2", "from=" + at("10:00") + "&to=" + at("12:00"));  // [from, to) on first start
  REQUIRE(page.ok());
  CHECK(member(page.json, "items")->Size() == 2);
}

// =================================================== security ===

TEST_CASE("clinic: admin routes follow the Admin-Key rules in the seeds' format") {
  SUBCASE("no --admin-key: 403") {
    ServerProcess server;
    ClinicApi clinic(server);
    check_body(clinic.post("/schedule/open/v1/admin/visitors", R"({"name":"Lee"})"), 403,
               clinic_error(403, "ForbiddenException", {{"Admin-Key", "Disabled"}}));
  }
  SUBCASE("with --admin-key") {
    ServerProcess server(ServerOptions().admin("sesame"));
    ClinicApi clinic(server);
    check_body(clinic.post("/schedule/open/v1/admin/visitors", R"({"name":"Lee"})"), 401,
               clinic_error(401, "UnauthenticatedException", {{"Admin-Key", "Required"}}));
    check_body(clinic.post("/schedule/open/v1/admin/visitors", R"({"name":"Lee"})",
                           {{"Admin-Key", "wrong"}}),
               401, clinic_error(401, "UnauthenticatedException", {{"Admin-Key", "Invalid"}}));
    const httplib::Headers key = {{"Admin-Key", "sesame"}};
    const Reply visitor =
        clinic.post("/schedule/open/v1/admin/visitors", R"({"visitorId":"v9","name":"Lee"})", key);
    check_body(visitor, 200, R"({"visitorId":"v9"})");
    check_body(
        clinic.post("/schedule/open/v1/admin/visitors", R"({"visitorId":"v9","name":"X"})", key),
        409, clinic_error(409, "ConflictException", {{"visitorId", "AlreadyExists"}}));
    const Reply generated =
        clinic.post("/schedule/open/v1/admin/zones", R"({"name":"Room 3","capacity":3})", key);
    REQUIRE_MESSAGE(generated.ok(), generated.text());
    CHECK(str(generated.json, "zoneId").size() == 24);
    check_body(clinic.post("/schedule/open/v1/admin/reservation-groups",
                           R"({"name":"G","zoneIds":["zone-laser","nope"]})", key),
               400, clinic_error(400, kInvalidRequest, {{"zoneIds[1]", "NotFound"}}));
    const Reply group = clinic.post("/schedule/open/v1/admin/reservation-groups",
                                    R"({"reservationGroupId":"g3","name":"G","zoneIds":[")" +
                                        str(generated.json, "zoneId") + "\"]}",
                                    key);
    check_body(group, 200, R"({"reservationGroupId":"g3"})");
    CHECK(clinic.reserve_v1("v9", at("10:00"), at("11:00"), "g3", str(generated.json, "zoneId"))
              .ok());
  }
}

TEST_CASE("clinic: --clinic-api-key guards every non-admin route") {
  ServerProcess server(ServerOptions().with({"--clinic-api-key", "k-123"}));
  ClinicApi clinic(server);
  check_body(clinic.reserve_v1("v1", at("10:00"), at("11:00")), 401,
             clinic_error(401, "UnauthenticatedException", {{"Authorization", "Required"}}));
  clinic.bearer("nope");
  check_body(clinic.schedule("0123456789abcdef01234567"), 401,
             clinic_error(401, "UnauthenticatedException", {{"Authorization", "Invalid"}}));
  clinic.bearer("k-123");
  CHECK(clinic.reserve_v1("v1", at("10:00"), at("11:00")).ok());
  // The concert API is not affected.
  CHECK(Api(server).get("/healthz").ok());
}

// ================================================= idempotency ===

TEST_CASE("clinic: Idempotency-Key replays the first answer and refuses another body") {
  ServerProcess server;
  ClinicApi clinic(server);
  const httplib::Headers key = {{"Idempotency-Key", "k-1"}};
  const Reply first = clinic.post(kV1Reserve, v1_body("v1", at("10:00"), at("11:00")), key);
  REQUIRE(first.ok());
  const Reply again = clinic.post(kV1Reserve, v1_body("v1", at("10:00"), at("11:00")), key);
  CHECK(again.status == 200);
  CHECK(again.body == first.body);
  check_body(clinic.post(kV1Reserve, v1_body("v1", at("12:00"), at("13:00")), key), 409,
             clinic_error(409, "ConflictException", {{"Idempotency-Key", "Reused"}}));
  CHECK(member(clinic.visitor_schedules("v1").json, "items")->Size() == 1);
}

// ================================================== bad input ===

TEST_CASE("clinic: bad input is a 400 in the seeds' format, never a 500, and changes nothing") {
  ServerProcess server;
  ClinicApi clinic(server);
  check_body(clinic.post(kV1Reserve, "{not json"), 400,
             clinic_error(400, kInvalidCommand, {{"", "Invalid"}}));
  check_body(
      clinic.post(
          kV1Reserve,
          R"({"visitorId":7,"reservationGroupId":"group-consult","zoneId":"zone-consult","startDateTimeUtc":"2036-12-24T10:00:00Z","endDateTimeUtc":"2036-12-24T09:00:00Z"})"),
      400,
      clinic_error(400, kInvalidCommand,
                   {{"visitorId", "Invalid"}, {"endDateTimeUtc", "Invalid"}}));
  check_body(clinic.post(kV1Reserve, "{}"), 400,
             clinic_error(400, kInvalidCommand,
                          {{"visitorId", "Required"},
                           {"reservationGroupId", "Required"},
                           {"zoneId", "Required"},
                           {"startDateTimeUtc", "Required"},
                           {"endDateTimeUtc", "Required"}}));
  const std::string bad_enum = v1_body("v1", at("10:00"), at("11:00"))
                                   .substr(0, v1_body("v1", at("10:00"), at("11:00")).size() - 1) +
                               R"(,"requestedProcedures":[{"type":"SURGERY"}]})";
  check_body(clinic.post(kV1Reserve, bad_enum), 400,
             clinic_error(400, kInvalidCommand, {{"requestedProcedures[0].type", "Invalid"}}));
  std::string deep(10000, '[');
  const Reply nested = clinic.post(kV1Reserve, deep);
  CHECK(nested.status == 400);
  std::vector<std::string> many(40, resource(at("10:00"), at("11:00")));
  const Reply huge = clinic.reserve_v2("v1", many);
  CHECK(huge.status == 400);
  CHECK(huge.body.find(kInvalidCommand) != std::string::npos);
  const Reply text = clinic.raw().send("POST", kV1Reserve, "{}", {}, "text/plain");
  CHECK(text.status == 415);
  CHECK(text.body.find("UnsupportedMediaTypeException") != std::string::npos);
  const Reply big = clinic.post(kV1Reserve, std::string(70 * 1024, ' '));
  CHECK(big.status == 413);
  CHECK(big.body.find("PayloadTooLargeException") != std::string::npos);
  CHECK(member(clinic.visitor_schedules("v1").json, "items")->Size() == 0);
}

// ============================================ time zone (§6.1, 8) ===

TEST_CASE("clinic: --clinic-utc-offset +09:00 sets the clinic day") {
  ServerProcess server(ServerOptions().with({"--clinic-utc-offset", "+09:00"}));
  ClinicApi clinic(server);
  // 14:00Z and 15:30Z on the 24th: one UTC day, but 23:00 and 00:30 in +09:00.
  check_body(clinic.reserve_v2(
                 "v1", {resource(at("14:00"), at("14:30")), resource(at("15:30"), at("16:00"))}),
             400,
             clinic_error(400, kInvalidCommand,
                          {{"occupiedResources[1].startDateTimeUtc", "NotAvailable"}}));
  // 15:00Z on the 24th and 14:00Z on the 25th: two UTC days, one +09:00 day (the 25th).
  const Reply ok =
      clinic.reserve_v2("v1", {resource(at("15:00"), at("15:30")),
                               resource(at("14:00", "2036-12-25"), at("14:30", "2036-12-25"))});
  REQUIRE_MESSAGE(ok.ok(), ok.text());
  const Reply day = clinic.day(kConsult, "2036-12-25");
  REQUIRE_MESSAGE(day.ok(), day.text());
  CHECK(member(day.json, "items")->Size() == 2);
  CHECK(member(clinic.day(kConsult, "2036-12-24").json, "items")->Size() == 0);
}

TEST_CASE("clinic: a bad --clinic-utc-offset is refused with exit 2") {
  RunResult r = run_reservoir({"serve", "--port", "0", "--clinic-utc-offset", "+15:00"});
  CHECK(r.status == 2);
  CHECK(r.err.find("clinic-utc-offset") != std::string::npos);
}

// ============================================ restart and tools ===

TEST_CASE("clinic: restart, rebuild and replay keep every answer") {
  ServerProcess server;
  std::string id, day_before, list_before;
  {
    ClinicApi clinic(server);
    id = ClinicApi::id_of(clinic.reserve_v1("v1", at("10:00"), at("11:00")));
    REQUIRE(!id.empty());
    REQUIRE(clinic
                .update(id, {resource(at("12:00"), at("13:00")),
                             resource(at("12:30"), at("13:00"), kGroupLaser, kLaser)})
                .ok());
    REQUIRE(clinic.reserve_v1("v2", at("09:00"), at("09:30")).ok());
    day_before = clinic.day(kLaser, "2036-12-24").body;
    list_before = clinic.visitor_schedules("v1").body;
  }
  const std::string schedule_before = ClinicApi(server).schedule(id).body;
  server.restart();
  {
    ClinicApi clinic(server);
    CHECK(clinic.schedule(id).body == schedule_before);
    CHECK(clinic.day(kLaser, "2036-12-24").body == day_before);
    // Still enforced after the restart.
    CHECK(clinic.reserve_v1("v1", at("12:15"), at("12:45")).status == 400);
  }
  REQUIRE(server.terminate() == 0);

  std::vector<std::string> log = server.log_flags();
  std::vector<std::string> rebuild = {"rebuild", "--data", server.data_dir()};
  rebuild.insert(rebuild.end(), log.begin(), log.end());
  const RunResult rb = run_reservoir(rebuild, 60s);
  REQUIRE_MESSAGE(rb.status == 0, rb.out, rb.err);
  server.start();
  {
    ClinicApi clinic(server);
    CHECK(clinic.schedule(id).body == schedule_before);
    CHECK(clinic.day(kLaser, "2036-12-24").body == day_before);
    CHECK(clinic.visitor_schedules("v1").body == list_before);
  }
  REQUIRE(server.terminate() == 0);

  std::vector<std::string> replay = {"replay",   "--data", server.data_dir(), "--domain", "clinic",
                                     "--format", "json",   "--visitor",       "v1"};
  replay.insert(replay.end(), log.begin(), log.end());
  const RunResult json = run_reservoir(replay, 60s);
  REQUIRE_MESSAGE(json.status == 0, json.err);
  CHECK(json.out.find(R"("domain":"clinic")") != std::string::npos);
  CHECK(json.out.find("ScheduleUpdated") != std::string::npos);
  CHECK(json.out.find(R"("visitorId":"v2")") == std::string::npos);

  std::vector<std::string> verify = {"replay", "--data", server.data_dir(), "--verify"};
  verify.insert(verify.end(), log.begin(), log.end());
  const RunResult v = run_reservoir(verify, 60s);
  CHECK_MESSAGE(v.status == 0, v.out, v.err);
  CHECK(v.out.find("verify: clinic: checked") != std::string::npos);
  CHECK(v.out.find("verify: OK") != std::string::npos);
}

TEST_CASE("clinic: a restart restores the clinic snapshot and replays only the tail") {
  ServerProcess server(ServerOptions().with({"--snapshot-every-events", "4"}));
  std::vector<std::string> ids;
  {
    ClinicApi clinic(server);
    for (const char* h : {"08", "09", "10", "11", "12", "13"}) {
      ids.push_back(ClinicApi::id_of(
          clinic.reserve_v1("v1", at(std::string(h) + ":00"), at(std::string(h) + ":45"))));
      REQUIRE(!ids.back().empty());
    }
    REQUIRE(clinic.cancel(ids[2]).ok());
    REQUIRE(eventually([&] {
      return std::filesystem::exists(server.data_dir() + "/clinic/snapshots") &&
             !std::filesystem::is_empty(server.data_dir() + "/clinic/snapshots");
    }));
  }
  server.restart();
  // Both domains restore a snapshot of their own (the demo's concert log is
  // past 4 events too).
  const std::string err = server.stderr_text();
  const size_t first = err.find("event=snapshot_restored");
  REQUIRE(first != std::string::npos);
  CHECK(err.find("event=snapshot_restored", first + 1) != std::string::npos);
  ClinicApi clinic(server);
  // The state after the restart is the state before it: the cancelled slot
  // is free, the others are still taken.
  CHECK(clinic.reserve_v1("v1", at("10:00"), at("10:45")).ok());
  CHECK(clinic.reserve_v1("v1", at("11:30"), at("11:40")).status == 400);
  CHECK(str(clinic.schedule(ids[2]).json, "status") == "CANCELLED");
  CHECK(server.terminate() == 0);
}

}  // namespace
}  // namespace reservoir::test
