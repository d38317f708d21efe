// reservoir bench: the load generator of SPEC §4 (see docs/BENCHMARKS.md).
// Parses and bounds the flags, runs one scenario (or, with --compare, the
// HTTP ceiling and then the scenario in the same run) and prints the report:
// aligned text on stdout, plus one JSON object with --json. Progress goes to
// stderr. Exit: 0 when the run completed, 1 when it could not (server
// unreachable, set-up refused, core refusals), 2 for a bad flag.
#include <cstdio>

#include "events/time_format.h"
#include "tools/bench/ceiling.h"
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
    "  ceiling   the same load generator against a trivial in-process cpp-httplib\n"
    "            server tuned like ours (the charge request stream)\n"
    "  core      decide + apply in process, no HTTP: commands/s\n\n"
    "booking, charge, query and hot create their own users (and concerts) through the\n"
    "admin API: the server needs --admin-key, and --active-tokens >= --users.\n"
    "--compare runs the ceiling with the scenario's own request stream, then the\n"
    "scenario against --url, then the ceiling again, and prints the ratio to the mean of\n"
    "the two ceilings (SPEC §4's targets): the machine's speed drifts between windows.";

// Flags parsed as text first: --warmup may be 0, which the shared duration
// parser refuses (it wants a positive amount).
struct RawFlags {
  std::string warmup = "2s";
};

void declare(Flags& f, BenchOptions& o, RawFlags& raw) {
  f.add_string("url", &o.url, "server to load (http://host:port)");
  f.add_string("admin-key", &o.admin_key, "the server's --admin-key, to create users and concerts");
  f.add_choice("scenario", &o.scenario,
               {"booking", "charge", "query", "hot", "burst", "ceiling", "core"},
               "booking|charge|query|hot|burst|ceiling|core");
  f.add_int("connections", &o.connections, 1, kConnectionsMax,
            "keep-alive connections, one thread each (burst: connections opened at once)");
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
  return s == "booking" || s == "charge" || s == "query" || s == "hot";
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
  std::string host;
  int port = 0;
  if (!split_url(o.url, host, port)) return "--url must look like http://host:port";
  if (o.compare && !is_http_flow(o.scenario)) {
    return "--compare works with booking, charge, query or hot";
  }
  if (is_http_flow(o.scenario) || o.scenario == "ceiling") {
    if (o.users < o.connections) {
      return "--users must be at least --connections (each connection owns its users)";
    }
  }
  if (is_http_flow(o.scenario) && o.admin_key.empty()) {
    return o.scenario + " creates its users through the admin API: give the server's --admin-key";
  }
  return "";
}

LoadPlan plan_for(const BenchOptions& o, const std::string& flow, const Catalog& catalog) {
  LoadPlan p;
  p.scenario = flow;
  p.label = flow;
  p.url = o.url;
  p.admin_key = o.admin_key;
  p.connections = static_cast<int>(o.connections);
  p.warmup_ms = o.warmup_ms;
  p.duration_ms = o.duration_ms;
  p.rate = o.rate;
  p.seed = static_cast<uint64_t>(o.seed);
  p.catalog = catalog;
  return p;
}

// The scenario's request stream against the in-process trivial server.
bool run_ceiling(const BenchOptions& o, const std::string& flow, const Catalog& catalog,
                 Report& report, std::string& error) {
  CeilingServer server(static_cast<int>(o.connections) + kCeilingSpareThreads);
  if (!server.start(error)) return false;
  LoadPlan p = plan_for(o, flow, catalog);
  p.label = flow == "charge" && o.scenario == "ceiling" ? "ceiling" : "ceiling(" + flow + ")";
  p.url = server.url();
  p.admin_key = "ceiling";
  p.scrape_metrics = false;
  const bool ok = run_load(p, report, error);
  server.stop();
  return ok;
}

}  // namespace

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
bool run_compare(const BenchOptions& o, const Catalog& catalog, Report& report,
                 std::string& error) {
  Report before, after;
  if (!run_ceiling(o, o.scenario, catalog, before, error)) return false;
  if (!run_load(plan_for(o, o.scenario, catalog), report, error)) return false;
  if (!run_ceiling(o, o.scenario, catalog, after, error)) return false;
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

bool dispatch(const BenchOptions& o, Report& report, std::string& error) {
  if (o.scenario == "core") return run_core(o, report, error);
  if (o.scenario == "burst") return run_burst(o, report, error);
  const Catalog catalog = Catalog::make(o.users, o.schedules, o.seats_per_schedule);
  if (o.scenario == "ceiling") return run_ceiling(o, "charge", catalog, report, error);
  if (o.compare) return run_compare(o, catalog, report, error);
  return run_load(plan_for(o, o.scenario, catalog), report, error);
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
