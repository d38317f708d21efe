// The seed dialects of SPEC §5 over real HTTP: `reservoir serve --demo
// --api-port concert-events=0` serves canonical and queue-tokens on --port
// and concert-events on a listener of its own. Here: the listeners and their
// start-up refusals (§5.1), the example exchanges of §5.7 in order, one
// state seen through every dialect, idempotency across dialects, bad input
// and check order per dialect (§5.2), seed 000's token in a body, and the
// OpenAPI document of each listener.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/dialect_client.h"
#include "support/server_process.h"

namespace reservoir::test {
namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

ServerOptions dialect_options() {
  return ServerOptions().api_port(kCeDialect);
}

// The canonical startsAt of a schedule ("…Z"); numeric demo concert by default.
std::string canonical_starts_at(Api& api, const std::string& schedule,
                                const std::string& concert = "1") {
  Reply r = api.get("/api/v1/concerts/" + concert + "/schedules");
  REQUIRE_MESSAGE(r.ok(), r.text());
  for (const auto& s : r.data().GetArray()) {
    if (str(s, "concertScheduleId") == schedule) return str(s, "startsAt");
  }
  FAIL("no schedule " << schedule << " in " << r.text());
  return "";
}

// A canonical time in queue-tokens' format: seconds, no offset.
std::string qt_time_of(const std::string& canonical) {
  return canonical.substr(0, 19);
}

// The 50 seats of a numeric demo schedule as concert-events lists them,
// without `taken`.
std::string ce_seat_list(const std::set<int>& taken = {}) {
  std::string items;
  for (int n = 1; n <= 50; ++n) {
    if (taken.count(n)) continue;
    const std::string id = std::to_string(n);
    items += (items.empty() ? "" : ",") + std::string(R"({"id":)") + id + R"(,"seatNumber":")" +
             id + R"(","price":)" + std::to_string(demo_price(n)) + "}";
  }
  return R"({"list":[)" + items + "]}";
}

// ==================================================== listeners (§5.1) ===

TEST_CASE("dialects: one listening line per listener, --port's first") {
  ServerProcess server(dialect_options());
  const auto& listeners = server.listeners();
  REQUIRE(listeners.size() == 2);
  CHECK(listeners[0].port == server.port());
  CHECK(listeners[0].serves("canonical"));
  CHECK(listeners[0].serves(kQtDialect));
  CHECK_FALSE(listeners[0].serves(kCeDialect));
  CHECK(listeners[1].dialects == std::vector<std::string>{kCeDialect});
  CHECK(listeners[1].port != listeners[0].port);
  CHECK(server.port_of(kCeDialect) == listeners[1].port);
  CHECK(server.port_of(kQtDialect) == server.port());
  CHECK(CeApi(server).wallet("1").ok());
  server.restart();  // new ports, read again
  REQUIRE(server.listeners().size() == 2);
  CHECK(CeApi(server).balance_of("1") == 100000);
  CHECK(QtApi(server).balance_of("1") == 100000);
  CHECK(server.terminate() == 0);
}

TEST_CASE("dialects: every listener answers /healthz and /metrics") {
  ServerProcess server(dialect_options());
  for (const auto& l : server.listeners()) {
    CAPTURE(l.port);
    Api api(l.port);
    CHECK(api.get("/healthz").status == 200);
    Reply metrics = api.get("/metrics");
    CHECK(metrics.status == 200);
    CHECK(metrics.header("Content-Type").rfind("text/plain", 0) == 0);
    CHECK(contains(metrics.body, "reservoir_http_requests_total"));
  }
}

RunResult serve_with(const TempDir& dir, std::vector<std::string> flags) {
  std::vector<std::string> args = {"serve", "--data", dir.path() + "/data"};
  args.insert(args.end(), flags.begin(), flags.end());
  return run_reservoir(args);
}

void check_refused(const RunResult& r, const std::vector<std::string>& words) {
  INFO("stdout: ", r.out, "\nstderr: ", r.err);
  CHECK(r.status == 2);
  for (const auto& w : words) CHECK_MESSAGE(contains(r.err, w), w);
  CHECK_FALSE(contains(r.out, "listening on"));
}

TEST_CASE("dialects: bad listener flags exit 2 with a message") {
  TempDir dir;
  check_refused(serve_with(dir, {"--port", "0", "--api", "canonical,nope"}), {"nope"});
  check_refused(serve_with(dir, {"--port", "0", "--api-port", "nope=0"}), {"nope"});
  check_refused(serve_with(dir, {"--port", "0", "--api", "canonical,queue-tokens,canonical"}),
                {"canonical"});
  check_refused(serve_with(dir, {"--port", "18731", "--api-port", "concert-events=18731"}),
                {"18731"});
  check_refused(serve_with(dir, {"--port", "0", "--api-port", "concert-events=18732", "--api-port",
                                 "queue-tokens=18732"}),
                {"18732"});
  RunResult collide = serve_with(dir, {"--port", "18733", "--api", "canonical,concert-events"});
  check_refused(collide, {"route collision on port 18733: ", "(canonical, concert-events)"});
  const bool names_route = contains(collide.err, "POST /api/v1/queue/token") ||
                           contains(collide.err, "GET /api/v1/queue/status") ||
                           contains(collide.err, "POST /api/v1/payments") ||
                           contains(collide.err, "GET /api/v1/users/{userId}/payments");
  CHECK_MESSAGE(names_route, collide.err);
  // queue-tokens collides with neither.
  ServerProcess fine(ServerOptions().api("concert-events,queue-tokens").api_port("canonical"));
  CHECK(fine.listeners().size() == 2);
  CHECK(fine.port_of(kCeDialect) == fine.port());
  CHECK(CeApi(fine.port()).balance_of("1") == 100000);
  CHECK(QtApi(fine.port()).balance_of("1") == 100000);
  CHECK(Api(fine.port_of("canonical")).balance_of("1") == 100000);
}

TEST_CASE("dialects: --demo adds users 1 2 3 and concert 1 with seats 1..50") {
  ServerProcess server(dialect_options());
  CHECK(contains(server.stdout_text(), "1 2 3"));
  Api api(server);
  for (const char* user : {"1", "2", "3"}) CHECK(api.balance_of(user) == 100000);
  CHECK(api.balance_of("alice") == 500000);  // the string demo is still there
  for (const char* schedule : {"1", "2"}) {
    Reply seats = api.seats(schedule, "1");
    REQUIRE_MESSAGE(seats.ok(), seats.text());
    REQUIRE(seats.data().Size() == 50);
    for (int n = 1; n <= 50; ++n) {
      const auto& s = seats.data()[static_cast<rapidjson::SizeType>(n - 1)];
      CHECK(str(s, "seatId") == std::to_string(n));
      CHECK(num(s, "number") == n);
      CHECK(num(s, "price") == demo_price(n));
      CHECK(str(s, "status") == "AVAILABLE");
    }
  }
  Reply concerts = api.get("/api/v1/concerts");
  REQUIRE(concerts.ok());
  bool found = false;
  for (const auto& c : concerts.data().GetArray()) {
    if (str(c, "concertId") != "1") continue;
    found = true;
    CHECK(str(c, "title") == "콘서트");
    CHECK(num(c, "scheduleCount") == 2);
  }
  CHECK(found);
  // Schedules 1 and 2 start when the string demo's two schedules start.
  CHECK(canonical_starts_at(api, "1") == canonical_starts_at(api, kSchedule1, kConcert));
  CHECK(canonical_starts_at(api, "2") == canonical_starts_at(api, kSchedule2, kConcert));
}

// ================================== §5.7 example exchanges: concert-events ===

const std::string kCeUnauthorized = ce_error("unauthorized", "User-Token 헤더가 필요합니다.");

struct CeExamples {
  ServerProcess& server;
  CeApi ce{server};
  Api canonical{server};
  std::string t1, t2;
};

Placeholder recent_ce_time() {
  return time_near(true, now_epoch(), 10);
}

// Items 1-3.
void ce_wallet_examples(CeExamples& x) {
  CHECK_ANSWER(x.ce.wallet("1"), 200, R"({"data":{"balance":100000}})");
  CHECK_ANSWER(x.ce.charge("1", 50000), 200, R"({"data":{"balance":150000}})");
  CHECK_ANSWER(x.ce.charge("1", -1), 400,
               ce_error("invalid_amount", "유효하지 않은 충전 금액입니다."));
  CHECK(x.ce.balance_of("1") == 150000);
}

// Items 4-6.
void ce_queue_examples(CeExamples& x) {
  const Placeholders ph = {
      {"<T1>", [](const rapidjson::Value& v) { return v.IsString() && v.GetStringLength() > 0; }}};
  Reply issued = x.ce.issue("1");
  CHECK_ANSWER(issued, 200, R"({"data":{"token":"<T1>","estimatedWaitingTime":0}})", ph);
  x.t1 = str(field(issued.json, "data"), "token");
  REQUIRE(!x.t1.empty());
  CHECK_ANSWER(x.ce.issue("1"), 200,
               R"({"data":{"token":)" + jstr(x.t1) + R"(,"estimatedWaitingTime":0}})");
  CHECK_ANSWER(x.ce.status(x.t1), 200, R"({"data":{"queuePosition":0,"estimatedWaitingTime":0}})");
  CHECK_ANSWER(x.ce.status("a21kTkseTestToken"), 400,
               ce_error("invalid_token", "유효하지 않은 token 입니다."));
  CHECK_ANSWER(x.ce.status(""), 401, kCeUnauthorized);
  // The token is the canonical one.
  CHECK(str(x.canonical.status(x.t1).data(), "tokenStatus") == "ACTIVE");
}

// Items 7-10.
void ce_catalog_examples(CeExamples& x) {
  CHECK_ANSWER(x.ce.events(x.t1, "999"), 404,
               ce_error("not_found_concert", "요청한 콘서트를 찾을 수 없습니다."));
  const std::string d1 = canonical_starts_at(x.canonical, "1").substr(0, 10);
  const std::string d2 = canonical_starts_at(x.canonical, "2").substr(0, 10);
  CHECK_ANSWER(x.ce.events(x.t1, "1"), 200,
               R"({"list":[{"id":1,"date":")" + d1 + R"("},{"id":2,"date":")" + d2 + R"("}]})");
  CHECK_ANSWER(x.ce.seats(x.t1, "999"), 404,
               ce_error("not_found_concert_event", "요청한 콘서트 이벤트를 찾을 수 없습니다."));
  CHECK_ANSWER(x.ce.seats(x.t1, "1"), 200, ce_seat_list());
}

// Items 11-12.
void ce_occupy_examples(CeExamples& x) {
  const Placeholders ph = {{"<now+5m>", time_near(true, now_epoch() + 300, 5)}};
  CHECK_ANSWER(x.ce.occupy(x.t1, "1", "50"), 200,
               R"({"data":{"id":50,"seatNumber":"50","price":50000,"expirationTime":"<now+5m>"}})",
               ph);
  CHECK_ANSWER(x.ce.seats(x.t1, "1"), 200, ce_seat_list({50}));
  CHECK(canonical_seat_status(x.canonical, "1", "50") == "HELD");
  QtApi qt(x.server);
  const std::string k1 = id_text(field(qt.token("1").json, "tokenId"));  // T1, as qt names it
  REQUIRE(!k1.empty());
  CHECK(qt.seat_status(k1, "1", "1", "50") == "UNAVAILABLE");
  x.t2 = x.ce.token_of("2");
  CHECK(x.t2 != x.t1);
  CHECK_ANSWER(x.ce.occupy(x.t2, "1", "50"), 400,
               ce_error("invalid_seat_status", "이미 점유되었거나 예약된 좌석입니다."));
}

// Items 13-15.
void ce_pay_examples(CeExamples& x) {
  const Placeholders ph = {{"<now>", recent_ce_time()}};
  CHECK_ANSWER(
      x.ce.reserve(x.t1, "1", "50"), 200,
      R"({"data":{"id":1,"concertEventId":1,"totalSeats":1,"totalAmount":50000,"createdAt":"<now>"}})",
      ph);
  CHECK_ANSWER(x.ce.reserve(x.t1, "1", "49"), 404,
               ce_error("not_found_reservation", "요청한 예약을 찾을 수 없습니다."));
  CHECK_ANSWER(x.ce.pay("", "1"), 401, kCeUnauthorized);
  Reply paid = x.ce.pay(x.t1, "1");
  CHECK_ANSWER(
      paid, 200,
      R"({"data":{"id":1,"reservationId":1,"amount":50000,"status":"success","paidAt":"<now>"}})",
      ph);
  CHECK_ANSWER(x.ce.wallet("1"), 200, R"({"data":{"balance":100000}})");
  const std::string paid_at = str(field(paid.json, "data"), "paidAt");
  CHECK_ANSWER(x.ce.payments("1"), 200,
               R"({"list":[{"id":1,"reservationId":1,"amount":50000,"status":"success","paidAt":)" +
                   jstr(paid_at) + "}]}");
  CHECK_ANSWER(x.ce.status(x.t1), 404,
               ce_error("not_found_in_queue", "해당 토큰으로 대기 중인 정보를 찾을 수 없습니다."));
  CHECK(canonical_seat_status(x.canonical, "1", "50") == "SOLD");
}

TEST_CASE("§5.7 concert-events: the seed's example exchanges, in order") {
  ServerProcess server(dialect_options());
  CeExamples x{server};
  ce_wallet_examples(x);
  ce_queue_examples(x);
  ce_catalog_examples(x);
  ce_occupy_examples(x);
  ce_pay_examples(x);
}

// ==================================== §5.7 example exchanges: queue-tokens ===

struct QtExamples {
  ServerProcess& server;
  QtApi qt{server};
  Api canonical{server};
  std::string k1, t0;
};

// The seats of a numeric demo schedule as queue-tokens lists them.
std::string qt_seat_list(const std::string& concert_at, const std::set<int>& taken = {}) {
  std::string items;
  for (int n = 1; n <= 50; ++n) {
    const std::string id = std::to_string(n);
    items += (items.empty() ? "" : ",") + std::string(R"({"seatId":)") + id + R"(,"seatNumber":)" +
             id + R"(,"seatStatus":)" + (taken.count(n) ? R"("UNAVAILABLE")" : R"("AVAILABLE")") +
             R"(,"seatPrice":)" + std::to_string(demo_price(n)) + "}";
  }
  return R"({"concertId":1,"concertAt":)" + jstr(concert_at) + R"(,"seats":[)" + items + "]}";
}

// Items 1-4.
void qt_balance_examples(QtExamples& x) {
  CHECK_ANSWER(x.qt.balance("1"), 200, R"({"userId":1,"currentAmount":100000})");
  Reply first = x.qt.recharge("1", 50000, "r1");
  CHECK_ANSWER(first, 200, R"({"userId":1,"currentAmount":150000})");
  Reply again = x.qt.recharge("1", 50000, "r1");
  CHECK(again.status == 200);
  CHECK(again.body == first.body);
  CHECK(x.qt.balance_of("1") == 150000);
  CHECK_ANSWER(x.canonical.balance("1"), 200,
               R"({"result":"SUCCESS","data":{"userId":"1","balance":150000}})");
  CHECK_ANSWER(x.qt.recharge("1", 0), 400, qt_error(400, "invalid recharge amount"));
  CHECK_ANSWER(x.qt.balance("999"), 404, qt_error(404, "user not found"));
  CHECK_ANSWER(x.qt.issue("999"), 404, qt_error(404, "user not found"));
}

bool is_token_id(const rapidjson::Value& v) {
  return v.IsInt64() && v.GetInt64() >= 1 && v.GetInt64() < (int64_t{1} << 53);
}

// Items 5-7.
void qt_token_examples(QtExamples& x) {
  const int64_t now = now_epoch();
  const Placeholders ph = {{"<K1>", is_token_id},
                           {"<t0>", time_near(false, now, 5)},
                           {"<t0+10m>", time_near(false, now + 600, 6)}};
  Reply issued = x.qt.issue("1");
  CHECK_ANSWER(issued, 200, R"({"tokenId":"<K1>","createdAt":"<t0>","expiredAt":"<t0+10m>"})", ph);
  x.k1 = id_text(field(issued.json, "tokenId"));
  x.t0 = str(issued.json, "createdAt");
  REQUIRE(!x.k1.empty());
  const int64_t ttl =
      epoch_of(str(issued.json, "expiredAt")).value_or(0) - epoch_of(x.t0).value_or(0);
  CHECK((ttl >= 599 && ttl <= 601));
  CHECK_ANSWER(x.qt.token("1"), 200, issued.body);
  CHECK_ANSWER(x.qt.status("1", x.k1), 200,
               R"({"queueId":1,"joinAt":)" + jstr(x.t0) +
                   R"(,"status":"ACTIVE","remainingWaitListCount":0})");
  CHECK_ANSWER(x.qt.status("2", x.k1), 401, qt_error(401, "invalid token"));
}

// The canonical `field` of numeric demo schedule `schedule`.
std::string canonical_schedule_field(Api& api, const std::string& schedule, const char* name) {
  Reply r = api.get("/api/v1/concerts/1/schedules");
  REQUIRE_MESSAGE(r.ok(), r.text());
  for (const auto& s : r.data().GetArray()) {
    if (str(s, "concertScheduleId") == schedule) return str(s, name);
  }
  return "";
}

// Items 8-10.
void qt_catalog_examples(QtExamples& x) {
  const std::string s1 = qt_time_of(canonical_starts_at(x.canonical, "1"));
  const std::string s2 = qt_time_of(canonical_starts_at(x.canonical, "2"));
  // <c>: the demo's creation time, the canonical reservationOpensAt.
  const std::string c =
      qt_time_of(canonical_schedule_field(x.canonical, "1", "reservationOpensAt"));
  CHECK(is_qt_time(c));
  CHECK(epoch_of(c).value_or(0) <= now_epoch());
  CHECK(epoch_of(c).value_or(0) >= now_epoch() - 120);
  CHECK_ANSWER(x.qt.schedules(x.k1, "1"), 200,
               R"({"concertId":1,"events":[{"scheduleId":1,"concertAt":")" + s1 +
                   R"(","reservationAt":")" + c + R"("},{"scheduleId":2,"concertAt":")" + s2 +
                   R"(","reservationAt":")" + c + R"("}]})");
  CHECK_ANSWER(x.qt.schedules(x.k1, "999"), 404, qt_error(404, "concert not found"));
  CHECK_ANSWER(x.qt.schedules("", "999"), 401, qt_error(401, "invalid token"));
  CHECK_ANSWER(x.qt.schedules("", "1"), 401, qt_error(401, "invalid token"));
  CHECK_ANSWER(x.qt.seats(x.k1, "1", "1"), 200, qt_seat_list(s1));
  CHECK_ANSWER(x.qt.seats(x.k1, "1", "999"), 404, qt_error(404, "schedule not found"));
}

// Items 11-12.
void qt_reserve_examples(QtExamples& x) {
  const std::string s1 = qt_time_of(canonical_starts_at(x.canonical, "1"));
  CHECK_ANSWER(x.qt.reserve(x.k1, "1", "1", "1", {"10", "11"}), 200,
               R"({"reservationId":1,"concertId":1,"concertName":"콘서트","concertAt":")" + s1 +
                   R"(","seats":[{"seatNumber":10,"price":10000},{"seatNumber":11,"price":15000}],)"
                   R"("totalPrice":25000,"reservationStatus":"PAYMENT_PENDING"})");
  CHECK_ANSWER(x.qt.seats(x.k1, "1", "1"), 200, qt_seat_list(s1, {10, 11}));
  const std::string k2 = x.qt.token_id_of("2");
  CHECK(k2 != x.k1);
  CHECK_ANSWER(x.qt.reserve(k2, "2", "1", "1", {"11", "12"}), 400,
               qt_error(400, "reservation failed"));
  CHECK(x.qt.seat_status(k2, "1", "1", "12") == "AVAILABLE");
  CHECK_ANSWER(x.qt.reserve(k2, "2", "1", "1", {"51"}), 404, qt_error(404, "seat not found"));
}

// Items 13-14.
void qt_pay_examples(QtExamples& x) {
  CHECK_ANSWER(x.qt.pay(x.k1, "1", "999"), 404, qt_error(404, "reservation not found"));
  CHECK_ANSWER(x.qt.pay(x.k1, "1", "1"), 200,
               R"({"paymentId":1,"amount":25000,"paymentStatus":"COMPLETED"})");
  CHECK_ANSWER(x.qt.balance("1"), 200, R"({"userId":1,"currentAmount":125000})");
  CHECK_ANSWER(x.qt.status("1", x.k1), 200,
               R"({"queueId":1,"joinAt":)" + jstr(x.t0) +
                   R"(,"status":"EXPIRED","remainingWaitListCount":0})");
  CHECK(canonical_seat_status(x.canonical, "1", "10") == "SOLD");
  const std::string k3 = x.qt.token_id_of("3");
  Reply held = x.qt.reserve(k3, "3", "1", "2", {"21", "22", "23"});
  CHECK_MESSAGE(held.status == 200, held.text());
  CHECK(num(held.json, "totalPrice") == 150000);
  CHECK(num(held.json, "reservationId") == 2);
  CHECK_ANSWER(x.qt.pay(k3, "3", "2"), 400, qt_error(400, "not enough balance"));
  CHECK(x.qt.balance_of("3") == 100000);
  for (const char* seat : {"21", "22", "23"}) {
    CHECK(x.qt.seat_status(k3, "1", "2", seat) == "UNAVAILABLE");
    CHECK(canonical_seat_status(x.canonical, "2", seat) == "HELD");
  }
}

TEST_CASE("§5.7 queue-tokens: the seed's example exchanges, in order") {
  ServerProcess server(dialect_options());
  QtExamples x{server};
  qt_balance_examples(x);
  qt_token_examples(x);
  qt_catalog_examples(x);
  qt_reserve_examples(x);
  qt_pay_examples(x);
}

TEST_CASE("§5.7 queue-tokens 15: with --hold-ttl 2s, paying 3 s after the hold is too late") {
  ServerProcess server(dialect_options().with({"--hold-ttl", "2s"}));
  QtApi qt(server);
  const std::string k1 = qt.token_id_of("1");
  const std::string rid = qt.reserve_ok(k1, "1", "1", "1", {"1"});
  std::this_thread::sleep_for(3s);
  CHECK_ANSWER(qt.pay(k1, "1", rid), 400, qt_error(400, "reservation expired"));
  CHECK(qt.balance_of("1") == 100000);
  Api canonical(server);
  CHECK(eventually([&] { return canonical_seat_status(canonical, "1", "1") == "AVAILABLE"; }));
}

// ====================================== one state, every dialect (§5) ===

TEST_CASE("cross-dialect: a charge through one dialect is the balance in every dialect") {
  ServerProcess server(dialect_options());
  Api canonical(server);
  CeApi ce(server);
  QtApi qt(server);
  auto balances = [&] {
    return std::vector<int64_t>{canonical.balance_of("2"), ce.balance_of("2"), qt.balance_of("2")};
  };
  CHECK(num(canonical.charge("2", 1).data(), "balance") == 100001);
  CHECK(balances() == std::vector<int64_t>(3, 100001));
  CHECK_ANSWER(ce.charge("2", 20), 200, R"({"data":{"balance":100021}})");
  CHECK(balances() == std::vector<int64_t>(3, 100021));
  CHECK_ANSWER(qt.recharge("2", 300), 200, R"({"userId":2,"currentAmount":100321})");
  CHECK(balances() == std::vector<int64_t>(3, 100321));
  // String ids are reachable from both dialects (§5.2).
  CHECK_ANSWER(ce.wallet("alice"), 200, R"({"data":{"balance":500000}})");
  CHECK_ANSWER(qt.balance("alice"), 200, R"({"userId":"alice","currentAmount":500000})");
}

TEST_CASE("cross-dialect: a seat held through one dialect is taken in every dialect") {
  ServerProcess server(dialect_options());
  Api canonical(server);
  CeApi ce(server);
  QtApi qt(server);
  const std::string t1 = canonical.active_token("1");
  canonical.hold_ok(t1, "1", {"5"});  // reservation 1
  const std::string t2 = ce.token_of("2");
  CHECK(ce.occupy_reserve(t2, "1", "6") == "2");  // reservation 2
  const std::string k3 = qt.token_id_of("3");
  CHECK(qt.reserve_ok(k3, "3", "1", "1", {"7"}) == "3");  // reservation 3
  const auto available = ce.available(t2, "1");
  CHECK(available.size() == 47);
  for (const char* seat : {"5", "6", "7"}) {
    CAPTURE(seat);
    CHECK(canonical_seat_status(canonical, "1", seat) == "HELD");
    CHECK(qt.seat_status(k3, "1", "1", seat) == "UNAVAILABLE");
    CHECK(std::find(available.begin(), available.end(), seat) == available.end());
  }
  CHECK(ce_code(ce.occupy(t2, "1", "7")) == "invalid_seat_status");
  CHECK_ANSWER(qt.reserve(k3, "3", "1", "1", {"5"}), 400, qt_error(400, "reservation failed"));
  CHECK(canonical.hold(t1, "1", {"6"}).code() == "SEAT_UNAVAILABLE");
  // One live token per user across dialects.
  CHECK(ce.token_of("1") == t1);
  CHECK(qt.token_id_of("3") == k3);
  CHECK(id_text(field(qt.token("2").json, "tokenId")) != "");
}

// ============================================ idempotency across dialects ===

const std::string kCeReused =
    ce_error("reused_idempotency_key", "다른 요청에 이미 사용된 Idempotency-Key 입니다.");
const std::string kQtReused = qt_error(422, "idempotency key reused");

// Sends `send()` twice: the second answer is the first, byte for byte.
template <class Send>
Reply sent_twice(Send send) {
  Reply first = send();
  Reply again = send();
  CHECK(again.status == first.status);
  CHECK(again.body == first.body);
  return first;
}

TEST_CASE("idempotency: a key reused through another dialect is 422 in that dialect") {
  ServerProcess server(dialect_options());
  Api canonical(server);
  CeApi ce(server);
  QtApi qt(server);
  CHECK(sent_twice([&] { return canonical.charge("1", 10, "k"); }).ok());
  CHECK_ANSWER(ce.charge("1", 10, "k"), 422, kCeReused);
  CHECK_ANSWER(qt.recharge("1", 10, "k"), 422, kQtReused);
  CHECK(sent_twice([&] { return ce.charge("2", 5, "c"); }).ok());
  CHECK_ANSWER(qt.recharge("2", 5, "c"), 422, kQtReused);
  CHECK(canonical.charge("2", 5, "c").code() == "IDEMPOTENCY_KEY_REUSED");
  CHECK(sent_twice([&] { return qt.recharge("3", 7, "q"); }).ok());
  CHECK_ANSWER(ce.charge("3", 7, "q"), 422, kCeReused);
  CHECK(canonical.charge("3", 7, "q").status == 422);
  CHECK(canonical.balance_of("1") == 100010);
  CHECK(canonical.balance_of("2") == 100005);
  CHECK(canonical.balance_of("3") == 100007);
}

TEST_CASE("idempotency: one key on POST /api/v1/payments, canonical then concert-events, is 422") {
  ServerProcess server(dialect_options());
  Api canonical(server);
  CeApi ce(server);
  const std::string t1 = canonical.active_token("1");
  const std::string rid = canonical.hold_ok(t1, "1", {"1"});
  const std::string body = R"({"reservationId":)" + jstr(rid) + "}";
  CHECK(sent_twice([&] {
          return canonical.post("/api/v1/payments", body,
                                {{"Queue-Token", t1}, {"Idempotency-Key", "p"}});
        }).ok());
  const std::string t1b = ce.token_of("1");  // the paid token expired
  CHECK(t1b != t1);
  CHECK_ANSWER(
      ce.raw().post("/api/v1/payments", body, {{"User-Token", t1b}, {"Idempotency-Key", "p"}}), 422,
      kCeReused);
  // And the other way round, with the body both dialects read alike.
  CHECK(ce.occupy_reserve(t1b, "1", "2") == "2");
  const std::string seq_body = R"({"reservationId":"2"})";
  CHECK(sent_twice([&] {
          return ce.raw().post("/api/v1/payments", seq_body,
                               {{"User-Token", t1b}, {"Idempotency-Key", "p2"}});
        }).ok());
  const std::string t1c = canonical.active_token("1");
  Reply reused = canonical.post("/api/v1/payments", seq_body,
                                {{"Queue-Token", t1c}, {"Idempotency-Key", "p2"}});
  CHECK_MESSAGE(reused.code() == "IDEMPOTENCY_KEY_REUSED", reused.text());
  CHECK(canonical.balance_of("1") == 80000);
  CHECK(array_size(field(canonical.payments("1").data(), "items")) == 2);
}

// The canonical id of user `user`'s newest reservation.
std::string newest_reservation(Api& canonical, const std::string& user) {
  Reply list = canonical.reservations(user);
  REQUIRE_MESSAGE(list.ok(), list.text());
  REQUIRE_MESSAGE(array_size(field(list.data(), "items")) >= 1, list.text());
  return str(list.data()["items"][0], "reservationId");
}

TEST_CASE("idempotency: queue-tokens' `reservation failed` is remembered, bad input is not") {
  ServerProcess server(dialect_options());
  Api canonical(server);
  QtApi qt(server);
  const std::string k1 = qt.token_id_of("1"), k2 = qt.token_id_of("2");
  qt.reserve_ok(k1, "1", "1", "1", {"30"});
  Reply refused = qt.reserve(k2, "2", "1", "1", {"30"}, "rf");
  CHECK_ANSWER(refused, 400, qt_error(400, "reservation failed"));
  const std::string t1 = canonical.active_token("1");  // user 1's one token
  REQUIRE(canonical.cancel(t1, newest_reservation(canonical, "1")).ok());
  CHECK(canonical_seat_status(canonical, "1", "30") == "AVAILABLE");
  Reply replayed = qt.reserve(k2, "2", "1", "1", {"30"}, "rf");
  CHECK(replayed.status == 400);
  CHECK(replayed.body == refused.body);
  CHECK(canonical_seat_status(canonical, "1", "30") == "AVAILABLE");
  Reply bad = qt.raw().post("/v1/reservations",
                            R"({"userId":2,"concertId":1,"scheduleId":1,"seatIds":"31"})",
                            {{"TOKEN-ID", k2}, {"Idempotency-Key", "bi"}});
  CHECK(bad.status == 400);
  CHECK(qt_message(bad) == "invalid request: seatIds");
  CHECK(sent_twice([&] { return qt.reserve(k2, "2", "1", "1", {"31"}, "bi"); }).ok());
  CHECK(canonical_seat_status(canonical, "1", "31") == "HELD");
}

TEST_CASE("idempotency: queue-tokens' `user not found` is not remembered (SPEC §5.2)") {
  ServerProcess server(dialect_options().admin("k"));
  Api canonical(server);
  QtApi qt(server);
  CHECK_ANSWER(qt.recharge("u404", 500, "nf1"), 404, qt_error(404, "user not found"));
  CHECK_ANSWER(qt.issue("u404", "nf2"), 404, qt_error(404, "user not found"));
  REQUIRE(canonical.admin_user("k", "u404").ok());
  // The same keys now execute: the 404s were decided before any user was known.
  Reply charged = qt.recharge("u404", 500, "nf1");
  CHECK_MESSAGE(charged.status == 200, charged.text());
  CHECK(qt.issue("u404", "nf2").status == 200);
  CHECK(qt.recharge("u404", 500, "nf1").body == charged.body);  // and are remembered now
}

TEST_CASE("idempotency: concert-events reserve with a key is remembered") {
  ServerProcess server(dialect_options());
  Api canonical(server);
  CeApi ce(server);
  const std::string t1 = ce.token_of("1");
  REQUIRE(ce.occupy(t1, "1", "40", "o1").ok());
  Reply first = ce.reserve(t1, "1", "40", "rv");
  REQUIRE_MESSAGE(first.ok(), first.text());
  REQUIRE(canonical.cancel(t1, newest_reservation(canonical, "1")).ok());
  CHECK(ce_code(ce.reserve(t1, "1", "40")) == "cancelled_reservation");
  Reply again = ce.reserve(t1, "1", "40", "rv");
  CHECK(again.status == 200);
  CHECK(again.body == first.body);
  CHECK_ANSWER(ce.reserve(t1, "1", "41", "rv"), 422, kCeReused);
  // The occupy key replays the first hold, and holds nothing more.
  CHECK(ce.occupy(t1, "1", "40", "o1").status == 200);
  CHECK(canonical_seat_status(canonical, "1", "40") == "AVAILABLE");
}

// ========================================== bad input per dialect (§5.2) ===

// One bad request: what it is and how the dialect must answer it.
struct Bad {
  std::string method, path, body;
  int status;
  std::string code;        // concert-events: error.code; queue-tokens: the message ("" for 400s)
  std::string field = "";  // 400: the field the message names ("" when any)
  std::optional<std::string> content_type = "application/json";
};

const std::string kBig = std::string(65 * 1024, 'x');
const std::string kBigBody = R"({"seatId":1,"amount":1,"pad":")" + kBig + R"("})";

Reply send_bad(Api& api, const Bad& b, const httplib::Headers& headers) {
  return api.send(b.method, b.path, b.body, headers, b.content_type);
}

void check_ce_bad(Api& api, const Bad& b, const std::string& token) {
  CAPTURE(b.method);
  CAPTURE(b.path);
  CAPTURE(b.body.substr(0, 80));
  Reply r = send_bad(api, b, {{"User-Token", token}});
  CHECK_MESSAGE(r.status == b.status, r.text().substr(0, 300));
  CHECK_MESSAGE(is_ce_error(r), r.text().substr(0, 300));
  CHECK(ce_code(r) == b.code);
  const std::string message = field(field(r.json, "error"), "message").IsString()
                                  ? str(field(r.json, "error"), "message")
                                  : "";
  if (b.code == "invalid_request") CHECK(message.rfind("잘못된 요청입니다: ", 0) == 0);
  if (!b.field.empty()) CHECK_MESSAGE(message == "잘못된 요청입니다: " + b.field, message);
  CHECK(api.get("/healthz").status == 200);  // the connection is still usable
}

void check_qt_bad(Api& api, const Bad& b, const std::string& token_id) {
  CAPTURE(b.method);
  CAPTURE(b.path);
  CAPTURE(b.body.substr(0, 80));
  Reply r = send_bad(api, b, {{"TOKEN-ID", token_id}});
  CHECK_MESSAGE(r.status == b.status, r.text().substr(0, 300));
  CHECK_MESSAGE(is_qt_error(r), r.text().substr(0, 300));
  const std::string message = qt_message(r);
  if (b.code.empty()) CHECK_MESSAGE(message.rfind("invalid request: ", 0) == 0, message);
  if (!b.code.empty()) CHECK(message == b.code);
  if (!b.field.empty()) CHECK(message == "invalid request: " + b.field);
  CHECK(api.get("/healthz").status == 200);
}

std::vector<Bad> ce_bad_requests() {
  const std::string occupy = "/api/v1/concert-events/1/occupy";
  const std::string reserve = "/api/v1/concert-events/1/reserve";
  const std::string charge = "/api/v1/users/1/wallet/charge";
  const std::string token = "/api/v1/queue/token";
  const std::string pay = "/api/v1/payments";
  const std::string ir = "invalid_request";
  return {
      {"POST", token, "{not json", 400, ir},
      {"POST", token, "", 400, ir},
      {"POST", token, "[1]", 400, ir},
      {"POST", token, "{}", 400, ir, "userId"},
      {"POST", token, R"({"userId":-1})", 400, ir, "userId"},
      {"POST", token, R"({"userId":1.5})", 400, ir, "userId"},
      {"POST", token, R"({"userId":1e3})", 400, ir, "userId"},
      {"POST", token, R"({"userId":true})", 400, ir, "userId"},
      {"POST", token, R"({"userId":"bad id!"})", 400, ir, "userId"},
      {"POST", token, R"({"userId":[1]})", 400, ir, "userId"},
      {"POST", occupy, "{not json", 400, ir},
      {"POST", occupy, "{}", 400, ir, "seatId"},
      {"POST", occupy, R"({"seatId":-5})", 400, ir, "seatId"},
      {"POST", occupy, R"({"seatId":2.5})", 400, ir, "seatId"},
      {"POST", occupy, R"({"seatId":false})", 400, ir, "seatId"},
      {"POST", occupy, R"({"seatId":null})", 400, ir, "seatId"},
      {"POST", occupy, R"({"seatId":"x y"})", 400, ir, "seatId"},
      {"POST", "/api/v1/concert-events/bad$id/occupy", R"({"seatId":1})", 400, ir},
      {"POST", "/api/v1/concert-events/-1/occupy", R"({"seatId":1})", 404,
       "not_found_concert_event"},
      {"POST", reserve, "{}", 400, ir, "seatId"},
      {"POST", reserve, R"({"seatId":true})", 400, ir, "seatId"},
      {"POST", reserve, R"({"seatId":-1})", 400, ir, "seatId"},
      {"POST", pay, "{}", 400, ir, "reservationId"},
      {"POST", pay, R"({"reservationId":true})", 400, ir, "reservationId"},
      {"POST", pay, R"({"reservationId":[1]})", 400, ir, "reservationId"},
      {"POST", pay, R"({"reservationId":null})", 400, ir, "reservationId"},
      {"PATCH", charge, "{}", 400, ir, "amount"},
      {"PATCH", charge, R"({"amount":"5"})", 400, ir, "amount"},
      {"PATCH", charge, R"({"amount":true})", 400, ir, "amount"},
      {"PATCH", charge, R"({"amount":1.5})", 400, "invalid_amount"},
      {"PATCH", charge, R"({"amount":0})", 400, "invalid_amount"},
      {"PATCH", charge, R"({"amount":1000000001})", 400, "invalid_amount"},
      {"PATCH", "/api/v1/users/bad$id/wallet/charge", R"({"amount":1})", 400, ir},
      {"GET", "/api/v1/users/bad$id/wallet", "", 400, ir},
      {"GET", "/api/v1/users/bad$id/payments", "", 400, ir},
      {"GET", "/api/v1/users/1/payments?limit=0", "", 400, ir, "limit"},
      {"GET", "/api/v1/users/1/payments?limit=101", "", 400, ir, "limit"},
      {"GET", "/api/v1/users/1/payments?limit=x", "", 400, ir, "limit"},
      {"GET", "/api/v1/concerts/bad$id/available-events", "", 400, ir},
      {"GET", "/api/v1/concert-events/bad$id/available-seats", "", 400, ir},
      {"POST", occupy, kBigBody, 413, "payload_too_large"},
      {"PATCH", charge, kBigBody, 413, "payload_too_large"},
      {"POST", occupy, R"({"seatId":1})", 415, "unsupported_media_type", "", "text/plain"},
      {"POST", token, R"({"userId":1})", 415, "unsupported_media_type", "", "application/jsonx"},
      {"PATCH", charge, R"({"amount":1})", 415, "unsupported_media_type", "", std::nullopt},
      {"GET", "/api/v1/nope", "", 404, "not_found"},
      {"GET", "/nope", "", 404, "not_found"},
      {"GET", "/v1/balance/users/1", "", 404, "not_found"},
      {"GET", "/api/v1/balance?userId=1", "", 404, "not_found"},
      {"POST", "/api/v1/reservations", R"({"concertScheduleId":"1","seatId":"1"})", 404,
       "not_found"},
      {"GET", occupy, "", 405, "method_not_allowed"},
      {"DELETE", "/api/v1/users/1/wallet", "", 405, "method_not_allowed"},
      {"POST", charge, R"({"amount":1})", 405, "method_not_allowed"},
      {"GET", pay, "", 405, "method_not_allowed"},
      {"PUT", token, R"({"userId":1})", 405, "method_not_allowed"},
  };
}

TEST_CASE("bad input: concert-events answers in its envelope and changes nothing") {
  ServerProcess server(dialect_options());
  CeApi ce(server);
  Api canonical(server);
  const std::string t1 = ce.token_of("1");
  for (const auto& b : ce_bad_requests()) check_ce_bad(ce.raw(), b, t1);
  CHECK(ce.balance_of("1") == 100000);
  CHECK(ce.available(t1, "1").size() == 50);
  CHECK(array_size(field(canonical.reservations("1").data(), "items")) == 0);
  CHECK(array_size(field(canonical.payments("1").data(), "items")) == 0);
  CHECK_ANSWER(ce.payments("1"), 200, R"({"list":[]})");
}

std::vector<Bad> qt_bad_requests() {
  const std::string reserve = "/v1/reservations";
  const std::string pay = "/v1/payments/users/1";
  const std::string recharge = "/v1/balance/users/1/recharge";
  auto hold = [](const std::string& members) { return "{" + members + "}"; };
  const std::string ok_ids = R"("userId":1,"concertId":1,"scheduleId":1)";
  return {
      {"POST", "/v1/queue-tokens/users/bad$id", "", 400, ""},
      {"GET", "/v1/queue-tokens/users/bad$id", "", 400, ""},
      {"GET", "/v1/queue-status/users/bad$id", "", 400, ""},
      {"GET", "/v1/balance/users/bad$id", "", 400, ""},
      {"GET", "/v1/balance/users/" + std::string(65, 'u'), "", 400, ""},
      {"POST", "/v1/balance/users/bad$id/recharge", R"({"amount":1})", 400, ""},
      {"GET", "/v1/concerts/bad$id/schedules", "", 400, ""},
      {"GET", "/v1/concerts/1/schedules/bad$id/seats", "", 400, ""},
      {"POST", "/v1/payments/users/bad$id", R"({"reservationId":1})", 400, ""},
      {"POST", reserve, "{not json", 400, ""},
      {"POST", reserve, "[]", 400, ""},
      {"POST", reserve, "", 400, ""},
      {"POST", reserve, hold(R"("concertId":1,"scheduleId":1,"seatIds":[1])"), 400, "", "userId"},
      {"POST", reserve, hold(R"("userId":1,"scheduleId":1,"seatIds":[1])"), 400, "", "concertId"},
      {"POST", reserve, hold(R"("userId":1,"concertId":1,"seatIds":[1])"), 400, "", "scheduleId"},
      {"POST", reserve, hold(ok_ids), 400, "", "seatIds"},
      {"POST", reserve, hold(ok_ids + R"(,"seatIds":[])"), 400, "", "seatIds"},
      {"POST", reserve, hold(ok_ids + R"(,"seatIds":"1")"), 400, "", "seatIds"},
      {"POST", reserve, hold(ok_ids + R"(,"seatIds":[-1])"), 400, "", "seatIds[0]"},
      {"POST", reserve, hold(ok_ids + R"(,"seatIds":[1.5])"), 400, "", "seatIds[0]"},
      {"POST", reserve, hold(ok_ids + R"(,"seatIds":[true])"), 400, "", "seatIds[0]"},
      {"POST", reserve, hold(ok_ids + R"(,"seatIds":[1,1])"), 400, "", "seatIds[1]"},
      {"POST", reserve, hold(ok_ids + R"(,"seatIds":[1,2,3,4,5])"), 400, "", "seatIds"},
      {"POST", reserve, hold(R"("userId":-1,"concertId":1,"scheduleId":1,"seatIds":[1])"), 400, "",
       "userId"},
      {"POST", reserve, hold(R"("userId":true,"concertId":1,"scheduleId":1,"seatIds":[1])"), 400,
       "", "userId"},
      {"POST", reserve, hold(R"("userId":1,"concertId":1.5,"scheduleId":1,"seatIds":[1])"), 400, "",
       "concertId"},
      {"POST", reserve, hold(R"("userId":1,"concertId":1,"scheduleId":false,"seatIds":[1])"), 400,
       "", "scheduleId"},
      {"POST", pay, "{}", 400, "", "reservationId"},
      {"POST", pay, R"({"reservationId":true})", 400, "", "reservationId"},
      {"POST", pay, R"({"reservationId":[1]})", 400, "", "reservationId"},
      {"POST", pay, "{not json", 400, ""},
      {"POST", recharge, "{}", 400, "", "amount"},
      {"POST", recharge, R"({"amount":"5"})", 400, "", "amount"},
      {"POST", recharge, R"({"amount":true})", 400, "", "amount"},
      {"POST", recharge, R"({"amount":1.5})", 400, "invalid recharge amount"},
      {"POST", recharge, R"({"amount":-5})", 400, "invalid recharge amount"},
      {"POST", reserve, kBigBody, 413, "payload too large"},
      {"POST", recharge, kBigBody, 413, "payload too large"},
      {"POST", recharge, R"({"amount":1})", 415, "unsupported media type", "", "text/plain"},
      {"POST", reserve, hold(ok_ids + R"(,"seatIds":[1])"), 415, "unsupported media type", "",
       std::nullopt},
      {"GET", "/v1/nope", "", 404, "not found"},
      {"GET", "/v1/queue-tokens/users", "", 404, "not found"},
      {"DELETE", "/v1/balance/users/1", "", 405, "method not allowed"},
      {"GET", reserve, "", 405, "method not allowed"},
      {"GET", recharge, "", 405, "method not allowed"},
      {"PUT", pay, R"({"reservationId":1})", 405, "method not allowed"},
  };
}

TEST_CASE("bad input: queue-tokens answers in its envelope and changes nothing") {
  ServerProcess server(dialect_options());
  QtApi qt(server);
  Api canonical(server);
  const std::string k1 = qt.token_id_of("1");
  for (const auto& b : qt_bad_requests()) check_qt_bad(qt.raw(), b, k1);
  CHECK(qt.balance_of("1") == 100000);
  CHECK(array_size(field(canonical.reservations("1").data(), "items")) == 0);
  for (int seat = 1; seat <= 5; ++seat) {
    CHECK(qt.seat_status(k1, "1", "1", std::to_string(seat)) == "AVAILABLE");
  }
  // On the shared listener, /api/v1/ is canonical's and anything else its first dialect's.
  for (const char* path : {"/api/v1/nope", "/nope"}) {
    Reply r = qt.raw().get(path);
    CHECK(r.status == 404);
    CHECK_MESSAGE(r.code() == "NOT_FOUND", r.text());
  }
}

// ======================================================= check order ===

TEST_CASE("check order: queue-tokens finds the named user before the token") {
  ServerProcess server(dialect_options());
  QtApi qt(server);
  const std::string k1 = qt.token_id_of("1"), k2 = qt.token_id_of("2");
  const std::string not_found = qt_error(404, "user not found");
  CHECK_ANSWER(qt.status("999", ""), 404, not_found);
  CHECK_ANSWER(qt.status("999", "12345"), 404, not_found);
  CHECK_ANSWER(qt.pay("", "999", "1"), 404, not_found);
  CHECK_ANSWER(qt.reserve("", "999", "1", "1", {"1"}), 404, not_found);
  CHECK_ANSWER(qt.reserve(k1, "999", "1", "1", {"1"}), 404, not_found);
  // 400 comes first.
  Reply bad = qt.raw().post("/v1/reservations",
                            R"({"userId":999,"concertId":1,"scheduleId":1,"seatIds":[true]})");
  CHECK(bad.status == 400);
  // TOKEN-ID absent, not a canonical decimal, unknown, or another user's: 401.
  const std::string invalid = qt_error(401, "invalid token");
  for (const std::string& tid : {std::string(""), "0" + k1, "+" + k1, k1 + "0x", std::string("abc"),
                                 std::string("-1"), std::string("0")}) {
    CAPTURE(tid);
    CHECK_ANSWER(qt.status("1", tid), 401, invalid);
  }
  CHECK_ANSWER(qt.status("1", k2), 401, invalid);
  CHECK_ANSWER(qt.reserve(k2, "1", "1", "1", {"1"}), 401, invalid);
  CHECK_ANSWER(qt.pay(k2, "1", "1"), 401, invalid);
  CHECK_ANSWER(qt.seats("999999999", "1", "1"), 401, invalid);
  CHECK(qt.status("1", k1).ok());
}

TEST_CASE(
    "check order: concert-events tells an absent User-Token (401) from an unknown one (400)") {
  ServerProcess server(dialect_options());
  CeApi ce(server);
  const std::string invalid = ce_error("invalid_token", "유효하지 않은 token 입니다.");
  for (const std::string& tok : {std::string(""), std::string("nope")}) {
    CAPTURE(tok);
    const int status = tok.empty() ? 401 : 400;
    const std::string body = tok.empty() ? kCeUnauthorized : invalid;
    CHECK_ANSWER(ce.status(tok), status, body);
    CHECK_ANSWER(ce.events(tok, "1"), status, body);
    CHECK_ANSWER(ce.seats(tok, "1"), status, body);
    CHECK_ANSWER(ce.occupy(tok, "1", "1"), status, body);
    CHECK_ANSWER(ce.reserve(tok, "1", "1"), status, body);
    CHECK_ANSWER(ce.pay(tok, "1"), status, body);
  }
  // Bad input before the token.
  CHECK(ce_code(ce.raw().post("/api/v1/concert-events/1/occupy", "{not json")) ==
        "invalid_request");
  // The token is identified before the concert is looked up.
  CHECK_ANSWER(ce.events("", "999"), 401, kCeUnauthorized);
  // An expired token: 400 expired_token, except on queue/status.
  const std::string t1 = ce.token_of("1");
  REQUIRE(ce.pay(t1, ce.occupy_reserve(t1, "1", "1")).ok());
  const std::string expired = ce_error("expired_token", "만료된 token 입니다.");
  CHECK_ANSWER(ce.occupy(t1, "1", "2"), 400, expired);
  CHECK_ANSWER(ce.seats(t1, "1"), 400, expired);
  CHECK_ANSWER(ce.reserve(t1, "1", "1"), 400, expired);
  CHECK(ce_code(ce.status(t1)) == "not_found_in_queue");
}

// With --active-tokens 1: WAITING and ACTIVE as each dialect shows them.
TEST_CASE("queue: WAITING, ACTIVE and EXPIRED in every dialect with --active-tokens 1") {
  ServerProcess server(dialect_options().with({"--active-tokens", "1"}));
  CeApi ce(server);
  QtApi qt(server);
  Api canonical(server);
  const std::string t1 = ce.token_of("1");
  const std::string t2 = ce.token_of("2");
  Reply canonical_wait = canonical.status(t2);
  REQUIRE(str(canonical_wait.data(), "tokenStatus") == "WAITING");
  const int64_t minutes = (num(canonical_wait.data(), "estimatedWaitSeconds") + 59) / 60;
  CHECK_ANSWER(
      ce.status(t2), 200,
      R"({"data":{"queuePosition":1,"estimatedWaitingTime":)" + std::to_string(minutes) + "}}");
  CHECK_ANSWER(ce.occupy(t2, "1", "1"), 400,
               ce_error("invalid_token_status", "아직 활성화되지 않은 token 입니다."));
  CHECK(ce.seats(t2, "1").ok());  // a live token suffices
  Reply waiting = qt.token("2");
  CHECK(is_null(waiting.json, "expiredAt"));
  const std::string k2 = id_text(field(waiting.json, "tokenId"));
  CHECK_ANSWER(qt.status("2", k2), 200,
               R"({"queueId":2,"joinAt":"<t>","status":"WAITING","remainingWaitListCount":0})",
               {{"<t>", time_near(false, now_epoch(), 10)}});
  CHECK_ANSWER(qt.reserve(k2, "2", "1", "1", {"1"}), 403, qt_error(403, "token not active"));
  CHECK(qt.seats(k2, "1", "1").ok());
  // User 1 pays through queue-tokens: its token expires, user 2's becomes ACTIVE.
  const std::string k1 = qt.token_id_of("1");
  REQUIRE(qt.pay(k1, "1", qt.reserve_ok(k1, "1", "1", "1", {"1"})).ok());
  CHECK_ANSWER(qt.reserve(k1, "1", "1", "1", {"2"}), 401, qt_error(401, "token expired"));
  CHECK(ce_code(ce.occupy(t1, "1", "2")) == "expired_token");
  CHECK(eventually([&] {
    return answer_diff(ce.status(t2), 200,
                       R"({"data":{"queuePosition":0,"estimatedWaitingTime":0}})")
        .empty();
  }));
  CHECK(str(qt.status("2", k2).json, "status") == "ACTIVE");
  CHECK(ce.occupy(t2, "1", "3").ok());
}

// ============================= canonical: seed 000's token in the body ===

const httplib::Headers kJson = {{"Content-Type", "application/json"}};

std::string token_body(const std::string& token) {
  return R"({"token":)" + jstr(token) + "}";
}

httplib::Headers json_with(httplib::Headers more) {
  more.emplace("Content-Type", "application/json");
  return more;
}

TEST_CASE("canonical: GET /api/v1/queue/status takes the token from a JSON body (seed 000)") {
  ServerProcess server(dialect_options());
  Api api(server);
  const std::string tok = api.active_token("alice");
  const std::string path = "/api/v1/queue/status";
  Reply status = api.send("GET", path, token_body(tok), kJson);
  CHECK_MESSAGE(status.ok(), status.text());
  CHECK(str(status.data(), "token") == tok);
  CHECK(str(status.data(), "tokenStatus") == "ACTIVE");
  // The header wins when both are sent.
  CHECK(api.send("GET", path, token_body("garbage"), json_with({{"Queue-Token", tok}})).ok());
  const std::string unknown = "00000000-0000-4000-8000-000000000000";
  CHECK(api.send("GET", path, token_body(tok), json_with({{"Queue-Token", unknown}})).code() ==
        "INVALID_TOKEN");
  Reply number = api.send("GET", path, R"({"token":5})", kJson);
  CHECK(number.status == 400);
  CHECK(number.code() == "INVALID_REQUEST");
  CHECK_MESSAGE(contains(number.message(), "token"), number.text());
  CHECK(api.send("GET", path, "{}", kJson).code() == "INVALID_TOKEN");
  CHECK(api.get(path).code() == "INVALID_TOKEN");
}

TEST_CASE(
    "canonical: hold and pay with the token in the body; it is not part of the key's request") {
  ServerProcess server(dialect_options());
  Api api(server);
  const std::string tok = api.active_token("alice");
  const std::string hold = R"("concertScheduleId":"demo-schedule-1","seatId":"A1")";
  Reply held = api.post("/api/v1/reservations", "{" + hold + R"(,"token":)" + jstr(tok) + "}",
                        {{"Idempotency-Key", "h1"}});
  REQUIRE_MESSAGE(held.ok(), held.text());
  Reply moved = api.post("/api/v1/reservations", "{" + hold + "}",
                         {{"Queue-Token", tok}, {"Idempotency-Key", "h1"}});
  CHECK(moved.status == 200);
  CHECK(moved.body == held.body);  // a replay, not a 422
  const std::string rid = str(held.data(), "reservationId");
  const std::string pay = R"("reservationId":)" + jstr(rid);
  Reply paid = api.post("/api/v1/payments", "{" + pay + "}",
                        {{"Queue-Token", tok}, {"Idempotency-Key", "p1"}});
  REQUIRE_MESSAGE(paid.ok(), paid.text());
  Reply replay = api.post("/api/v1/payments", "{" + pay + R"(,"token":)" + jstr(tok) + "}",
                          {{"Idempotency-Key", "p1"}});
  CHECK(replay.status == 200);
  CHECK(replay.body == paid.body);
  CHECK(api.balance_of("alice") == 350000);
  // Reading and cancelling take it too.
  const std::string tok2 = api.active_token("alice");
  Reply read = api.send("GET", "/api/v1/reservations/" + rid, token_body(tok2), kJson);
  CHECK(str(read.data(), "status") == "CONFIRMED");
  Reply refunded = api.send("DELETE", "/api/v1/reservations/" + rid, token_body(tok2), kJson);
  CHECK_MESSAGE(str(refunded.data(), "status") == "REFUNDED", refunded.text());
  CHECK(api.balance_of("alice") == 500000);
}

// ============================================= GET /v3/api-docs (§5.1) ===

// "/a/{x}/b" → "/a/{}/b": parameter names do not count.
std::string template_of(const std::string& path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '{') {
      out += path[i];
      continue;
    }
    out += "{}";
    i = path.find('}', i);
    if (i == std::string::npos) break;
  }
  return out;
}

// "GET /api/v1/..." for every operation of an OpenAPI document.
std::set<std::string> documented_routes(const Reply& doc) {
  std::set<std::string> routes;
  const auto& paths = field(doc.json, "paths");
  if (!paths.IsObject()) return routes;
  for (auto p = paths.MemberBegin(); p != paths.MemberEnd(); ++p) {
    if (!p->value.IsObject()) continue;
    for (auto m = p->value.MemberBegin(); m != p->value.MemberEnd(); ++m) {
      std::string method = m->name.GetString();
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      routes.insert(method + " " + template_of(p->name.GetString()));
    }
  }
  return routes;
}

const std::vector<std::string> kCanonicalRoutes = {
    "POST /api/v1/queue/token",
    "GET /api/v1/queue/status",
    "GET /api/v1/concerts",
    "GET /api/v1/concerts/{}/schedules",
    "GET /api/v1/concerts/{}/schedules/{}/seats",
    "POST /api/v1/reservations",
    "GET /api/v1/reservations/{}",
    "DELETE /api/v1/reservations/{}",
    "POST /api/v1/payments",
    "GET /api/v1/users/{}/payments",
    "GET /api/v1/users/{}/reservations",
    "GET /api/v1/balance",
    "POST /api/v1/balance/charge",
};
// Canonical routes concert-events does not share.
const std::vector<std::string> kCanonicalOnly = {
    "GET /api/v1/concerts", "POST /api/v1/reservations",   "GET /api/v1/reservations/{}",
    "GET /api/v1/balance",  "POST /api/v1/balance/charge", "POST /api/v1/admin/users",
};
const std::vector<std::string> kCeRoutes = {
    "POST /api/v1/queue/token",
    "GET /api/v1/queue/status",
    "GET /api/v1/concerts/{}/available-events",
    "GET /api/v1/concert-events/{}/available-seats",
    "POST /api/v1/concert-events/{}/occupy",
    "POST /api/v1/concert-events/{}/reserve",
    "POST /api/v1/payments",
    "GET /api/v1/users/{}/payments",
    "GET /api/v1/users/{}/wallet",
    "PATCH /api/v1/users/{}/wallet/charge",
};
// concert-events routes canonical does not share.
const std::vector<std::string> kCeOnly = {
    "GET /api/v1/concerts/{}/available-events",
    "GET /api/v1/concert-events/{}/available-seats",
    "POST /api/v1/concert-events/{}/occupy",
    "POST /api/v1/concert-events/{}/reserve",
    "GET /api/v1/users/{}/wallet",
    "PATCH /api/v1/users/{}/wallet/charge",
};
const std::vector<std::string> kQtRoutes = {
    "POST /v1/queue-tokens/users/{}",
    "GET /v1/queue-tokens/users/{}",
    "GET /v1/queue-status/users/{}",
    "GET /v1/concerts/{}/schedules",
    "GET /v1/concerts/{}/schedules/{}/seats",
    "POST /v1/reservations",
    "POST /v1/payments/users/{}",
    "POST /v1/balance/users/{}/recharge",
    "GET /v1/balance/users/{}",
};

void check_api_doc(int port, const std::vector<std::vector<std::string>>& served,
                   const std::vector<std::vector<std::string>>& absent) {
  CAPTURE(port);
  Reply doc = Api(port).get("/v3/api-docs");
  REQUIRE_MESSAGE(doc.status == 200, doc.text().substr(0, 300));
  CHECK(doc.header("Content-Type").rfind("application/json", 0) == 0);
  CHECK(str(doc.json, "openapi") == "3.0.3");
  const auto routes = documented_routes(doc);
  for (const auto& list : served) {
    for (const auto& r : list) CHECK_MESSAGE(routes.count(r) == 1, "undocumented: " << r);
  }
  for (const auto& list : absent) {
    for (const auto& r : list) CHECK_MESSAGE(routes.count(r) == 0, "not served here: " << r);
  }
}

TEST_CASE("GET /v3/api-docs: each listener documents its own dialects' routes only") {
  ServerProcess server(dialect_options());
  check_api_doc(server.port(), {kCanonicalRoutes, kQtRoutes}, {kCeOnly});
  check_api_doc(server.port_of(kCeDialect), {kCeRoutes}, {kCanonicalOnly, kQtRoutes});
}

}  // namespace
}  // namespace reservoir::test
