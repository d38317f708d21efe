// api/clinic_parse.h: the InvalidCommand phase of the clinic routes (SPEC
// §6.2, seeds 003/004): schema order, every enum, int32 bounds, nested
// required members, limits, the different-days rule and extras kept as given.
#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "api/clinic_parse.h"
#include "api/clinic_render.h"
#include "events/time_format.h"

namespace reservoir::api {
namespace {

constexpr const char* kV1Body =
    R"({"visitorId":"v1","reservationGroupId":"group-laser","zoneId":"zone-laser",)"
    R"("startDateTimeUtc":"2026-12-24T01:00:00Z","endDateTimeUtc":"2026-12-24T02:00:00Z"})";

std::string resource(std::string_view start, std::string_view end, std::string_view zone) {
  return R"({"startDateTimeUtc":")" + std::string(start) + R"(","endDateTimeUtc":")" +
         std::string(end) +
         R"(","reservationGroup":{"reservationGroupId":"group-laser","zoneId":")" +
         std::string(zone) + R"("}})";
}

const std::string kResource0 =
    resource("2026-12-24T01:00:00Z", "2026-12-24T02:00:00Z", "zone-laser");

// A valid update whose occupiedResources are `resources`, plus `more` members.
std::string update(std::string_view resources, std::string_view more = "") {
  std::string body = R"({"scheduleId":"s-1","zoneId":"zone-reception","occupiedResources":[)" +
                     std::string(resources) + "]";
  if (!more.empty()) body += "," + std::string(more);
  return body + "}";
}
std::string update_with(std::string_view more) {
  return update(kResource0, more);
}

// "key Reason" pairs joined by "; ", or "ok".
std::string keys(const ClinicParse& p) {
  if (p.ok()) {
    CHECK(p.problems.empty());
    return "ok";
  }
  std::string out;
  for (const auto& k : p.problems) {
    if (!out.empty()) out += "; ";
    out += k.key + " " + k.reason;
  }
  return out;
}

std::string error_body(const ClinicParse& p) {
  REQUIRE_FALSE(p.ok());
  return clinic_error(400, "InvalidCommandException", p.problems).body;
}

// A copy: callers pass a temporary ClinicParse.
template <class T>
T command(const ClinicParse& p) {
  REQUIRE(p.ok());
  REQUIRE(std::holds_alternative<T>(*p.command));
  return std::get<T>(*p.command);
}

TEST_CASE("clinic parse: a V1 reserve is one resource whose zone is also the reception zone") {
  const auto& c = command<clinic::Reserve>(parse_reserve_v1(kV1Body, 0));
  CHECK(c.api == clinic::Api::kV1);
  CHECK(c.visitor_id == "v1");
  CHECK(c.reception_zone_id == "zone-laser");
  REQUIRE(c.resources.size() == 1);
  CHECK(c.resources[0].start_ms == *parse_iso8601_ms("2026-12-24T01:00:00Z"));
  CHECK(c.resources[0].end_ms == *parse_iso8601_ms("2026-12-24T02:00:00Z"));
  CHECK(c.resources[0].group_id == "group-laser");
  CHECK(c.resources[0].zone_id == "zone-laser");
  CHECK(c.resources[0].doctor.empty());
  CHECK(c.extras.empty());
}

TEST_CASE("clinic parse: V1 problems come in seed 003's property order, whatever the body's") {
  const auto p = parse_reserve_v1(
      R"({"reservationMemo":7,"requestedProcedures":[{"type":"X"}],"consultationRequired":"yes",)"
      R"("endDateTimeUtc":"tomorrow","zoneId":"","visitorId":5})",
      0);
  CHECK(keys(p) ==
        "visitorId Invalid; reservationGroupId Required; zoneId Required; "
        "startDateTimeUtc Required; endDateTimeUtc Invalid; consultationRequired Invalid; "
        "requestedProcedures[0].type Invalid; reservationMemo Invalid");
  CHECK_FALSE(p.command.has_value());
}

TEST_CASE("clinic parse: ids follow SPEC §1's rule; null is Required like a missing field") {
  CHECK(keys(parse_reserve_v1(
            R"({"visitorId":"a b","reservationGroupId":null,"zoneId":")" + std::string(65, 'z') +
                R"(","startDateTimeUtc":"2026-12-24T01:00:00Z",)"
                R"("endDateTimeUtc":"2026-12-24T02:00:00Z"})",
            0)) == "visitorId Invalid; reservationGroupId Required; zoneId Invalid");
  CHECK(keys(parse_reserve_v1(R"({"visitorId":"v-1.a_b:c","reservationGroupId":"g",)"
                              R"("zoneId":"z","startDateTimeUtc":"2026-12-24T01:00:00Z",)"
                              R"("endDateTimeUtc":"2026-12-24T02:00:00Z"})",
                              0)) == "ok");
}

TEST_CASE("clinic parse: times are UTC only, fractions truncated; start >= end on the end") {
  auto v1 = [](std::string_view start, std::string_view end) {
    return parse_reserve_v1(R"({"visitorId":"v1","reservationGroupId":"g","zoneId":"z",)"
                            R"("startDateTimeUtc":")" +
                                std::string(start) + R"(","endDateTimeUtc":")" + std::string(end) +
                                R"("})",
                            0);
  };
  const auto& c =
      command<clinic::Reserve>(v1("2026-12-24T01:00:00.123987Z", "2026-12-24T02:00:00+00:00"));
  CHECK(c.resources[0].start_ms == *parse_iso8601_ms("2026-12-24T01:00:00Z") + 123);
  CHECK(keys(v1("2026-12-24T10:00:00+09:00", "2026-12-24T02:00:00Z")) ==
        "startDateTimeUtc Invalid");
  CHECK(keys(v1("2026-12-24", "2026-13-01T00:00:00Z")) ==
        "startDateTimeUtc Invalid; endDateTimeUtc Invalid");
  CHECK(keys(v1("2026-12-24T02:00:00Z", "2026-12-24T02:00:00Z")) == "endDateTimeUtc Invalid");
  CHECK(keys(v1("2026-12-24T03:00:00Z", "2026-12-24T02:00:00Z")) == "endDateTimeUtc Invalid");
  // A bad start leaves the order check out: the end is judged alone.
  CHECK(keys(v1("nope", "2026-12-24T02:00:00Z")) == "startDateTimeUtc Invalid");
  CHECK(keys(v1("", "")) == "startDateTimeUtc Required; endDateTimeUtc Required");
}

TEST_CASE("clinic parse: malformed JSON or a non-object body is one problem, key \"\"") {
  const std::string kBody =
      R"({"status":400,"message":"InvalidCommandException","className":"InvalidCommandException",)"
      R"("errorProperties":[{"key":"","reason":"Invalid"}]})";
  for (std::string_view body : {"", "{", "[]", "\"x\"", "null", "7", R"({"a":1}x)", "{'a':1}",
                                R"({"visitorId":"\ud800"})", "{\"a\":1e400}"}) {
    CAPTURE(body);
    CHECK(error_body(parse_reserve_v1(body, 0)) == kBody);
    CHECK(error_body(parse_update_v2(body, 0)) == kBody);
    CHECK(error_body(parse_admin_group(body)) == kBody);
  }
}

TEST_CASE("clinic parse: hostile nesting is refused without recursion") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK(keys(parse_reserve_v2(deep, 0)) == " Invalid");
  // Within an extra the parser would keep: deeper than kNestingDepthMax.
  const std::string memo = std::string(40, '[') + std::string(40, ']');
  CHECK(keys(parse_update_v2(update_with(R"("reservationMemo":)" + memo), 0)) == " Invalid");
  // A Value the caller parsed itself (iteratively) is depth-checked too.
  rapidjson::Document doc;
  const std::string obj = R"({"scheduleId":)" + deep + "}";
  doc.Parse<rapidjson::kParseIterativeFlag>(obj.c_str(), obj.size());
  REQUIRE(doc.IsObject());
  CHECK(keys(parse_clinic(ClinicBody::kCancel, doc, 0)) == " Invalid");
  // Nesting the seeds themselves need (medicalService's translsMap) is fine.
  CHECK(keys(parse_update_v2(
            update_with(R"("requestedProcedures":[{"type":"TICKET","ticketConfiguration":)"
                        R"({"ticketId":"t","ticketTitle":"T","optionTitle":"O","medicalService":)"
                        R"({"translsMap":{"ko":{"translation":{"title":"x"}}}}}}])"),
            0)) == "ok");
}

TEST_CASE("clinic parse: seed 004 occupiedResources Required, missing, null or []") {
  const std::string kBody =
      R"({"status":400,"message":"InvalidCommandException","className":"InvalidCommandException",)"
      R"("errorProperties":[{"key":"occupiedResources","reason":"Required"}]})";
  CHECK(error_body(parse_update_v2(R"({"scheduleId":"s-1","zoneId":"z"})", 0)) == kBody);
  CHECK(error_body(parse_update_v2(R"({"scheduleId":"s-1","zoneId":"z","occupiedResources":null})",
                                   0)) == kBody);
  CHECK(error_body(parse_update_v2(R"({"scheduleId":"s-1","zoneId":"z","occupiedResources":[]})",
                                   0)) == kBody);
  CHECK(keys(parse_update_v2(R"({"scheduleId":"s-1","zoneId":"z","occupiedResources":{}})", 0)) ==
        "occupiedResources Invalid");
  CHECK(keys(parse_update_v2(R"({"occupiedResources":[5,null]})", 0)) ==
        "scheduleId Required; zoneId Required; occupiedResources[0] Invalid; "
        "occupiedResources[1] Required");
}

TEST_CASE("clinic parse: seed 004 configuration and reservationGroup Required, with a real n") {
  const std::string only_times =
      R"({"startDateTimeUtc":"2026-12-24T03:00:00Z","endDateTimeUtc":"2026-12-24T04:00:00Z"})";
  CHECK(
      error_body(parse_update_v2(update(kResource0 + "," + only_times), 0)) ==
      R"({"status":400,"message":"InvalidCommandException","className":"InvalidCommandException",)"
      R"("errorProperties":[{"key":"occupiedResources[1].configuration","reason":"Required"}]})");
  // Other keys, but no reservationGroup (or a null one): the group is what is missing.
  const std::string no_group =
      R"({"startDateTimeUtc":"2026-12-24T03:00:00Z","endDateTimeUtc":"2026-12-24T04:00:00Z",)"
      R"("doctor":{"id":"d1","name":"Kim"}})";
  const std::string null_group =
      R"({"startDateTimeUtc":"2026-12-24T03:00:00Z","endDateTimeUtc":"2026-12-24T04:00:00Z",)"
      R"("reservationGroup":null})";
  CHECK(
      error_body(parse_update_v2(update(kResource0 + "," + kResource0 + "," + no_group), 0)) ==
      R"({"status":400,"message":"InvalidCommandException","className":"InvalidCommandException",)"
      R"("errorProperties":[{"key":"occupiedResources[2].reservationGroup","reason":"Required"}]})");
  CHECK(keys(parse_update_v2(update(null_group), 0)) ==
        "occupiedResources[0].reservationGroup Required");
  CHECK(keys(parse_update_v2(update(R"({"endDateTimeUtc":"2026-12-24T04:00:00Z"})"), 0)) ==
        "occupiedResources[0].startDateTimeUtc Required; occupiedResources[0].configuration "
        "Required");
  CHECK(keys(parse_update_v2(update(R"({"reservationGroup":"g"})"), 0)) ==
        "occupiedResources[0].startDateTimeUtc Required; "
        "occupiedResources[0].endDateTimeUtc Required; occupiedResources[0].reservationGroup "
        "Invalid");
}

TEST_CASE("clinic parse: a resource's group, zone and doctor, depth-first by index") {
  const std::string r0 =
      R"({"startDateTimeUtc":"2026-12-24T03:00:00Z","endDateTimeUtc":"2026-12-24T02:00:00Z",)"
      R"("reservationGroup":{"zoneId":"bad id","doctor":{"name":"Kim"}}})";
  const std::string r1 =
      R"({"startDateTimeUtc":"2026-12-24T03:00:00","endDateTimeUtc":"2026-12-24T04:00:00Z",)"
      R"("reservationGroup":{"reservationGroupId":"","zoneId":"z","doctor":{"id":"d 1","name":7}}})";
  CHECK(keys(parse_update_v2(update(r0 + "," + r1), 0)) ==
        "occupiedResources[0].endDateTimeUtc Invalid; "
        "occupiedResources[0].reservationGroup.reservationGroupId Required; "
        "occupiedResources[0].reservationGroup.zoneId Invalid; "
        "occupiedResources[0].reservationGroup.doctor.id Required; "
        "occupiedResources[1].startDateTimeUtc Invalid; "
        "occupiedResources[1].reservationGroup.reservationGroupId Required; "
        "occupiedResources[1].reservationGroup.doctor.id Invalid; "
        "occupiedResources[1].reservationGroup.doctor.name Invalid");
}

TEST_CASE("clinic parse: an update's resources, doctor kept as given, unknown members kept") {
  const std::string r =
      R"({"startDateTimeUtc":"2026-12-24T01:00:00Z","endDateTimeUtc":"2026-12-24T02:00:00Z",)"
      R"("reservationGroup":{"reservationGroupId":"g","zoneId":"z",)"
      R"("doctor":{"name":"김 원장","id":"d1","extra":[1,{"a":null}]}}})";
  const auto& c = command<clinic::Update>(parse_update_v2(update(kResource0 + "," + r), 0));
  CHECK(c.schedule_id == "s-1");
  CHECK(c.reception_zone_id == "zone-reception");
  REQUIRE(c.resources.size() == 2);
  CHECK(c.resources[0].doctor.empty());
  CHECK(c.resources[1].group_id == "g");
  CHECK(c.resources[1].zone_id == "z");
  CHECK(c.resources[1].doctor == R"({"name":"김 원장","id":"d1","extra":[1,{"a":null}]})");
  CHECK(c.extras.empty());
}

TEST_CASE("clinic parse: different clinic days at +09:00, only after every other check") {
  // 14:00Z and 15:30Z on the 24th: one UTC day, two KST days (23:00 and 00:30).
  const std::string body =
      update(resource("2026-12-24T14:00:00Z", "2026-12-24T14:30:00Z", "z") + "," +
             resource("2026-12-24T14:10:00Z", "2026-12-24T14:20:00Z", "z") + "," +
             resource("2026-12-24T15:30:00Z", "2026-12-24T16:00:00Z", "z"));
  CHECK(keys(parse_update_v2(body, 0)) == "ok");
  CHECK(
      error_body(parse_update_v2(body, 9 * 60)) ==
      R"({"status":400,"message":"InvalidCommandException","className":"InvalidCommandException",)"
      R"("errorProperties":[{"key":"occupiedResources[2].startDateTimeUtc","reason":"NotAvailable"}]})");
  CHECK(keys(parse_reserve_v2(
            R"({"visitorId":"v1","zoneId":"z","occupiedResources":[)" +
                resource("2026-12-24T14:00:00Z", "2026-12-24T14:30:00Z", "z") + "," +
                resource("2026-12-25T14:00:00Z", "2026-12-25T14:30:00Z", "z") + "]}",
            0)) == "occupiedResources[1].startDateTimeUtc NotAvailable");
  // Another problem answers alone: the days phase comes after.
  const std::string bad = body.substr(0, body.size() - 1) + R"(,"sedationRequired":1})";
  CHECK(keys(parse_update_v2(bad, 9 * 60)) == "sedationRequired Invalid");
}

TEST_CASE("clinic parse: V2 reserve names the visitor first and keeps seed 004's extras") {
  const auto& c = command<clinic::Reserve>(parse_reserve_v2(
      R"({"connectedChannel":"HOMEPAGE","visitorId":"v2","funnelDetail":"top-level: not V2's",)"
      R"("zoneId":"zone-reception","occupiedResources":[)" +
          kResource0 + "]}",
      0));
  CHECK(c.api == clinic::Api::kV2);
  CHECK(c.visitor_id == "v2");
  CHECK(c.reception_zone_id == "zone-reception");
  REQUIRE(c.extras.size() == 1);
  CHECK(c.extras[0] == clinic::Extra{"connectedChannel", R"("HOMEPAGE")"});
  CHECK(keys(parse_reserve_v2(R"({"scheduleId":"s"})", 0)) ==
        "visitorId Required; zoneId Required; occupiedResources Required");
}

TEST_CASE("clinic parse: extras kept byte for byte, in kExtraNames order; null removes") {
  const std::string procedures =
      R"([{"type":"OPTION","optionConfiguration":{"optionId":"o1","optionTitle":"보톡스",)"
      R"("price":{"amount":-5,"currency":"KRW","reason":{"type":"PROMOTION","promotionId":"p"}},)"
      R"("unknown":{"x":[true,false,null,1.5,"\"q\""]}},"note":"kept"}])";
  const std::string funnel =
      R"({"funnel":{"id":"f","category":"FUNNEL","order":3,"closed":false,"color":"RED",)"
      R"("default":true},"funnelDetail":"blog","funnelCategory":{"category":"ACCOUNT_STATUS"}})";
  const std::string body =
      update_with(R"("requestedProcedures":)" + procedures + R"(,"funnel":)" + funnel +
                  R"(,"reservationMemo":"line1\nline2","counselor":{"id":"c1","name":"Lee"},)"
                  R"("consultationRequired":true,"sedationRequired":null,"unknownTop":{"a":1},)"
                  R"("reservationAssignee":{"id":"any id!","name":"Park"})");
  const auto& c = command<clinic::Update>(parse_update_v2(body, 0));
  REQUIRE(c.extras.size() == 7);
  auto is = [&](size_t i, std::string_view name, std::optional<std::string> json) {
    CAPTURE(i);
    CHECK(c.extras[i].name == name);
    CHECK(c.extras[i].json == json);
  };
  is(0, "consultationRequired", "true");
  is(1, "sedationRequired", std::nullopt);
  is(2, "funnel", funnel);
  is(3, "reservationMemo", R"("line1\nline2")");
  is(4, "reservationAssignee", R"({"id":"any id!","name":"Park"})");
  is(5, "counselor", R"({"id":"c1","name":"Lee"})");
  is(6, "requestedProcedures", procedures);

  // A reserve stores what is given; null is not stored.
  const auto& r = command<clinic::Reserve>(parse_reserve_v1(
      std::string(kV1Body).substr(0, std::string(kV1Body).size() - 1) +
          R"(,"reservationMemo":"m","funnelDetail":"insta","sedationRequired":null,)"
          R"("requestedProcedures":[]})",
      0));
  REQUIRE(r.extras.size() == 3);
  CHECK(r.extras[0] == clinic::Extra{"funnelDetail", R"("insta")"});
  CHECK(r.extras[1] == clinic::Extra{"reservationMemo", R"("m")"});
  CHECK(r.extras[2] == clinic::Extra{"requestedProcedures", "[]"});
}

TEST_CASE("clinic parse: nested required members of the seeds' objects") {
  CHECK(keys(parse_update_v2(
            update_with(
                R"("reservationAssignee":{},"counselor":{"id":"bad id","name":""},)"
                R"("requestedProcedures":[{},null,{"type":"OPTION","optionConfiguration":{}},)"
                R"({"type":"TICKET","ticketConfiguration":{"ticketTitle":5}}])"),
            0)) ==
        "reservationAssignee.id Required; reservationAssignee.name Required; counselor.id Invalid; "
        "counselor.name Required; requestedProcedures[0].type Required; "
        "requestedProcedures[1] Required; "
        "requestedProcedures[2].optionConfiguration.optionId Required; "
        "requestedProcedures[2].optionConfiguration.optionTitle Required; "
        "requestedProcedures[2].optionConfiguration.price Required; "
        "requestedProcedures[3].ticketConfiguration.ticketId Required; "
        "requestedProcedures[3].ticketConfiguration.ticketTitle Invalid; "
        "requestedProcedures[3].ticketConfiguration.optionTitle Required");
}

// Paths into a procedure's option price and a ticket's medicalService (`%`: the value).
const std::string kOption =
    R"("requestedProcedures":[{"type":"OPTION","optionConfiguration":{"optionId":"o",)"
    R"("optionTitle":"t","price":%}}])";
const std::string kService =
    R"("requestedProcedures":[{"type":"TICKET","ticketConfiguration":{"ticketId":"t",)"
    R"("ticketTitle":"t","optionTitle":"o","medicalService":%}}])";

std::string replaced(std::string text, std::string_view value) {
  const size_t at = text.find('%');
  return text.replace(at, 1, value);
}

TEST_CASE("clinic parse: every enum of seeds 003/004") {
  const std::string kType = R"("requestedProcedures":[{"type":%}])";
  const std::string kReason = replaced(kOption, R"({"reason":{"type":%}})");
  const std::string kStatus = replaced(kService, R"({"status":%})");
  const std::string kUnit = replaced(kService, R"({"configuration":{"unit":{"type":%}}})");
  const std::string kPay = replaced(kService, R"({"configuration":{"healthcareReimbursement":%}})");
  const std::string kTax = replaced(kService, R"({"configuration":{"taxation":%}})");
  const std::string kCategory = R"("funnel":{"funnel":{"category":%}})";
  const std::string kColor = R"("funnel":{"funnel":{"color":%}})";
  const std::string kCatCategory = R"("funnel":{"funnelCategory":{"category":%}})";
  const std::string kCatColor = R"("funnel":{"funnelCategory":{"color":%}})";
  const std::string kChannel = R"("connectedChannel":%)";
  const std::string ms = "requestedProcedures[0].ticketConfiguration.medicalService.";
  const struct {
    std::string key, member;
    const char *first, *last;
  } cases[] = {
      {"requestedProcedures[0].type", kType, "RESERVATION_REQUESTED_PROCEDURE_TYPE_UNSPECIFIED",
       "TICKET"},
      {"requestedProcedures[0].optionConfiguration.price.reason.type", kReason,
       "RESERVATION_REQUESTED_OPTION_PRICE_REASON_TYPE_UNSPECIFIED", "VISITOR_TYPE"},
      {ms + "status", kStatus, "MedicalServiceStatus_UNKNOWN", "PUBLISHED"},
      {ms + "configuration.unit.type", kUnit, "UnitType_UNKNOWN", "MHZ"},
      {ms + "configuration.healthcareReimbursement", kPay, "HealthcareReimbursement_UNKNOWN",
       "NON_REIMBURSABLE"},
      {ms + "configuration.taxation", kTax, "Taxation_UNKNOWN", "MIXED"},
      {"funnel.funnel.category", kCategory, "CODE_CATEGORY_UNSPECIFIED", "ACCOUNT_STATUS"},
      {"funnel.funnel.color", kColor, "CodeColor_UNSPECIFIED", "GRAY"},
      {"funnel.funnelCategory.category", kCatCategory, "CODE_CATEGORY_UNSPECIFIED",
       "VISITOR_CATEGORY"},
      {"funnel.funnelCategory.color", kCatColor, "CodeColor_UNSPECIFIED", "LAVA"},
      {"connectedChannel", kChannel, "Channel_UNSPEICIFED", "KOS_CONNECT"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.key);
    auto with = [&](std::string_view v) {
      return parse_update_v2(update_with(replaced(c.member, v)), 0);
    };
    CHECK(keys(with('"' + std::string(c.first) + '"')) == "ok");
    CHECK(keys(with('"' + std::string(c.last) + '"')) == "ok");
    CHECK(keys(with(R"("NOT_A_VALUE")")) == c.key + " Invalid");
    CHECK(keys(with(R"("")")) == c.key + " Invalid");
    CHECK(keys(with("1")) == c.key + " Invalid");
  }
  // In V1 too (seed 003 has requestedProcedures).
  CHECK(
      keys(parse_reserve_v1(std::string(kV1Body).substr(0, std::string(kV1Body).size() - 1) +
                                R"(,"requestedProcedures":[{"type":"OPTION"},{"type":"option"}]})",
                            0)) == "requestedProcedures[1].type Invalid");
}

TEST_CASE("clinic parse: int32 fields within bounds, numbers and booleans by type") {
  const std::string ms = "requestedProcedures[0].ticketConfiguration.medicalService.";
  const std::string kOrder = R"("funnel":{"funnelCategory":{"order":%}})";
  const struct {
    std::string key, member;
  } cases[] = {
      {"funnel.funnelCategory.order", kOrder},
      {"requestedProcedures[0].optionConfiguration.price.amount",
       replaced(kOption, R"({"amount":%})")},
      {ms + "configuration.unit.value",
       replaced(kService, R"({"configuration":{"unit":{"value":%}}})")},
      {ms + "priceAmount.value", replaced(kService, R"({"priceAmount":{"value":%}})")},
      {ms + "recommendedInterval", replaced(kService, R"({"recommendedInterval":%})")},
      {ms + "contributionConstant", replaced(kService, R"({"contributionConstant":%})")},
  };
  for (const auto& c : cases) {
    CAPTURE(c.key);
    auto with = [&](std::string_view v) {
      return keys(parse_update_v2(update_with(replaced(c.member, v)), 0));
    };
    CHECK(with("2147483647") == "ok");
    CHECK(with("-2147483648") == "ok");
    CHECK(with("0") == "ok");
    CHECK(with("null") == "ok");
    CHECK(with("2147483648") == c.key + " Invalid");
    CHECK(with("-2147483649") == c.key + " Invalid");
    CHECK(with("18446744073709551615") == c.key + " Invalid");
    CHECK(with("1.5") == c.key + " Invalid");
    CHECK(with("1.0") == c.key + " Invalid");
    CHECK(with(R"("1")") == c.key + " Invalid");
  }
  const std::string duration = replaced(kService, R"({"durationTime":%,"deleted":%})");
  auto service = [&](std::string_view d, std::string_view del) {
    std::string m = replaced(duration, d);
    return keys(parse_update_v2(update_with(replaced(m, del)), 0));
  };
  CHECK(service("1.5", "true") == "ok");
  CHECK(service("-3", "false") == "ok");
  CHECK(service(R"("1.5")", "0") == ms + "deleted Invalid; " + ms + "durationTime Invalid");
  CHECK(keys(parse_update_v2(update_with(R"("consultationRequired":"true","sedationRequired":0)"),
                             0)) == "consultationRequired Invalid; sedationRequired Invalid");
}

TEST_CASE("clinic parse: wrong types anywhere the seeds give one") {
  CHECK(
      keys(parse_update_v2(
          update_with(R"("reservationMemo":5,"funnel":"x","counselor":[],"requestedProcedures":{},)"
                      R"("reservationAssignee":{"id":1,"name":"n"})"),
          0)) ==
      "reservationAssignee.id Invalid; counselor Invalid; funnel Invalid; reservationMemo Invalid; "
      "requestedProcedures Invalid");
  const std::string ms = "requestedProcedures[0].ticketConfiguration.medicalService.";
  CHECK(keys(parse_update_v2(
            update_with(replaced(
                kService, R"({"id":1,"translsMap":{"ko":{"translation":{"title":5}},"en":"x"},)"
                          R"("configuration":{"machines":[{"name":2},"m"],"procedure":[]}})")),
            0)) == ms + "id Invalid; " + ms + "translsMap.ko.translation.title Invalid; " + ms +
                       "translsMap.en Invalid; " + ms + "configuration.procedure Invalid; " + ms +
                       "configuration.machines[0].name Invalid; " + ms +
                       "configuration.machines[1] Invalid");
}

TEST_CASE("clinic parse: arrays over the limits of commands.h are Invalid on the array") {
  std::string resources = kResource0;
  for (size_t i = 1; i < clinic::kResourcesMax; ++i) resources += "," + kResource0;
  CHECK(keys(parse_update_v2(update(resources), 0)) == "ok");
  CHECK(keys(parse_update_v2(update(resources + "," + kResource0), 0)) ==
        "occupiedResources Invalid");
  std::string procedures = R"({"type":"OPTION"})";
  for (size_t i = 1; i < clinic::kRequestedProceduresMax; ++i)
    procedures += R"(,{"type":"OPTION"})";
  CHECK(keys(parse_update_v2(update_with(R"("requestedProcedures":[)" + procedures + "]"), 0)) ==
        "ok");
  CHECK(keys(parse_update_v2(
            update_with(R"("requestedProcedures":[)" + procedures + R"(,{"type":"OPTION"}])"),
            0)) == "requestedProcedures Invalid");
}

TEST_CASE("clinic parse: cancel") {
  CHECK(command<clinic::Cancel>(parse_cancel(R"({"scheduleId":"s-1","x":1})")).schedule_id ==
        "s-1");
  CHECK(keys(parse_cancel("{}")) == "scheduleId Required");
  CHECK(keys(parse_cancel(R"({"scheduleId":""})")) == "scheduleId Required");
  CHECK(keys(parse_cancel(R"({"scheduleId":["s"]})")) == "scheduleId Invalid");
}

TEST_CASE("clinic parse: admin visitor, zone capacity and group zoneIds") {
  const auto& v = command<clinic::RegisterVisitor>(parse_admin_visitor(R"({"name":"홍길동"})"));
  CHECK(v.visitor_id.empty());
  CHECK(v.name == "홍길동");
  CHECK(command<clinic::RegisterVisitor>(parse_admin_visitor(R"({"visitorId":"v9","name":"A"})"))
            .visitor_id == "v9");
  CHECK(keys(parse_admin_visitor(R"({"visitorId":""})")) == "visitorId Invalid; name Required");
  CHECK(keys(parse_admin_visitor(R"({"name":")" + std::string(kClinicNameMax + 1, 'n') + "\"}")) ==
        "name Invalid");

  auto capacity = [](std::string_view c) {
    return parse_admin_zone(R"({"zoneId":"z1","name":"Laser","capacity":)" + std::string(c) + "}");
  };
  CHECK(command<clinic::CreateZone>(parse_admin_zone(R"({"name":"Laser"})")).capacity == 0);
  CHECK(command<clinic::CreateZone>(capacity("null")).capacity == 0);
  CHECK(command<clinic::CreateZone>(capacity("1")).capacity == 1);
  CHECK(command<clinic::CreateZone>(capacity("1000000")).capacity == 1'000'000);
  CHECK(command<clinic::CreateZone>(capacity("1")).zone_id == "z1");
  for (std::string_view bad : {"0", "-1", "1000001", "2.5", "1.0", "\"3\"", "true", "1e400"}) {
    CAPTURE(bad);
    const std::string expected = bad == "1e400" ? " Invalid" : "capacity Invalid";
    CHECK(keys(capacity(bad)) == expected);
  }

  const auto& g = command<clinic::CreateGroup>(
      parse_admin_group(R"({"name":"Laser","zoneIds":["zone-laser","zone-consult"]})"));
  CHECK(g.group_id.empty());
  CHECK(g.zone_ids == std::vector<std::string>{"zone-laser", "zone-consult"});
  CHECK(keys(parse_admin_group(R"({"name":"L"})")) == "zoneIds Required");
  CHECK(keys(parse_admin_group(R"({"name":"L","zoneIds":[]})")) == "zoneIds Required");
  CHECK(
      keys(parse_admin_group(R"({"reservationGroupId":7,"zoneIds":["a","bad id","a",null,3]})")) ==
      "reservationGroupId Invalid; name Required; zoneIds[1] Invalid; zoneIds[2] Invalid; "
      "zoneIds[3] Required; zoneIds[4] Invalid");
  std::string zones = "\"z0\"";
  for (size_t i = 1; i <= clinic::kGroupZonesMax; ++i) zones += ",\"z" + std::to_string(i) + "\"";
  CHECK(keys(parse_admin_group(R"({"name":"L","zoneIds":[)" + zones + "]}")) == "zoneIds Invalid");
}

}  // namespace
}  // namespace reservoir::api
