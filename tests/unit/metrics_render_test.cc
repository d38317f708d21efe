// The pieces under /metrics and the operator's log: the lock-free
// Histogram (events/histogram.h), its Prometheus rendering (api/metrics.h)
// and the log line formats (events/oplog.h).
#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include "api/dialect.h"
#include "api/metrics.h"
#include "events/histogram.h"
#include "events/oplog.h"

namespace reservoir {
namespace {

constexpr std::array<int64_t, 3> kBounds = {10, 20, 50};

}  // namespace

TEST_CASE("histogram: bounds are inclusive upper bounds; the last bucket takes the rest") {
  Histogram h(kBounds);
  for (int64_t v : {0, 10, 11, 20, 50, 51, 1000, -5}) h.observe(v);
  const Histogram::Snapshot s = h.snapshot();
  CHECK(s.per_bucket[0] == 3);  // 0, 10, -5 (as 0)
  CHECK(s.per_bucket[1] == 2);  // 11, 20
  CHECK(s.per_bucket[2] == 1);  // 50
  CHECK(s.per_bucket[3] == 2);  // 51, 1000
  CHECK(s.count == 8);
  CHECK(s.sum == 0 + 10 + 11 + 20 + 50 + 51 + 1000);
}

TEST_CASE("histogram: observations from several threads are all counted") {
  Histogram h(kDurationBoundsNs);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h] {
      for (int i = 0; i < 10'000; ++i) h.observe(i * 1000);
    });
  }
  for (auto& t : threads) t.join();
  CHECK(h.snapshot().count == 40'000);
}

TEST_CASE("metrics: values scale to exact decimals") {
  CHECK(api::scaled_decimal(50'000, 9) == "0.00005");
  CHECK(api::scaled_decimal(2'500'000'000, 9) == "2.5");
  CHECK(api::scaled_decimal(10'000'000'000, 9) == "10");
  CHECK(api::scaled_decimal(0, 9) == "0");
  CHECK(api::scaled_decimal(5, 3) == "0.005");
  CHECK(api::scaled_decimal(2048, 0) == "2048");
}

TEST_CASE("metrics: a histogram renders cumulative buckets, +Inf, sum and count") {
  Histogram h(kBounds);
  for (int64_t v : {5, 15, 15, 100}) h.observe(v);
  std::string out;
  api::MetricsWriter w(out);
  w.family("x_seconds", "histogram", "Example.");
  w.histogram("x_seconds", "route=\"r\"", h.bounds(), h.snapshot(), 3);
  CHECK(out ==
        "# HELP x_seconds Example.\n"
        "# TYPE x_seconds histogram\n"
        "x_seconds_bucket{route=\"r\",le=\"0.01\"} 1\n"
        "x_seconds_bucket{route=\"r\",le=\"0.02\"} 3\n"
        "x_seconds_bucket{route=\"r\",le=\"0.05\"} 3\n"
        "x_seconds_bucket{route=\"r\",le=\"+Inf\"} 4\n"
        "x_seconds_sum{route=\"r\"} 0.135\n"
        "x_seconds_count{route=\"r\"} 4\n");
}

TEST_CASE("metrics: refusals are counted by the error code an answer names") {
  api::RequestMetrics m(1);
  m.count_refusal(R"({"result":"ERROR","error":{"code":"SEAT_UNAVAILABLE","message":"x"}})");
  m.count_refusal(R"({"result":"ERROR","error":{"code":"SEAT_UNAVAILABLE","message":"y"}})");
  m.count_refusal(R"({"message":"a dialect's own words"})");
  uint64_t seat = 0, other = 0;
  for (size_t slot = 0; !api::RequestMetrics::code_name(slot).empty(); ++slot) {
    if (api::RequestMetrics::code_name(slot) == "SEAT_UNAVAILABLE") seat = m.refusals(slot);
    if (api::RequestMetrics::code_name(slot) == "OTHER") other = m.refusals(slot);
  }
  CHECK(seat == 2);
  CHECK(other == 1);
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_CASE("metrics: every engine family has one TYPE and a series per domain") {
  Histogram concert_batches(kBatchBounds), concert_syncs, clinic_batches(kBatchBounds),
      clinic_syncs;
  concert_batches.observe(3);
  clinic_batches.observe(1);
  clinic_syncs.observe(2'000'000);
  std::array<api::DomainMetrics, 2> domains;
  domains[0].domain = "concert";
  domains[0].writer.commands = 5;
  domains[0].batch_commands = &concert_batches;
  domains[0].append_durations = &concert_syncs;
  domains[0].acked = 9;
  domains[0].applied = 7;
  domains[1].domain = "clinic";
  domains[1].writer.commands = 2;
  domains[1].batch_commands = &clinic_batches;
  domains[1].append_durations = &clinic_syncs;
  domains[1].acked = domains[1].applied = 4;
  const api::RequestMetrics requests(api::Router::counter_slots());
  api::MetricsSources src;
  src.domains = domains;
  src.requests = &requests;
  src.route_name = &api::Router::counter_name;
  std::string out;
  api::MetricsWriter w(out);
  api::render_metrics(src, w);
  CHECK(occurrences(out, "# TYPE reservoir_commands_total counter\n") == 1);
  CHECK(occurrences(out, "reservoir_commands_total{domain=\"concert\"} 5\n") == 1);
  CHECK(occurrences(out, "reservoir_commands_total{domain=\"clinic\"} 2\n") == 1);
  CHECK(occurrences(out, "# TYPE reservoir_log_sync_duration_seconds histogram\n") == 1);
  CHECK(occurrences(out, "reservoir_log_sync_duration_seconds_count{domain=\"clinic\"} 1\n") == 1);
  CHECK(occurrences(out, "reservoir_log_sync_duration_seconds_sum{domain=\"clinic\"} 0.002\n") ==
        1);
  CHECK(occurrences(out, "reservoir_group_commit_batch_commands_sum{domain=\"concert\"} 3\n") == 1);
  CHECK(occurrences(out, "reservoir_projection_lag_events{domain=\"concert\"} 2\n") == 1);
  CHECK(occurrences(out, "reservoir_projection_lag_events{domain=\"clinic\"} 0\n") == 1);
  CHECK(occurrences(out, "# TYPE reservoir_projection_lag_seconds histogram\n") == 1);
  // No Kafka log in either domain: no Kafka family at all.
  CHECK(occurrences(out, "reservoir_kafka_commit_duration_seconds") == 0);
}

TEST_CASE("metrics: a route's kind is query for a GET route, command for others") {
  std::vector<std::pair<std::string, std::string_view>> seen;
  for (size_t slot = 0; slot < api::Router::counter_slots(); ++slot) {
    const std::string name = api::Router::counter_name(slot);
    if (name == "charge" || name == "balance" || name == "cl_reserve_v1" ||
        name == "cl_occupancy" || name == "healthz" || name == "metrics") {
      seen.emplace_back(name, api::route_kind(slot));
    }
  }
  REQUIRE(seen.size() == 6);
  for (const auto& [name, kind] : seen) {
    CAPTURE(name);
    if (name == "charge" || name == "cl_reserve_v1") CHECK(kind == "command");
    if (name == "balance" || name == "cl_occupancy") CHECK(kind == "query");
    if (name == "healthz" || name == "metrics") CHECK(kind == "other");
  }
}

TEST_CASE("oplog: text lines are key=value, quoted when needed; json lines are objects") {
  const int64_t t = 1'796'630'400'123;  // 2026-12-07T...
  const std::vector<oplog::Field> fields = {
      {"route", "charge"}, {"reason", "cannot \"lock\" a=b"}, {"empty", ""}};
  const std::string text =
      oplog::format_line(oplog::Format::kText, t, oplog::Level::kWarn, "slow_request", fields);
  CHECK(text.rfind("ts=", 0) == 0);
  CHECK(text.find(" level=warn event=slow_request route=charge "
                  "reason=\"cannot \\\"lock\\\" a=b\" empty=\"\"") != std::string::npos);
  const std::string json = oplog::format_line(oplog::Format::kJson, t, oplog::Level::kError,
                                              "fault", {{"error", "line1\nline2\t\x01"}});
  CHECK(json.rfind("{\"ts\":\"", 0) == 0);
  CHECK(json.find(",\"level\":\"error\",\"event\":\"fault\","
                  "\"error\":\"line1\\nline2\\t\\u0001\"}") != std::string::npos);
  CHECK(json.find('\n') == std::string::npos);
}

}  // namespace reservoir
