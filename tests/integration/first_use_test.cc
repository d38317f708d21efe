// What a new user tripped over (issue 16, item 6), over real HTTP in every
// dialect that takes the input: canonical, concert-events, queue-tokens and
// clinic on `reservoir serve --demo --api-port concert-events=0`.
// - An Idempotency-Key header that is present but empty (or blank) is a
//   malformed key: 400 in the dialect's envelope, and nothing executes.
#include <doctest/doctest.h>

#include <string>

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

}  // namespace
}  // namespace reservoir::test
