// The deterministic simulator (tests/sim/simulation.h, issue 16 item 1):
// a bounded set of seeds per domain, each run checked at every step; a seed
// run twice gives the same log (determinism); a failure prints the seed and
// step that reproduce it. Scale up with RESERVOIR_SIM_SEEDS / _STEPS / _SEED
// (tests/sim/sim_env.h, docs/TESTING.md). The failover cases run two writer
// nodes over one log with takeovers and paused writers, and a lagging
// replica answering queries with min-offsets (simulation.h, sim_replica.h).
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

enum class Mode { kSingle, kFailover };

template <class Driver>
SimResult run_one(uint64_t seed, uint64_t steps, Mode mode = Mode::kSingle) {
  SimConfig c;
  c.seed = seed;
  c.steps = steps;
  c.failover = c.replica = mode == Mode::kFailover;
  QuietStderr quiet(sim_verbose());
  return Simulation<Driver>(c).run();
}

template <class Driver>
void run_seeds(const char* domain, Mode mode = Mode::kSingle) {
  const bool failover = mode == Mode::kFailover;
  const uint64_t first = env_u64("RESERVOIR_SIM_SEED", 1);
  const uint64_t seeds =
      env_u64("RESERVOIR_SIM_SEEDS", failover ? kDefaultFailoverSeeds : kDefaultSeeds);
  const uint64_t steps =
      env_u64("RESERVOIR_SIM_STEPS", failover ? kDefaultFailoverSteps : kDefaultSteps);
  const auto t0 = std::chrono::steady_clock::now();
  SimStats total;
  for (uint64_t seed = first; seed < first + seeds; ++seed) {
    SimResult r = run_one<Driver>(seed, steps, mode);
    if (!r.ok) FAIL(r.failure << "\n  " << r.stats.summary());
    total.takeovers += r.stats.takeovers;
    total.pauses_void += r.stats.pauses_void;
    total.pauses_valid += r.stats.pauses_valid;
    total.undecided_takeovers += r.stats.undecided_takeovers;
    total.replica.answered += r.stats.replica.answered;
    total.replica.read_your_writes += r.stats.replica.read_your_writes;
    total.replica.unavailable += r.stats.replica.unavailable;
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
  if (failover) {
    MESSAGE("sim " << std::string(domain) << " failover: " << total.takeovers << " takeovers, "
                   << total.pauses_void << " paused writers with a void batch, "
                   << total.pauses_valid << " with a valid one, " << total.undecided_takeovers
                   << " with an undecided commit; replica queries " << total.replica.answered
                   << " answered (" << total.replica.read_your_writes << " read-your-writes), "
                   << total.replica.unavailable << " 503");
    // The run exercised what it claims to check.
    CHECK(total.takeovers > 0);
    CHECK(total.pauses_void > 0);
    CHECK(total.pauses_valid > 0);
    CHECK(total.undecided_takeovers > 0);
    CHECK(total.replica.read_your_writes > 0);
    CHECK(total.replica.unavailable > 0);
  }
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

TEST_CASE(
    "sim concert failover: takeovers, paused writers and a lagging replica pass every check") {
  run_seeds<ConcertDriver>("concert", Mode::kFailover);
}

TEST_CASE("sim clinic failover: takeovers, paused writers and a lagging replica pass every check") {
  run_seeds<ClinicDriver>("clinic", Mode::kFailover);
}

TEST_CASE("sim concert failover: a seed names its run (same seed, same log)") {
  const SimResult a = run_one<ConcertDriver>(7, 300, Mode::kFailover);
  const SimResult b = run_one<ConcertDriver>(7, 300, Mode::kFailover);
  REQUIRE(a.ok);
  CHECK(a.stats.takeovers > 0);
  CHECK(a.stats.log_digest == b.stats.log_digest);
  CHECK(a.stats.summary() == b.stats.summary());
}

}  // namespace
