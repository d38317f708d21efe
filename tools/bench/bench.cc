// reservoir bench: the load generator of SPEC §4 (see docs/BENCHMARKS.md).
// Parses and bounds the flags, runs one scenario (or, with --compare, the
// HTTP ceiling and then the scenario in the same run) and prints the report:
// aligned text on stdout, plus one JSON object with --json. Progress goes to
// stderr. Exit: 0 when the run completed, 1 when it could not (server
// unreachable, set-up refused, core refusals), 2 for a bad flag.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "events/time_format.h"
#include "tools/bench/ceiling.h"
#include "tools/bench/clinic_flows.h"
#include "tools/bench/dialect.h"
#include "tools/bench/load.h"
#include "tools/bench/options.h"
#include "tools/bench/scenarios.h"
#include "tools/flags.h"
#include "tools/subcommands.h"

namespace reservoir::tools::bench {
namespace {

constexpr int kCeilingSpareThreads = 8;       // beyond one per connection: probes, stragglers
constexpr double kDurableRatioTarget = 0.80;  // SPEC §4, durable commands
constexpr double kQueryRatioTarget = 0.90;    // SPEC §4, queries
constexpr double kDialectRatioTarget = 0.95;  // SPEC §4, dialects against canonical
constexpr double kErrorShareMax = 0.01;       // --compare-dialect: above, a side did other work

constexpr const char* kSummary =
    "Load-generates against a running Reservoir server (or in process) and reports\n"
    "throughput, outcomes by status and error code, and latency percentiles.\n\n"
    "scenarios:\n"
    "  booking   each connection loops token -> hold 1 seat -> charge -> pay\n"
    "  charge    POST /api/v1/balance/charge only\n"
    "  query     GET seats of a schedule, a balance, the concerts, a concert's schedules\n"
    "  hot       everyone holds among the same 8 seats; winners cancel at once\n"
    "            (409 SEAT_UNAVAILABLE counts as expected, not as an error)\n"
    "  burst     opens --connections TCP connections at once, one GET /healthz each\n"
    "  slowloris charge alone, then charge beside --slow-connections clients that each\n"
    "            send one more byte of a request head every second and never finish it\n"
    "            (reopened when the server closes them): both runs' p50/p99 and rates\n"
    "  ceiling   the same load generator against a trivial in-process cpp-httplib\n"
    "            server tuned like ours (the charge request stream)\n"
    "  core      decide + apply in process, no HTTP: commands/s\n"
    "  memory    decide + apply in process over simulated days (retention applies):\n"
    "            resident memory by phase, bytes per user, live hold and finished\n"
    "            reservation, after --commands over --users (docs/MEMORY.md)\n"
    "  clinic    clinic reserves (SPEC §6), V1 and V2 in turn, each on its visitor's next\n"
    "            free 30-minute slot (V2: two slots of one day), some in capacity zones:\n"
    "            all succeed; reserves/s, p99 against SPEC §4's 20 ms\n"
    "  clinic-hot  every visitor reserves overlapping intervals of one zone of capacity 8;\n"
    "            winners cancel at once (400 InvalidRequestException NotAvailable counts\n"
    "            as expected, not as an error)\n"
    "  replica   a writer at --url and its query replica at --replica-url (SPEC §7): the\n"
    "            query stream on the replica between two ceilings (ratio, target 0.9), then\n"
    "            charges on the writer while a probe measures the lag from a command's\n"
    "            Reservoir-Offset to the replica answering at it (p99, target 100 ms)\n\n"
    "booking, charge, query and hot create their own users (and concerts) through the\n"
    "admin API: the server needs --admin-key, and --active-tokens >= --users. clinic and\n"
    "clinic-hot create --users visitors, their zones and groups through the clinic admin\n"
    "API (--admin-key; the clinic at its default --clinic-utc-offset, no --clinic-api-key).\n"
    "--compare runs the ceiling with the scenario's own request stream, then the\n"
    "scenario against --url, then the ceiling again, and prints the ratio to the mean of\n"
    "the two ceilings (SPEC §4's targets): the machine's speed drifts between windows.\n\n"
    "dialects (SPEC §5; booking and charge): --dialect concert-events|queue-tokens sends\n"
    "the flows through that dialect's routes (set-up stays canonical, at --url); a dialect\n"
    "on its own listener (concert-events always) is at --dialect-url. --compare-dialect D\n"
    "runs canonical and D alternately on the same server, --pairs times, a fresh catalog\n"
    "each run, and prints both rates and D/canonical (booking: bookings/s, charge: req/s)\n"
    "with min/median/max against SPEC §4's 0.95.";

// Flags parsed as text first: --warmup may be 0, which the shared duration
// parser refuses (it wants a positive amount).
struct RawFlags {
  std::string warmup = "2s";
};

void declare(Flags& f, BenchOptions& o, RawFlags& raw) {
  f.add_string("url", &o.url, "server to load (http://host:port)");
  f.add_string("admin-key", &o.admin_key, "the server's --admin-key, to create users and concerts");
  f.add_choice("scenario", &o.scenario,
               {"booking", "charge", "query", "hot", "burst", "slowloris", "ceiling", "core",
                "memory", "clinic", "clinic-hot", "replica"},
               "booking|charge|query|hot|burst|slowloris|ceiling|core|memory|clinic|clinic-hot|"
               "replica");
  f.add_int("connections", &o.connections, 1, kConnectionsMax,
            "keep-alive connections, one thread each (burst: connections opened at once)");
  f.add_int("slow-connections", &o.slow_connections, 1, kConnectionsMax,
            "slowloris: slow clients beside the --connections working ones");
  f.add_duration("duration", &o.duration_ms, "measured time");
  f.add_string("warmup", &raw.warmup, "time loaded but not measured, before it (0s: none)");
  f.add_int("rate", &o.rate, 0, kRateMax,
            "requests/s in total, open loop, latency from the intended send (0: closed loop)");
  f.add_int("users", &o.users, 1, kUsersMax,
            "users created (each connection owns users/connections)");
  f.add_int("schedules", &o.schedules, 1, kSchedulesMax, "schedules created");
  f.add_int("seats-per-schedule", &o.seats_per_schedule, 1, kSeatsPerScheduleMax,
            "seats per schedule");
  f.add_int("seed", &o.seed, 0, INT64_MAX, "seed of the random picks");
  f.add_bool("json", &o.json, "print the report as one JSON object too");
  f.add_bool("compare", &o.compare,
             "run the ceiling before and after and print the scenario's ratio to their mean");
  f.add_bool("os-random", &o.os_random, "core: ids from getrandom(2) as the server, not seeded");
  f.add_int("commands", &o.commands, 1, kMemoryCommandsMax, "memory: commands in all");
  f.add_int("days", &o.days, 1, kMemoryDaysMax,
            "memory: simulated days the booking mix is spread over");
  f.add_choice("dialect", &o.dialect, {"canonical", "concert-events", "queue-tokens"},
               "booking and charge through this dialect's routes (SPEC §5)");
  f.add_string("dialect-url", &o.dialect_url,
               "the dialect's own listener (concert-events: always needed), else --url");
  f.add_string("compare-dialect", &o.compare_dialect,
               "concert-events|queue-tokens: run canonical and it alternately, print the ratio");
  f.add_int("pairs", &o.pairs, 1, kPairsMax, "--compare-dialect: alternating pairs of runs");
  f.add_string("replica-url", &o.replica_url,
               "replica: a query replica (serve --role replica) of the writer at --url");
}

// "" and the value set, or what is wrong.
std::string parse_raw(const RawFlags& raw, BenchOptions& o) {
  const std::string& w = raw.warmup;
  if (w == "0" || w == "0ms" || w == "0s" || w == "0m" || w == "0h") {
    o.warmup_ms = 0;
    return "";
  }
  const auto ms = parse_duration_ms(w);
  if (!ms) return "--warmup: '" + w + "' is not a duration like 0s, 300ms, 2s, 5m or 1h";
  o.warmup_ms = *ms;
  return "";
}

bool is_http_flow(const std::string& s) {
  return s == "booking" || s == "charge" || s == "query" || s == "hot" || s == "slowloris" ||
         is_clinic(s);
}

// "" when the dialect flags make sense together, else what is wrong.
std::string validate_dialect(const BenchOptions& o) {
  const bool comparing = !o.compare_dialect.empty();
  const std::optional<Dialect> other = parse_dialect(comparing ? o.compare_dialect : o.dialect);
  if (!other) return "--compare-dialect must be concert-events or queue-tokens";
  if (*other == Dialect::kCanonical) {
    if (comparing) return "--compare-dialect must be concert-events or queue-tokens";
    if (!o.dialect_url.empty()) return "--dialect-url is for --dialect or --compare-dialect";
    return "";
  }
  if (comparing && o.dialect != "canonical") {
    return "--compare-dialect runs canonical against it: leave --dialect canonical";
  }
  if (comparing && o.compare) return "--compare and --compare-dialect are separate runs";
  if (o.scenario != "booking" && o.scenario != "charge") {
    return "dialects drive booking or charge (query and hot are canonical only)";
  }
  std::string host;
  int port = 0;
  if (*other == Dialect::kConcertEvents && o.dialect_url.empty()) {
    return "concert-events is served on its own listener (serve --api-port "
           "concert-events=PORT): give --dialect-url";
  }
  if (!o.dialect_url.empty() && !split_url(o.dialect_url, host, port)) {
    return "--dialect-url must look like http://host:port";
  }
  return "";
}

// "" when --scenario replica has what it needs, else what is wrong.
std::string validate_replica(const BenchOptions& o) {
  std::string host;
  int port = 0;
  if (o.replica_url.empty() || !split_url(o.replica_url, host, port)) {
    return "replica: give --replica-url http://host:port (serve --role replica)";
  }
  if (o.replica_url == o.url) return "replica: --replica-url must differ from the writer's --url";
  if (o.compare || !o.compare_dialect.empty() || o.dialect != "canonical") {
    return "replica runs its own ceilings, canonical only: drop --compare and the dialect flags";
  }
  if (o.users < o.connections) {
    return "--users must be at least --connections (each connection owns its users)";
  }
  if (o.admin_key.empty()) return "replica creates its users on the writer: give --admin-key";
  return "";
}

// "" when the options make sense together, else what is wrong.
std::string validate(const BenchOptions& o) {
  if (o.duration_ms <= 0 || o.duration_ms > kDurationMaxMs) return "--duration must be in 1ms..1h";
  if (o.warmup_ms > kDurationMaxMs) return "--warmup must be at most 1h";
  if (o.scenario == "core") {
    if (o.duration_ms + o.warmup_ms > kCoreDurationMaxMs) {
      return "core: --warmup + --duration must be at most 1m (the state grows with every cycle)";
    }
    return "";
  }
  if (o.scenario == "memory") return "";  // in process; --commands bounds it
  std::string host;
  int port = 0;
  if (!split_url(o.url, host, port)) return "--url must look like http://host:port";
  if (o.scenario == "replica") return validate_replica(o);
  if (o.compare && !is_http_flow(o.scenario)) {
    return "--compare works with booking, charge, query, hot, clinic or clinic-hot";
  }
  if (is_http_flow(o.scenario) || o.scenario == "ceiling") {
    if (o.users < o.connections) {
      return "--users must be at least --connections (each connection owns its users)";
    }
  }
  if (is_http_flow(o.scenario) && o.admin_key.empty()) {
    return o.scenario + " creates its users through the admin API: give the server's --admin-key";
  }
  return validate_dialect(o);
}

}  // namespace

LoadPlan plan_for(const BenchOptions& o, const std::string& flow, const Catalog& catalog,
                  Dialect dialect) {
  LoadPlan p;
  p.scenario = flow;
  p.label = flow;
  p.url = o.url;
  p.dialect = dialect;
  if (dialect != Dialect::kCanonical) {
    p.label = flow + "/" + dialect_name(dialect);
    p.flow_url = o.dialect_url;
  }
  p.admin_key = o.admin_key;
  p.connections = static_cast<int>(o.connections);
  p.warmup_ms = o.warmup_ms;
  p.duration_ms = o.duration_ms;
  p.rate = o.rate;
  p.seed = static_cast<uint64_t>(o.seed);
  p.catalog = catalog;
  p.scrape_metrics = !is_clinic(flow);  // /metrics counts the concert domain's writer only
  return p;
}

// The scenario's request stream against the in-process trivial server.
bool run_ceiling(const BenchOptions& o, const std::string& flow, const Catalog& catalog,
                 Dialect dialect, Report& report, std::string& error) {
  CeilingServer server(static_cast<int>(o.connections) + kCeilingSpareThreads, dialect);
  if (!server.start(error)) return false;
  LoadPlan p = plan_for(o, flow, catalog, dialect);
  p.label = flow == "charge" && o.scenario == "ceiling" ? "ceiling" : "ceiling(" + p.label + ")";
  p.url = server.url();
  p.flow_url.clear();
  p.admin_key = "ceiling";
  p.scrape_metrics = false;
  p.ceiling = true;
  const bool ok = run_load(p, report, error);
  server.stop();
  return ok;
}

namespace {

double number(const Report& r, const char* name) {
  const Report::Value* v = r.find(name);
  if (v == nullptr) return 0;
  if (const auto* d = std::get_if<double>(v)) return *d;
  if (const auto* i = std::get_if<int64_t>(v)) return static_cast<double>(*i);
  return 0;
}

// --compare: the ceiling, the scenario, the ceiling again; the ratio to the
// mean of the two ceilings goes in the result. The machine's speed drifts
// by tens of percent within minutes (docs/BENCHMARKS.md), and one ceiling
// window on one side only moved a ratio more than most changes did: two,
// bracketing the scenario, cancel a steady drift.
bool run_compare(const BenchOptions& o, const Catalog& catalog, Dialect dialect, Report& report,
                 std::string& error) {
  Report before, after;
  if (!run_ceiling(o, o.scenario, catalog, dialect, before, error)) return false;
  if (!run_load(plan_for(o, o.scenario, catalog, dialect), report, error)) return false;
  if (!run_ceiling(o, o.scenario, catalog, dialect, after, error)) return false;
  const double before_rps = number(before, "throughput_rps");
  const double after_rps = number(after, "throughput_rps");
  const double ceiling_rps = (before_rps + after_rps) / 2;
  const double target = o.scenario == "query" ? kQueryRatioTarget : kDurableRatioTarget;
  const double ratio = ceiling_rps > 0 ? number(report, "throughput_rps") / ceiling_rps : 0;
  report.add("ceiling_rps", ceiling_rps);
  report.add("ceiling_before_rps", before_rps);
  report.add("ceiling_after_rps", after_rps);
  report.add("ratio_to_ceiling", ratio);
  report.add("ratio_target", target);
  report.add("meets_ratio_target", std::string(ratio >= target ? "yes" : "no"));
  report.add_child("ceiling", std::move(before));
  report.add_child("ceiling_after", std::move(after));
  return true;
}

}  // namespace

namespace {

// One side of --compare-dialect: its runs' rates, in run order.
struct Side {
  std::vector<double> rps, bookings_per_s;
  double requests = 0, errors = 0;
  bool exhausted = false;  // a run's catalog ran out: its bookings/s says little

  void add(const Report& r) {
    exhausted = exhausted || r.find("catalog_exhausted") != nullptr;
    rps.push_back(number(r, "throughput_rps"));
    bookings_per_s.push_back(number(r, "bookings_per_s"));
    requests += number(r, "requests");
    errors += number(r, "errors");
  }
  double error_share() const { return requests > 0 ? errors / requests : 1.0; }
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Adds name_min, name_median and name_max of the pairs' ratios dialect/canonical.
std::vector<double> add_ratios(Report& report, const std::string& name,
                               const std::vector<double>& canonical,
                               const std::vector<double>& dialect) {
  std::vector<double> ratios;
  for (size_t i = 0; i < canonical.size(); ++i) {
    ratios.push_back(canonical[i] > 0 ? dialect[i] / canonical[i] : 0);
  }
  report.add(name + "_min", *std::min_element(ratios.begin(), ratios.end()));
  report.add(name + "_median", median(ratios));
  report.add(name + "_max", *std::max_element(ratios.begin(), ratios.end()));
  return ratios;
}

// The summary of --compare-dialect: both sides' medians, the ratios, the target.
void summarize(const BenchOptions& o, Dialect dialect, const Side& canonical, const Side& other,
               Report& report) {
  const bool booking = o.scenario == "booking";
  report.add("canonical_rps_median", median(canonical.rps));
  report.add("dialect_rps_median", median(other.rps));
  const std::vector<double> by_rps = add_ratios(report, "ratio_rps", canonical.rps, other.rps);
  std::vector<double> target_ratios = by_rps;
  if (booking) {
    report.add("canonical_bookings_per_s_median", median(canonical.bookings_per_s));
    report.add("dialect_bookings_per_s_median", median(other.bookings_per_s));
    target_ratios =
        add_ratios(report, "ratio_bookings", canonical.bookings_per_s, other.bookings_per_s);
  }
  const double ratio = median(target_ratios);
  report.add("canonical_error_share", canonical.error_share());
  report.add("dialect_error_share", other.error_share());
  if (canonical.exhausted || other.exhausted) {
    report.add("catalog_exhausted", std::string("yes, in some run (add --schedules)"));
  }
  report.add("ratio_target", kDialectRatioTarget);
  report.add("ratio_judged", std::string(booking ? "ratio_bookings_median (same bookings)"
                                                 : "ratio_rps_median (same requests)"));
  std::string verdict = ratio >= kDialectRatioTarget ? "yes" : "no";
  if (std::max(canonical.error_share(), other.error_share()) > kErrorShareMax) {
    verdict = std::string("no: over 1% errors (") + dialect_name(dialect) +
              " routes served? see the runs' outcomes)";
  }
  report.add("meets_ratio_target", verdict);
}

// --compare-dialect D: canonical and D on the same server, --pairs pairs,
// each run on a fresh catalog (new users, concerts, seats). The order
// alternates (canonical first in odd pairs, D first in even ones), so a
// steady drift of the machine's speed favours neither side overall; each
// pair's ratio compares two neighbouring windows.
bool run_dialect_compare(const BenchOptions& o, Report& report, std::string& error) {
  const Dialect dialect = parse_dialect(o.compare_dialect).value_or(Dialect::kQueueTokens);
  const std::string name = dialect_name(dialect);
  report.add("scenario", o.scenario);
  report.add("compare_dialect", name);
  report.add("pairs", o.pairs);
  Side canonical, other;
  std::vector<std::pair<std::string, Report>> runs;
  for (int64_t i = 0; i < o.pairs; ++i) {
    const std::string pair = "pair" + std::to_string(i + 1);
    for (int k = 0; k < 2; ++k) {
      const bool dialect_now = (k == 1) == (i % 2 == 0);
      const Dialect d = dialect_now ? dialect : Dialect::kCanonical;
      const Catalog catalog = Catalog::make(o.users, o.schedules, o.seats_per_schedule);
      Report run;
      if (!run_load(plan_for(o, o.scenario, catalog, d), run, error)) return false;
      (dialect_now ? other : canonical).add(run);
      runs.emplace_back(pair + "_" + dialect_name(d), std::move(run));
    }
    report.add(pair + "_canonical_rps", canonical.rps.back());
    report.add(pair + "_dialect_rps", other.rps.back());
    const bool booking = o.scenario == "booking";
    if (booking) {
      report.add(pair + "_canonical_bookings_per_s", canonical.bookings_per_s.back());
      report.add(pair + "_dialect_bookings_per_s", other.bookings_per_s.back());
    }
    const std::vector<double>& c = booking ? canonical.bookings_per_s : canonical.rps;
    const std::vector<double>& x = booking ? other.bookings_per_s : other.rps;
    report.add(pair + "_ratio", c.back() > 0 ? x.back() / c.back() : 0.0);
  }
  summarize(o, dialect, canonical, other, report);
  for (auto& [label, run] : runs) report.add_child(label, std::move(run));
  return true;
}

bool dispatch(const BenchOptions& o, Report& report, std::string& error) {
  if (o.scenario == "core") return run_core(o, report, error);
  if (o.scenario == "memory") return run_memory(o, report, error);
  if (o.scenario == "burst") return run_burst(o, report, error);
  if (o.scenario == "replica") return run_replica(o, report, error);
  if (!o.compare_dialect.empty()) return run_dialect_compare(o, report, error);
  const Dialect dialect = parse_dialect(o.dialect).value_or(Dialect::kCanonical);
  const Catalog catalog = Catalog::make(o.users, o.schedules, o.seats_per_schedule);
  if (o.scenario == "ceiling") {
    return run_ceiling(o, "charge", catalog, Dialect::kCanonical, report, error);
  }
  if (o.scenario == "slowloris") {
    return run_slowloris(o, plan_for(o, "charge", catalog, dialect), report, error);
  }
  if (o.compare) return run_compare(o, catalog, dialect, report, error);
  return run_load(plan_for(o, o.scenario, catalog, dialect), report, error);
}

}  // namespace

int run_bench(int argc, char** argv) {
  BenchOptions o;
  RawFlags raw;
  Flags flags("bench", kSummary);
  declare(flags, o, raw);
  if (int rc = handle_flags(flags, argc, argv); rc >= 0) return rc;
  std::string why = parse_raw(raw, o);
  if (why.empty()) why = validate(o);
  if (!why.empty()) {
    return fail(2, why + "\n\n" + flags.usage());
  }
  Report report;
  std::string error;
  const bool ok = dispatch(o, report, error);
  if (!report.text().empty()) {
    std::fputs(report.text().c_str(), stdout);
    if (o.json) std::printf("%s\n", report.json().c_str());
    std::fflush(stdout);
  }
  if (!ok) return fail(1, error);
  return 0;
}

namespace {
const SubcommandRegistration kBench{"bench", "load-generate against a running server", &run_bench};
}  // namespace

}  // namespace reservoir::tools::bench
