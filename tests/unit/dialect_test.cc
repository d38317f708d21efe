// api/dialect_values.h and the dialects' error tables (SPEC §5.2, §5.5).
#include <doctest/doctest.h>

#include <string>

#include "api/dialect.h"
#include "api/dialect_values.h"
#include "api/json_util.h"
#include "api/render.h"
#include "events/time_format.h"

namespace reservoir::api {
namespace {

std::string rendered_id(std::string_view id) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  write_dialect_id(w, id);
  return std::string(buf.GetString(), buf.GetSize());
}

rapidjson::Document parsed(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  REQUIRE(doc.IsObject());
  return doc;
}

// The id `field` of `body` by the body id rule, or "!" + the error's message.
std::string id_of(const std::string& body, const char* field = "id") {
  auto doc = parsed(body);
  auto id = body_id(doc, field);
  if (auto* e = std::get_if<DomainError>(&id)) {
    CHECK(e->code == ErrorCode::INVALID_REQUEST);
    return "!" + e->message;
  }
  return std::get<std::string>(id);
}

const RouteSpec& route_of(const Dialect& d, std::string_view method, std::string_view pattern) {
  for (const RouteSpec& r : d.routes) {
    if (r.method == method && r.pattern == pattern) return r;
  }
  FAIL("no route " << method << " " << pattern << " in " << d.name);
  return d.routes.front();
}

TEST_CASE("dialect ids: canonical decimals render as JSON integers, anything else as strings") {
  CHECK(rendered_id("1") == "1");
  CHECK(rendered_id("0") == "0");
  CHECK(rendered_id("A1") == "\"A1\"");
  CHECK(rendered_id("007") == "\"007\"");
  CHECK(rendered_id("-1") == "\"-1\"");
  CHECK(rendered_id("9223372036854775807") == "9223372036854775807");
  CHECK(rendered_id("9223372036854775808") == "\"9223372036854775808\"");  // beyond int64
  CHECK(rendered_id("demo-schedule-1") == "\"demo-schedule-1\"");
  CHECK(canonical_decimal("12") == 12);
  CHECK_FALSE(canonical_decimal(""));
  CHECK_FALSE(canonical_decimal("+1"));
  CHECK_FALSE(canonical_decimal("1 "));
}

TEST_CASE("dialect ids: a body id is an integer in 0..2^63-1 or an id string, else 400") {
  CHECK(id_of(R"({"id":1})") == "1");
  CHECK(id_of(R"({"id":0})") == "0");
  CHECK(id_of(R"({"id":9223372036854775807})") == "9223372036854775807");
  CHECK(id_of(R"({"id":"A1"})") == "A1");
  CHECK(id_of(R"({"id":"007"})") == "007");
  for (const char* bad : {R"({"id":-1})", R"({"id":1.5})", R"({"id":1e3})", R"({"id":true})",
                          R"({"id":"a b"})", R"({"id":""})", R"({"id":9223372036854775808})",
                          R"({"id":[1]})", R"({})", R"({"id":null})"}) {
    CAPTURE(bad);
    const std::string got = id_of(bad);
    REQUIRE(got.front() == '!');
    CHECK(field_of(got.substr(1)) == "id");
  }
  CHECK(id_of(R"({"id":"x"})", "other").find("'other' is required") != std::string::npos);
}

TEST_CASE("dialect ids: reservationId is a sequence number or a canonical id") {
  auto ref = [](const std::string& body) {
    auto doc = parsed(body);
    auto r = reservation_ref(doc, "reservationId");
    REQUIRE(std::holds_alternative<ReservationRef>(r));
    return std::get<ReservationRef>(r);
  };
  CHECK(ref(R"({"reservationId":7})").seq == 7);
  CHECK(ref(R"({"reservationId":"7"})").seq == 7);
  CHECK(ref(R"({"reservationId":"07"})").id == "07");
  CHECK(ref(R"({"reservationId":"07"})").seq == 0);
  CHECK(ref(R"({"reservationId":0})").id == "0");
  CHECK(ref(R"({"reservationId":"r-1f"})").id == "r-1f");
  auto doc = parsed(R"({"reservationId":-3})");
  CHECK(std::holds_alternative<DomainError>(reservation_ref(doc, "reservationId")));
}

TEST_CASE("dialect times: seconds precision, the fraction truncated") {
  const int64_t t = *parse_iso8601_ms("2023-07-01T12:05:00.999Z");
  CHECK(format_ce_time(t) == "2023-07-01T12:05:00Z");
  CHECK(format_qt_time(t) == "2023-07-01T12:05:00");
  CHECK(format_qt_time(*parse_iso8601_ms("2024-07-04T10:00:00Z")) == "2024-07-04T10:00:00");
}

TEST_CASE("dialect errors: concert-events' table, with queue/status' own TOKEN_EXPIRED") {
  const Dialect& ce = *find_dialect("concert-events");
  Rendered r = render_dialect_error(ce, ErrorCode::SEAT_UNAVAILABLE, "seat A1 is held");
  CHECK(r.status == 400);
  CHECK(
      r.body ==
      R"({"error":{"code":"invalid_seat_status","message":"이미 점유되었거나 예약된 좌석입니다."}})");
  r = render_dialect_error(ce, ErrorCode::INVALID_REQUEST, "field 'seatId' is required");
  CHECK(r.status == 400);
  CHECK(r.body == R"({"error":{"code":"invalid_request","message":"잘못된 요청입니다: seatId"}})");
  r = render_dialect_error(ce, ErrorCode::INVALID_TOKEN, "unknown queue token");
  CHECK(r.status == 400);
  CHECK(r.body.find(R"("code":"invalid_token")") != std::string::npos);
  r = render_row(ce, ce.token_absent, "");
  CHECK(r.status == 401);
  CHECK(r.body == R"({"error":{"code":"unauthorized","message":"User-Token 헤더가 필요합니다."}})");
  CHECK(render_dialect_error(ce, ErrorCode::TOKEN_EXPIRED, "").status == 400);
  const RouteSpec& status = route_of(ce, "GET", "/api/v1/queue/status");
  r = render_dialect_error(ce, ErrorCode::TOKEN_EXPIRED, "", status.errors);
  CHECK(r.status == 404);
  CHECK(r.body.find(R"("code":"not_found_in_queue")") != std::string::npos);
  r = render_dialect_error(ce, ErrorCode::INTERNAL, "boom");
  CHECK(r.status == 500);
  CHECK(r.body ==
        R"({"error":{"code":"internal_server_error","message":"서버 내부 오류가 발생했습니다."}})");
}

TEST_CASE("dialect errors: queue-tokens' table, with payments' and recharge's own 500") {
  const Dialect& qt = *find_dialect("queue-tokens");
  Rendered r = render_dialect_error(qt, ErrorCode::USER_NOT_FOUND, "user not found: 999");
  CHECK(r.status == 404);
  CHECK(r.body == R"({"code":404,"message":"user not found"})");
  r = render_dialect_error(qt, ErrorCode::SEAT_UNAVAILABLE, "");
  CHECK(r.body == R"({"code":400,"message":"reservation failed"})");
  r = render_dialect_error(qt, ErrorCode::INVALID_REQUEST, "field 'seatIds' must be an array");
  CHECK(r.body == R"({"code":400,"message":"invalid request: seatIds"})");
  r = render_dialect_error(qt, ErrorCode::TOKEN_NOT_ACTIVE, "");
  CHECK(r.body == R"({"code":403,"message":"token not active"})");
  CHECK(render_dialect_error(qt, ErrorCode::INTERNAL, "x").body ==
        R"({"code":500,"message":"internal server error"})");
  const RouteSpec& pay = route_of(qt, "POST", "/v1/payments/users/{userId}");
  CHECK(render_dialect_error(qt, ErrorCode::INTERNAL, "x", pay.errors).body ==
        R"({"code":500,"message":"payment failed"})");
  const RouteSpec& recharge = route_of(qt, "POST", "/v1/balance/users/{userId}/recharge");
  CHECK(render_dialect_error(qt, ErrorCode::INTERNAL, "x", recharge.errors).body ==
        R"({"code":500,"message":"recharge failed"})");
  // An override touches only its code.
  CHECK(render_dialect_error(qt, ErrorCode::ALREADY_PAID, "x", pay.errors).body ==
        R"({"code":400,"message":"already paid"})");
}

TEST_CASE("dialect errors: canonical keeps the code's name and the detail, but SERVER_ERROR") {
  const Dialect& canonical = *find_dialect("canonical");
  Rendered r = render_dialect_error(canonical, ErrorCode::SEAT_UNAVAILABLE, "seat A1 is held");
  CHECK(r == render_error(ErrorCode::SEAT_UNAVAILABLE, "seat A1 is held"));
  CHECK(r.status == 409);
  CHECK(r.body ==
        R"({"result":"ERROR","error":{"code":"SEAT_UNAVAILABLE","message":"seat A1 is held"}})");
  r = render_dialect_error(canonical, ErrorCode::INTERNAL, "boom");
  CHECK(r == render_error(ErrorCode::INTERNAL, "boom"));
  CHECK(r.status == 500);
  CHECK(
      r.body ==
      R"({"result":"ERROR","error":{"code":"SERVER_ERROR","message":"서버 에러가 발생했습니다."}})");
}

TEST_CASE("dialect errors: every code each dialect can answer has a row with a 4xx/5xx status") {
  for (const Dialect* d : all_dialects()) {
    CAPTURE(d->name);
    for (const ErrorRow& row : d->errors) {
      CHECK(row.status >= 400);
      CHECK(row.status < 600);
      CHECK(row.message != nullptr);
    }
    CHECK(d->token_absent.status == 401);
  }
  const Dialect& qt = *find_dialect("queue-tokens");
  const Dialect& ce = *find_dialect("concert-events");
  // Business refusals are 400 in both seed dialects (SPEC §5.5).
  for (ErrorCode code :
       {ErrorCode::SEAT_UNAVAILABLE, ErrorCode::SCHEDULE_CLOSED, ErrorCode::SCHEDULE_NOT_OPEN,
        ErrorCode::SEAT_LIMIT_EXCEEDED, ErrorCode::RESERVATION_EXPIRED, ErrorCode::ALREADY_PAID,
        ErrorCode::RESERVATION_CANCELLED, ErrorCode::INSUFFICIENT_BALANCE,
        ErrorCode::BALANCE_LIMIT_EXCEEDED}) {
    CAPTURE(error_name(code));
    CHECK(render_dialect_error(qt, code, "").status == 400);
    CHECK(render_dialect_error(ce, code, "").status == 400);
  }
}

}  // namespace
}  // namespace reservoir::api
