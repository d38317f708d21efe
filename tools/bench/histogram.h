// LatencyHistogram: an HDR-style log-bucketed histogram of latencies in
// microseconds. Values below 128 us are exact; above, each power of two is
// split in 64 buckets, so a reported percentile is within 1.6% of the truth.
// record() is a few arithmetic instructions and never allocates, so every
// load-generator thread keeps one and they are merged at the end.
//
// Thread safety: none; one per thread, merged after the threads are joined.
#pragma once

#include <array>
#include <cstdint>

namespace reservoir::tools::bench {

class LatencyHistogram {
 public:
  void record(int64_t us);
  void merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  int64_t max_us() const { return max_; }
  double mean_us() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }
  // The smallest recorded bucket edge at or below which `percent` of the
  // values fall (0 when empty); never above max_us().
  int64_t percentile_us(double percent) const;

 private:
  static constexpr int kExactBits = 7;                       // 0..127 us are exact
  static constexpr int kSubBuckets = 1 << (kExactBits - 1);  // 64 per power of two
  static constexpr int kValueBits = 32;                      // ~71 minutes, far above any timeout
  static constexpr int kBuckets = (1 << kExactBits) + (kValueBits - kExactBits) * kSubBuckets;
  static int index_of(uint64_t us);
  static int64_t upper_edge(int index);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  int64_t sum_ = 0;
  int64_t max_ = 0;
};

}  // namespace reservoir::tools::bench
