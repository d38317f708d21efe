// The seed dialects through a whole Service (SPEC §5.3, §5.4, §5.7): routes,
// envelopes, errors and idempotency across dialects, over a MemoryLog with a
// ManualClock. (Sequence numbers, tokenIds and `reserve` come from the
// engine and projections; their tests live with those.)
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>

#include "api/dialect.h"
#include "api/render.h"
#include "api/service.h"
#include "engine/concert/module.h"
#include "events/os.h"
#include "projections/follower.h"
#include "projections/views.h"
#include "support/memory_log.h"
#include "support/temp_dir.h"

namespace reservoir::api {
namespace {

constexpr int64_t kT0 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z
constexpr const char* kConcert = R"({"concertId":"1","title":"콘서트","schedules":[
  {"concertScheduleId":"1","startsAt":"2027-01-16T08:00:00Z","seats":[
    {"seatId":"1","number":1,"price":10000},{"seatId":"2","number":2,"price":10000},
    {"seatId":"3","number":3,"price":10000}]}]})";

struct Headers {
  std::string queue_token, user_token, token_id, idempotency_key;
  bool json = true;  // Content-Type: application/json when there is a body
};

// Users "1" (balance 100000) and "2", concert "1" with schedule "1" of seats
// "1".."3", served by one Service; routers for the listeners under test.
struct Fixture {
  Fixture() {
    auto v = projections::Projections::open(dir.path());
    REQUIRE(v.ok());
    views = std::move(*v);
    REQUIRE(writer.recover().ok());
    writer.start();
    follower = std::make_unique<projections::Follower>(log, *views);
    follower->start();
    ServiceConfig config;
    config.admin_key = "k";
    service = std::make_unique<Service>(writer, *views, *follower, clock, config);
    ok(call(canonical, "POST", "/api/v1/admin/users", R"({"userId":"1"})"));
    ok(call(canonical, "POST", "/api/v1/admin/users", R"({"userId":"2"})"));
    ok(call(canonical, "POST", "/api/v1/admin/concerts", kConcert));
    ok(call(canonical, "POST", "/api/v1/balance/charge", R"({"userId":"1","amount":100000})"));
  }
  ~Fixture() {
    writer.stop();
    follower->stop();
  }

  Answer call(const Router& router, const char* method, const std::string& path,
              const std::string& body = "", const Headers& h = {}) {
    Request r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.params = &params;
    r.admin_key = "k";
    if (!body.empty() && h.json) r.content_type = "application/json";
    if (!h.queue_token.empty()) r.queue_token = h.queue_token;
    if (!h.user_token.empty()) r.user_token = h.user_token;
    if (!h.token_id.empty()) r.token_id = h.token_id;
    if (!h.idempotency_key.empty()) r.idempotency_key = h.idempotency_key;
    return service->handle(r, router);
  }
  static std::string ok(const Answer& a) {
    INFO(a.text());
    REQUIRE(a.status == 200);
    return std::string(a.text());
  }
  // The canonical token of `user` (ACTIVE at once: nobody waits).
  std::string token(const std::string& user) {
    const std::string body =
        ok(call(canonical, "POST", "/api/v1/queue/token", R"({"userId":")" + user + R"("})"));
    const std::string key = R"("token":")";
    const size_t at = body.find(key) + key.size();
    return body.substr(at, body.find('"', at) - at);
  }

  test::TempDir dir;
  test::MemoryLog log;
  ManualClock clock{kT0};
  SeededRandom random{7};
  concert::Module module{concert::Limits{}};
  ConcertWriter writer{module, log, clock, random, &render_reply, WriterConfig{}};
  std::unique_ptr<projections::Projections> views;
  std::unique_ptr<projections::Follower> follower;
  std::unique_ptr<Service> service;
  std::multimap<std::string, std::string> params;
  Router canonical{{find_dialect("canonical")}};
  Router ce{{find_dialect("concert-events")}};
  Router qt{{find_dialect("queue-tokens"), find_dialect("canonical")}};
};

void check(const Answer& a, int status, const std::string& body) {
  CHECK(a.status == status);
  CHECK(a.text() == body);
}

TEST_CASE("concert-events: wallet and charge, in its envelopes") {
  Fixture f;
  check(f.call(f.ce, "GET", "/api/v1/users/1/wallet"), 200, R"({"data":{"balance":100000}})");
  check(f.call(f.ce, "PATCH", "/api/v1/users/1/wallet/charge", R"({"amount":50000})"), 200,
        R"({"data":{"balance":150000}})");
  check(f.call(f.ce, "PATCH", "/api/v1/users/1/wallet/charge", R"({"amount":-1})"), 400,
        R"({"error":{"code":"invalid_amount","message":"유효하지 않은 충전 금액입니다."}})");
  check(f.call(f.ce, "PATCH", "/api/v1/users/1/wallet/charge", R"({"amount":"x"})"), 400,
        R"({"error":{"code":"invalid_request","message":"잘못된 요청입니다: amount"}})");
  CHECK(f.call(f.ce, "PATCH", "/api/v1/users/1/wallet/charge", R"({"amount":1})", {.json = false})
            .status == 415);
  CHECK(f.call(f.ce, "PATCH", "/api/v1/users/1/wallet/charge", std::string(70000, ' ')).status ==
        413);
  check(f.call(f.ce, "GET", "/api/v1/users/999/wallet"), 404,
        R"({"error":{"code":"not_found_user","message":"요청한 사용자를 찾을 수 없습니다."}})");
  check(f.call(f.ce, "GET", "/api/v1/users/1/wallet"), 200, R"({"data":{"balance":150000}})");
  // The same balance canonically.
  f.params = {{"userId", "1"}};
  CHECK(Fixture::ok(f.call(f.canonical, "GET", "/api/v1/balance")).find("150000") !=
        std::string::npos);
}

TEST_CASE("concert-events: queue token and status") {
  Fixture f;
  const std::string first =
      Fixture::ok(f.call(f.ce, "POST", "/api/v1/queue/token", R"({"userId":1})"));
  CHECK(first.find(R"(,"estimatedWaitingTime":0}})") != std::string::npos);
  CHECK(f.call(f.ce, "POST", "/api/v1/queue/token", R"({"userId":"1"})").text() == first);
  const std::string t1 = f.token("1");  // the same token, canonically
  CHECK(first.find(t1) != std::string::npos);
  check(f.call(f.ce, "GET", "/api/v1/queue/status", "", {.user_token = t1}), 200,
        R"({"data":{"queuePosition":0,"estimatedWaitingTime":0}})");
  check(f.call(f.ce, "GET", "/api/v1/queue/status", "", {.user_token = "a21kTkseTestToken"}), 400,
        R"({"error":{"code":"invalid_token","message":"유효하지 않은 token 입니다."}})");
  check(f.call(f.ce, "GET", "/api/v1/queue/status"), 401,
        R"({"error":{"code":"unauthorized","message":"User-Token 헤더가 필요합니다."}})");
  check(f.call(f.ce, "POST", "/api/v1/queue/token", R"({"userId":999})"), 404,
        R"({"error":{"code":"not_found_user","message":"요청한 사용자를 찾을 수 없습니다."}})");
  CHECK(f.call(f.ce, "POST", "/api/v1/queue/token", R"({"userId":-1})").status == 400);
}

TEST_CASE("concert-events: available events and seats, occupy") {
  Fixture f;
  const std::string t1 = f.token("1"), t2 = f.token("2");
  check(f.call(f.ce, "GET", "/api/v1/concerts/999/available-events", "", {.user_token = t1}), 404,
        R"({"error":{"code":"not_found_concert","message":"요청한 콘서트를 찾을 수 없습니다."}})");
  check(f.call(f.ce, "GET", "/api/v1/concerts/1/available-events", "", {.user_token = t1}), 200,
        R"({"list":[{"id":1,"date":"2027-01-16"}]})");
  CHECK(f.call(f.ce, "GET", "/api/v1/concerts/1/available-events").status == 401);
  check(
      f.call(f.ce, "GET", "/api/v1/concert-events/999/available-seats", "", {.user_token = t1}),
      404,
      R"({"error":{"code":"not_found_concert_event","message":"요청한 콘서트 이벤트를 찾을 수 없습니다."}})");
  const std::string seats = R"({"id":1,"seatNumber":"1","price":10000},)"
                            R"({"id":2,"seatNumber":"2","price":10000})";
  check(f.call(f.ce, "GET", "/api/v1/concert-events/1/available-seats", "", {.user_token = t1}),
        200, R"({"list":[)" + seats + R"(,{"id":3,"seatNumber":"3","price":10000}]})");
  check(
      f.call(f.ce, "POST", "/api/v1/concert-events/1/occupy", R"({"seatId":3})",
             {.user_token = t1}),
      200,
      R"({"data":{"id":3,"seatNumber":"3","price":10000,"expirationTime":"2027-01-15T08:05:00Z"}})");
  check(f.call(f.ce, "GET", "/api/v1/concert-events/1/available-seats", "", {.user_token = t1}),
        200, R"({"list":[)" + seats + "]}");
  CHECK(Fixture::ok(f.call(f.canonical, "GET", "/api/v1/concerts/1/schedules/1/seats"))
            .find(R"({"seatId":"3","number":3,"price":10000,"status":"HELD"})") !=
        std::string::npos);
  check(
      f.call(f.ce, "POST", "/api/v1/concert-events/1/occupy", R"({"seatId":3})",
             {.user_token = t2}),
      400,
      R"({"error":{"code":"invalid_seat_status","message":"이미 점유되었거나 예약된 좌석입니다."}})");
  check(f.call(f.ce, "POST", "/api/v1/concert-events/1/occupy", R"({"seatId":3})"), 401,
        R"({"error":{"code":"unauthorized","message":"User-Token 헤더가 필요합니다."}})");
  CHECK(f.call(f.ce, "POST", "/api/v1/concert-events/1/occupy", R"({"seatId":1.5})",
               {.user_token = t2})
            .text() ==
        R"({"error":{"code":"invalid_request","message":"잘못된 요청입니다: seatId"}})");
}

TEST_CASE("concert-events: a key reused through another dialect on a shared path is 422") {
  Fixture f;
  const std::string t1 = f.token("1");
  const std::string held =
      Fixture::ok(f.call(f.canonical, "POST", "/api/v1/reservations",
                         R"({"concertScheduleId":"1","seatId":"2"})", {.queue_token = t1}));
  const std::string key = R"("reservationId":")";
  const size_t at = held.find(key) + key.size();
  const std::string pay =
      R"({"reservationId":")" + held.substr(at, held.find('"', at) - at) + "\"}";
  const Answer paid =
      f.call(f.ce, "POST", "/api/v1/payments", pay, {.user_token = t1, .idempotency_key = "p1"});
  CHECK(paid.status == 200);
  CHECK(paid.text().find(R"("amount":10000,"status":"success")") != std::string::npos);
  CHECK(f.call(f.ce, "POST", "/api/v1/payments", pay,
               {.user_token = t1, .idempotency_key = "p1"}) == paid);
  CHECK(f.call(f.canonical, "POST", "/api/v1/payments", pay,
               {.queue_token = t1, .idempotency_key = "p1"})
            .status == 422);
  check(
      f.call(f.ce, "GET", "/api/v1/queue/status", "", {.user_token = t1}), 404,
      R"({"error":{"code":"not_found_in_queue","message":"해당 토큰으로 대기 중인 정보를 찾을 수 없습니다."}})");
  check(f.call(f.ce, "GET", "/api/v1/users/1/wallet"), 200, R"({"data":{"balance":90000}})");
  CHECK(Fixture::ok(f.call(f.ce, "GET", "/api/v1/users/1/payments"))
            .find(R"("amount":10000,"status":"success","paidAt":"2027-01-15T08:00:00Z"}]})") !=
        std::string::npos);
  CHECK(f.call(f.ce, "GET", "/api/v1/users/999/payments").status == 404);
  f.params = {{"limit", "101"}};
  CHECK(f.call(f.ce, "GET", "/api/v1/users/1/payments").status == 400);
}

TEST_CASE("concert-events: unknown paths and methods in its envelope; canonical's body token") {
  Fixture f;
  check(f.call(f.ce, "GET", "/api/v1/nothing"), 404,
        R"({"error":{"code":"not_found","message":"요청한 경로를 찾을 수 없습니다."}})");
  check(f.call(f.ce, "DELETE", "/api/v1/users/1/wallet"), 405,
        R"({"error":{"code":"method_not_allowed","message":"허용되지 않은 메서드입니다."}})");
  CHECK(f.call(f.ce, "GET", "/api/v1/concerts").status == 404);  // canonical's, not served here
  // Seed 000: the token in a GET body, the header winning when both are sent.
  const std::string t1 = f.token("1");
  CHECK(f.call(f.canonical, "GET", "/api/v1/queue/status", R"({"token":")" + t1 + "\"}").status ==
        200);
  CHECK(
      f.call(f.canonical, "GET", "/api/v1/queue/status", R"({"token":"nope"})", {.queue_token = t1})
          .status == 200);
  const Answer bad = f.call(f.canonical, "GET", "/api/v1/queue/status", R"({"token":7})");
  CHECK(bad.status == 400);
  CHECK(bad.text().find("'token'") != std::string::npos);
  CHECK(f.call(f.canonical, "GET", "/api/v1/queue/status").status == 401);
}

TEST_CASE("queue-tokens: balance and recharge, idempotent, in its envelopes") {
  Fixture f;
  check(f.call(f.qt, "GET", "/v1/balance/users/1"), 200, R"({"userId":1,"currentAmount":100000})");
  const Answer first = f.call(f.qt, "POST", "/v1/balance/users/1/recharge", R"({"amount":50000})",
                              {.idempotency_key = "r1"});
  check(first, 200, R"({"userId":1,"currentAmount":150000})");
  CHECK(f.call(f.qt, "POST", "/v1/balance/users/1/recharge", R"({ "amount": 50000 })",
               {.idempotency_key = "r1"}) == first);
  check(f.call(f.qt, "GET", "/v1/balance/users/1"), 200, R"({"userId":1,"currentAmount":150000})");
  f.params = {{"userId", "1"}};
  check(f.call(f.qt, "GET", "/api/v1/balance"), 200,
        R"({"result":"SUCCESS","data":{"userId":"1","balance":150000}})");
  check(f.call(f.qt, "POST", "/v1/balance/users/1/recharge", R"({"amount":0})"), 400,
        R"({"code":400,"message":"invalid recharge amount"})");
  check(f.call(f.qt, "POST", "/v1/balance/users/1/recharge", R"({"amount":null})"), 400,
        R"({"code":400,"message":"invalid request: amount"})");
  check(f.call(f.qt, "POST", "/v1/balance/users/1/recharge", "{", {}), 400,
        R"({"code":400,"message":"invalid request: body"})");
  check(f.call(f.qt, "POST", "/v1/balance/users/1/recharge", R"({"amount":1})", {.json = false}),
        415, R"({"code":415,"message":"unsupported media type"})");
  check(f.call(f.qt, "GET", "/v1/balance/users/999"), 404,
        R"({"code":404,"message":"user not found"})");
  check(f.call(f.qt, "POST", "/v1/queue-tokens/users/999"), 404,
        R"({"code":404,"message":"user not found"})");
  check(f.call(f.qt, "GET", "/v1/balance/users/a%20b"), 400,
        R"({"code":400,"message":"invalid request: userId"})");
}

TEST_CASE("queue-tokens: tokens, and what needs TOKEN-ID refuses without it") {
  Fixture f;
  const std::string issued = Fixture::ok(f.call(f.qt, "POST", "/v1/queue-tokens/users/1"));
  CHECK(issued.find(R"("expiredAt":"2027-01-15T08:10:00"})") != std::string::npos);
  const std::string invalid = R"({"code":401,"message":"invalid token"})";
  check(f.call(f.qt, "GET", "/v1/queue-status/users/1"), 401, invalid);
  check(f.call(f.qt, "GET", "/v1/queue-status/users/1", "", {.token_id = "01"}), 401, invalid);
  check(f.call(f.qt, "GET", "/v1/queue-status/users/999"), 404,
        R"({"code":404,"message":"user not found"})");
  check(f.call(f.qt, "GET", "/v1/concerts/1/schedules"), 401, invalid);
  check(f.call(f.qt, "GET", "/v1/concerts/1/schedules/1/seats", "", {.token_id = "x"}), 401,
        invalid);
  check(f.call(f.qt, "GET", "/v1/queue-tokens/users/2"), 404,
        R"({"code":404,"message":"token not found"})");
}

TEST_CASE("queue-tokens: reservation and payment bodies are checked before anything else") {
  Fixture f;
  const std::string hold = "/v1/reservations";
  check(f.call(f.qt, "POST", hold, R"({"userId":1,"concertId":1,"scheduleId":1,"seatIds":[1,1]})"),
        400, R"({"code":400,"message":"invalid request: seatIds[1]"})");
  check(f.call(f.qt, "POST", hold, R"({"userId":1,"concertId":1,"scheduleId":1,"seatIds":[]})"),
        400, R"({"code":400,"message":"invalid request: seatIds"})");
  check(f.call(f.qt, "POST", hold, R"({"userId":1,"concertId":1.5,"scheduleId":1,"seatIds":[1]})"),
        400, R"({"code":400,"message":"invalid request: concertId"})");
  check(f.call(f.qt, "POST", hold, R"({"concertId":1,"scheduleId":1,"seatIds":[1]})"), 400,
        R"({"code":400,"message":"invalid request: userId"})");
  check(f.call(f.qt, "POST", "/v1/payments/users/1", R"({"reservationId":-1})"), 400,
        R"({"code":400,"message":"invalid request: reservationId"})");
  check(f.call(f.qt, "GET", "/v1/nothing"), 404, R"({"code":404,"message":"not found"})");
  check(f.call(f.qt, "DELETE", "/v1/reservations"), 405,
        R"({"code":405,"message":"method not allowed"})");
  CHECK(f.call(f.qt, "GET", "/api/v1/nothing").text().find(R"("result":"ERROR")") !=
        std::string::npos);  // canonical owns /api/v1/ on this listener
}

}  // namespace
}  // namespace reservoir::api
