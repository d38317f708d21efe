// reservoir sim: the deterministic simulator (tests/sim/simulation.h, issue
// 16 item 1) for long runs: seeds [--seed, --seed + --seeds) of --steps each,
// for one domain or both. Prints one line per seed and stops at the first
// failure with the seed and step that reproduce it (exit 1).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "tests/sim/clinic_driver.h"
#include "tests/sim/concert_driver.h"
#include "tests/sim/sim_env.h"
#include "tests/sim/simulation.h"
#include "tools/subcommands.h"

namespace reservoir::tools {
namespace {

struct SimOptions {
  std::string domain = "all";
  int64_t seed = 1;
  int64_t seeds = 1;
  int64_t steps = 10'000;
  bool verbose = false;
  bool failover = false;
  bool replica = false;
};

template <class Driver>
bool run_domain(const char* name, const SimOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t steps = 0;
  for (int64_t seed = o.seed; seed < o.seed + o.seeds; ++seed) {
    sim::SimConfig c;
    c.seed = static_cast<uint64_t>(seed);
    c.steps = static_cast<uint64_t>(o.steps);
    c.failover = o.failover;
    c.replica = o.replica;
    sim::SimResult r;
    {
      sim::QuietStderr quiet(o.verbose);
      r = sim::Simulation<Driver>(c).run();
    }
    steps += r.stats.steps;
    std::printf("sim %s seed %lld: %s: %s\n", name, static_cast<long long>(seed),
                r.ok ? "ok" : "FAILED", r.stats.summary().c_str());
    if (o.verbose) std::fputs(r.stats.answer_counts().c_str(), stdout);
    std::fflush(stdout);
    if (!r.ok) {
      std::printf("%s\n", r.failure.c_str());
      return false;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("sim %s: %lld seeds, %llu steps in %.1f s: ok\n", name,
              static_cast<long long>(o.seeds), static_cast<unsigned long long>(steps), secs);
  return true;
}

int run_sim(int argc, char** argv) {
  SimOptions o;
  Flags f("sim",
          "Runs the deterministic simulator: the real writer and domain module over an\n"
          "event log that fails, loses answers and crashes, with clients that retry under\n"
          "Idempotency-Keys; checks every step (docs/TESTING.md). A seed names a run.");
  f.add_choice("domain", &o.domain, {"all", "concert", "clinic"}, "which domain to simulate");
  f.add_int("seed", &o.seed, 0, INT64_MAX / 2, "the first seed");
  f.add_int("seeds", &o.seeds, 1, 1'000'000'000, "how many seeds, from --seed on");
  f.add_int("steps", &o.steps, 1, 1'000'000'000, "steps (client batches) per seed");
  f.add_bool("verbose", &o.verbose, "keep the writer's stderr lines; count answers by kind");
  f.add_bool("failover", &o.failover,
             "two writer nodes over one log: a warm standby takes over from killed and "
             "paused writers (epoch markers)");
  f.add_bool("replica", &o.replica,
             "a replica at a varying lag answers queries with min-offsets (read-your-writes)");
  if (int rc = handle_flags(f, argc, argv); rc >= 0) return rc;
  bool ok = true;
  if (o.domain != "clinic") ok = run_domain<sim::ConcertDriver>("concert", o);
  if (ok && o.domain != "concert") ok = run_domain<sim::ClinicDriver>("clinic", o);
  return ok ? 0 : 1;
}

const SubcommandRegistration kSim{"sim", "run the deterministic simulator (long runs)", &run_sim};

}  // namespace
}  // namespace reservoir::tools
