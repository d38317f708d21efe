// `reservoir bench --scenario replica` (SPEC §7's targets; docs/BENCHMARKS.md,
// "Replicas"): against a writer at --url and a query replica at
// --replica-url of the same Kafka topic,
//  1. the query rate the replica serves against the HTTP ceiling measured in
//     the same run (the ceiling with the query stream, the query stream on
//     the replica, the ceiling again: as --compare), target >= 0.9;
//  2. the replica's lag under full command load: the charge load on the
//     writer while one probe connection acknowledges a charge every
//     kProbePeriodMs and asks the replica for that user's balance with
//     `Reservoir-Min-Offset` set to the charge's `Reservoir-Offset`. The lag
//     is the time from the acknowledgement to the replica's answer, target
//     p99 <= 100 ms. It is what a client doing read-your-writes through a
//     replica waits, one query round trip included (an upper bound of the
//     apply lag itself), measured exactly rather than read from a bucketed
//     histogram or sampled from a gauge.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "tools/bench/clock.h"
#include "tools/bench/replica_lag.h"
#include "tools/bench/scenarios.h"

namespace reservoir::tools::bench {
namespace {

constexpr double kQueryRatioTarget = 0.90;      // SPEC §7: replica queries >= 0.9 x ceiling
constexpr double kLagP99TargetMs = 100;         // SPEC §7: replica lag p99 under full load
constexpr int64_t kProbePeriodMs = 10;          // one probe command per period: ~1% of the load
constexpr size_t kProbeSamplesMax = 1'000'000;  // 1 h at one per 10 ms is 360,000
constexpr time_t kProbeTimeoutS = 5;            // above --min-offset-wait's default 1 s

double number(const Report& r, const char* name) {
  const Report::Value* v = r.find(name);
  if (v == nullptr) return 0;
  if (const auto* d = std::get_if<double>(v)) return *d;
  if (const auto* i = std::get_if<int64_t>(v)) return static_cast<double>(*i);
  return 0;
}

// Part 1: the ceiling, the query stream on the replica (users and concerts
// created on the writer; the warm-up lets the replica apply them), the
// ceiling again.
bool run_query_part(const BenchOptions& o, Report& report, std::string& error) {
  const Catalog catalog = Catalog::make(o.users, o.schedules, o.seats_per_schedule);
  Report before, queries, after;
  if (!run_ceiling(o, "query", catalog, Dialect::kCanonical, before, error)) return false;
  LoadPlan p = plan_for(o, "query", catalog, Dialect::kCanonical);
  p.label = "query(replica)";
  p.flow_url = o.replica_url;
  p.scrape_metrics = false;  // /metrics would be the writer's
  if (!run_load(p, queries, error)) return false;
  if (!run_ceiling(o, "query", catalog, Dialect::kCanonical, after, error)) return false;
  const double rps = number(queries, "throughput_rps");
  const double b = number(before, "throughput_rps"), a = number(after, "throughput_rps");
  const double ratio = ratio_to_ceilings(rps, b, a);
  report.add("replica_query_rps", rps);
  report.add("replica_query_errors", static_cast<int64_t>(number(queries, "errors")));
  report.add("ceiling_before_rps", b);
  report.add("ceiling_after_rps", a);
  report.add("ratio_to_ceiling", ratio);
  report.add("ratio_target", kQueryRatioTarget);
  report.add("meets_ratio_target", std::string(ratio >= kQueryRatioTarget ? "yes" : "no"));
  report.add_child("replica_queries", std::move(queries));
  report.add_child("ceiling", std::move(before));
  report.add_child("ceiling_after", std::move(after));
  return true;
}

// The probe connection of part 2 (see the file's comment).
class LagProbe {
 public:
  LagProbe(const BenchOptions& o, const Catalog& catalog)
      : o_(o), user_(catalog.prefix + "probe"), writer_(o.url), replica_(o.replica_url) {
    for (httplib::Client* c : {&writer_, &replica_}) {
      c->set_keep_alive(true);
      c->set_tcp_nodelay(true);
      c->set_connection_timeout(kProbeTimeoutS);
      c->set_read_timeout(kProbeTimeoutS);
    }
  }

  // Creates the probe's user on the writer; "" or what went wrong.
  std::string set_up() {
    auto res = writer_.Post("/api/v1/admin/users", {{"Admin-Key", o_.admin_key}},
                            "{\"userId\":\"" + user_ + "\"}", "application/json");
    if (!res) return "probe: POST /api/v1/admin/users: " + httplib::to_string(res.error());
    if (res->status != 200) {
      return "probe: POST /api/v1/admin/users: HTTP " + std::to_string(res->status);
    }
    return "";
  }

  ~LagProbe() { stop(); }
  LagProbe(const LagProbe&) = delete;
  LagProbe& operator=(const LagProbe&) = delete;

  void start() {
    thread_ = std::thread([this] { loop(); });
  }
  void stop() {
    stop_.store(true, std::memory_order_relaxed);
    if (thread_.joinable()) thread_.join();
  }
  const std::vector<LagSample>& samples() const { return samples_; }
  int64_t errors() const { return errors_; }

 private:
  void loop() {
    while (!stop_.load(std::memory_order_relaxed) && samples_.size() < kProbeSamplesMax) {
      if (!probe_once()) ++errors_;
      std::this_thread::sleep_for(std::chrono::milliseconds(kProbePeriodMs));
    }
  }

  // One charge on the writer, then the balance on the replica at its offset.
  bool probe_once() {
    auto ack = writer_.Post("/api/v1/balance/charge", "{\"userId\":\"" + user_ + "\",\"amount\":1}",
                            "application/json");
    const int64_t acked_ns = now_ns();
    if (!ack || ack->status != 200 || !ack->has_header("Reservoir-Offset")) return false;
    const std::string offset = ack->get_header_value("Reservoir-Offset");
    auto read = replica_.Get("/api/v1/balance?userId=" + user_, {{"Reservoir-Min-Offset", offset}});
    const int64_t answered_ns = now_ns();
    if (!read || (read->status != 200 && read->status != 503)) return false;
    if (read->status == 200 &&
        std::strtoull(read->get_header_value("Reservoir-Applied").c_str(), nullptr, 10) <
            std::strtoull(offset.c_str(), nullptr, 10)) {
      return false;  // an answer from before the offset: a broken replica, not a lag
    }
    samples_.push_back({acked_ns, (answered_ns - acked_ns) / 1000, read->status == 503});
    return true;
  }

  const BenchOptions& o_;
  const std::string user_;
  httplib::Client writer_, replica_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::vector<LagSample> samples_;  // the probe thread's until stop() returns
  int64_t errors_ = 0;
};

double ms(int64_t us) {
  return static_cast<double>(us) / 1000.0;
}

// Part 2: the charge load on the writer with the probe beside it. The
// samples counted are those acknowledged in the last --duration before the
// load returned: its measured window (set-up and warm-up come first).
bool run_lag_part(const BenchOptions& o, Report& report, std::string& error) {
  const Catalog catalog = Catalog::make(o.users, o.schedules, o.seats_per_schedule);
  LagProbe probe(o, catalog);
  if (error = probe.set_up(); !error.empty()) return false;
  probe.start();
  Report load;
  const bool ok = run_load(plan_for(o, "charge", catalog, Dialect::kCanonical), load, error);
  const int64_t end_ns = now_ns();
  probe.stop();
  if (!ok) return false;
  const LagSummary lag = summarize_lag(probe.samples(), end_ns - o.duration_ms * 1'000'000, end_ns);
  report.add("writer_command_rps", number(load, "throughput_rps"));
  report.add("lag_samples", lag.samples);
  report.add("lag_probe_errors", probe.errors());
  report.add("lag_timed_out_503", lag.timed_out);
  report.add("lag_p50_ms", ms(lag.p50_us));
  report.add("lag_p99_ms", ms(lag.p99_us));
  report.add("lag_max_ms", ms(lag.max_us));
  report.add("lag_p99_target_ms", kLagP99TargetMs);
  const bool met = lag.samples > 0 && ms(lag.p99_us) <= kLagP99TargetMs;
  report.add("meets_lag_target", std::string(met ? "yes" : "no"));
  report.add_child("writer_charges", std::move(load));
  return true;
}

}  // namespace

bool run_replica(const BenchOptions& o, Report& report, std::string& error) {
  report.add("scenario", std::string("replica"));
  report.add("writer", o.url);
  report.add("replica", o.replica_url);
  return run_query_part(o, report, error) && run_lag_part(o, report, error);
}

}  // namespace reservoir::tools::bench
