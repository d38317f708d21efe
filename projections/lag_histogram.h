// LagHistogram: how long events took from the engine's decision to being
// visible to queries (the projection lag of SPEC §4), counted per event in
// fixed buckets of milliseconds, the way Prometheus histograms are.
//
// An event's lag is measured when the follower's write of its batch is done:
// now - the event's time_ms (the writer's clock when it decided). It counts
// the durable append, the follower's read and the RocksDB write.
//
// Thread safety: record() from one thread (the follower), counts() from any.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace reservoir::projections {

class LagHistogram {
 public:
  // Upper bounds (inclusive) of the buckets, ms; a last bucket takes the rest.
  static constexpr std::array<int64_t, 12> kBoundsMs = {1,   2,   5,   10,   20,   50,
                                                        100, 200, 500, 1000, 2000, 5000};
  static constexpr size_t kBuckets = kBoundsMs.size() + 1;

  struct Counts {
    std::array<uint64_t, kBuckets> per_bucket{};  // not cumulative
    uint64_t events = 0;
    uint64_t sum_ms = 0;
  };

  static size_t bucket_of(int64_t lag_ms) {
    size_t b = 0;
    while (b < kBoundsMs.size() && lag_ms > kBoundsMs[b]) ++b;
    return b;
  }

  // Counts `events` events of lag `lag_ms` (a clock step back counts as 0).
  void record(int64_t lag_ms, uint64_t events) {
    if (lag_ms < 0) lag_ms = 0;
    buckets_[bucket_of(lag_ms)].fetch_add(events, std::memory_order_relaxed);
    sum_ms_.fetch_add(static_cast<uint64_t>(lag_ms) * events, std::memory_order_relaxed);
  }

  Counts counts() const {
    Counts c;
    for (size_t b = 0; b < kBuckets; ++b) {
      c.per_bucket[b] = buckets_[b].load(std::memory_order_relaxed);
      c.events += c.per_bucket[b];  // so the total always matches the buckets read
    }
    c.sum_ms = sum_ms_.load(std::memory_order_relaxed);
    return c;
  }

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> sum_ms_{0};
};

}  // namespace reservoir::projections
