// Monotonic time for the load generator, in nanoseconds of steady_clock.
//
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>

namespace reservoir::tools::bench {

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline void sleep_until_ns(int64_t t_ns) {
  std::this_thread::sleep_until(
      std::chrono::steady_clock::time_point(std::chrono::nanoseconds(t_ns)));
}

}  // namespace reservoir::tools::bench
