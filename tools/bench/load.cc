#include "tools/bench/load.h"

#include <httplib.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "events/os.h"
#include "tools/bench/clinic_flows.h"
#include "tools/bench/clock.h"

namespace reservoir::tools::bench {
namespace {

constexpr time_t kConnectTimeoutS = 5;
constexpr time_t kReadTimeoutS = 30;
constexpr int64_t kTransportBackoffMs = 10;  // after a failed connect: no busy loop
constexpr int64_t kProgressPeriodMs = 1000;
constexpr double kP99TargetMs = 20;  // SPEC §4, durable commands (reported for the clinic)

// Progress counters a worker bumps and the main thread reads; one cache line
// each so the workers do not contend.
struct alignas(64) LiveCount {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> errors{0};
};

struct Shared {
  explicit Shared(const LoadPlan& p)
      : plan(p),
        picker(p.catalog.schedules * p.catalog.seats_per_schedule, p.seed),
        live(std::make_unique<LiveCount[]>(static_cast<size_t>(p.connections))) {}

  void fail(const std::string& why) {
    std::lock_guard<std::mutex> lock(mutex);
    if (error.empty()) error = why;
    failed = true;
  }

  const LoadPlan& plan;
  SeatPicker picker;
  std::unique_ptr<LiveCount[]> live;
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::string error;
  // Set once by the start barrier's completion, before any worker goes on.
  int64_t start_ns = 0, measure_ns = 0, end_ns = 0;
};

struct StartClock {
  Shared* s;
  void operator()() noexcept {
    s->start_ns = now_ns();
    s->measure_ns = s->start_ns + s->plan.warmup_ms * 1'000'000;
    s->end_ns = s->measure_ns + s->plan.duration_ms * 1'000'000;
  }
};

void configure(httplib::Client& client) {
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  client.set_connection_timeout(kConnectTimeoutS);
  client.set_read_timeout(kReadTimeoutS);
  client.set_write_timeout(kReadTimeoutS);
  // Uncompressed answers: the ceiling and the server then do the same work
  // per byte, and neither spends the shared cores on compression.
  client.set_decompress(false);
  client.set_default_headers({{"Accept-Encoding", "identity"}});
}

httplib::Result send(httplib::Client& client, const HttpRequest& r) {
  httplib::Headers headers;
  if (!r.token.empty()) headers.emplace(r.token_header, r.token);
  switch (r.method) {
    case HttpRequest::Method::kGet:
      return client.Get(r.path, headers);
    case HttpRequest::Method::kPost:
      return client.Post(r.path, headers, r.body, "application/json");
    case HttpRequest::Method::kPatch:
      return client.Patch(r.path, headers, r.body, "application/json");
    case HttpRequest::Method::kDelete:
      return client.Delete(r.path, headers);
  }
  return client.Get(r.path, headers);
}

// The measured loop of one connection.
void drive(Shared& s, httplib::Client& client, Flow& flow, int worker, WorkerStats& stats) {
  const LoadPlan& plan = s.plan;
  const bool open = plan.rate > 0;
  const double interval_ns = open ? 1e9 * plan.connections / static_cast<double>(plan.rate) : 0;
  const int64_t phase_ns = open ? static_cast<int64_t>(1e9 * worker / plan.rate) : 0;
  LiveCount& live = s.live[static_cast<size_t>(worker)];
  const bool clinic = is_clinic(plan.scenario);
  HttpRequest request;
  std::string transport;
  for (uint64_t k = 0;; ++k) {
    const int64_t due =
        open ? s.start_ns + phase_ns + static_cast<int64_t>(static_cast<double>(k) * interval_ns)
             : now_ns();
    if (due >= s.end_ns) break;
    if (open && now_ns() >= s.end_ns) {
      // Behind schedule at the end: the requests still due were never sent.
      stats.unsent += static_cast<uint64_t>(static_cast<double>(s.end_ns - due) / interval_ns) + 1;
      break;
    }
    if (open) sleep_until_ns(due);
    const int64_t sent = now_ns();
    flow.next(request);
    const httplib::Result res = send(client, request);
    const int64_t done = now_ns();
    const int status = res ? res->status : 0;
    const std::string_view body = res ? std::string_view(res->body) : std::string_view();
    std::string_view code;
    if (status == 0) {
      transport = httplib::to_string(res.error());
      code = transport;
    } else if (status >= 400) {
      code = clinic ? clinic_error_code(body) : error_code(body, plan.dialect);
    }
    const Judgement j = flow.answer(status, code, body);
    live.requests.fetch_add(1, std::memory_order_relaxed);
    if (j.verdict == Verdict::kError) live.errors.fetch_add(1, std::memory_order_relaxed);
    // Counted by when it went out; its latency runs from when it was due.
    if (sent >= s.measure_ns) {
      stats.record((done - due) / 1000, status, code, j.verdict);
      stats.bookings += j.booked;
    }
    if (status == 0) sleep_until_ns(now_ns() + kTransportBackoffMs * 1'000'000);
  }
}

void worker_main(Shared& s, std::barrier<StartClock>& ready, int worker, WorkerStats& stats) {
  name_this_thread("bench-client");  // apart from an in-process ceiling's threads in top/perf
  const LoadPlan& plan = s.plan;
  httplib::Client client(plan.url);
  configure(client);
  const std::string err =
      is_clinic(plan.scenario)
          ? clinic_set_up(client, plan.catalog, plan.admin_key, worker, plan.connections)
          : set_up(client, plan.catalog, plan.admin_key, needs_catalog(plan.scenario), worker,
                   plan.connections);
  if (!err.empty()) s.fail(err);
  // A dialect on its own listener: the set-up connection closes, and the
  // flow's own connection opens with its first request, in the warm-up.
  std::unique_ptr<httplib::Client> own;
  if (!plan.flow_url.empty() && plan.flow_url != plan.url) {
    own = std::make_unique<httplib::Client>(plan.flow_url);
    configure(*own);
    client.stop();
  }
  ready.arrive_and_wait();
  if (s.failed) return;
  const uint64_t seed = plan.seed * 1'000'003 + static_cast<uint64_t>(worker);
  FlowContext context{plan.catalog, s.picker, worker, plan.connections, seed, plan.dialect};
  auto flow = make_flow(plan.scenario, context);
  drive(s, own ? *own : client, *flow, worker, stats);
}

}  // namespace

namespace {

// The server's own counters (GET /metrics); absent from the ceiling.
struct ServerCounters {
  bool seen = false;
  int64_t commands = 0, batches = 0, overloaded = 0, projection_lag = 0;
  // reservoir_projection_lag_seconds_bucket: (upper bound in ms or -1 for +Inf, cumulative events)
  std::vector<std::pair<int64_t, int64_t>> lag_buckets;
};

void scrape_lag_buckets(const std::string& text, ServerCounters& c) {
  // The concert domain's series (engine families are labelled by domain).
  const std::string key = "\nreservoir_projection_lag_seconds_bucket{domain=\"concert\",le=\"";
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
    const char* p = text.c_str() + at + key.size();
    const int64_t bound = *p == '+' ? -1 : std::llround(std::atof(p) * 1000);  // s -> ms
    const size_t value_at = text.find("} ", at);
    if (value_at == std::string::npos) break;
    c.lag_buckets.emplace_back(bound, std::atoll(text.c_str() + value_at + 2));
  }
}

// The events of the measured run whose projection lag was within the
// bucket holding quantile q: that bucket's bound ("at most"), -1 for the
// last (unbounded) one, -2 when no event was counted.
int64_t lag_quantile_bound(const ServerCounters& before, const ServerCounters& after, double q) {
  if (after.lag_buckets.empty() || before.lag_buckets.size() != after.lag_buckets.size()) {
    return -2;
  }
  const int64_t total = after.lag_buckets.back().second - before.lag_buckets.back().second;
  if (total <= 0) return -2;
  for (size_t b = 0; b < after.lag_buckets.size(); ++b) {
    const int64_t within = after.lag_buckets[b].second - before.lag_buckets[b].second;
    if (static_cast<double>(within) >= q * static_cast<double>(total)) {
      return after.lag_buckets[b].first;
    }
  }
  return -1;
}

void report_lag(const ServerCounters& before, const ServerCounters& after, Report& report) {
  for (const auto& [name, q] : {std::pair{"projection_lag_p50_ms_at_most", 0.50},
                                std::pair{"projection_lag_p99_ms_at_most", 0.99}}) {
    const int64_t bound = lag_quantile_bound(before, after, q);
    if (bound == -2) continue;
    if (bound == -1) {
      report.add(name, std::string("over the last bucket"));
    } else {
      report.add(name, bound);
    }
  }
}

// The sum of a family's samples: unlabelled, or one per domain ({domain="…"}).
int64_t metric(const std::string& text, const char* name) {
  const std::string key = std::string("\n") + name;
  int64_t sum = 0;
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
    size_t value_at = at + key.size();
    if (text[value_at] == '{') value_at = text.find("} ", value_at) + 1;
    if (value_at == 0 || text[value_at] != ' ') continue;  // another family's prefix
    sum += std::atoll(text.c_str() + value_at + 1);
  }
  return sum;
}

ServerCounters scrape(const std::string& url) {
  httplib::Client client(url);
  client.set_connection_timeout(kConnectTimeoutS);
  client.set_read_timeout(kReadTimeoutS);
  auto res = client.Get("/metrics");
  ServerCounters c;
  if (!res || res->status != 200 ||
      res->body.find("reservoir_commands_total") == std::string::npos) {
    return c;
  }
  c.seen = true;
  c.commands = metric(res->body, "reservoir_commands_total");
  c.batches = metric(res->body, "reservoir_batches_total");
  c.overloaded = metric(res->body, "reservoir_overloaded_total");
  c.projection_lag = metric(res->body, "reservoir_projection_lag_events");
  scrape_lag_buckets(res->body, c);
  return c;
}

// Prints the progress line once a second until the run ends; reads the
// server's counters when the measured phase starts.
void show_progress(Shared& s, ServerCounters& at_measure) {
  const int64_t period_ns = kProgressPeriodMs * 1'000'000;
  int64_t next_tick = s.start_ns + period_ns, last_tick = s.start_ns;
  uint64_t last_requests = 0;
  bool scraped = !s.plan.scrape_metrics;
  for (;;) {
    int64_t wake = std::min(next_tick, s.end_ns);
    if (!scraped) wake = std::min(wake, s.measure_ns);
    sleep_until_ns(wake);
    const int64_t now = now_ns();
    if (!scraped && now >= s.measure_ns) {
      at_measure = scrape(s.plan.url);
      scraped = true;
    }
    if (now < next_tick && now < s.end_ns) continue;
    uint64_t requests = 0, errors = 0;
    for (int i = 0; i < s.plan.connections; ++i) {
      requests += s.live[static_cast<size_t>(i)].requests.load(std::memory_order_relaxed);
      errors += s.live[static_cast<size_t>(i)].errors.load(std::memory_order_relaxed);
    }
    const double rate = static_cast<double>(requests - last_requests) * 1e9 /
                        static_cast<double>(std::max<int64_t>(1, now - last_tick));
    std::fprintf(stderr, "\r[%s] %5.1fs %-7s requests %llu  req/s %.0f  errors %llu   ",
                 s.plan.label.c_str(), static_cast<double>(now - s.start_ns) / 1e9,
                 now < s.measure_ns ? "warmup" : "run", static_cast<unsigned long long>(requests),
                 rate, static_cast<unsigned long long>(errors));
    std::fflush(stderr);
    last_requests = requests;
    last_tick = now;
    next_tick += period_ns;
    if (now >= s.end_ns) break;
  }
  std::fputc('\n', stderr);
}

// The clinic's reserves (the server's /metrics counts the concert writer
// only) and SPEC §4's p99 bound for durable commands.
void report_clinic(const WorkerStats& total, double seconds, Report& report) {
  report.add("reserves", static_cast<int64_t>(total.bookings));
  report.add("reserves_per_s", static_cast<double>(total.bookings) / seconds);
  const double p99_ms = static_cast<double>(total.latency.percentile_us(99)) / 1000.0;
  report.add("p99_ms", p99_ms);
  report.add("p99_target_ms", kP99TargetMs);
  report.add("meets_p99_target", std::string(p99_ms <= kP99TargetMs ? "yes" : "no"));
}

void fill_report(const Shared& s, const WorkerStats& total, const ServerCounters& before,
                 const ServerCounters& after, Report& report) {
  const LoadPlan& plan = s.plan;
  const double seconds = static_cast<double>(plan.duration_ms) / 1000.0;
  report.add("scenario", plan.label);
  report.add("target", plan.flow_url.empty() ? plan.url : plan.flow_url);
  if (plan.dialect != Dialect::kCanonical) report.add("dialect", dialect_name(plan.dialect));
  report.add("connections", int64_t{plan.connections});
  report.add("loop", plan.rate > 0 ? "open at " + std::to_string(plan.rate) + " req/s" : "closed");
  report.add("warmup_s", static_cast<double>(plan.warmup_ms) / 1000.0);
  report.add("duration_s", seconds);
  report.add("requests", static_cast<int64_t>(total.requests));
  report.add("throughput_rps", static_cast<double>(total.requests) / seconds);
  report.add("ok", static_cast<int64_t>(total.ok));
  report.add("expected_refusals", static_cast<int64_t>(total.expected));
  report.add("errors", static_cast<int64_t>(total.errors));
  if (plan.rate > 0) report.add("unsent_behind_schedule", static_cast<int64_t>(total.unsent));
  if (plan.scenario == "booking" && plan.scrape_metrics) {  // the ceiling books nothing
    report.add("bookings", static_cast<int64_t>(total.bookings));
    report.add("bookings_per_s", static_cast<double>(total.bookings) / seconds);
    if (s.picker.exhausted()) report.add("catalog_exhausted", "yes (add --schedules)");
  }
  if (is_clinic(plan.scenario) && !plan.ceiling) report_clinic(total, seconds, report);
  if (before.seen && after.seen) {
    const int64_t commands = after.commands - before.commands;
    const int64_t batches = after.batches - before.batches;
    report.add("server_commands", commands);
    report.add("server_batches", batches);
    report.add("commands_per_batch", batches > 0 ? static_cast<double>(commands) / batches : 0.0);
    report.add("server_overloaded", after.overloaded - before.overloaded);
    report.add("projection_lag_at_end", after.projection_lag);
    report_lag(before, after, report);
  }
  report.set_outcomes(total.outcomes);
  report.add_latency("latency", total.latency);
}

bool reachable(const std::string& url, std::string& error) {
  httplib::Client probe(url);
  probe.set_connection_timeout(kConnectTimeoutS);
  probe.set_read_timeout(kReadTimeoutS);
  auto res = probe.Get("/healthz");
  if (res) return true;
  error = "cannot reach " + url + ": " + httplib::to_string(res.error());
  return false;
}

}  // namespace

bool needs_catalog(const std::string& scenario) {
  return scenario != "charge";
}

bool run_load(const LoadPlan& plan, Report& report, std::string& error) {
  if (!reachable(plan.url, error)) return false;
  if (!plan.flow_url.empty() && !reachable(plan.flow_url, error)) return false;
  Shared s(plan);
  const auto n = static_cast<size_t>(plan.connections);
  std::barrier<StartClock> ready(plan.connections + 1, StartClock{&s});
  std::vector<std::unique_ptr<WorkerStats>> stats(n);
  std::vector<std::thread> threads;
  threads.reserve(n);
  std::string what = std::to_string(plan.catalog.users) + " users";
  if (is_clinic(plan.scenario)) {
    what = std::to_string(plan.catalog.users) + " clinic visitors, zones and groups (ids " +
           plan.catalog.prefix + "…)";
  } else if (needs_catalog(plan.scenario)) {
    what += " and " + std::to_string(plan.catalog.schedules) + " schedules of " +
            std::to_string(plan.catalog.seats_per_schedule) + " seats";
  }
  std::fprintf(stderr, "[%s] setting up %s through %d connections\n", plan.label.c_str(),
               what.c_str(), plan.connections);
  for (size_t i = 0; i < n; ++i) {
    stats[i] = std::make_unique<WorkerStats>();
    try {  // std::thread reports a refused thread by throwing; keep it here
      threads.emplace_back(worker_main, std::ref(s), std::ref(ready), static_cast<int>(i),
                           std::ref(*stats[i]));
    } catch (const std::system_error& e) {
      s.fail(std::string("cannot start connection thread: ") + e.what());
      for (size_t j = i; j < n; ++j) ready.arrive_and_drop();  // the ones never started
      break;
    }
  }
  ready.arrive_and_wait();
  ServerCounters before, after;
  if (!s.failed) show_progress(s, before);
  for (auto& t : threads) t.join();
  if (s.failed) {
    error = "set-up failed: " + s.error;
    return false;
  }
  if (plan.scrape_metrics) after = scrape(plan.url);
  WorkerStats total;
  for (const auto& st : stats) total.merge(*st);
  fill_report(s, total, before, after, report);
  return true;
}

}  // namespace reservoir::tools::bench
