// api/clinic_render.h: the seeds' error bodies byte for byte, V1/V2/admin key
// spellings (CLINIC-DESIGN (c) "Error keys"), the command renderers and the
// query views' JSON.
#include <doctest/doctest.h>

#include <string>

#include "api/clinic_parse.h"
#include "api/clinic_render.h"
#include "events/clinic_time.h"
#include "events/time_format.h"

namespace reservoir::api {
namespace {

using clinic::Field;
using clinic::Problem;
using clinic::Reason;
using clinic::RefusalKind;

// The writer stores these as Writer<clinic::Module>::RenderFn.
using RenderFn = Rendered (*)(const clinic::Reply&);
[[maybe_unused]] constexpr RenderFn kRenderers[] = {
    render_reserve_v1,    render_reserve_v2, render_update,     render_cancel,
    render_admin_visitor, render_admin_zone, render_admin_group};

std::string body(int status, std::string_view exception, std::string_view properties) {
  return R"({"status":)" + std::to_string(status) + R"(,"message":")" + std::string(exception) +
         R"(","className":")" + std::string(exception) + R"(","errorProperties":[)" +
         std::string(properties) + "]}";
}

clinic::Reply refusal(RefusalKind kind, std::vector<Problem> problems) {
  return clinic::Refusal{kind, std::move(problems)};
}

TEST_CASE("clinic render: clinic_error is the seeds' body, compact, in their key order") {
  CHECK(clinic_error(400, "InvalidRequestException", {{"visitorId", "NotFound"}}) ==
        Rendered{400, R"({"status":400,"message":"InvalidRequestException",)"
                      R"("className":"InvalidRequestException",)"
                      R"("errorProperties":[{"key":"visitorId","reason":"NotFound"}]})"});
  CHECK(clinic_error(503, "ServiceUnavailableException", {}).body ==
        R"({"status":503,"message":"ServiceUnavailableException",)"
        R"("className":"ServiceUnavailableException","errorProperties":[]})");
  CHECK(clinic_error(400, "X", {{"a\"b", "R"}, {"c", "S"}}).body ==
        body(400, "X", R"({"key":"a\"b","reason":"R"},{"key":"c","reason":"S"})"));
}

TEST_CASE("clinic render: seed 003's error examples (V1 keys)") {
  CHECK(render_reserve_v1(refusal(RefusalKind::kInvalidRequest,
                                  {{Field::kResourceStart, 0, Reason::kNotAvailable}})) ==
        Rendered{400, R"({"status":400,"message":"InvalidRequestException",)"
                      R"("className":"InvalidRequestException",)"
                      R"("errorProperties":[{"key":"startDateTime","reason":"NotAvailable"}]})"});
  CHECK(render_reserve_v1(
            refusal(RefusalKind::kInvalidRequest, {{Field::kVisitorId, -1, Reason::kNotFound}})) ==
        Rendered{400, R"({"status":400,"message":"InvalidRequestException",)"
                      R"("className":"InvalidRequestException",)"
                      R"("errorProperties":[{"key":"visitorId","reason":"NotFound"}]})"});
}

TEST_CASE("clinic render: seed 004's InvalidRequest examples (V2 keys, a real n)") {
  const std::string e = "InvalidRequestException";
  CHECK(render_update(
            refusal(RefusalKind::kInvalidRequest, {{Field::kScheduleId, -1, Reason::kNotFound}})) ==
        Rendered{400, body(400, e, R"({"key":"scheduleId","reason":"NotFound"})")});
  CHECK(render_update(
            refusal(RefusalKind::kInvalidRequest, {{Field::kZoneId, -1, Reason::kNotFound}})) ==
        Rendered{400, body(400, e, R"({"key":"zoneId","reason":"NotFound"})")});
  CHECK(
      render_update(
          refusal(RefusalKind::kInvalidRequest, {{Field::kResourceZone, 2, Reason::kNotFound}})) ==
      Rendered{400, body(400, e, R"({"key":"occupiedResources[2].zoneId","reason":"NotFound"})")});
  // The days rule as decide's defensive re-check would phrase it.
  CHECK(
      render_update(refusal(RefusalKind::kInvalidCommand,
                            {{Field::kResourceStart, 1, Reason::kNotAvailable}})) ==
      Rendered{400,
               body(400, "InvalidCommandException",
                    R"({"key":"occupiedResources[1].startDateTimeUtc","reason":"NotAvailable"})")});
  CHECK(render_cancel(
            refusal(RefusalKind::kConflict, {{Field::kScheduleId, -1, Reason::kCancelled}})) ==
        Rendered{409,
                 body(409, "ConflictException", R"({"key":"scheduleId","reason":"Cancelled"})")});
}

TEST_CASE("clinic render: V1 and V2 spell one lookup failure list differently") {
  const std::vector<Problem> lookups = {{Field::kVisitorId, -1, Reason::kNotFound},
                                        {Field::kZoneId, -1, Reason::kNotFound},
                                        {Field::kGroupId, 0, Reason::kNotFound},
                                        {Field::kResourceZone, 0, Reason::kNotFound}};
  CHECK(render_reserve_v1(refusal(RefusalKind::kInvalidRequest, lookups)).body ==
        body(400, "InvalidRequestException",
             R"({"key":"visitorId","reason":"NotFound"},{"key":"zoneId","reason":"NotFound"},)"
             R"({"key":"reservationGroupId","reason":"NotFound"})"));
  CHECK(render_reserve_v2(refusal(RefusalKind::kInvalidRequest, lookups)).body ==
        body(400, "InvalidRequestException",
             R"({"key":"visitorId","reason":"NotFound"},{"key":"zoneId","reason":"NotFound"},)"
             R"({"key":"occupiedResources[0].reservationGroupId","reason":"NotFound"},)"
             R"({"key":"occupiedResources[0].zoneId","reason":"NotFound"})"));
  // Availability: the visitor's overlap and the zone's capacity.
  const std::vector<Problem> busy = {{Field::kResourceStart, 0, Reason::kNotAvailable},
                                     {Field::kResourceZone, 0, Reason::kNotAvailable}};
  CHECK(clinic_keys(busy, ClinicKeys::kV1) ==
        std::vector<KeyReason>{{"startDateTime", "NotAvailable"}, {"zoneId", "NotAvailable"}});
  CHECK(clinic_keys(busy, ClinicKeys::kV2) ==
        std::vector<KeyReason>{{"occupiedResources[0].startDateTimeUtc", "NotAvailable"},
                               {"occupiedResources[0].zoneId", "NotAvailable"}});
  // A resource zone that is missing only as the resource's (not in its group).
  CHECK(clinic_keys({{Field::kResourceZone, 0, Reason::kNotFound}}, ClinicKeys::kV1) ==
        std::vector<KeyReason>{{"zoneId", "NotFound"}});
}

TEST_CASE("clinic render: admin answers and conflicts") {
  CHECK(render_admin_visitor(clinic::Created{"v9"}) == Rendered{200, R"({"visitorId":"v9"})"});
  CHECK(render_admin_zone(clinic::Created{"0123456789abcdef01234567"}) ==
        Rendered{200, R"({"zoneId":"0123456789abcdef01234567"})"});
  CHECK(render_admin_group(clinic::Created{"g"}) == Rendered{200, R"({"reservationGroupId":"g"})"});
  CHECK(render_admin_visitor(
            refusal(RefusalKind::kConflict, {{Field::kVisitorId, -1, Reason::kAlreadyExists}})) ==
        Rendered{409, body(409, "ConflictException",
                           R"({"key":"visitorId","reason":"AlreadyExists"})")});
  CHECK(render_admin_zone(
            refusal(RefusalKind::kConflict, {{Field::kZoneId, -1, Reason::kAlreadyExists}}))
            .body ==
        body(409, "ConflictException", R"({"key":"zoneId","reason":"AlreadyExists"})"));
  CHECK(render_admin_group(
            refusal(RefusalKind::kConflict, {{Field::kGroupId, -1, Reason::kAlreadyExists}}))
            .body ==
        body(409, "ConflictException", R"({"key":"reservationGroupId","reason":"AlreadyExists"})"));
  CHECK(
      render_admin_group(
          refusal(RefusalKind::kInvalidRequest, {{Field::kGroupZones, 0, Reason::kNotFound},
                                                 {Field::kGroupZones, 3, Reason::kNotFound}}))
          .body ==
      body(400, "InvalidRequestException",
           R"({"key":"zoneIds[0]","reason":"NotFound"},{"key":"zoneIds[3]","reason":"NotFound"})"));
}

TEST_CASE("clinic render: successes, and replies a route cannot produce") {
  CHECK(render_reserve_v1(clinic::Reserved{"5f0c9a3e-1b2d-8c4e-9f00-0123456789ab"}) ==
        Rendered{200, R"({"reservationId":"5f0c9a3e-1b2d-8c4e-9f00-0123456789ab"})"});
  CHECK(render_reserve_v2(clinic::Reserved{"u"}) == Rendered{200, R"({"reservationId":"u"})"});
  CHECK(render_update(clinic::Done{}) == Rendered{200, "{}"});
  CHECK(render_cancel(clinic::Done{}) == Rendered{200, "{}"});
  const Rendered fault{500, body(500, "InternalServerException", "")};
  CHECK(render_reserve_v1(clinic::Done{}) == fault);
  CHECK(render_update(clinic::Created{"x"}) == fault);
  CHECK(render_admin_zone(clinic::Reserved{"x"}) == fault);
}

TEST_CASE("clinic render: the writer's own errors") {
  const std::string unavailable = body(503, "ServiceUnavailableException", "");
  for (RenderFn fn : kRenderers) {
    CHECK(fn(DomainError{ErrorCode::OVERLOADED, "queue full"}) == Rendered{503, unavailable});
    CHECK(fn(DomainError{ErrorCode::UNAVAILABLE, "stopping"}) == Rendered{503, unavailable});
    CHECK(fn(DomainError{ErrorCode::INTERNAL, "boom"}) ==
          Rendered{500, body(500, "InternalServerException", "")});
    CHECK(fn(DomainError{ErrorCode::IDEMPOTENCY_KEY_REUSED, "reused"}) ==
          Rendered{409, body(409, "ConflictException",
                             R"({"key":"Idempotency-Key","reason":"Reused"})")});
  }
  CHECK(clinic_domain_error({ErrorCode::SEAT_UNAVAILABLE, "concert"}).status == 500);
  CHECK(clinic_domain_error({ErrorCode::PAYLOAD_TOO_LARGE, ""}) ==
        Rendered{413, body(413, "PayloadTooLargeException", "")});
  CHECK(
      clinic_domain_error({ErrorCode::ADMIN_DISABLED, ""}) ==
      Rendered{403, body(403, "ForbiddenException", R"({"key":"Admin-Key","reason":"Disabled"})")});
}

int64_t at(std::string_view iso) {
  return *parse_iso8601_ms(iso);
}

projections::ClinicScheduleView schedule() {
  projections::ClinicScheduleView s;
  s.body.schedule_id = "5f0c9a3e-1b2d-8c4e-9f00-0123456789ab";
  s.body.visitor_id = "v1";
  s.body.zone_id = "zone-reception";
  s.body.resources = {{at("2026-12-24T01:00:00Z"), at("2026-12-24T02:00:00.250Z"), "group-laser",
                       "zone-laser", R"({"id":"d1","name":"김 원장","x":[1]})"},
                      {at("2026-12-24T02:00:00Z"), at("2026-12-24T02:30:00Z"), "group-consult",
                       "zone-consult", ""}};
  s.body.extras = {{"consultationRequired", "true"},
                   {"funnel", R"({"funnel":{"category":"FUNNEL"},"funnelDetail":"blog"})"},
                   {"requestedProcedures", R"([{"type":"OPTION","note":"\"q\""}])"}};
  s.body.api = "v2";
  s.body.created_at = at("2026-12-20T09:00:00Z");
  s.updated_at = at("2026-12-21T09:00:00.007Z");
  return s;
}

const std::string kScheduleJson =
    R"({"scheduleId":"5f0c9a3e-1b2d-8c4e-9f00-0123456789ab","visitorId":"v1",)"
    R"("zoneId":"zone-reception","status":"RESERVED","occupiedResources":[)"
    R"({"startDateTimeUtc":"2026-12-24T01:00:00.000Z","endDateTimeUtc":"2026-12-24T02:00:00.250Z",)"
    R"("reservationGroup":{"reservationGroupId":"group-laser","zoneId":"zone-laser",)"
    R"("doctor":{"id":"d1","name":"김 원장","x":[1]}}},)"
    R"({"startDateTimeUtc":"2026-12-24T02:00:00.000Z","endDateTimeUtc":"2026-12-24T02:30:00.000Z",)"
    R"("reservationGroup":{"reservationGroupId":"group-consult","zoneId":"zone-consult"}}],)"
    R"("consultationRequired":true,)"
    R"("funnel":{"funnel":{"category":"FUNNEL"},"funnelDetail":"blog"},)"
    R"("requestedProcedures":[{"type":"OPTION","note":"\"q\""}],)"
    R"("createdAt":"2026-12-20T09:00:00.000Z","updatedAt":"2026-12-21T09:00:00.007Z"})";

TEST_CASE("clinic render: a schedule, extras and doctor written back as stored") {
  CHECK(render_schedule_json(schedule()) == kScheduleJson);
  auto cancelled = schedule();
  cancelled.status = projections::ClinicStatus::kCancelled;
  const std::string json = render_schedule_json(cancelled);
  CHECK(json.find(R"("status":"CANCELLED")") != std::string::npos);
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  CHECK_FALSE(doc.HasParseError());
}

TEST_CASE("clinic render: extras parsed from a body come back byte for byte") {
  const std::string procedures =
      R"([{"type":"TICKET","ticketConfiguration":{"ticketId":"t","ticketTitle":"울쎄라",)"
      R"("optionTitle":"300샷","medicalService":{"durationTime":1.25,"unknown":{"a":[null]}}}}])";
  const auto parsed = parse_update_v2(
      R"({"scheduleId":"s","zoneId":"z","requestedProcedures":)" + procedures +
          R"(,"occupiedResources":[{"startDateTimeUtc":"2026-12-24T01:00:00Z",)"
          R"("endDateTimeUtc":"2026-12-24T02:00:00Z","reservationGroup":{"reservationGroupId":"g",)"
          R"("zoneId":"z"}}]})",
      0);
  REQUIRE(parsed.ok());
  const auto& u = std::get<clinic::Update>(*parsed.command);
  projections::ClinicScheduleView s;
  s.body.resources = u.resources;
  for (const auto& e : u.extras) s.body.extras.push_back({e.name, *e.json});
  const std::string json = render_schedule_json(s);
  CHECK(json.find(R"("requestedProcedures":)" + procedures + ",") != std::string::npos);
}

TEST_CASE("clinic render: a visitor's page") {
  CHECK(render_visitor_schedules({}) == R"({"items":[],"nextCursor":null})");
  projections::VisitorSchedulesPage page;
  page.items = {schedule()};
  page.next_cursor = "abc";
  CHECK(render_visitor_schedules(page) ==
        R"({"items":[)" + kScheduleJson + R"(],"nextCursor":"abc"})");
}

TEST_CASE("clinic render: a zone's day at +09:00") {
  projections::ZoneDayView day;
  day.zone = {"zone-laser", "Laser", 1};
  // 15:30Z on the 24th is 00:30 on the 25th in Seoul.
  day.day = clinic_time::clinic_day(at("2026-12-24T15:30:00Z"), 9 * 60);
  day.items = {
      {"s1", "v1", at("2026-12-24T15:30:00Z"), at("2026-12-24T16:00:00Z"), "group-laser",
       R"({"id":"d1","name":"Kim"})"},
      {"s2", "v2", at("2026-12-24T16:00:00Z"), at("2026-12-24T16:30:00Z"), "group-laser", ""}};
  CHECK(render_zone_day(day) ==
        R"({"zoneId":"zone-laser","date":"2026-12-25","capacity":1,"items":[)"
        R"({"scheduleId":"s1","visitorId":"v1","startDateTimeUtc":"2026-12-24T15:30:00.000Z",)"
        R"("endDateTimeUtc":"2026-12-24T16:00:00.000Z","reservationGroupId":"group-laser",)"
        R"("doctor":{"id":"d1","name":"Kim"}},)"
        R"({"scheduleId":"s2","visitorId":"v2","startDateTimeUtc":"2026-12-24T16:00:00.000Z",)"
        R"("endDateTimeUtc":"2026-12-24T16:30:00.000Z","reservationGroupId":"group-laser",)"
        R"("doctor":null}]})");
  day.zone.capacity = 0;
  day.items.clear();
  CHECK(render_zone_day(day) ==
        R"({"zoneId":"zone-laser","date":"2026-12-25","capacity":null,"items":[]})");
}

}  // namespace
}  // namespace reservoir::api
