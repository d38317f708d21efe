// Query replicas on one `reservoir kafka-mock` (SPEC §7, docs/SCALING.md):
// a writer and two `serve --role replica` processes on its topics. Given
// commands on the writer, then: a replica answers every query route of every
// dialect (and the clinic) with the writer's bytes once both applied the same
// offset; Reservoir-Min-Offset gives read-your-writes across processes, and
// one far in the future answers 503 + Retry-After; a command to a replica is
// refused (421 NOT_WRITER, or 307 to --writer-url) and the log does not
// grow; a replica killed with kill -9 catches up from its checkpoint, and
// `reservoir rebuild` works on a replica's --data.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/clinic_client.h"
#include "support/dialect_client.h"
#include "support/server_process.h"

namespace reservoir::test {
namespace {

constexpr const char* kAdminKey = "k";
const std::string kCanonical = "canonical";
const std::string kCe = "concert-events";
const std::string kQt = "queue-tokens";

ServerOptions node_options(const std::shared_ptr<KafkaMock>& mock) {
  return ServerOptions().on_mock(mock).admin(kAdminKey).api_port(kCe);
}

// A writer (with the demo catalog, clinic included) and two replicas; the
// second redirects commands to the writer.
struct Cluster {
  std::shared_ptr<KafkaMock> mock = std::make_shared<KafkaMock>();
  ServerProcess writer{node_options(mock)};
  ServerProcess replica{node_options(mock).no_demo().with({"--role", "replica"})};
  ServerProcess redirecting{node_options(mock).no_demo().with(
      {"--role", "replica", "--writer-url", "http://127.0.0.1:" + std::to_string(writer.port())})};
};

Reply send(const ServerProcess& s, const std::string& dialect, const std::string& method,
           const std::string& path, const std::string& body = "", httplib::Headers h = {}) {
  Api api(s.port_of(dialect));
  return api.send(method, path, body, std::move(h));
}

uint64_t header_number(const Reply& r, const char* name) {
  const std::string v = r.header(name);
  REQUIRE_MESSAGE(!v.empty(), name << " missing in " << r.text());
  return std::stoull(v);
}

struct Query {
  std::string dialect, path;
  httplib::Headers headers;
};

// The replica's answer at Reservoir-Min-Offset `offset` is the writer's.
void check_same(const ServerProcess& writer, const ServerProcess& replica, const Query& q,
                uint64_t offset) {
  httplib::Headers h = q.headers;
  h.emplace("Reservoir-Min-Offset", std::to_string(offset));
  const Reply r = send(replica, q.dialect, "GET", q.path, "", h);
  const Reply w = send(writer, q.dialect, "GET", q.path, "", q.headers);
  INFO(q.dialect << " " << q.path << ": replica " << r.text() << " writer " << w.text());
  CHECK(r.status == w.status);
  CHECK(r.body == w.body);
  CHECK(header_number(r, "Reservoir-Applied") >= offset);
}

// The writer's end of `dialect`'s log once it is idle: a query's
// Reservoir-Applied (it waits for every acknowledged command first). The
// clinic domain's log is its own, with offsets of its own.
uint64_t writer_end(const ServerProcess& writer, const std::string& dialect = kCanonical) {
  const std::string path =
      dialect == kClinicDialect ? "/schedule/open/v1/visitors/v1/schedules" : "/api/v1/concerts";
  return header_number(send(writer, dialect, "GET", path), "Reservoir-Applied");
}

// A few rounds of tokens, holds, pays and charges from three threads, one
// per dialect. Outcomes vary with the interleaving; what is compared later
// is whatever the log holds.
void mixed_load(const ServerProcess& writer) {
  auto canonical = [&] {
    Api api(writer.port_of(kCanonical));
    const std::string token = str(api.token("alice").data(), "token");
    for (int i = 1; i <= 4; ++i) {
      api.charge("alice", 1000 * i);
      const Reply held = api.hold(token, kSchedule1, {"A" + std::to_string(i)});
      if (i % 2 == 0 && held.ok()) api.pay(token, str(held.data(), "reservationId"));
    }
  };
  auto ce = [&] {
    CeApi api(writer.port_of(kCe));
    const Reply issued = api.issue("1");
    const std::string token = str(field(issued.json, "data"), "token");
    for (int i = 1; i <= 4; ++i) {
      api.charge("1", 10 * i);
      api.occupy(token, "1", std::to_string(20 + i));
      const Reply r = api.reserve(token, "1", std::to_string(20 + i));
      if (i % 2 == 1 && r.ok()) api.pay(token, id_text(field(field(r.json, "data"), "id")));
    }
  };
  auto qt = [&] {
    QtApi api(writer.port_of(kQt));
    const std::string token_id = id_text(field(api.issue("2").json, "tokenId"));
    for (int i = 1; i <= 4; ++i) {
      api.recharge("2", 100 * i);
      const Reply r = api.reserve(token_id, "2", "1", "2", {std::to_string(30 + i)});
      if (r.ok()) api.pay(token_id, "2", id_text(field(r.json, "reservationId")));
    }
  };
  std::thread a(canonical), b(ce), q(qt);
  a.join();
  b.join();
  q.join();
}

TEST_CASE("replica: under a mixed load, every dialect's queries answer as the writer's") {
  Cluster c;
  ClinicApi clinic(c.writer);
  const Reply booked = clinic.reserve_v1("v1", at("10:00"), at("11:00"));
  REQUIRE_MESSAGE(booked.ok(), booked.text());
  mixed_load(c.writer);

  Api api(c.writer.port_of(kCanonical));
  const std::string queue_token = str(api.token("alice").data(), "token");
  const std::string user_token = str(field(CeApi(c.writer).issue("1").json, "data"), "token");
  const std::string token_id = id_text(field(QtApi(c.writer).issue("2").json, "tokenId"));
  const std::vector<Query> queries = {
      {kCanonical, "/api/v1/concerts", {}},
      {kCanonical, "/api/v1/concerts/demo-concert/schedules", {}},
      {kCanonical, "/api/v1/concerts/demo-concert/schedules/demo-schedule-1/seats", {}},
      {kCanonical, "/api/v1/balance?userId=alice", {}},
      {kCanonical, "/api/v1/users/alice/payments", {}},
      {kCanonical, "/api/v1/users/alice/reservations", {}},
      {kCanonical, "/api/v1/queue/status", {{"Queue-Token", queue_token}}},
      {kCe, "/api/v1/users/1/wallet", {}},
      {kCe, "/api/v1/users/1/payments", {}},
      {kCe, "/api/v1/concerts/1/available-events", {{"User-Token", user_token}}},
      {kCe, "/api/v1/concert-events/1/available-seats", {{"User-Token", user_token}}},
      {kQt, "/v1/balance/users/2", {}},
      {kQt, "/v1/queue-tokens/users/2", {}},
      {kQt, "/v1/concerts/1/schedules/2/seats", {{"TOKEN-ID", token_id}}},
      {kClinicDialect, "/schedule/open/v1/schedules/" + ClinicApi::id_of(booked), {}},
      {kClinicDialect, "/schedule/open/v1/visitors/v1/schedules", {}},
      {kClinicDialect, "/schedule/open/v1/zones/zone-consult/occupancy?date=2036-12-24", {}},
  };
  const uint64_t end = writer_end(c.writer), clinic_end = writer_end(c.writer, kClinicDialect);
  for (const Query& q : queries) {
    const uint64_t at = q.dialect == kClinicDialect ? clinic_end : end;
    check_same(c.writer, c.replica, q, at);
    check_same(c.writer, c.redirecting, q, at);
  }

  SUBCASE("a replica killed with kill -9 catches up from its checkpoint") {
    c.replica.kill9();
    mixed_load(c.writer);
    c.replica.start();
    const uint64_t later = writer_end(c.writer);
    CHECK(later > end);
    for (const Query& q : queries) {
      check_same(c.writer, c.replica, q, q.dialect == kClinicDialect ? clinic_end : later);
    }
  }

  SUBCASE("`reservoir rebuild` rebuilds a replica's --data from the topics") {
    c.replica.terminate();
    std::vector<std::string> args = {"rebuild", "--data", c.replica.data_dir()};
    for (const std::string& f : c.replica.log_flags()) args.push_back(f);
    const RunResult rebuilt = run_reservoir(args);
    INFO(rebuilt.out << rebuilt.err);
    REQUIRE(rebuilt.status == 0);
    mixed_load(c.writer);
    c.replica.start();
    const uint64_t later = writer_end(c.writer);
    CHECK(later > end);
    for (const Query& q : queries) {
      check_same(c.writer, c.replica, q, q.dialect == kClinicDialect ? clinic_end : later);
    }
  }
}

// One command on the writer, then `q` on the replica at the command's
// Reservoir-Offset: it reflects the command (it is the writer's answer, which
// does by read-your-writes), and `expect` is in it.
void check_reflected(Cluster& c, const Reply& command, const Query& q, const std::string& expect) {
  INFO("after " << command.text());
  REQUIRE(command.ok());
  const uint64_t offset = header_number(command, "Reservoir-Offset");
  check_same(c.writer, c.replica, q, offset);
  httplib::Headers h = q.headers;
  h.emplace("Reservoir-Min-Offset", std::to_string(offset));
  const Reply r = send(c.replica, q.dialect, "GET", q.path, "", h);
  CHECK_MESSAGE(r.body.find(expect) != std::string::npos, r.text() << " lacks " << expect);
}

void canonical_read_your_writes(Cluster& c) {
  Api w(c.writer.port_of(kCanonical));
  check_reflected(c, w.admin_user(kAdminKey, "ryw"), {kCanonical, "/api/v1/balance?userId=ryw"},
                  R"("userId":"ryw")");
  check_reflected(c, w.charge("ryw", 300000), {kCanonical, "/api/v1/balance?userId=ryw"}, "300000");
  const Reply token = w.token("ryw");
  const std::string t = str(token.data(), "token");
  check_reflected(c, token, {kCanonical, "/api/v1/queue/status", {{"Queue-Token", t}}}, "ACTIVE");
  const Reply held = w.hold(t, kSchedule2, {"E1"});
  const std::string r1 = str(held.data(), "reservationId");
  check_reflected(c, held, {kCanonical, "/api/v1/reservations/" + r1, {{"Queue-Token", t}}}, r1);
  check_reflected(c, w.pay(t, r1), {kCanonical, "/api/v1/users/ryw/payments"}, r1);
  const std::string t2 = w.active_token("ryw");  // a payment ends a token
  const Reply held2 = w.hold(t2, kSchedule2, {"E2"});
  REQUIRE_MESSAGE(held2.ok(), held2.text());
  const std::string r2 = str(held2.data(), "reservationId");
  check_reflected(c, w.cancel(t2, r2),
                  {kCanonical, "/api/v1/reservations/" + r2, {{"Queue-Token", t2}}}, "CANCELLED");
  check_reflected(c, w.admin_concert(kAdminKey, R"({"concertId":"ryw-c","title":"RYW","schedules":[
                    {"concertScheduleId":"ryw-s","startsAt":"2036-01-01T10:00:00Z","seats":[
                    {"seatId":"s1","number":1,"price":10}]}]})"),
                  {kCanonical, "/api/v1/concerts"}, "ryw-c");
}

void dialects_read_your_writes(Cluster& c) {
  CeApi ce(c.writer);
  const Reply issued = ce.issue("3");
  const std::string ut = str(field(issued.json, "data"), "token");
  check_reflected(c, issued, {kCe, "/api/v1/queue/status", {{"User-Token", ut}}}, "queuePosition");
  check_reflected(c, ce.charge("3", 7), {kCe, "/api/v1/users/3/wallet"}, "100007");
  const Query seats{kCe, "/api/v1/concert-events/2/available-seats", {{"User-Token", ut}}};
  check_reflected(c, ce.occupy(ut, "2", "45"), seats, "list");
  const Reply reserved = ce.reserve(ut, "2", "45");
  check_reflected(c, reserved, seats, "list");
  const std::string id = id_text(field(field(reserved.json, "data"), "id"));
  check_reflected(c, ce.pay(ut, id), {kCe, "/api/v1/users/3/payments"}, "\"reservationId\":" + id);
  QtApi qt(c.writer);
  const Reply token = qt.issue("3");
  const std::string tid = id_text(field(token.json, "tokenId"));
  check_reflected(c, token, {kQt, "/v1/queue-tokens/users/3"}, tid);
  check_reflected(c, qt.recharge("3", 1), {kQt, "/v1/balance/users/3"}, "currentAmount");
  const Reply r = qt.reserve(tid, "3", "1", "2", {"46"});
  check_reflected(c, r, {kQt, "/v1/concerts/1/schedules/2/seats", {{"TOKEN-ID", tid}}}, "46");
  check_reflected(c, qt.pay(tid, "3", id_text(field(r.json, "reservationId"))),
                  {kQt, "/v1/balance/users/3"}, "currentAmount");
}

void clinic_read_your_writes(Cluster& c) {
  ClinicApi cl(c.writer);
  const httplib::Headers key = {{"Admin-Key", kAdminKey}};
  check_reflected(
      c, cl.post("/schedule/open/v1/admin/visitors", R"({"visitorId":"ryw-v","name":"V"})", key),
      {kClinicDialect, "/schedule/open/v1/visitors/ryw-v/schedules"}, "[");
  check_reflected(c,
                  cl.post("/schedule/open/v1/admin/zones",
                          R"({"zoneId":"ryw-z","name":"Z","capacity":1})", key),
                  {kClinicDialect, "/schedule/open/v1/zones/ryw-z/occupancy?date=2036-12-24"}, "[");
  check_reflected(c,
                  cl.post("/schedule/open/v1/admin/reservation-groups",
                          R"({"reservationGroupId":"ryw-g","name":"G","zoneIds":["ryw-z"]})", key),
                  {kClinicDialect, "/schedule/open/v1/zones/ryw-z/occupancy?date=2036-12-24"}, "[");
  const Reply v1 = cl.reserve_v1("ryw-v", at("13:00"), at("13:30"), "ryw-g", "ryw-z");
  const std::string id1 = ClinicApi::id_of(v1);
  check_reflected(c, v1, {kClinicDialect, "/schedule/open/v1/schedules/" + id1}, id1);
  const Reply v2 = cl.reserve_v2("v2", {resource(at("14:00"), at("14:30"))});
  const std::string id2 = ClinicApi::id_of(v2);
  const Query schedule2{kClinicDialect, "/schedule/open/v1/schedules/" + id2};
  check_reflected(c, v2, schedule2, id2);
  check_reflected(c, cl.update(id2, {resource(at("15:00"), at("15:30"))}), schedule2, "15:00");
  check_reflected(c, cl.cancel(id2), schedule2, id2);
}

TEST_CASE("replica: read-your-writes with Reservoir-Min-Offset, and commands refused") {
  Cluster c;
  canonical_read_your_writes(c);
  dialects_read_your_writes(c);
  clinic_read_your_writes(c);

  // A Min-Offset far beyond the log: 503 with Retry-After within the wait (1s).
  const uint64_t end = writer_end(c.writer);
  const Reply late = send(c.replica, kCe, "GET", "/api/v1/users/1/wallet", "",
                          {{"Reservoir-Min-Offset", std::to_string(end + 1'000'000)}});
  CHECK(late.status == 503);
  CHECK(late.header("Retry-After") == "1");
  CHECK(late.body.find(R"("code":"overloaded")") != std::string::npos);

  // Commands on a replica: nothing decided, the log does not grow.
  const Reply refused = send(c.replica, kCanonical, "POST", "/api/v1/balance/charge",
                             R"({"userId":"alice","amount":5})");
  CHECK(refused.status == 421);
  CHECK(refused.code() == "NOT_WRITER");
  const Reply qt_refused = send(c.replica, kQt, "POST", "/v1/queue-tokens/users/1");
  CHECK(qt_refused.status == 421);
  const Reply clinic_refused =
      send(c.replica, kClinicDialect, "POST", kClinicCancel, R"({"scheduleId":"x"})");
  CHECK(clinic_refused.status == 421);
  CHECK(clinic_refused.body.find("NotWriterException") != std::string::npos);
  const Reply redirected = send(c.redirecting, kCe, "PATCH",
                                "/api/v1/users/1/wallet/charge?via=replica", R"({"amount":5})");
  CHECK(redirected.status == 307);
  CHECK(redirected.header("Location") == "http://127.0.0.1:" + std::to_string(c.writer.port()) +
                                             "/api/v1/users/1/wallet/charge?via=replica");
  CHECK(writer_end(c.writer) == end);

  // What each node says it is.
  const std::string writer_url = "http://127.0.0.1:" + std::to_string(c.writer.port());
  const Reply health = send(c.redirecting, kCanonical, "GET", "/healthz");
  CHECK(str(health.json, "role") == "replica");
  CHECK(str(health.json, "writer") == writer_url);
  CHECK(eventually([&] {
    const Reply h = send(c.redirecting, kCanonical, "GET", "/healthz");
    return num(h.json, "applied") == static_cast<int64_t>(end);
  }));
  CHECK(str(send(c.writer, kCanonical, "GET", "/healthz").json, "role") == "writer");
  const Reply metrics = send(c.replica, kCanonical, "GET", "/metrics");
  CHECK(metrics.body.find("reservoir_role{role=\"replica\"} 1\n") != std::string::npos);
  CHECK(metrics.body.find("reservoir_applied_offset " + std::to_string(end) + "\n") !=
        std::string::npos);
  CHECK(metrics.body.find("reservoir_replica_lag_events 0\n") != std::string::npos);
}

// librdkafka before 2.3 waits forever for a partition's watermarks while its
// leader is unreachable; a replica polling for new events then never stopped.
TEST_CASE("replica: SIGTERM stops it while Kafka is down") {
  auto mock = std::make_shared<KafkaMock>();
  ServerProcess writer{node_options(mock)};
  ServerProcess replica{node_options(mock).no_demo().with({"--role", "replica"})};
  REQUIRE(eventually([&] {  // tailing the topic: the demo data is applied
    return num(send(replica, kCanonical, "GET", "/healthz").json, "applied") > 0;
  }));
  mock->command("down");
  CHECK(replica.terminate() == 0);
}

}  // namespace
}  // namespace reservoir::test
