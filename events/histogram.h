// Histogram: a fixed-bucket histogram cheap enough for the command path
// (SPEC §8 metrics). observe() is a short scan of at most kBoundsMax bounds
// and two relaxed atomic adds: no lock, no allocation. The owner (the writer,
// the Kafka log, the HTTP layer) observes; the API renders a snapshot() in
// Prometheus' text format (api/metrics.h), so nothing here depends on api.
//
// Values are integers in the owner's unit (nanoseconds for durations,
// commands for batch sizes); the bounds are inclusive upper bounds in that
// unit, strictly increasing, and a last bucket takes the rest (+Inf).
//
// metrics_on(): one process-wide switch (`serve --metrics off`) the owners
// check before reading the clock, so a server can be measured without the
// observations (docs/BENCHMARKS.md, "Metrics cost").
//
// Thread safety: observe() and snapshot() from any number of threads. A
// snapshot taken during observations may count an observation in its bucket
// but not yet in its sum; its count is the sum of the buckets read, so the
// +Inf bucket always equals the count.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

namespace reservoir {

// Durations in nanoseconds: 50 µs to 10 s.
inline constexpr std::array<int64_t, 17> kDurationBoundsNs = {
    50'000,      100'000,      250'000,      500'000,      1'000'000,    2'500'000,
    5'000'000,   10'000'000,   25'000'000,   50'000'000,   100'000'000,  250'000'000,
    500'000'000, 1000000000LL, 2500000000LL, 5000000000LL, 10000000000LL};

// Commands per durable append (the writer's batch is at most 2048 by default).
inline constexpr std::array<int64_t, 12> kBatchBounds = {1,  2,   4,   8,   16,   32,
                                                         64, 128, 256, 512, 1024, 2048};

class Histogram {
 public:
  static constexpr size_t kBoundsMax = 24;

  // `bounds` must outlive the histogram (a constant above) and hold at most
  // kBoundsMax strictly increasing values.
  explicit Histogram(std::span<const int64_t> bounds = kDurationBoundsNs)
      : bounds_(bounds.size() <= kBoundsMax ? bounds : bounds.first(kBoundsMax)) {}
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void observe(int64_t value) {
    if (value < 0) value = 0;  // a clock step back
    size_t b = 0;
    while (b < bounds_.size() && value > bounds_[b]) ++b;
    buckets_[b].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  struct Snapshot {
    std::array<uint64_t, kBoundsMax + 1> per_bucket{};  // not cumulative; bounds().size() + 1 used
    uint64_t count = 0;
    int64_t sum = 0;
  };
  Snapshot snapshot() const {
    Snapshot s;
    for (size_t b = 0; b <= bounds_.size(); ++b) {
      s.per_bucket[b] = buckets_[b].load(std::memory_order_relaxed);
      s.count += s.per_bucket[b];
    }
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
  }
  std::span<const int64_t> bounds() const { return bounds_; }

 private:
  std::span<const int64_t> bounds_;
  std::array<std::atomic<uint64_t>, kBoundsMax + 1> buckets_{};
  std::atomic<int64_t> sum_{0};
};

namespace metrics_detail {
inline std::atomic<bool> g_on{true};
}  // namespace metrics_detail

inline bool metrics_on() {
  return metrics_detail::g_on.load(std::memory_order_relaxed);
}
inline void set_metrics_on(bool on) {
  metrics_detail::g_on.store(on, std::memory_order_relaxed);
}

// A monotonic time for durations, ns.
inline int64_t metrics_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace reservoir
