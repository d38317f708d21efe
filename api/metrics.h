// Metrics: what GET /metrics shows (SPEC §8), in Prometheus' text format
// 0.0.4: base units (seconds), `_total` counters, histograms as cumulative
// `_bucket{le=…}` with `_sum` and `_count`, `# HELP` and `# TYPE` before
// every family, route labels by the router's route names (templates, never
// raw paths). docs/OPERATIONS.md ("Metrics") lists every family.
//
// - RequestMetrics: what the HTTP layer and the Service observe per request
//   (duration by route and status class, refusals by error code). Its
//   arrays are allocated once; observe() and count_refusal() are relaxed
//   atomic adds, without lock or allocation.
// - MetricsWriter: renders families into a string; render_metrics() renders
//   every family of MetricsSources. Service::metrics() is the entry point.
//
// Thread safety: RequestMetrics' observers and snapshot readers from any
// number of threads; a MetricsWriter belongs to one thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "api/query_cache.h"
#include "engine/reply.h"
#include "engine/writer.h"
#include "events/histogram.h"
#include "projections/lag_histogram.h"

namespace reservoir::api {

enum class StatusClass : uint8_t { k2xx, k3xx, k4xx, k5xx };
inline constexpr size_t kStatusClasses = 4;
StatusClass status_class(int status);
std::string_view status_class_name(StatusClass c);

class RequestMetrics {
 public:
  // `routes`: the router's counter slots (Router::counter_slots()).
  explicit RequestMetrics(size_t routes);

  // A request of route slot `route` answered `status` after `duration_ns`.
  void observe(size_t route, int status, int64_t duration_ns);
  // An error answer's body: counted by the error code it names (SPEC §2
  // codes; any other as OTHER).
  void count_refusal(std::string_view body);

  size_t routes() const { return routes_; }
  const Histogram& duration(size_t route, StatusClass c) const {
    return durations_[route * kStatusClasses + static_cast<size_t>(c)];
  }
  static constexpr size_t kCodeSlots = 64;  // every ErrorCode, then OTHER
  uint64_t refusals(size_t code_slot) const {
    return refusals_[code_slot].load(std::memory_order_relaxed);
  }
  // The label of a refusal slot; empty past the last one.
  static std::string_view code_name(size_t code_slot);

 private:
  size_t routes_;
  std::unique_ptr<Histogram[]> durations_;  // routes x status classes
  std::array<std::atomic<uint64_t>, kCodeSlots> refusals_{};
};

class MetricsWriter {
 public:
  explicit MetricsWriter(std::string& out) : out_(out) {}

  // `# HELP` and `# TYPE` lines (type: counter, gauge, histogram).
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample; `labels` is empty or `a="x",b="y"` (values already safe).
  void sample(std::string_view name, std::string_view labels, uint64_t value);
  // A whole single-series family.
  void counter(std::string_view name, std::string_view help, uint64_t value);
  void gauge(std::string_view name, std::string_view help, uint64_t value);
  // One histogram series: cumulative buckets, sum and count. Values are in
  // units of 10^-decimals of the base unit (9: ns -> seconds; 3: ms ->
  // seconds; 0: counts).
  void histogram(std::string_view name, std::string_view labels, std::span<const int64_t> bounds,
                 const Histogram::Snapshot& s, int decimals);

 private:
  std::string& out_;
};

// One domain's engine (writer, log, projections): every engine family has
// a sample per domain, labelled domain="concert" or domain="clinic".
struct DomainMetrics {
  std::string_view domain;  // the label's value
  WriterStats writer;       // zero on a replica (no writer)
  const Histogram* batch_commands = nullptr;
  const Histogram* append_durations = nullptr;
  const Histogram* kafka_commits = nullptr;  // null: the log is not Kafka
  uint64_t acked = 0, applied = 0;           // log end, projection offset
  projections::LagHistogram::Counts lag;
};

// What render_metrics() shows besides the request counters.
struct MetricsSources {
  std::span<const DomainMetrics> domains;  // the concert domain first
  QueryCache::Stats cache;
  const RequestMetrics* requests = nullptr;
  const char* (*route_name)(size_t slot) = nullptr;
};
void render_metrics(const MetricsSources& src, MetricsWriter& w);

// The `kind` label of a request counter slot (Router::counter_name's
// order): "query" for a dialect's GET route, "command" for its other
// routes, "other" for the shared ones (health, metrics, console, 404…).
// The console sums queries/s by it, so a new GET route needs no edit there.
std::string_view route_kind(size_t slot);

// `value` / 10^decimals as an exact decimal ("0.00005", "2.5", "10").
std::string scaled_decimal(int64_t value, int decimals);

// The projection follower's lag histogram (ms) as a Histogram snapshot.
Histogram::Snapshot lag_snapshot(const projections::LagHistogram::Counts& c);

}  // namespace reservoir::api
