// The pieces under /metrics and the operator's log: the lock-free
// Histogram (events/histogram.h), its Prometheus rendering (api/metrics.h)
// and the log line formats (events/oplog.h).
#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

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
