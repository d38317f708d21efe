// The deterministic simulator (tests/sim/simulation.h, issue 16 item 1):
// a bounded set of seeds per domain, each run checked at every step; a seed
// run twice gives the same log (determinism); a failure prints the seed and
// step that reproduce it. Scale up with RESERVOIR_SIM_SEEDS / _STEPS / _SEED
// (tests/sim/sim_env.h, docs/TESTING.md).
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "sim/clinic_driver.h"
#include "sim/concert_driver.h"
#include "sim/sim_env.h"
#include "sim/simulation.h"

namespace {

using namespace reservoir::sim;

template <class Driver>
SimResult run_one(uint64_t seed, uint64_t steps) {
  SimConfig c;
  c.seed = seed;
  c.steps = steps;
  QuietStderr quiet(sim_verbose());
  return Simulation<Driver>(c).run();
}

template <class Driver>
void run_seeds(const char* domain) {
  const uint64_t first = env_u64("RESERVOIR_SIM_SEED", 1);
  const uint64_t seeds = env_u64("RESERVOIR_SIM_SEEDS", kDefaultSeeds);
  const uint64_t steps = env_u64("RESERVOIR_SIM_STEPS", kDefaultSteps);
  const auto t0 = std::chrono::steady_clock::now();
  SimStats total;
  for (uint64_t seed = first; seed < first + seeds; ++seed) {
    SimResult r = run_one<Driver>(seed, steps);
    if (!r.ok) FAIL(r.failure << "\n  " << r.stats.summary());
    total.steps += r.stats.steps;
    total.requests += r.stats.requests;
    total.crashes += r.stats.crashes;
    total.events += r.stats.events;
    total.replays_checked += r.stats.replays_checked;
    for (int i = 0; i < kAppendFaultKinds; ++i) total.faults[i] += r.stats.faults[i];
    if (sim_verbose()) {
      std::printf("sim %s seed %llu: %s\n%s", domain, (unsigned long long)seed,
                  r.stats.summary().c_str(), r.stats.answer_counts().c_str());
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("sim " << std::string(domain) << ": seeds " << first << ".." << first + seeds - 1 << ", "
                 << total.steps << " steps, " << total.requests << " requests, " << total.crashes
                 << " crashes, " << total.events << " events, " << total.replays_checked
                 << " idempotent replays checked, in " << secs << " s");
}

TEST_CASE("sim concert: seeded runs with faults and crashes pass every check") {
  run_seeds<ConcertDriver>("concert");
}

TEST_CASE("sim concert: a seed names its run (same seed, same log)") {
  const SimResult a = run_one<ConcertDriver>(7, 300);
  const SimResult b = run_one<ConcertDriver>(7, 300);
  REQUIRE(a.ok);
  CHECK(a.stats.events > 0);
  CHECK(a.stats.log_digest == b.stats.log_digest);
  CHECK(a.stats.summary() == b.stats.summary());
  const SimResult c = run_one<ConcertDriver>(8, 300);
  CHECK(c.stats.log_digest != a.stats.log_digest);
}

TEST_CASE("sim clinic: seeded runs with faults and crashes pass every check") {
  run_seeds<ClinicDriver>("clinic");
}

TEST_CASE("sim clinic: a seed names its run (same seed, same log)") {
  const SimResult a = run_one<ClinicDriver>(7, 300);
  const SimResult b = run_one<ClinicDriver>(7, 300);
  REQUIRE(a.ok);
  CHECK(a.stats.events > 0);
  CHECK(a.stats.log_digest == b.stats.log_digest);
  CHECK(a.stats.summary() == b.stats.summary());
}

}  // namespace
