#include "api/metrics.h"

#include <cstdlib>

#include "api/connections.h"
#include "api/dialect.h"

namespace reservoir::api {

namespace {

constexpr std::string_view kCodeNames[] = {
#define RESERVOIR_CODE_NAME(name) #name,
    RESERVOIR_ERROR_CODES(RESERVOIR_CODE_NAME)
#undef RESERVOIR_CODE_NAME
};
constexpr size_t kKnownCodes = std::size(kCodeNames);
static_assert(kKnownCodes < RequestMetrics::kCodeSlots, "a refusal slot per code, and OTHER");

// The code an error body names: the string after its first "code":"
// (every dialect's envelope that carries a code writes it so).
size_t code_slot_of(std::string_view body) {
  constexpr std::string_view kKey = "\"code\":\"";
  const size_t at = body.find(kKey);
  if (at != std::string_view::npos) {
    std::string_view rest = body.substr(at + kKey.size());
    rest = rest.substr(0, rest.find('"'));
    for (size_t i = 0; i < kKnownCodes; ++i) {
      if (kCodeNames[i] == rest) return i;
    }
  }
  return kKnownCodes;  // OTHER
}

}  // namespace

StatusClass status_class(int status) {
  if (status < 300) return StatusClass::k2xx;
  if (status < 400) return StatusClass::k3xx;
  if (status < 500) return StatusClass::k4xx;
  return StatusClass::k5xx;
}

std::string_view status_class_name(StatusClass c) {
  static constexpr std::string_view kNames[] = {"2xx", "3xx", "4xx", "5xx"};
  return kNames[static_cast<size_t>(c)];
}

RequestMetrics::RequestMetrics(size_t routes)
    : routes_(routes), durations_(std::make_unique<Histogram[]>(routes * kStatusClasses)) {}

void RequestMetrics::observe(size_t route, int status, int64_t duration_ns) {
  if (route >= routes_) return;
  durations_[route * kStatusClasses + static_cast<size_t>(status_class(status))].observe(
      duration_ns);
}

void RequestMetrics::count_refusal(std::string_view body) {
  refusals_[code_slot_of(body)].fetch_add(1, std::memory_order_relaxed);
}

std::string_view RequestMetrics::code_name(size_t code_slot) {
  if (code_slot < kKnownCodes) return kCodeNames[code_slot];
  return code_slot == kKnownCodes ? "OTHER" : "";
}

std::string_view route_kind(size_t slot) {
  // Router::counter_name's order: each dialect's routes, then the shared slots.
  for (const Dialect* d : all_dialects()) {
    if (slot < d->routes.size()) {
      return std::string_view(d->routes[slot].method) == "GET" ? "query" : "command";
    }
    slot -= d->routes.size();
  }
  return "other";
}

std::string scaled_decimal(int64_t value, int decimals) {
  const bool negative = value < 0;
  std::string digits = std::to_string(negative ? -value : value);
  if (decimals > 0) {
    const auto d = static_cast<size_t>(decimals);
    if (digits.size() <= d) digits.insert(0, d + 1 - digits.size(), '0');
    std::string fraction = digits.substr(digits.size() - d);
    digits.resize(digits.size() - d);
    while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
    if (!fraction.empty()) digits += "." + fraction;
  }
  return negative ? "-" + digits : digits;
}

void MetricsWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void MetricsWriter::sample(std::string_view name, std::string_view labels, uint64_t value) {
  out_.append(name);
  if (!labels.empty()) out_.append("{").append(labels).append("}");
  out_.append(" ").append(std::to_string(value)).append("\n");
}

void MetricsWriter::counter(std::string_view name, std::string_view help, uint64_t value) {
  family(name, "counter", help);
  sample(name, "", value);
}

void MetricsWriter::gauge(std::string_view name, std::string_view help, uint64_t value) {
  family(name, "gauge", help);
  sample(name, "", value);
}

void MetricsWriter::histogram(std::string_view name, std::string_view labels,
                              std::span<const int64_t> bounds, const Histogram::Snapshot& s,
                              int decimals) {
  const std::string prefix = std::string(labels) + (labels.empty() ? "" : ",");
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t b = 0; b <= bounds.size(); ++b) {
    cumulative += s.per_bucket[b];
    const std::string le =
        b < bounds.size() ? scaled_decimal(bounds[b], decimals) : std::string("+Inf");
    sample(bucket, prefix + "le=\"" + le + "\"", cumulative);
  }
  out_.append(name).append("_sum");
  if (!labels.empty()) out_.append("{").append(labels).append("}");
  out_.append(" ").append(scaled_decimal(s.sum, decimals)).append("\n");
  sample(std::string(name) + "_count", labels, s.count);
}

Histogram::Snapshot lag_snapshot(const projections::LagHistogram::Counts& c) {
  Histogram::Snapshot s;
  static_assert(projections::LagHistogram::kBuckets <= Histogram::kBoundsMax + 1);
  for (size_t b = 0; b < projections::LagHistogram::kBuckets; ++b) {
    s.per_bucket[b] = c.per_bucket[b];
  }
  s.count = c.events;
  s.sum = static_cast<int64_t>(c.sum_ms);
  return s;
}

}  // namespace reservoir::api

namespace reservoir::api {

namespace {

void render_requests(const MetricsSources& src, MetricsWriter& w) {
  const RequestMetrics& r = *src.requests;
  constexpr std::string_view kDuration = "reservoir_http_request_duration_seconds";
  w.family(kDuration, "histogram",
           "Time from a request being taken up whole (by the epoll thread or a worker) to its "
           "answer, by route template and status class.");
  for (size_t route = 0; route < r.routes(); ++route) {
    for (size_t c = 0; c < kStatusClasses; ++c) {
      const Histogram& h = r.duration(route, static_cast<StatusClass>(c));
      const Histogram::Snapshot s = h.snapshot();
      if (s.count == 0) continue;
      const std::string labels = std::string("route=\"") + src.route_name(route) + "\",kind=\"" +
                                 std::string(route_kind(route)) + "\",status_class=\"" +
                                 std::string(status_class_name(static_cast<StatusClass>(c))) + "\"";
      w.histogram(kDuration, labels, h.bounds(), s, 9);
    }
  }
  constexpr std::string_view kRefusals = "reservoir_refusals_total";
  w.family(kRefusals, "counter", "Requests refused (answered 4xx or 5xx), by error code.");
  for (size_t slot = 0; !RequestMetrics::code_name(slot).empty(); ++slot) {
    const uint64_t n = r.refusals(slot);
    if (n == 0) continue;
    w.sample(kRefusals, "code=\"" + std::string(RequestMetrics::code_name(slot)) + "\"", n);
  }
}

std::string domain_label(const DomainMetrics& d) {
  return "domain=\"" + std::string(d.domain) + "\"";
}

// A family with one sample per domain: `value(d)` of each.
template <class Value>
void per_domain(const MetricsSources& src, MetricsWriter& w, std::string_view name,
                std::string_view type, std::string_view help, Value&& value) {
  w.family(name, type, help);
  for (const DomainMetrics& d : src.domains) w.sample(name, domain_label(d), value(d));
}

// A histogram family with one series per domain: `hist(d)` of each (null: none).
template <class Hist>
void per_domain_histogram(const MetricsSources& src, MetricsWriter& w, std::string_view name,
                          std::string_view help, int decimals, Hist&& hist) {
  bool any = false;
  for (const DomainMetrics& d : src.domains) any = any || hist(d) != nullptr;
  if (!any) return;
  w.family(name, "histogram", help);
  for (const DomainMetrics& d : src.domains) {
    if (const Histogram* h = hist(d)) {
      w.histogram(name, domain_label(d), h->bounds(), h->snapshot(), decimals);
    }
  }
}

void render_writer(const MetricsSources& src, MetricsWriter& w) {
  using D = const DomainMetrics&;
  per_domain(src, w, "reservoir_commands_total", "counter",
             "Commands the writer decided (or answered 503), by domain.",
             [](D d) { return d.writer.commands; });
  per_domain(src, w, "reservoir_batches_total", "counter", "Batches the writer decided.",
             [](D d) { return d.writer.batches; });
  per_domain(src, w, "reservoir_events_total", "counter", "Events appended to the log.",
             [](D d) { return d.writer.events; });
  per_domain(src, w, "reservoir_overloaded_total", "counter",
             "Commands refused because the queue was full.",
             [](D d) { return d.writer.overloaded; });
  per_domain(src, w, "reservoir_append_failures_total", "counter", "Durable appends that failed.",
             [](D d) { return d.writer.append_failures; });
  per_domain(src, w, "reservoir_command_queue_depth", "gauge", "Commands waiting for the writer.",
             [](D d) { return d.writer.queue_depth; });
  per_domain(src, w, "reservoir_log_recovering", "gauge",
             "1 while the writer rebuilds its state after a failure.",
             [](D d) { return uint64_t{d.writer.recovering ? 1u : 0u}; });
  per_domain(src, w, "reservoir_fenced", "gauge", "1 once another writer took the log over.",
             [](D d) { return uint64_t{d.writer.fenced ? 1u : 0u}; });
  per_domain(src, w, "reservoir_log_end_offset", "gauge", "End offset of the last durable append.",
             [](D d) { return d.acked; });
  per_domain_histogram(src, w, "reservoir_group_commit_batch_commands",
                       "Commands sharing one durable append (group commit).", 0,
                       [](D d) { return d.batch_commands; });
  per_domain_histogram(src, w, "reservoir_log_sync_duration_seconds",
                       "Duration of one durable append (write and sync, or commit).", 9,
                       [](D d) { return d.append_durations; });
  per_domain_histogram(src, w, "reservoir_kafka_commit_duration_seconds",
                       "Duration of one Kafka flush and transaction commit.", 9,
                       [](D d) { return d.kafka_commits; });
}

void render_views(const MetricsSources& src, MetricsWriter& w) {
  using D = const DomainMetrics&;
  per_domain(src, w, "reservoir_projection_offset", "gauge",
             "Log offset the projections have applied.", [](D d) { return d.applied; });
  per_domain(src, w, "reservoir_projection_lag_events", "gauge",
             "Acknowledged events not yet visible to queries.",
             [](D d) { return d.acked > d.applied ? d.acked - d.applied : 0; });
  constexpr std::string_view kLag = "reservoir_projection_lag_seconds";
  w.family(kLag, "histogram", "Time from an event's decision to its visibility in queries.");
  for (const DomainMetrics& d : src.domains) {
    w.histogram(kLag, domain_label(d), projections::LagHistogram::kBoundsMs, lag_snapshot(d.lag),
                3);
  }
  w.counter("reservoir_query_cache_hits_total", "Query answers served from the cache.",
            src.cache.hits);
  w.counter("reservoir_query_cache_misses_total", "Query answers rendered anew.", src.cache.misses);
  w.gauge("reservoir_query_cache_bytes", "Bytes held by the query cache.", src.cache.bytes);
  const ConnectionTotals c = connection_totals();
  w.gauge("reservoir_connections_open", "Open HTTP connections, all listeners.", c.open);
  w.counter("reservoir_connections_refused_total",
            "Connections refused (503) beyond --http-connections-max.", c.refused);
}

}  // namespace

void render_metrics(const MetricsSources& src, MetricsWriter& w) {
  render_requests(src, w);
  render_writer(src, w);
  render_views(src, w);
}

}  // namespace reservoir::api
