// What a new user tripped over (issue 16, item 6), over real HTTP in every
// dialect that takes the input: canonical, concert-events, queue-tokens and
// clinic on `reservoir serve --demo --api-port concert-events=0`.
// - An Idempotency-Key header that is present but empty (or blank) is a
//   malformed key: 400 in the dialect's envelope, and nothing executes.
// - A body that is not JSON by its Content-Type (multipart/form-data, a
//   form, text, XML, `application/*+json`) is 415 whatever the body holds,
//   and its fields never become query parameters.
// - A 400 about a nested field names its full path (`schedules[1]`,
//   `schedules[0].seats[2].price`, `seatIds[1]`), in each dialect's words.
#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "support/clinic_client.h"
#include "support/dialect_client.h"
#include "support/server_process.h"

namespace reservoir::test {
namespace {

const std::string kInvalidCommand = "InvalidCommandException";

// httplib's client writes `Idempotency-Key: ` for an empty value, which its
// server used to drop as if the header were absent.
TEST_CASE("dialects: an empty or blank Idempotency-Key is 400 in every dialect") {
  ServerProcess server(ServerOptions().api_port(kCeDialect));
  Api canonical(server);
  CeApi ce(server);
  QtApi qt(server);
  ClinicApi clinic(server);
  for (const std::string key : {"", "   "}) {
    CAPTURE(key);
    const httplib::Headers headers = {{"Idempotency-Key", key}};
    Reply r = canonical.post("/api/v1/balance/charge", R"({"userId":"1","amount":5})", headers);
    CHECK_MESSAGE(r.status == 400, r.text());
    CHECK(r.code() == "INVALID_REQUEST");
    r = ce.raw().send("PATCH", "/api/v1/users/1/wallet/charge", R"({"amount":5})", headers);
    CHECK_MESSAGE(r.status == 400, r.text());
    CHECK(ce_code(r) == "invalid_request");
    r = qt.raw().post("/v1/balance/users/1/recharge", R"({"amount":5})", headers);
    CHECK_MESSAGE(r.status == 400, r.text());
    CHECK(qt_message(r) == "invalid request: Idempotency-Key");
    r = clinic.post(kV1Reserve, v1_body("v1", at("10:00"), at("11:00")), headers);
    CHECK(r.status == 400);
    CHECK(r.body == clinic_error(400, kInvalidCommand, {{"Idempotency-Key", "Invalid"}}));
  }
  CHECK(qt.balance_of("1") == 100000);
  CHECK(member(clinic.visitor_schedules("v1").json, "items")->Size() == 0);
}

// One command route of each dialect, with a body it would accept as JSON.
struct Route {
  std::string dialect, method, path, body;
};

std::vector<Route> command_routes() {
  return {{"canonical", "POST", "/api/v1/balance/charge", R"({"userId":"1","amount":5})"},
          {kCeDialect, "PATCH", "/api/v1/users/1/wallet/charge", R"({"amount":5})"},
          {kQtDialect, "POST", "/v1/balance/users/1/recharge", R"({"amount":5})"},
          {kClinicDialect, "POST", kV1Reserve, v1_body("v1", at("10:00"), at("11:00"))}};
}

bool is_415_of(const std::string& dialect, const Reply& r) {
  if (r.status != 415) return false;
  if (dialect == "canonical") return r.code() == "UNSUPPORTED_MEDIA_TYPE";
  if (dialect == kCeDialect) return ce_code(r) == "unsupported_media_type";
  if (dialect == kQtDialect) return qt_message(r) == "unsupported media type";
  return r.body.find("UnsupportedMediaTypeException") != std::string::npos;
}

TEST_CASE("dialects: a body that is not JSON by its Content-Type is 415 in every dialect") {
  ServerProcess server(ServerOptions().api_port(kCeDialect));
  const std::string form = "a=" + std::string(10 * 1024, 'x');  // over httplib's 8 KiB for forms
  const std::string parts =
      "--XyZ\r\nContent-Disposition: form-data; name=\"amount\"\r\n\r\n5\r\n--XyZ--\r\n";
  // (Content-Type, body or "" for the route's JSON body)
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"multipart/form-data", ""},
      {"multipart/form-data; boundary=XyZ", ""},
      {"multipart/form-data; boundary=XyZ", parts},
      {"Multipart/Form-Data; boundary=XyZ", parts},
      {"application/x-www-form-urlencoded", "amount=5&userId=1"},
      {"application/x-www-form-urlencoded", form},
      {"text/plain", ""},
      {"application/xml", "<amount>5</amount>"},
      {"application/merge-patch+json", ""},
      {"application/jsonx", ""},
  };
  for (const Route& route : command_routes()) {
    Api api(server.port_of(route.dialect));
    for (const auto& [type, body] : cases) {
      CAPTURE(route.path);
      CAPTURE(type);
      CAPTURE(body.substr(0, 40));
      const Reply r =
          api.send(route.method, route.path, body.empty() ? route.body : body, {}, type);
      CHECK_MESSAGE(is_415_of(route.dialect, r), r.text().substr(0, 200));
      CHECK(api.get("/healthz").status == 200);  // the connection is still usable
    }
  }
  // JSON with parameters, in any case, is JSON.
  Api canonical(server);
  for (const std::string type :
       {"application/json; charset=utf-8", "Application/JSON;charset=UTF-8"}) {
    const Reply r =
        canonical.send("POST", "/api/v1/balance/charge", R"({"userId":"1","amount":5})", {}, type);
    CHECK_MESSAGE(r.ok(), r.text());
  }
  CHECK(QtApi(server).balance_of("1") == 100010);
  // A form body of a GET is not read as query parameters.
  const Reply balance = canonical.send("GET", "/api/v1/balance?userId=1", "userId=2", {},
                                       "application/x-www-form-urlencoded");
  CHECK(str(balance.data(), "userId") == "1");
  CHECK(member(ClinicApi(server).visitor_schedules("v1").json, "items")->Size() == 0);
}

TEST_CASE("dialects: a 400 about a nested field names its full path") {
  ServerProcess server(ServerOptions().admin("adm").api_port(kCeDialect));
  Api canonical(server);
  const std::string seat = R"({"number":1,"price":5})";
  const std::string schedule = R"({"startsAt":"2030-01-01T10:00:00Z","seats":[)" + seat + "]}";
  Reply r = canonical.admin_concert("adm", R"({"title":"t","schedules":[)" + schedule + ",7]}");
  CHECK(r.status == 400);
  CHECK(str(field(r.json, "error"), "message") == "field 'schedules[1]' must be an object");
  r = canonical.admin_concert(
      "adm", R"({"title":"t","schedules":[{"startsAt":"2030-01-01T10:00:00Z","seats":[)" + seat +
                 R"(,{"number":2,"price":5},{"number":3}]}]})");
  CHECK(str(field(r.json, "error"), "message") ==
        "field 'schedules[0].seats[2].price' is required");
  QtApi qt(server);
  const std::string k1 = qt.token_id_of("1");
  CHECK(qt_message(qt.reserve(k1, "1", "1", "1", {"1", "x y"})) == "invalid request: seatIds[1]");
  CHECK(qt_message(qt.reserve(k1, "1", "1", "1", {"1", "2", "1"})) ==
        "invalid request: seatIds[2]");
  CHECK(qt_message(qt.reserve(k1, "1", "1", "1", {})) == "invalid request: seatIds");
  // Top-level fields are named as before.
  r = canonical.admin_concert("adm", R"({"schedules":[)" + schedule + "]}");
  CHECK(str(field(r.json, "error"), "message") == "field 'title' is required");
}

}  // namespace
}  // namespace reservoir::test
