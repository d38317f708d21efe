// The HTTP API of SPEC §2 and the command line of SPEC §3, over real HTTP
// against a real `reservoir serve` (one server and data dir per test case):
// every route's success shape and notable errors, the booking flow, the
// error envelope for bad input (and that the connection survives it),
// Idempotency-Key semantics (also across restarts), the admin API, the
// queue, hold expiry, read-your-writes and list paging.
#include <doctest/doctest.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/server_process.h"

namespace reservoir::test {
namespace {

const std::string kAdmin = "it-admin-key";
const std::string kUnknownToken = "00000000-0000-4000-8000-000000000000";

#define CHECK_ERROR(reply, status_code, error_code)              \
  do {                                                           \
    const Reply& r_ = (reply);                                   \
    CHECK_MESSAGE(r_.status == (status_code), r_.text());        \
    CHECK_MESSAGE(r_.code() == (error_code), r_.text());         \
    CHECK_MESSAGE(str(r_.json, "result") == "ERROR", r_.text()); \
  } while (0)

#define CHECK_OK(reply)                                            \
  do {                                                             \
    const Reply& r_ = (reply);                                     \
    CHECK_MESSAGE(r_.status == 200, r_.text());                    \
    CHECK_MESSAGE(str(r_.json, "result") == "SUCCESS", r_.text()); \
  } while (0)

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string charge_body(const std::string& user, const std::string& amount) {
  return "{\"userId\":" + quoted(user) + ",\"amount\":" + amount + "}";
}

std::string future_time() {
  return "2099-06-01T19:00:00Z";
}

// ---------------------------------------------------------------- CLI ---

TEST_CASE("cli: --help exits 0, a bad flag or value exits 2") {
  TempDir dir;
  const std::vector<std::string> safe = {"--data", dir.path() + "/d", "--port", "0"};
  auto with_safe = [&](std::vector<std::string> args) {
    args.insert(args.begin() + 1, safe.begin(), safe.end());
    return args;
  };
  RunResult help = run_reservoir({"serve", "--help"});
  CHECK(help.status == 0);
  CHECK(contains(help.out, "--data"));
  CHECK(contains(help.out, "--hold-ttl"));
  CHECK(run_reservoir({"--help"}).status == 0);
  RunResult unknown = run_reservoir(with_safe({"serve", "--no-such-flag"}));
  CHECK(unknown.status == 2);
  CHECK(contains(unknown.err, "no-such-flag"));
  RunResult tokens = run_reservoir(with_safe({"serve", "--active-tokens", "many"}));
  CHECK(tokens.status == 2);
  CHECK(contains(tokens.err, "active-tokens"));
  RunResult ttl = run_reservoir(with_safe({"serve", "--hold-ttl", "5 parsecs"}));
  CHECK(ttl.status == 2);
  CHECK(contains(ttl.err, "hold-ttl"));
  CHECK(run_reservoir({"no-such-command"}).status == 2);
  CHECK(run_reservoir({"serve", "--data", dir.path() + "/d", "--port", "70000"}).status == 2);
}

TEST_CASE("cli: an unusable --data is refused with exit 1") {
  TempDir dir;
  const std::string file = dir.path() + "/not-a-dir";
  std::ofstream(file) << "x";
  RunResult r = run_reservoir({"serve", "--data", file, "--port", "0"});
  CHECK(r.status == 1);
  CHECK(!r.err.empty());
  CHECK(!contains(r.out, "listening"));
}

TEST_CASE("cli: --demo prints the demo users and loads nothing into a used log") {
  ServerProcess server;
  for (const char* user : {"alice", "bob", "carol", "1", "2", "3"}) {
    CHECK(contains(server.stdout_text(), std::string("demo user: ") + user + "\n"));
  }
  CHECK_OK(Api(server).charge("alice", 1));
  CHECK(server.terminate() == 0);
  server.start();
  Api api(server);
  CHECK(api.balance_of("alice") == 500001);
  CHECK(api.get("/api/v1/concerts").data().Size() == 2);  // demo-concert and 1
}

TEST_CASE("cli: a second serve on the same --data is refused with exit 1") {
  ServerProcess server;
  RunResult second = run_reservoir({"serve", "--data", server.data_dir(), "--port", "0"});
  CHECK(second.status == 1);
  CHECK_MESSAGE(contains(second.err, "in use"), second.err);
  CHECK_MESSAGE(contains(second.err, server.data_dir()), second.err);
  CHECK(!contains(second.out, "listening"));
  CHECK_OK(Api(server).get("/healthz"));
  CHECK(server.terminate() == 0);
}

// ------------------------------------------------------ health, metrics ---

// A Prometheus text sample: name[{label="value",...}] number.
bool is_sample(const std::string& line) {
  const size_t space = line.rfind(' ');
  if (space == std::string::npos) return false;
  const std::string value = line.substr(space + 1);
  char* end = nullptr;
  std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0') return false;
  const std::string series = line.substr(0, space);
  const size_t brace = series.find('{');
  const std::string name = series.substr(0, brace);
  const bool name_ok = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                       name.find_first_not_of(
                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           "0123456789_:") == std::string::npos;
  if (brace == std::string::npos) return name_ok;
  const std::string labels = series.substr(brace);
  return name_ok && labels.back() == '}' && labels.find("=\"") != std::string::npos;
}

TEST_CASE("GET /healthz and GET /metrics") {
  ServerProcess server;
  Api api(server);
  Reply health = api.get("/healthz");
  CHECK_OK(health);
  Reply metrics = api.get("/metrics");
  REQUIRE(metrics.status == 200);
  CHECK(metrics.header("Content-Type").rfind("text/plain", 0) == 0);
  std::istringstream lines(metrics.body);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    ++samples;
    CHECK_MESSAGE(is_sample(line), line);
  }
  CHECK(samples > 0);
  CHECK(contains(metrics.body,
                 "reservoir_http_requests_total{route=\"healthz\",kind=\"other\",code=\"200\"} 1"));
  // The projection lag histogram (SPEC §4), read by `reservoir bench`.
  CHECK(contains(metrics.body, "# TYPE reservoir_projection_lag_seconds histogram\n"));
  CHECK(contains(metrics.body,
                 "reservoir_projection_lag_seconds_bucket{domain=\"concert\",le=\"0.05\"} "));
  CHECK(contains(metrics.body,
                 "reservoir_projection_lag_seconds_bucket{domain=\"concert\",le=\"+Inf\"} "));
  CHECK(contains(metrics.body, "reservoir_projection_lag_seconds_count{domain=\"concert\"} "));
}

TEST_CASE("serve: the writer runs at nice 10 unless --writer-priority normal") {
  ServerOptions lowered;
  lowered.no_demo();
  ServerProcess a(lowered);
  // Printed by the writer thread as it starts, possibly after "listening".
  CHECK_MESSAGE(eventually([&] {
                  return contains(a.stderr_text(),
                                  "event=thread_priority thread=rsv-writer priority=\"nice 10\"\n");
                }),
                a.stderr_text());
  CHECK_OK(Api(a).get("/healthz"));
  CHECK(a.terminate() == 0);

  ServerOptions normal;
  normal.no_demo();
  normal.flags = {"--writer-priority", "normal"};
  ServerProcess b(normal);
  CHECK_OK(Api(b).get("/healthz"));
  CHECK(b.terminate() == 0);
  CHECK_FALSE(contains(b.stderr_text(), "event=thread_priority thread=rsv-writer"));
}

// The stop signal can come at any moment of start-up; httplib drops a stop
// that comes while its accept loop is starting, which once left a server
// running for good after a SIGTERM sent just after "listening on".
TEST_CASE("SIGTERM right after start-up stops the server") {
  for (int round = 0; round < 20; ++round) {
    CAPTURE(round);
    TempDir dir;
    const std::string out = dir.path() + "/out.log", err = dir.path() + "/err.log";
    const pid_t pid =
        detail::spawn({"serve", "--data", dir.path() + "/data", "--port", "0"}, out, err);
    REQUIRE(pid > 0);
    // Polled tightly: the window between the line and the accept loop is short.
    bool listening = false;
    for (const auto deadline = Clock::now() + 20s; !listening && Clock::now() < deadline;) {
      listening = read_file(out).find("listening on") != std::string::npos;
      if (!listening) std::this_thread::sleep_for(100us);
    }
    ::kill(pid, SIGTERM);  // as soon as the line is out: serve() may not be running yet
    const std::optional<int> st = detail::wait_exit(pid, 10s);
    if (!st) {
      ::kill(pid, SIGKILL);
      detail::wait_exit(pid, 10s);
    }
    INFO("stderr:\n", read_file(err));
    REQUIRE(listening);
    REQUIRE_MESSAGE(st.has_value(), "the server did not stop within 10 s of SIGTERM");
    CHECK(*st == 0);
  }
}

TEST_CASE("answers are never compressed, whatever the client accepts") {
  ServerProcess server;
  Api api(server);
  for (const char* accepted : {"gzip, deflate, br", "br", "gzip"}) {
    Reply concerts = api.get("/api/v1/concerts", {{"Accept-Encoding", accepted}});
    CHECK_OK(concerts);
    CHECK_MESSAGE(concerts.header("Content-Encoding").empty(), accepted);
    CHECK(concerts.body.rfind("{\"result\":\"SUCCESS\"", 0) == 0);
  }
}

TEST_CASE("a query answered from the cache is sent whole, with its headers") {
  ServerProcess server;
  Api api(server);
  const std::string seats = "/api/v1/concerts/demo-concert/schedules/demo-schedule-1/seats";
  Reply first = api.get(seats);  // rendered, then kept
  CHECK_OK(first);
  for (int i = 0; i < 3; ++i) {  // from the cache: the kept body, not a copy
    Reply again = api.get(seats);
    CHECK(again.status == 200);
    CHECK(again.body == first.body);
    CHECK(again.header("Content-Type") == "application/json");
    CHECK(again.header("Content-Length") == std::to_string(first.body.size()));
  }
  const std::string metrics = api.get("/metrics").body;
  const std::string hits = "\nreservoir_query_cache_hits_total ";
  const size_t at = metrics.find(hits);
  REQUIRE(at != std::string::npos);
  CHECK(std::stoull(metrics.substr(at + hits.size())) >= 3);  // the path under test was taken
}

// -------------------------------------------------------- booking flow ---

void check_catalog(Api& api) {
  Reply concerts = api.get("/api/v1/concerts");
  CHECK_OK(concerts);
  REQUIRE(concerts.data().IsArray());
  REQUIRE(concerts.data().Size() == 2);  // by id: the numeric demo's "1", then demo-concert
  const Shape concert = {
      {"concertId", J::kString}, {"title", J::kString}, {"scheduleCount", J::kInt}};
  CHECK(shape_errors(concerts.data()[1], concert) == "");
  CHECK(str(concerts.data()[1], "concertId") == "demo-concert");
  CHECK(num(concerts.data()[1], "scheduleCount") == 2);
  Reply schedules = api.get("/api/v1/concerts/demo-concert/schedules");
  CHECK_OK(schedules);
  REQUIRE(schedules.data().Size() == 2);
  const Shape schedule = {
      {"concertScheduleId", J::kString}, {"date", J::kDate},          {"startsAt", J::kTime},
      {"reservationOpensAt", J::kTime},  {"availableSeats", J::kInt}, {"totalSeats", J::kInt}};
  for (const auto& s : schedules.data().GetArray()) {
    CHECK(shape_errors(s, schedule) == "");
    CHECK(str(s, "date") == str(s, "startsAt").substr(0, 10));
    CHECK(str(s, "reservationOpensAt") < str(s, "startsAt"));  // the demo opens at once
    CHECK(num(s, "availableSeats") == 50);
    CHECK(num(s, "totalSeats") == 50);
  }
}

void check_seat_list(Api& api) {
  Reply seats = api.seats(kSchedule1);
  CHECK_OK(seats);
  REQUIRE(seats.data().Size() == 50);
  const Shape seat = {
      {"seatId", J::kString}, {"number", J::kInt}, {"price", J::kInt}, {"status", J::kString}};
  int64_t last = INT64_MIN;
  for (const auto& s : seats.data().GetArray()) {
    CHECK(shape_errors(s, seat) == "");
    CHECK(num(s, "number") > last);
    last = num(s, "number");
    CHECK(str(s, "status") == "AVAILABLE");
  }
  CHECK(str(seats.data()[0], "seatId") == "A1");
  CHECK(num(seats.data()[0], "price") == 150000);
}

int64_t available_seats(Api& api, const std::string& schedule) {
  Reply r = api.get("/api/v1/concerts/demo-concert/schedules");
  REQUIRE_MESSAGE(r.ok(), r.text());
  for (const auto& s : r.data().GetArray()) {
    if (str(s, "concertScheduleId") == schedule) return num(s, "availableSeats");
  }
  return -1;
}

void check_reservation(const rapidjson::Value& r, const std::string& status) {
  CHECK(shape_errors(r, kReservationShape) == "");
  CHECK(str(r, "status") == status);
  for (const auto& seat : r["seats"].GetArray())
    CHECK(shape_errors(seat, kReservedSeatShape) == "");
}

// Token: ACTIVE at once, the same token on a second request, and the
// status query agrees. Returns the token.
std::string flow_token(Api& api) {
  Reply token = api.token("alice");
  CHECK_OK(token);
  CHECK(shape_errors(token.data(), kTokenShape) == "");
  CHECK(str(token.data(), "tokenStatus") == "ACTIVE");
  CHECK(num(token.data(), "position") == 0);
  CHECK(num(token.data(), "estimatedWaitSeconds") == 0);
  const std::string tok = str(token.data(), "token");
  CHECK(str(api.token("alice").data(), "token") == tok);  // a live token comes back
  Reply status = api.status(tok);
  CHECK_OK(status);
  CHECK(shape_errors(status.data(), kTokenShape) == "");
  CHECK(num(status.data(), "position") == 0);
  CHECK(str(status.data(), "expiresAt") == str(token.data(), "expiresAt"));
  return tok;
}

// Holds A1+A2 and checks the reply and the seat views. Returns its id.
std::string flow_hold(Api& api, const std::string& tok) {
  Reply hold = api.hold(tok, kSchedule1, {"A1", "A2"});
  CHECK_OK(hold);
  check_reservation(hold.data(), "PENDING_PAYMENT");
  CHECK(str(hold.data(), "userId") == "alice");
  CHECK(str(hold.data(), "concertScheduleId") == kSchedule1);
  CHECK(num(hold.data(), "totalPrice") == 300000);
  CHECK(hold.data()["seats"].Size() == 2);
  CHECK(is_null(hold.data(), "paidAt"));
  CHECK(str(hold.data(), "expiresAt") > str(hold.data(), "createdAt"));
  CHECK(api.seat_status(kSchedule1, "A1") == "HELD");
  CHECK(available_seats(api, kSchedule1) == 48);
  Reply available =
      api.get("/api/v1/concerts/demo-concert/schedules/demo-schedule-1/seats?status=AVAILABLE");
  CHECK_OK(available);
  CHECK(available.data().Size() == 48);
  return str(hold.data(), "reservationId");
}

// Charges 1000, pays the hold, and checks that the token is spent.
// Returns the payment reply's paidAt.
std::string flow_pay(Api& api, const std::string& tok, const std::string& rid) {
  Reply charge = api.charge("alice", 1000);
  CHECK_OK(charge);
  CHECK(shape_errors(charge.data(), kBalanceShape) == "");
  CHECK(num(charge.data(), "balance") == 501000);
  Reply pay = api.pay(tok, rid);
  CHECK_OK(pay);
  CHECK(shape_errors(pay.data(), kPaymentShape) == "");
  CHECK(str(pay.data(), "status") == "COMPLETED");
  CHECK(num(pay.data(), "amount") == 300000);
  CHECK(num(pay.data(), "balance") == 201000);
  CHECK(str(pay.data(), "reservationId") == rid);
  CHECK(api.balance_of("alice") == 201000);
  CHECK(api.seat_status(kSchedule1, "A1") == "SOLD");
  Reply spent = api.status(tok);
  CHECK_OK(spent);
  CHECK(shape_errors(spent.data(), kTokenShape) == "");
  CHECK(str(spent.data(), "tokenStatus") == "EXPIRED");
  CHECK(is_null(spent.data(), "position"));
  CHECK(is_null(spent.data(), "estimatedWaitSeconds"));
  CHECK(is_time(spent.data()["expiresAt"]));
  CHECK_ERROR(api.hold(tok, kSchedule1, {"A3"}), 401, "TOKEN_EXPIRED");
  return str(pay.data(), "paidAt");
}

// The reservation, the reservation list and the payment list.
void flow_history(Api& api, const std::string& tok, const std::string& rid,
                  const std::string& paid_at) {
  Reply read = api.reservation(tok, rid);
  CHECK_OK(read);
  check_reservation(read.data(), "CONFIRMED");
  CHECK(str(read.data(), "paidAt") == paid_at);
  Reply list = api.reservations("alice");
  CHECK_OK(list);
  CHECK(shape_errors(list.data(), kPageShape) == "");
  REQUIRE(list.data()["items"].Size() == 1);
  check_reservation(list.data()["items"][0], "CONFIRMED");
  CHECK(is_null(list.data(), "nextCursor"));
  Reply payments = api.payments("alice");
  CHECK_OK(payments);
  CHECK(shape_errors(payments.data(), kPageShape) == "");
  REQUIRE(payments.data()["items"].Size() == 1);
  CHECK(shape_errors(payments.data()["items"][0], kPaymentItemShape) == "");
  CHECK(str(payments.data()["items"][0], "status") == "COMPLETED");
  CHECK(num(payments.data()["items"][0], "amount") == 300000);
}

void flow_refund(Api& api, const std::string& tok, const std::string& rid) {
  Reply refund = api.cancel(tok, rid);
  CHECK_OK(refund);
  check_reservation(refund.data(), "REFUNDED");
  CHECK(api.balance_of("alice") == 501000);
  CHECK(api.seat_status(kSchedule1, "A1") == "AVAILABLE");
  CHECK(available_seats(api, kSchedule1) == 50);
  check_reservation(api.reservation(tok, rid).data(), "REFUNDED");
  CHECK_ERROR(api.cancel(tok, rid), 409, "RESERVATION_CANCELLED");
  CHECK_ERROR(api.pay(tok, rid), 409, "ALREADY_PAID");
}

TEST_CASE("booking flow: token, schedules, seats, hold, charge, pay, history, refund") {
  ServerProcess server;
  Api api(server);
  const std::string tok = flow_token(api);
  check_catalog(api);
  check_seat_list(api);
  const std::string rid = flow_hold(api, tok);
  const std::string paid_at = flow_pay(api, tok, rid);
  const std::string tok2 = api.active_token("alice");
  CHECK(tok2 != tok);
  flow_history(api, tok2, rid, paid_at);
  flow_refund(api, tok2, rid);
}

// ---------------------------------------------------------------- holds ---

TEST_CASE("POST /api/v1/reservations: token, lookup and seat errors") {
  ServerProcess server;
  Api api(server);
  const std::string alice = api.active_token("alice"), bob = api.active_token("bob");
  const std::string body = R"({"concertScheduleId":"demo-schedule-1","seatId":"A1"})";
  CHECK_ERROR(api.post("/api/v1/reservations", body), 401, "INVALID_TOKEN");
  CHECK_ERROR(api.post("/api/v1/reservations", body, {{"Queue-Token", kUnknownToken}}), 401,
              "INVALID_TOKEN");
  CHECK_ERROR(api.hold(alice, "no-such-schedule", {"A1"}), 404, "SCHEDULE_NOT_FOUND");
  CHECK_ERROR(api.hold(alice, kSchedule1, {"Z99"}), 404, "SEAT_NOT_FOUND");
  CHECK_ERROR(api.post("/api/v1/reservations",
                       R"({"concertScheduleId":"demo-schedule-1","seatId":"A1","userId":"bob"})",
                       {{"Queue-Token", alice}}),
              403, "FORBIDDEN");
  Reply one = api.post("/api/v1/reservations", body, {{"Queue-Token", alice}});
  CHECK_OK(one);
  CHECK(one.data()["seats"].Size() == 1);
  // All or nothing: B1 is free but A1 is not, so nothing is held.
  CHECK_ERROR(api.hold(bob, kSchedule1, {"B1", "A1"}), 409, "SEAT_UNAVAILABLE");
  CHECK(api.seat_status(kSchedule1, "B1") == "AVAILABLE");
  CHECK_ERROR(api.hold(bob, kSchedule1, {"A1"}), 409, "SEAT_UNAVAILABLE");
}

TEST_CASE("POST /api/v1/reservations: seat counts and --max-seats") {
  ServerProcess server;
  Api api(server);
  const std::string tok = api.active_token("alice");
  CHECK_ERROR(api.hold(tok, kSchedule1, {"C1", "C2", "C3", "C4", "C5"}), 400, "INVALID_REQUEST");
  CHECK_ERROR(api.hold(tok, kSchedule1, {"C1", "C1"}), 400, "INVALID_REQUEST");
  CHECK_ERROR(api.hold(tok, kSchedule1, {}), 400, "INVALID_REQUEST");
  CHECK_ERROR(api.post("/api/v1/reservations",
                       R"({"concertScheduleId":"demo-schedule-1","seatId":"C1","seatIds":["C2"]})",
                       {{"Queue-Token", tok}}),
              400, "INVALID_REQUEST");
  Reply missing = api.post("/api/v1/reservations", R"({"seatId":"C1"})", {{"Queue-Token", tok}});
  CHECK_ERROR(missing, 400, "INVALID_REQUEST");
  CHECK(contains(missing.message(), "concertScheduleId"));
  CHECK_OK(api.hold(tok, kSchedule1, {"C1"}));
  CHECK_OK(api.hold(tok, kSchedule1, {"C2", "C3", "C4"}));
  CHECK_ERROR(api.hold(tok, kSchedule1, {"C5"}), 409, "SEAT_LIMIT_EXCEEDED");
  CHECK(api.seat_status(kSchedule1, "C5") == "AVAILABLE");
  CHECK_OK(api.hold(tok, kSchedule2, {"C5"}));  // the limit is per schedule
}

TEST_CASE("reservations: read, cancel and pay errors") {
  ServerProcess server;
  Api api(server);
  const std::string alice = api.active_token("alice"), bob = api.active_token("bob");
  const std::string rid = api.hold_ok(alice, kSchedule1, {"A1"});
  CHECK_ERROR(api.reservation(bob, rid), 403, "FORBIDDEN");
  CHECK_ERROR(api.cancel(bob, rid), 403, "FORBIDDEN");
  CHECK_ERROR(api.pay(bob, rid), 403, "FORBIDDEN");
  CHECK_ERROR(api.get("/api/v1/reservations/" + rid), 401, "INVALID_TOKEN");
  CHECK_ERROR(api.reservation(kUnknownToken, rid), 401, "INVALID_TOKEN");
  CHECK_ERROR(api.reservation(alice, "no-such-reservation"), 404, "RESERVATION_NOT_FOUND");
  CHECK_ERROR(api.pay(alice, "no-such-reservation"), 404, "RESERVATION_NOT_FOUND");
  CHECK_ERROR(api.cancel(alice, "no-such-reservation"), 404, "RESERVATION_NOT_FOUND");
  CHECK_ERROR(
      api.post("/api/v1/payments", "{\"reservationId\":" + quoted(rid) + ",\"userId\":\"bob\"}",
               {{"Queue-Token", alice}}),
      403, "FORBIDDEN");
  Reply read = api.reservation(alice, rid);
  CHECK_OK(read);
  check_reservation(read.data(), "PENDING_PAYMENT");
  Reply cancel = api.cancel(alice, rid);
  CHECK_OK(cancel);
  check_reservation(cancel.data(), "CANCELLED");
  CHECK(api.seat_status(kSchedule1, "A1") == "AVAILABLE");
  check_reservation(api.reservation(alice, rid).data(), "CANCELLED");
  CHECK_ERROR(api.cancel(alice, rid), 409, "RESERVATION_CANCELLED");
  CHECK_ERROR(api.pay(alice, rid), 409, "RESERVATION_CANCELLED");
  CHECK(api.balance_of("alice") == 500000);
}

TEST_CASE("POST /api/v1/payments: INSUFFICIENT_BALANCE changes nothing") {
  ServerProcess server;
  Api api(server);
  const std::string tok = api.active_token("carol");
  const std::string rid = api.hold_ok(tok, kSchedule1, {"A1", "A2", "A3", "A4"});  // 600000
  CHECK_ERROR(api.pay(tok, rid), 409, "INSUFFICIENT_BALANCE");
  CHECK(api.balance_of("carol") == 500000);
  CHECK(api.seat_status(kSchedule1, "A1") == "HELD");
  CHECK(str(api.status(tok).data(), "tokenStatus") == "ACTIVE");
  check_reservation(api.reservation(tok, rid).data(), "PENDING_PAYMENT");
  CHECK_OK(api.charge("carol", 100000));
  Reply pay = api.pay(tok, rid);
  CHECK_OK(pay);
  CHECK(num(pay.data(), "balance") == 0);
}

// -------------------------------------------------------------- balance ---

TEST_CASE("balance: GET /api/v1/balance and POST /api/v1/balance/charge errors") {
  ServerProcess server;
  Api api(server);
  Reply b = api.balance("alice");
  CHECK_OK(b);
  CHECK(shape_errors(b.data(), kBalanceShape) == "");
  CHECK(num(b.data(), "balance") == 500000);
  CHECK_ERROR(api.balance("nobody"), 404, "USER_NOT_FOUND");
  CHECK_ERROR(api.get("/api/v1/balance"), 400, "INVALID_REQUEST");
  const char* path = "/api/v1/balance/charge";
  for (const char* amount : {"0", "-5", "1.5", "1e400", "1000000001", "1e10"}) {
    CAPTURE(amount);
    CHECK_ERROR(api.post(path, charge_body("alice", amount)), 400, "INVALID_AMOUNT");
  }
  for (const char* amount : {"\"5\"", "null", "true", "[5]", "{}"}) {
    CAPTURE(amount);
    Reply r = api.post(path, charge_body("alice", amount));
    CHECK_ERROR(r, 400, "INVALID_REQUEST");
    CHECK(contains(r.message(), "amount"));
  }
  Reply no_amount = api.post(path, R"({"userId":"alice"})");
  CHECK_ERROR(no_amount, 400, "INVALID_REQUEST");
  CHECK(contains(no_amount.message(), "amount"));
  Reply no_user = api.post(path, R"({"amount":5})");
  CHECK_ERROR(no_user, 400, "INVALID_REQUEST");
  CHECK(contains(no_user.message(), "userId"));
  CHECK_ERROR(api.charge("nobody", 5), 404, "USER_NOT_FOUND");
  CHECK(api.balance_of("alice") == 500000);
  CHECK_OK(api.charge("alice", 1000000000));
  CHECK(api.balance_of("alice") == 1000500000);
}

TEST_CASE("balance: a charge or refund that would cross 10^12 is BALANCE_LIMIT_EXCEEDED") {
  ServerProcess server(ServerOptions().admin(kAdmin));
  Api api(server);
  create_users(api, kAdmin, {"rich"});
  CHECK_OK(api.charge("rich", 150000));
  const std::string tok = api.active_token("rich");
  const std::string rid = api.hold_ok(tok, kSchedule1, {"A1"});
  CHECK_OK(api.pay(tok, rid));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Api mine(server);
      for (int i = t; i < 1000; i += 8) {
        if (!mine.charge("rich", 1000000000).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(api.balance_of("rich") == 1000000000000LL);
  CHECK_ERROR(api.charge("rich", 1), 409, "BALANCE_LIMIT_EXCEEDED");
  CHECK_ERROR(api.cancel(api.active_token("rich"), rid), 409, "BALANCE_LIMIT_EXCEEDED");
  CHECK(api.balance_of("rich") == 1000000000000LL);
  CHECK(api.seat_status(kSchedule1, "A1") == "SOLD");
}

// ------------------------------------------------------------ bad input ---

// Every bad request below is answered in the envelope, and the next
// request on the same client succeeds.
struct BadInput {
  Api& api;
  void expect(const Reply& r, int status, const char* code, const char* names = nullptr) {
    CHECK_ERROR(r, status, code);
    if (names) CHECK_MESSAGE(contains(r.message(), names), r.text());
    CHECK_OK(api.get("/healthz"));
  }
};

TEST_CASE("bad input: error envelope, no state change, connection stays usable") {
  ServerProcess server;
  Api api(server);
  BadInput bad{api};
  const std::string charge = "/api/v1/balance/charge";
  bad.expect(api.post(charge, "{not json"), 400, "INVALID_REQUEST");
  bad.expect(api.post(charge, "[1,2]"), 400, "INVALID_REQUEST");
  bad.expect(api.post(charge, ""), 400, "INVALID_REQUEST");
  bad.expect(api.post(charge, R"({"userId":5,"amount":1})"), 400, "INVALID_REQUEST", "userId");
  bad.expect(api.post(charge, R"({"userId":"bad id!","amount":1})"), 400, "INVALID_REQUEST");
  bad.expect(api.post("/api/v1/queue/token", R"({"userId":["alice"]})"), 400, "INVALID_REQUEST",
             "userId");
  bad.expect(api.post("/api/v1/queue/token", R"({})"), 400, "INVALID_REQUEST", "userId");
  bad.expect(api.post("/api/v1/payments", R"({})", {{"Queue-Token", kUnknownToken}}), 400,
             "INVALID_REQUEST", "reservationId");
  bad.expect(api.post(charge, charge_body("alice", "1") + std::string(70 * 1024, ' ')), 413,
             "PAYLOAD_TOO_LARGE");
  bad.expect(api.send("POST", charge, charge_body("alice", "1"), {}, std::nullopt), 415,
             "UNSUPPORTED_MEDIA_TYPE");
  bad.expect(api.send("POST", charge, charge_body("alice", "1"), {}, "text/plain"), 415,
             "UNSUPPORTED_MEDIA_TYPE");
  bad.expect(api.send("POST", charge, charge_body("alice", "1"), {}, "application/jsonx"), 415,
             "UNSUPPORTED_MEDIA_TYPE");
  bad.expect(api.get("/api/v1/nope"), 404, "NOT_FOUND");
  bad.expect(api.get("/nope"), 404, "NOT_FOUND");
  bad.expect(api.send("PUT", charge, charge_body("alice", "1")), 405, "METHOD_NOT_ALLOWED");
  bad.expect(api.del("/api/v1/concerts"), 405, "METHOD_NOT_ALLOWED");
  bad.expect(api.post("/api/v1/concerts", "{}"), 405, "METHOD_NOT_ALLOWED");
  bad.expect(api.get("/api/v1/payments"), 405, "METHOD_NOT_ALLOWED");
  bad.expect(api.get("/api/v1/users/bad$id/payments"), 400, "INVALID_REQUEST");
  bad.expect(api.charge("alice", 1, "bad key!"), 400, "INVALID_REQUEST");
  bad.expect(api.post(charge, std::string(65000, '[')), 400, "INVALID_REQUEST");
  bad.expect(api.post(charge, "{\"amount\":" + std::string(60000, '[')), 400, "INVALID_REQUEST");
  bad.expect(api.post(charge, R"({"userId":"alice","amount":1e400})"), 400, "INVALID_AMOUNT");
  CHECK(api.balance_of("alice") == 500000);  // nothing above changed state
  Reply charset =
      api.send("POST", charge, charge_body("alice", "1"), {}, "application/json; charset=utf-8");
  CHECK_OK(charset);
  CHECK(api.balance_of("alice") == 500001);
  CHECK(!contains(api.get("/metrics").body, "code=\"other\""));  // no 500s
}

TEST_CASE("bad input: the server keeps the TCP connection open after an error") {
  ServerProcess server;
  RawHttp raw(server.port());
  const std::string health = RawHttp::request("GET", "/healthz", "", "");
  const std::string charge = "/api/v1/balance/charge";
  const std::vector<std::pair<std::string, int>> bad = {
      {RawHttp::request("POST", charge, "{not json"), 400},
      {RawHttp::request("POST", charge, std::string(70 * 1024, 'x')), 413},
      {RawHttp::request("POST", charge, charge_body("alice", "1"), "Content-Type: text/plain\r\n"),
       415},
      {RawHttp::request("GET", "/api/v1/nope", "", ""), 404},
      {RawHttp::request("DELETE", "/api/v1/concerts", "", ""), 405},
      {RawHttp::request("POST", charge, charge_body("alice", "0")), 400},
  };
  for (const auto& [request, status] : bad) {
    CAPTURE(status);
    RawHttp::Response r = raw.exchange(request);
    CHECK(r.status == status);
    CHECK(contains(r.body, "\"result\":\"ERROR\""));
    CHECK(raw.exchange(health).status == 200);
  }
}

// Methods without a route: with or without a body, a known path answers
// 405 METHOD_NOT_ALLOWED in the envelope.
TEST_CASE("bad input: any other method on a known path is 405 METHOD_NOT_ALLOWED") {
  ServerProcess server;
  Api api(server);
  for (std::string method : {"PUT", "PATCH", "OPTIONS", "TRACE"}) {
    CAPTURE(method);
    CHECK_ERROR(api.send(method, "/api/v1/concerts", ""), 405, "METHOD_NOT_ALLOWED");
    CHECK_ERROR(api.send(method, "/api/v1/concerts", "{}", {}, "application/json"), 405,
                "METHOD_NOT_ALLOWED");
    CHECK_OK(api.get("/healthz"));
  }
}

// A body the server does not read must not be taken for the next request
// on the connection (request smuggling): here a GET (or OPTIONS) carries a
// whole charge request as its body, sent in a later TCP segment.
TEST_CASE("bad input: the body of a GET or OPTIONS is never executed as a request") {
  ServerProcess server;
  const std::string smuggled =
      RawHttp::request("POST", "/api/v1/balance/charge", charge_body("alice", "1000"));
  const std::pair<std::string, std::string> ways[] = {
      {"GET", "Content-Length"}, {"OPTIONS", "Content-Length"}, {"GET", "content-length"}};
  for (const auto& [method, length_header] : ways) {
    CAPTURE(method);
    CAPTURE(length_header);
    RawHttp raw(server.port());
    const std::string head = method + " /api/v1/balance?userId=alice HTTP/1.1\r\nHost: x\r\n" +
                             length_header + ": " + std::to_string(smuggled.size()) + "\r\n\r\n";
    RawHttp::Response first = raw.exchange_split(head, smuggled);
    CHECK(first.status != 0);
    RawHttp::Response next = raw.exchange(RawHttp::request("GET", "/healthz", "", ""));
    CHECK_MESSAGE((next.status == 200 || next.status == 0), next.head << "\n" << next.body);
    if (next.status == 200) CHECK(contains(next.body, "\"UP\""));  // the answer to /healthz
    CHECK_MESSAGE(Api(server).balance_of("alice") == 500000,
                  "the body of the " << method << " was executed as a charge request");
  }
}

TEST_CASE("headers: names are matched whatever their case") {
  ServerProcess server;
  Api api(server);
  const std::string body = charge_body("alice", "7");
  Reply first = api.post("/api/v1/balance/charge", body, {{"idempotency-key", "k1"}});
  CHECK_OK(first);
  Reply again = api.post("/api/v1/balance/charge", body, {{"IDEMPOTENCY-KEY", "k1"}});
  CHECK(again.body == first.body);
  CHECK(api.balance_of("alice") == 500007);  // the retry was recognised as one
  const std::string alice = api.active_token("alice");
  const std::string hold = R"({"concertScheduleId":"demo-schedule-1","seatId":"A1"})";
  CHECK_OK(api.post("/api/v1/reservations", hold, {{"queue-TOKEN", alice}}));
  CHECK(api.seat_status(kSchedule1, "A1") != "AVAILABLE");
}

// ---------------------------------------------------------- idempotency ---

TEST_CASE("Idempotency-Key: a retry gets the first answer; another request gets 422") {
  ServerProcess server;
  Api api(server);
  Reply first = api.charge("alice", 7, "k1");
  CHECK_OK(first);
  Reply again = api.charge("alice", 7, "k1");
  CHECK(again.status == first.status);
  CHECK(again.body == first.body);
  Reply reordered =
      api.post("/api/v1/balance/charge", "{ \"amount\" : 7 ,\n  \"userId\":\"alice\" }",
               {{"Idempotency-Key", "k1"}});
  CHECK(reordered.status == 200);
  CHECK(reordered.body == first.body);
  CHECK(api.balance_of("alice") == 500007);
  CHECK_ERROR(api.charge("alice", 8, "k1"), 422, "IDEMPOTENCY_KEY_REUSED");
  CHECK_ERROR(api.post("/api/v1/queue/token", R"({"userId":"alice"})", {{"Idempotency-Key", "k1"}}),
              422, "IDEMPOTENCY_KEY_REUSED");
  CHECK(api.balance_of("alice") == 500007);
  // Keys are scoped per user: bob's k1 is a new key.
  Reply bob = api.charge("bob", 9, "k1");
  CHECK_OK(bob);
  CHECK(num(bob.data(), "balance") == 500009);
  // Keys: 1-64 characters of [A-Za-z0-9._:-].
  CHECK_ERROR(api.charge("alice", 1, "bad key"), 400, "INVALID_REQUEST");
  CHECK_ERROR(api.charge("alice", 1, std::string(65, 'k')), 400, "INVALID_REQUEST");
  CHECK_OK(api.charge("alice", 1, std::string(64, 'k')));
  CHECK_OK(api.charge("alice", 1, "A.z_0:9-x"));
  CHECK(api.balance_of("alice") == 500009);
  // A 400 is not remembered: the key stays free.
  CHECK_ERROR(api.charge("alice", 0, "k2"), 400, "INVALID_AMOUNT");
  CHECK_OK(api.charge("alice", 5, "k2"));
  CHECK(api.balance_of("alice") == 500014);
}

TEST_CASE("Idempotency-Key: 409s are remembered, hold keys are per user") {
  ServerProcess server;
  Api api(server);
  const std::string alice = api.active_token("alice"), bob = api.active_token("bob"),
                    carol = api.active_token("carol");
  const std::string rid = api.hold_ok(alice, kSchedule1, {"A1"});
  Reply refused = api.hold(bob, kSchedule1, {"A1"}, "bob-a1");
  CHECK_ERROR(refused, 409, "SEAT_UNAVAILABLE");
  CHECK_OK(api.cancel(alice, rid));
  Reply replayed = api.hold(bob, kSchedule1, {"A1"}, "bob-a1");
  CHECK(replayed.status == 409);
  CHECK(replayed.body == refused.body);
  CHECK(api.seat_status(kSchedule1, "A1") == "AVAILABLE");
  // The same key, path and body from another user executes afresh.
  CHECK_OK(api.hold(alice, kSchedule1, {"C1"}, "same"));
  CHECK_ERROR(api.hold(carol, kSchedule1, {"C1"}, "same"), 409, "SEAT_UNAVAILABLE");
  // Path ids count: the same key on another reservation is 422.
  const std::string c2 = api.hold_ok(carol, kSchedule1, {"C2"});
  const std::string c3 = api.hold_ok(carol, kSchedule1, {"C3"});
  CHECK_OK(api.cancel(carol, c2, "cancel"));
  CHECK_ERROR(api.cancel(carol, c3, "cancel"), 422, "IDEMPOTENCY_KEY_REUSED");
  CHECK(api.seat_status(kSchedule1, "C3") == "HELD");
}

TEST_CASE("Idempotency-Key: answers survive token expiry, SIGTERM and kill -9") {
  ServerProcess server;
  auto api = std::make_unique<Api>(server);
  const std::string tok = api->active_token("alice");
  Reply hold = api->hold(tok, kSchedule1, {"D1"}, "hold-d1");
  CHECK_OK(hold);
  Reply pay = api->pay(tok, str(hold.data(), "reservationId"), "pay-d1");
  CHECK_OK(pay);  // the token is now EXPIRED
  Reply charge = api->charge("alice", 123, "charge-1");
  CHECK_OK(charge);
  auto check_replays = [&] {
    Reply h = api->hold(tok, kSchedule1, {"D1"}, "hold-d1");
    CHECK(h.status == 200);
    CHECK(h.body == hold.body);
    Reply p = api->pay(tok, str(hold.data(), "reservationId"), "pay-d1");
    CHECK(p.status == 200);
    CHECK(p.body == pay.body);
    Reply c = api->charge("alice", 123, "charge-1");
    CHECK(c.status == 200);
    CHECK(c.body == charge.body);
    CHECK(api->balance_of("alice") == 500000 - 100000 + 123);
  };
  check_replays();
  // The key check comes before TOKEN_EXPIRED: a different body is 422.
  CHECK_ERROR(api->hold(tok, kSchedule1, {"D2"}, "hold-d1"), 422, "IDEMPOTENCY_KEY_REUSED");
  CHECK_ERROR(api->hold(tok, kSchedule1, {"D2"}, "hold-d2"), 401, "TOKEN_EXPIRED");
  api.reset();  // an idle keep-alive connection would delay the shutdown
  CHECK(server.terminate() == 0);
  server.start();
  api = std::make_unique<Api>(server);
  check_replays();
  server.kill9();
  server.start();
  api = std::make_unique<Api>(server);
  check_replays();
}

// ---------------------------------------------------------------- admin ---

const std::string kItConcert = R"({"concertId":"it-concert","title":"IT","schedules":[
  {"concertScheduleId":"it-s1","startsAt":"2099-06-01T19:00:00Z",
   "seats":[{"seatId":"X1","number":1,"price":10},{"seatId":"X2","number":2,"price":20}]},
  {"concertScheduleId":"it-past","startsAt":"2020-01-01T00:00:00Z",
   "seats":[{"seatId":"P1","number":1,"price":10}]}]})";

TEST_CASE("admin: 403 ADMIN_DISABLED without --admin-key") {
  ServerProcess server;
  Api api(server);
  CHECK_ERROR(api.admin_user("anything", "u1"), 403, "ADMIN_DISABLED");
  CHECK_ERROR(api.post("/api/v1/admin/users", R"({"userId":"u1"})"), 403, "ADMIN_DISABLED");
  CHECK_ERROR(api.admin_concert("", kItConcert), 403, "ADMIN_DISABLED");
  CHECK(api.get("/api/v1/concerts").data().Size() == 2);  // the demo's two
}

TEST_CASE("admin: users") {
  ServerProcess server(ServerOptions().admin(kAdmin));
  Api api(server);
  CHECK_ERROR(api.post("/api/v1/admin/users", R"({"userId":"u-1"})"), 401, "ADMIN_KEY_REQUIRED");
  CHECK_ERROR(api.admin_user("wrong", "u-1"), 401, "ADMIN_KEY_REQUIRED");
  CHECK_ERROR(api.admin_user(kAdmin.substr(1), "u-1"), 401, "ADMIN_KEY_REQUIRED");
  CHECK_ERROR(api.admin_user(kAdmin + "x", "u-1"), 401, "ADMIN_KEY_REQUIRED");
  Reply created = api.post("/api/v1/admin/users", R"({"userId":"u-1","name":"User One"})",
                           {{"Admin-Key", kAdmin}});
  CHECK_OK(created);
  CHECK(shape_errors(created.data(), {{"userId", J::kString}}) == "");
  CHECK(str(created.data(), "userId") == "u-1");
  CHECK_ERROR(api.admin_user(kAdmin, "u-1"), 409, "USER_EXISTS");
  CHECK_ERROR(api.admin_user(kAdmin, "alice"), 409, "USER_EXISTS");
  CHECK_ERROR(api.admin_user(kAdmin, "bad id"), 400, "INVALID_REQUEST");
  CHECK_ERROR(api.admin_user(kAdmin, std::string(65, 'u')), 400, "INVALID_REQUEST");
  CHECK(api.balance_of("u-1") == 0);
  CHECK(!api.active_token("u-1").empty());
}

bool is_valid_id(const std::string& id) {
  return !id.empty() && id.size() <= 64 &&
         id.find_first_not_of(
             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ==
             std::string::npos;
}

TEST_CASE("admin: concerts with generated ids") {
  ServerProcess server(ServerOptions().admin(kAdmin));
  Api api(server);
  Reply r = api.admin_concert(
      kAdmin, R"({"title":"Generated","schedules":[{"startsAt":")" + future_time() +
                  R"(","seats":[{"number":1,"price":1000},{"number":2,"price":2000}]}]})");
  CHECK_OK(r);
  CHECK(shape_errors(r.data(), {{"concertId", J::kString}, {"schedules", J::kArray}}) == "");
  const std::string concert = str(r.data(), "concertId");
  CHECK(is_valid_id(concert));
  REQUIRE(r.data()["schedules"].Size() == 1);
  const auto& s = r.data()["schedules"][0];
  CHECK(shape_errors(s, {{"concertScheduleId", J::kString}, {"seats", J::kArray}}) == "");
  const std::string schedule = str(s, "concertScheduleId");
  CHECK(is_valid_id(schedule));
  REQUIRE(s["seats"].Size() == 2);
  std::set<std::string> seat_ids;
  for (const auto& seat : s["seats"].GetArray()) {
    CHECK(shape_errors(seat, {{"seatId", J::kString}, {"number", J::kInt}}) == "");
    CHECK(is_valid_id(str(seat, "seatId")));
    seat_ids.insert(str(seat, "seatId"));
  }
  CHECK(seat_ids.size() == 2);
  Reply seats = api.seats(schedule, concert);
  CHECK_OK(seats);
  REQUIRE(seats.data().Size() == 2);
  CHECK(num(seats.data()[1], "price") == 2000);
  Reply concerts = api.get("/api/v1/concerts");
  CHECK(concerts.data().Size() == 3);
}

TEST_CASE("admin: concert errors, schedule filters and closed schedules") {
  ServerProcess server(ServerOptions().admin(kAdmin));
  Api api(server);
  CHECK_OK(api.admin_concert(kAdmin, kItConcert));
  CHECK_ERROR(api.admin_concert(kAdmin, kItConcert), 409, "CONCERT_EXISTS");
  const std::string reuse =
      R"({"concertId":"other","title":"o","schedules":[{"concertScheduleId":"it-s1",
    "startsAt":"2099-01-01T00:00:00Z","seats":[{"number":1,"price":1}]}]})";
  CHECK_ERROR(api.admin_concert(kAdmin, reuse), 409, "CONCERT_EXISTS");
  const std::string repeated = R"({"title":"r","schedules":[{"startsAt":"2099-01-01T00:00:00Z",
    "seats":[{"seatId":"S","number":1,"price":1},{"seatId":"S","number":2,"price":1}]}]})";
  CHECK_ERROR(api.admin_concert(kAdmin, repeated), 400, "INVALID_REQUEST");
  const std::string bad_time = R"({"title":"r","schedules":[{"startsAt":"tomorrow",
    "seats":[{"number":1,"price":1}]}]})";
  CHECK_ERROR(api.admin_concert(kAdmin, bad_time), 400, "INVALID_REQUEST");
  Reply no_title = api.admin_concert(kAdmin, R"({"schedules":[]})");
  CHECK_ERROR(no_title, 400, "INVALID_REQUEST");
  CHECK(contains(no_title.message(), "title"));
  CHECK(api.get("/api/v1/concerts").data().Size() == 3);  // nothing above was created

  const std::string base = "/api/v1/concerts/it-concert/schedules";
  CHECK(api.get(base).data().Size() == 2);
  Reply open = api.get(base + "?status=AVAILABLE");
  CHECK_OK(open);
  REQUIRE(open.data().Size() == 1);
  CHECK(str(open.data()[0], "concertScheduleId") == "it-s1");
  CHECK_ERROR(api.get(base + "?status=SOLD"), 400, "INVALID_REQUEST");
  CHECK_ERROR(api.get("/api/v1/concerts/nope/schedules"), 404, "CONCERT_NOT_FOUND");
  CHECK_ERROR(api.seats("it-s1", "nope"), 404, "CONCERT_NOT_FOUND");
  CHECK_ERROR(api.seats("nope", "it-concert"), 404, "SCHEDULE_NOT_FOUND");
  CHECK_ERROR(api.seats("it-s1", kConcert), 404, "SCHEDULE_NOT_FOUND");

  const std::string tok = api.active_token("alice");
  CHECK_ERROR(api.hold(tok, "it-past", {"P1"}), 409, "SCHEDULE_CLOSED");
  CHECK_ERROR(api.hold(tok, kSchedule1, {"X1"}), 404, "SEAT_NOT_FOUND");
  CHECK_OK(api.hold(tok, "it-s1", {"X1", "X2"}));
  CHECK(api.get(base + "?status=AVAILABLE").data().Size() == 0);
}

// ---------------------------------------------------------------- queue ---

std::string token_status(Api& api, const std::string& token) {
  return str(api.status(token).data(), "tokenStatus");
}

TEST_CASE("queue: FIFO admission with --active-tokens 1") {
  ServerProcess server(ServerOptions().with({"--active-tokens", "1"}));
  Api api(server);
  const std::string alice = api.active_token("alice");
  Reply bob = api.token("bob");
  CHECK_OK(bob);
  CHECK(shape_errors(bob.data(), kTokenShape) == "");
  CHECK(str(bob.data(), "tokenStatus") == "WAITING");
  CHECK(num(bob.data(), "position") == 1);
  CHECK(num(bob.data(), "estimatedWaitSeconds") >= 0);
  CHECK(is_null(bob.data(), "expiresAt"));
  const std::string bob_tok = str(bob.data(), "token");
  CHECK(str(api.token("bob").data(), "token") == bob_tok);
  Reply carol = api.token("carol");
  CHECK(num(carol.data(), "position") == 2);
  const std::string carol_tok = str(carol.data(), "token");
  Reply bob_status = api.status(bob_tok);
  CHECK(str(bob_status.data(), "tokenStatus") == "WAITING");
  CHECK(num(bob_status.data(), "position") == 1);
  CHECK(num(api.status(carol_tok).data(), "position") == 2);
  Reply early = api.hold(bob_tok, kSchedule1, {"B1"}, "bob-early");
  CHECK_ERROR(early, 403, "TOKEN_NOT_ACTIVE");
  const std::string rid = api.hold_ok(alice, kSchedule1, {"A1"});
  CHECK_ERROR(api.pay(bob_tok, rid), 403, "TOKEN_NOT_ACTIVE");
  CHECK_OK(api.pay(alice, rid));
  CHECK(eventually([&] { return token_status(api, bob_tok) == "ACTIVE"; }));
  Reply active = api.status(bob_tok);
  CHECK(num(active.data(), "position") == 0);
  CHECK(is_time(active.data()["expiresAt"]));
  CHECK(token_status(api, carol_tok) == "WAITING");
  CHECK(num(api.status(carol_tok).data(), "position") == 1);
  Reply replayed = api.hold(bob_tok, kSchedule1, {"B1"}, "bob-early");  // a 403 is remembered
  CHECK(replayed.status == 403);
  CHECK(replayed.body == early.body);
  CHECK_OK(api.hold(bob_tok, kSchedule1, {"B1"}));
  CHECK_ERROR(api.status(kUnknownToken), 401, "INVALID_TOKEN");
  CHECK_ERROR(api.get("/api/v1/queue/status"), 401, "INVALID_TOKEN");
  CHECK_ERROR(api.token("nobody"), 404, "USER_NOT_FOUND");
}

TEST_CASE("queue: an ACTIVE token expires after --token-ttl") {
  ServerProcess server(ServerOptions().with({"--token-ttl", "1s"}));
  Api api(server);
  const std::string tok = api.active_token("alice");
  CHECK(eventually([&] { return token_status(api, tok) == "EXPIRED"; }));
  Reply expired = api.status(tok);
  CHECK_OK(expired);
  CHECK(shape_errors(expired.data(), kTokenShape) == "");
  CHECK(is_null(expired.data(), "position"));
  CHECK(is_null(expired.data(), "estimatedWaitSeconds"));
  CHECK(is_time(expired.data()["expiresAt"]));
  CHECK_ERROR(api.hold(tok, kSchedule1, {"A1"}), 401, "TOKEN_EXPIRED");
  CHECK_ERROR(api.pay(tok, "whatever"), 401, "TOKEN_EXPIRED");
  const std::string fresh = api.active_token("alice");
  CHECK(fresh != tok);
}

TEST_CASE("queue: a WAITING token may read and cancel its owner's reservation") {
  ServerProcess server(ServerOptions().with({"--active-tokens", "1", "--token-ttl", "3s"}));
  Api api(server);
  const std::string alice = api.active_token("alice");
  const std::string rid = api.hold_ok(alice, kSchedule1, {"A1"});
  const std::string bob = str(api.token("bob").data(), "token");
  REQUIRE(eventually([&] { return token_status(api, bob) == "ACTIVE"; }, 10s));
  Reply waiting = api.token("alice");
  CHECK_OK(waiting);
  CHECK(str(waiting.data(), "tokenStatus") == "WAITING");
  const std::string alice2 = str(waiting.data(), "token");
  Reply read = api.reservation(alice2, rid);
  CHECK_OK(read);
  CHECK(str(read.data(), "status") == "PENDING_PAYMENT");
  Reply cancel = api.cancel(alice2, rid);
  CHECK_OK(cancel);
  CHECK(str(cancel.data(), "status") == "CANCELLED");
  CHECK(api.seat_status(kSchedule1, "A1") == "AVAILABLE");
}

TEST_CASE("queue: the line survives a restart") {
  ServerProcess server(ServerOptions().with({"--active-tokens", "1"}));
  auto api = std::make_unique<Api>(server);
  const std::string alice = api->active_token("alice");
  const std::string bob = str(api->token("bob").data(), "token");
  api.reset();
  CHECK(server.terminate() == 0);
  server.start();
  api = std::make_unique<Api>(server);
  CHECK(token_status(*api, alice) == "ACTIVE");
  Reply waiting = api->status(bob);
  CHECK(str(waiting.data(), "tokenStatus") == "WAITING");
  CHECK(num(waiting.data(), "position") == 1);
  CHECK(num(api->token("carol").data(), "position") == 2);
  CHECK_OK(api->pay(alice, api->hold_ok(alice, kSchedule1, {"A1"})));
  CHECK(eventually([&] { return token_status(*api, bob) == "ACTIVE"; }));
}

// ---------------------------------------------------------- hold expiry ---

TEST_CASE("holds expire after --hold-ttl") {
  ServerProcess server(ServerOptions().with({"--hold-ttl", "1s"}));
  Api api(server);
  const std::string tok = api.active_token("alice");
  const std::string rid = api.hold_ok(tok, kSchedule1, {"A1"});
  CHECK(eventually([&] { return api.seat_status(kSchedule1, "A1") == "AVAILABLE"; }));
  CHECK_ERROR(api.pay(tok, rid), 409, "RESERVATION_EXPIRED");
  Reply read = api.reservation(tok, rid);
  CHECK_OK(read);
  CHECK(str(read.data(), "status") == "EXPIRED");
  CHECK_ERROR(api.cancel(tok, rid), 409, "RESERVATION_EXPIRED");
  CHECK(available_seats(api, kSchedule1) == 50);
  // Paying just after the due time is refused, expiry processed or not.
  const std::string rid2 = api.hold_ok(tok, kSchedule1, {"A2"});
  std::this_thread::sleep_for(1100ms);
  CHECK_ERROR(api.pay(tok, rid2), 409, "RESERVATION_EXPIRED");
  CHECK(api.balance_of("alice") == 500000);
  CHECK_OK(api.hold(tok, kSchedule1, {"A1", "A2"}));  // both seats are free again
}

TEST_CASE("holds that fall due while the server is down expire after the restart") {
  ServerProcess server(ServerOptions().with({"--hold-ttl", "1s"}));
  auto api = std::make_unique<Api>(server);
  const std::string tok = api->active_token("alice");
  const std::string rid = api->hold_ok(tok, kSchedule1, {"A1"});
  api.reset();
  CHECK(server.terminate() == 0);
  std::this_thread::sleep_for(1200ms);
  server.start();
  api = std::make_unique<Api>(server);
  CHECK_ERROR(api->pay(tok, rid), 409, "RESERVATION_EXPIRED");
  CHECK(eventually([&] { return api->seat_status(kSchedule1, "A1") == "AVAILABLE"; }));
  CHECK(str(api->reservation(tok, rid).data(), "status") == "EXPIRED");
}

// "YYYY-MM-DDTHH:MM:SSZ", `ahead` from now rounded up to a whole second.
std::string utc_in(std::chrono::seconds ahead) {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + ahead) + 1;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

TEST_CASE("a started schedule: no holds, pays or refunds; cancelling a hold stays allowed") {
  ServerProcess server(ServerOptions().admin(kAdmin));
  Api api(server);
  const std::string starts = utc_in(3s);
  CHECK_OK(api.admin_concert(kAdmin, R"({"concertId":"soon","title":"Soon","schedules":[
    {"concertScheduleId":"soon-1","startsAt":")" +
                                         starts + R"(","seats":[
    {"seatId":"S1","number":1,"price":100},{"seatId":"S2","number":2,"price":100},
    {"seatId":"S3","number":3,"price":100},{"seatId":"S4","number":4,"price":100}]}]})"));
  const std::string tok = api.active_token("alice");
  const std::string paid = api.hold_ok(tok, "soon-1", {"S1"});
  CHECK_OK(api.pay(tok, paid));
  const std::string tok2 = api.active_token("alice");
  const std::string unpaid = api.hold_ok(tok2, "soon-1", {"S2"});
  const std::string pending = api.hold_ok(tok2, "soon-1", {"S3"});
  REQUIRE(eventually([&] { return utc_in(0s) > starts; }, 10s));
  CHECK_ERROR(api.pay(tok2, unpaid), 409, "SCHEDULE_CLOSED");
  CHECK_ERROR(api.cancel(tok2, paid), 409, "SCHEDULE_CLOSED");
  CHECK_ERROR(api.hold(tok2, "soon-1", {"S4"}), 409, "SCHEDULE_CLOSED");
  Reply cancel = api.cancel(tok2, pending);
  CHECK_OK(cancel);
  CHECK(str(cancel.data(), "status") == "CANCELLED");
  CHECK(api.get("/api/v1/concerts/soon/schedules?status=AVAILABLE").data().Size() == 0);
  CHECK(api.balance_of("alice") == 500000 - 100);
}

// ------------------------------------------- booking opens (SPEC §5.1) ---

// A schedule item of `list` (a schedules answer) by id; REQUIREs it.
const rapidjson::Value& schedule_item(const Reply& list, const std::string& id) {
  REQUIRE_MESSAGE(list.ok(), list.text());
  for (const auto& s : list.data().GetArray()) {
    if (str(s, "concertScheduleId") == id) return s;
  }
  FAIL("no schedule " << id << " in " << list.text());
  return list.data();
}

std::vector<std::string> schedule_ids(const Reply& list) {
  std::vector<std::string> ids;
  REQUIRE_MESSAGE(list.ok(), list.text());
  for (const auto& s : list.data().GetArray()) ids.push_back(str(s, "concertScheduleId"));
  return ids;
}

// "YYYY-MM-DDTHH:MM:SSZ" as the API renders it (with milliseconds).
std::string rendered(const std::string& utc_seconds) {
  return utc_seconds.substr(0, 19) + ".000Z";
}

TEST_CASE("reservationOpensAt: no holds before it (409 SCHEDULE_NOT_OPEN), listed and filtered") {
  ServerProcess server(ServerOptions().admin(kAdmin));
  Api api(server);
  const std::string opens = utc_in(5s);  // room for the checks before it on a busy machine
  CHECK_OK(api.admin_concert(
      kAdmin, R"({"concertId":"drop","title":"Drop","schedules":[
    {"concertScheduleId":"drop-later","startsAt":")" +
                  future_time() + R"(","reservationOpensAt":")" + opens +
                  R"(","seats":[{"seatId":"L1","number":1,"price":100}]},
    {"concertScheduleId":"drop-now","startsAt":")" +
                  future_time() + R"(","seats":[{"seatId":"N1","number":1,"price":100}]}]})"));
  const std::string base = "/api/v1/concerts/drop/schedules";
  Reply all = api.get(base);
  CHECK(str(schedule_item(all, "drop-later"), "reservationOpensAt") == rendered(opens));
  // Omitted, it is the creation time: already past, never null.
  const std::string now_opens = str(schedule_item(all, "drop-now"), "reservationOpensAt");
  CHECK(now_opens < rendered(utc_in(0s)));
  CHECK(now_opens > "2020");
  CHECK(schedule_ids(api.get(base + "?status=AVAILABLE")) == std::vector<std::string>{"drop-now"});

  const std::string tok = api.active_token("alice");
  CHECK_ERROR(api.hold(tok, "drop-later", {"L1"}), 409, "SCHEDULE_NOT_OPEN");
  CHECK_OK(api.hold(tok, "drop-now", {"N1"}));

  // Once open, the AVAILABLE list shows it (a cached answer must not hide
  // it) and holds succeed.
  REQUIRE(eventually([&] { return utc_in(0s) > opens; }, 10s));  // now >= opens
  const std::vector<std::string> open_now = {"drop-later"};      // drop-now has no seat left
  CHECK(schedule_ids(api.get(base + "?status=AVAILABLE")) == open_now);
  CHECK_OK(api.hold(tok, "drop-later", {"L1"}));
}

TEST_CASE("reservationOpensAt: a value that is not a time before startsAt is 400 naming it") {
  ServerProcess server(ServerOptions().admin(kAdmin));
  Api api(server);
  const std::string starts = "2099-06-01T19:00:00Z";
  for (const std::string opens :
       {"5", "true", R"("soon")", R"("2099-06-01T19:00:00Z")", R"("2099-06-01T19:00:00.001Z")",
        R"("2100-01-01T00:00:00Z")", "{}"}) {
    CAPTURE(opens);
    Reply r = api.admin_concert(kAdmin, R"({"concertId":"bad","title":"Bad","schedules":[
      {"startsAt":")" + starts + R"(","reservationOpensAt":)" +
                                            opens + R"(,"seats":[{"number":1,"price":1}]}]})");
    CHECK_ERROR(r, 400, "INVALID_REQUEST");
    CHECK_MESSAGE(contains(r.message(), "reservationOpensAt"), r.text());
  }
  CHECK_ERROR(api.get("/api/v1/concerts/bad/schedules"), 404, "CONCERT_NOT_FOUND");
  // null is as omitted; a time just before startsAt is fine.
  CHECK_OK(api.admin_concert(kAdmin, R"({"concertId":"ok","title":"Ok","schedules":[
    {"concertScheduleId":"ok-1","startsAt":")" +
                                         starts +
                                         R"(","reservationOpensAt":"2099-06-01T18:59:59.999Z",
     "seats":[{"number":1,"price":1}]},
    {"concertScheduleId":"ok-2","startsAt":")" +
                                         starts +
                                         R"(","reservationOpensAt":null,
     "seats":[{"number":1,"price":1}]}]})"));
  Reply list = api.get("/api/v1/concerts/ok/schedules");
  CHECK(str(schedule_item(list, "ok-1"), "reservationOpensAt") == "2099-06-01T18:59:59.999Z");
  CHECK(str(schedule_item(list, "ok-2"), "reservationOpensAt") < rendered(utc_in(0s)));
}

// ------------------------------------------ the numeric demo (SPEC §5.1) ---

TEST_CASE("demo: the numeric catalog, through the canonical API") {
  ServerProcess server;
  Api api(server);
  for (const char* user : {"1", "2", "3"}) CHECK(api.balance_of(user) == 100000);
  Reply concerts = api.get("/api/v1/concerts");
  CHECK_OK(concerts);
  REQUIRE(concerts.data().Size() == 2);
  CHECK(str(concerts.data()[0], "concertId") == "1");
  CHECK(str(concerts.data()[0], "title") == "콘서트");
  CHECK(num(concerts.data()[0], "scheduleCount") == 2);

  // Schedules 1 and 2 start with the demo's two, and are open now.
  Reply numeric = api.get("/api/v1/concerts/1/schedules");
  Reply demo = api.get("/api/v1/concerts/demo-concert/schedules");
  CHECK(str(schedule_item(numeric, "1"), "startsAt") ==
        str(schedule_item(demo, kSchedule1), "startsAt"));
  CHECK(str(schedule_item(numeric, "2"), "startsAt") ==
        str(schedule_item(demo, kSchedule2), "startsAt"));
  CHECK(schedule_ids(api.get("/api/v1/concerts/1/schedules?status=AVAILABLE")) ==
        std::vector<std::string>{"1", "2"});

  for (const std::string schedule : {"1", "2"}) {
    Reply seats = api.seats(schedule, "1");
    CHECK_OK(seats);
    REQUIRE(seats.data().Size() == 50);
    for (int64_t n = 1; n <= 50; ++n) {
      const auto& seat = seats.data()[static_cast<rapidjson::SizeType>(n - 1)];
      CHECK(str(seat, "seatId") == std::to_string(n));
      CHECK(num(seat, "number") == n);
      CHECK(num(seat, "price") == (n <= 10 ? 10000 : n <= 20 ? 15000 : 50000));
    }
  }
  CHECK(num(api.seats("1", "1").data()[11], "price") == 15000);  // seat 12

  // Seed 002's example: seats 10 and 11 come to 25000.
  const std::string tok = api.active_token("1");
  Reply held = api.hold(tok, "1", {"10", "11"});
  CHECK_OK(held);
  CHECK(num(held.data(), "totalPrice") == 25000);
}

// ------------------------------------------------------ read-your-writes ---

TEST_CASE("read-your-writes: a query on another connection sees every acknowledged command") {
  ServerProcess server;
  Api writer(server), reader(server);
  int stale = 0;
  int64_t expected = 500000;
  for (int i = 1; i <= 200; ++i) {
    Reply c = writer.charge("alice", i);
    REQUIRE(c.ok());
    expected += i;
    stale += reader.balance_of("alice") != expected;
  }
  const std::string tok = writer.active_token("bob");
  for (int i = 1; i <= 30; ++i) {
    const std::string seat = "B" + std::to_string(i % 10 + 1);
    const std::string rid = writer.hold_ok(tok, kSchedule2, {seat});
    stale += reader.seat_status(kSchedule2, seat) != "HELD";
    Reply list = reader.reservations("bob", "?limit=1");
    stale += str(list.data()["items"][0], "reservationId") != rid;
    REQUIRE(writer.cancel(tok, rid).ok());
    stale += reader.seat_status(kSchedule2, seat) != "AVAILABLE";
  }
  CHECK(stale == 0);
}

// ---------------------------------------------------------------- lists ---

// Follows nextCursor from `first_query`; returns every item id under `id_key`.
std::vector<std::string> walk_pages(Api& api, const std::string& path, const std::string& limit,
                                    const char* id_key, std::vector<size_t>* sizes) {
  std::vector<std::string> ids;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    std::string query = "?limit=" + limit + (cursor.empty() ? "" : "&cursor=" + cursor);
    Reply r = api.get(path + query);
    REQUIRE_MESSAGE(r.ok(), r.text());
    REQUIRE(shape_errors(r.data(), kPageShape) == "");
    sizes->push_back(r.data()["items"].Size());
    for (const auto& item : r.data()["items"].GetArray()) ids.push_back(str(item, id_key));
    if (is_null(r.data(), "nextCursor")) return ids;
    cursor = str(r.data(), "nextCursor");
    REQUIRE(!cursor.empty());
  }
  FAIL("more than 100 pages");
  return ids;
}

TEST_CASE("lists: reservations page newest first with limit and cursor") {
  ServerProcess server(ServerOptions().with({"--max-seats", "64"}));
  Api api(server);
  const std::string tok = api.active_token("alice");
  std::vector<std::string> held;
  for (int i = 0; i < 25; ++i) {
    const std::string seat =
        std::string(1, static_cast<char>('A' + i / 10)) + std::to_string(i % 10 + 1);
    held.push_back(api.hold_ok(tok, kSchedule1, {seat}));
  }
  std::vector<size_t> sizes;
  auto ids = walk_pages(api, "/api/v1/users/alice/reservations", "10", "reservationId", &sizes);
  CHECK(sizes == std::vector<size_t>{10, 10, 5});
  std::vector<std::string> newest_first(held.rbegin(), held.rend());
  CHECK(ids == newest_first);
  Reply first = api.reservations("alice");
  CHECK(first.data()["items"].Size() == 20);  // default limit
  CHECK(!is_null(first.data(), "nextCursor"));
  Reply all = api.reservations("alice", "?limit=100");
  CHECK(all.data()["items"].Size() == 25);
  CHECK(is_null(all.data(), "nextCursor"));
  for (const char* limit : {"0", "101", "-1", "abc", ""}) {
    CAPTURE(limit);
    CHECK_ERROR(api.reservations("alice", std::string("?limit=") + limit), 400, "INVALID_REQUEST");
  }
  CHECK_ERROR(api.reservations("alice", "?cursor=not-a-cursor"), 400, "INVALID_REQUEST");
  // A cursor is a position, not an offset: newer items do not shift page 2.
  Reply page1 = api.reservations("alice", "?limit=20");
  const std::string cursor = str(page1.data(), "nextCursor");
  api.hold_ok(tok, kSchedule1, {"D6"});
  api.hold_ok(tok, kSchedule1, {"D7"});
  Reply page2 = api.reservations("alice", "?limit=20&cursor=" + cursor);
  CHECK_OK(page2);
  REQUIRE(page2.data()["items"].Size() == 5);
  CHECK(str(page2.data()["items"][0], "reservationId") == held[4]);
  CHECK_ERROR(api.reservations("nobody"), 404, "USER_NOT_FOUND");
}

TEST_CASE("lists: payments page newest first with limit and cursor") {
  ServerProcess server(ServerOptions().with({"--max-seats", "8"}));
  Api api(server);
  std::vector<std::string> paid;
  for (int i = 1; i <= 5; ++i) {
    const std::string tok = api.active_token("alice");
    const std::string rid = api.hold_ok(tok, kSchedule1, {"E" + std::to_string(i)});
    Reply pay = api.pay(tok, rid);
    REQUIRE_MESSAGE(pay.ok(), pay.text());
    paid.push_back(str(pay.data(), "paymentId"));
  }
  std::vector<size_t> sizes;
  auto ids = walk_pages(api, "/api/v1/users/alice/payments", "2", "paymentId", &sizes);
  CHECK(sizes == std::vector<size_t>{2, 2, 1});
  CHECK(ids == std::vector<std::string>(paid.rbegin(), paid.rend()));
  CHECK(api.balance_of("alice") == 500000 - 5 * 50000);
  CHECK_ERROR(api.payments("alice", "?limit=0"), 400, "INVALID_REQUEST");
  CHECK_ERROR(api.payments("alice", "?limit=101"), 400, "INVALID_REQUEST");
  CHECK_ERROR(api.payments("nobody"), 404, "USER_NOT_FOUND");
  Reply empty = api.payments("bob");
  CHECK_OK(empty);
  CHECK(empty.data()["items"].Size() == 0);
  CHECK(is_null(empty.data(), "nextCursor"));
}

}  // namespace
}  // namespace reservoir::test
