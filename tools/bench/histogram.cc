#include "tools/bench/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace reservoir::tools::bench {

int LatencyHistogram::index_of(uint64_t us) {
  constexpr uint64_t kExact = uint64_t{1} << kExactBits;
  if (us < kExact) return static_cast<int>(us);
  const int shift = std::bit_width(us) - kExactBits;  // >= 1; (us >> shift) is in [64, 128)
  return static_cast<int>(kExact) + (shift - 1) * kSubBuckets +
         static_cast<int>((us >> shift) - kSubBuckets);
}

int64_t LatencyHistogram::upper_edge(int index) {
  constexpr int kExact = 1 << kExactBits;
  if (index < kExact) return index;
  const int shift = (index - kExact) / kSubBuckets + 1;
  const int64_t mantissa = (index - kExact) % kSubBuckets + kSubBuckets;
  return ((mantissa + 1) << shift) - 1;
}

void LatencyHistogram::record(int64_t us) {
  constexpr int64_t kValueMax = (int64_t{1} << kValueBits) - 1;
  us = std::clamp<int64_t>(us, 0, kValueMax);
  ++counts_[static_cast<size_t>(index_of(static_cast<uint64_t>(us)))];
  ++count_;
  sum_ += us;
  max_ = std::max(max_, us);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

int64_t LatencyHistogram::percentile_us(double percent) const {
  if (count_ == 0) return 0;
  const double wanted = std::ceil(static_cast<double>(count_) * percent / 100.0);
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(wanted));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(upper_edge(static_cast<int>(i)), max_);
  }
  return max_;
}

}  // namespace reservoir::tools::bench
