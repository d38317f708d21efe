// SPEC §7 through whole Services over one MemoryLog: offsets in answers
// (Reservoir-Offset, Reservoir-Applied), the bounded Reservoir-Min-Offset
// wait, and a query replica (a Service without a writer, with views and a
// follower of its own) that refuses commands and answers queries as the
// writer does. The same over Kafka, between processes: tests/integration/replica_test.cc.
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

// One node's views and follower on the shared log.
struct Node {
  explicit Node(EventLog& log, const std::string& path) {
    auto v = projections::Projections::open(path);
    REQUIRE(v.ok());
    views = std::move(*v);
    follower = std::make_unique<projections::Follower>(log, *views);
    follower->start();
  }
  ~Node() { follower->stop(); }
  std::unique_ptr<projections::Projections> views;
  std::unique_ptr<projections::Follower> follower;
};

struct Fixture {
  explicit Fixture(std::optional<std::string> writer_url = std::nullopt) {
    REQUIRE(writer.recover().ok());
    writer.start();
    ServiceConfig config;
    config.admin_key = "k";
    config.min_offset_wait_ms = 50;
    service = std::make_unique<Service>(writer, *primary.views, *primary.follower, clock, config);
    config.writer_url = std::move(writer_url);
    replica_service = std::make_unique<Service>(*replica.views, *replica.follower, clock, config);
  }
  ~Fixture() { writer.stop(); }

  Answer call(Service& s, const Router& router, const char* method, const std::string& path,
              const std::string& body = "", std::optional<std::string> min_offset = {}) {
    Request r;
    r.method = method;
    r.path = path;
    r.target = path;
    r.body = body;
    r.params = &params;
    r.admin_key = "k";
    if (!body.empty()) r.content_type = "application/json";
    if (min_offset) r.min_offset = *min_offset;
    return s.handle(r, router);
  }

  test::TempDir dir;
  test::MemoryLog log;
  ManualClock clock{kT0};
  SeededRandom random{7};
  concert::Module module{concert::Limits{}};
  ConcertWriter writer{module, log, clock, random, &render_reply, WriterConfig{}};
  Node primary{log, dir.path() + "/writer"};
  Node replica{log, dir.path() + "/replica"};
  std::unique_ptr<Service> service, replica_service;
  std::multimap<std::string, std::string> params;
  Router canonical{{find_dialect("canonical")}};
  Router ce{{find_dialect("concert-events")}};
  Router qt{{find_dialect("queue-tokens")}};
  Router clinic{{find_dialect("clinic")}};
};

TEST_CASE("offsets: a command answer carries the log end once its events are in it") {
  Fixture f;
  const Answer made =
      f.call(*f.service, f.canonical, "POST", "/api/v1/admin/users", R"({"userId":"u1"})");
  REQUIRE(made.status == 200);
  REQUIRE(made.offset.has_value());
  CHECK(*made.offset == f.log.end_offset());
  CHECK(!made.applied.has_value());
  // A refused command appends nothing: the log end at the time of answering.
  const Answer again =
      f.call(*f.service, f.canonical, "POST", "/api/v1/admin/users", R"({"userId":"u1"})");
  CHECK(again.status == 409);
  REQUIRE(again.offset.has_value());
  CHECK(*again.offset == *made.offset);
  // A query after it reflects it, and says so.
  f.params = {{"userId", "u1"}};
  const Answer balance = f.call(*f.service, f.canonical, "GET", "/api/v1/balance");
  CHECK(balance.status == 200);
  REQUIRE(balance.applied.has_value());
  CHECK(*balance.applied >= *made.offset);
  CHECK(!balance.offset.has_value());
}

TEST_CASE("offsets: Reservoir-Min-Offset beyond the log answers 503 in the route's dialect") {
  Fixture f;
  REQUIRE(
      f.call(*f.service, f.canonical, "POST", "/api/v1/admin/users", R"({"userId":"1"})").status ==
      200);
  const std::string far = std::to_string(f.log.end_offset() + 1000);
  const Answer canonical = f.call(*f.service, f.canonical, "GET", "/api/v1/concerts", "", far);
  CHECK(canonical.status == 503);
  CHECK(canonical.text().find(R"("code":"UNAVAILABLE")") != std::string::npos);
  CHECK(canonical.applied.has_value());
  const Answer ce = f.call(*f.service, f.ce, "GET", "/api/v1/users/1/wallet", "", far);
  CHECK(ce.status == 503);
  CHECK(ce.text().find(R"("code":"overloaded")") != std::string::npos);
  const Answer qt = f.call(*f.service, f.qt, "GET", "/v1/balance/users/1", "", far);
  CHECK(qt.status == 503);
  // Reached: answered as without the header.
  const std::string end = std::to_string(f.log.end_offset());
  CHECK(f.call(*f.service, f.ce, "GET", "/api/v1/users/1/wallet", "", end).status == 200);
  // Malformed: 400.
  CHECK(f.call(*f.service, f.canonical, "GET", "/api/v1/concerts", "", "-1").status == 400);
  CHECK(f.call(*f.service, f.canonical, "GET", "/api/v1/concerts", "", "12x").status == 400);
}

TEST_CASE("replica: commands answer 421 NOT_WRITER in each dialect's envelope, nothing decided") {
  Fixture f;
  const uint64_t end = f.log.end_offset();
  const Answer canonical =
      f.call(*f.replica_service, f.canonical, "POST", "/api/v1/admin/users", R"({"userId":"1"})");
  CHECK(canonical.status == 421);
  CHECK(canonical.text().find(R"("code":"NOT_WRITER")") != std::string::npos);
  const Answer ce = f.call(*f.replica_service, f.ce, "PATCH", "/api/v1/users/1/wallet/charge",
                           R"({"amount":10})");
  CHECK(ce.status == 421);
  CHECK(ce.text().find(R"("code":"not_writer")") != std::string::npos);
  const Answer qt = f.call(*f.replica_service, f.qt, "POST", "/v1/queue-tokens/users/1");
  CHECK(qt.status == 421);
  CHECK(qt.text().find("not the writer") != std::string::npos);
  const Answer clinic = f.call(*f.replica_service, f.clinic, "POST",
                               "/schedule/open/v1/commands/cancel-reservation", "{}");
  CHECK(clinic.status == 421);
  CHECK(clinic.text().find("NotWriterException") != std::string::npos);
  CHECK(f.log.end_offset() == end);
}

TEST_CASE("replica: with a writer URL, commands answer 307 to the same target there") {
  Fixture f("http://writer.example:8080");
  const Answer a = f.call(*f.replica_service, f.canonical, "DELETE", "/api/v1/reservations/r1");
  CHECK(a.status == 307);
  CHECK(a.location == "http://writer.example:8080/api/v1/reservations/r1");
  CHECK(a.text().find(R"("code":"NOT_WRITER")") != std::string::npos);
  // An envelope that carries the status carries the redirect's.
  const Answer clinic = f.call(*f.replica_service, f.clinic, "POST",
                               "/schedule/open/v1/commands/cancel-reservation", "{}");
  CHECK(clinic.status == 307);
  CHECK(clinic.text() == R"({"status":307,"message":"NotWriterException",)"
                         R"("className":"NotWriterException","errorProperties":[]})");
  CHECK(f.log.end_offset() == 0);
}

TEST_CASE("replica: a query at the writer's offset answers as the writer, byte for byte") {
  Fixture f;
  const Answer made =
      f.call(*f.service, f.canonical, "POST", "/api/v1/admin/users", R"({"userId":"1"})");
  const Answer charged =
      f.call(*f.service, f.ce, "PATCH", "/api/v1/users/1/wallet/charge", R"({"amount":700})");
  REQUIRE(made.status == 200);
  REQUIRE(charged.status == 200);
  const std::string offset = std::to_string(*charged.offset);
  const Answer on_replica =
      f.call(*f.replica_service, f.ce, "GET", "/api/v1/users/1/wallet", "", offset);
  const Answer on_writer = f.call(*f.service, f.ce, "GET", "/api/v1/users/1/wallet", "", offset);
  CHECK(on_replica.status == 200);
  CHECK(on_replica.text() == R"({"data":{"balance":700}})");
  CHECK(on_replica == on_writer);
  REQUIRE(on_replica.applied.has_value());
  CHECK(*on_replica.applied >= *charged.offset);
}

TEST_CASE("replica: /healthz and /metrics tell the role and the applied offset") {
  Fixture f("http://w:1");
  const Answer health = f.call(*f.replica_service, f.canonical, "GET", "/healthz");
  CHECK(health.status == 200);
  CHECK(health.text() == R"({"result":"SUCCESS","data":{"status":"UP"},"role":"replica",)"
                         R"("applied":0,"writer":"http://w:1"})");
  CHECK(f.call(*f.service, f.canonical, "GET", "/healthz").text().find(R"("writer":null)") !=
        std::string::npos);
  const std::string metrics = f.replica_service->metrics();
  CHECK(metrics.find("reservoir_role{role=\"replica\"} 1\n") != std::string::npos);
  CHECK(metrics.find("reservoir_applied_offset 0\n") != std::string::npos);
  CHECK(metrics.find("reservoir_replica_lag_events ") != std::string::npos);
  CHECK(f.service->metrics().find("reservoir_role{role=\"writer\"} 1\n") != std::string::npos);
}

TEST_CASE("standby: /healthz and /metrics say standby; commands are refused as on a replica") {
  Fixture f;
  ServiceConfig config;
  config.admin_key = "k";
  config.standby = true;
  Service standby(*f.replica.views, *f.replica.follower, f.clock, config);
  CHECK(f.call(standby, f.canonical, "GET", "/healthz").text().find(R"("role":"standby")") !=
        std::string::npos);
  CHECK(standby.metrics().find("reservoir_role{role=\"standby\"} 1\n") != std::string::npos);
  const Answer charged =
      f.call(standby, f.ce, "PATCH", "/api/v1/users/1/wallet/charge", R"({"amount":700})");
  CHECK(charged.status == 421);
  CHECK(f.log.end_offset() == 0);
}

}  // namespace
}  // namespace reservoir::api
