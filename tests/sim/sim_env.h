// How many seeds and steps a simulation test runs (environment variables),
// and a guard that keeps the writer's per-fault stderr lines out of the test
// output. The defaults keep the test command short; the variables scale a
// run up (docs/TESTING.md):
//   RESERVOIR_SIM_SEEDS   seeds per domain (default kDefaultSeeds; failover
//                         cases kDefaultFailoverSeeds)
//   RESERVOIR_SIM_STEPS   steps per seed (default kDefaultSteps; failover
//                         cases kDefaultFailoverSteps)
//   RESERVOIR_SIM_SEED    the first seed (default 1): a failure's seed alone
//                         with RESERVOIR_SIM_SEEDS=1
//   RESERVOIR_SIM_VERBOSE 1: keep the writer's stderr lines
//
// Thread safety: QuietStderr swaps the process's fd 2: one at a time.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace reservoir::sim {

inline constexpr uint64_t kDefaultSeeds = 6;
inline constexpr uint64_t kDefaultSteps = 2000;
// The failover cases (two nodes, a replica): fewer, as each step does more.
inline constexpr uint64_t kDefaultFailoverSeeds = 4;
inline constexpr uint64_t kDefaultFailoverSteps = 1000;

inline uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

inline bool sim_verbose() {
  return env_u64("RESERVOIR_SIM_VERBOSE", 0) != 0;
}

// Sends fd 2 to /dev/null while it lives (unless `keep`): every injected
// fault makes the writer print a line, thousands per run.
class QuietStderr {
 public:
  explicit QuietStderr(bool keep) {
    if (keep) return;
    saved_ = dup(2);
    const int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved_ < 0 || null < 0 || dup2(null, 2) < 0) saved_ = -1;
    if (null >= 0) close(null);
  }
  ~QuietStderr() {
    if (saved_ < 0) return;
    dup2(saved_, 2);
    close(saved_);
  }
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

 private:
  int saved_ = -1;
};

}  // namespace reservoir::sim
