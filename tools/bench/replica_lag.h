// The arithmetic of `reservoir bench --scenario replica` (docs/BENCHMARKS.md,
// "Replicas"), kept apart from its HTTP so a unit test can check it: which
// lag samples fall in the measured window and their percentiles, and the
// query rate's ratio to the two ceilings that bracket it.
//
// A lag sample is one probe command: acknowledged by the writer with
// `Reservoir-Offset: N` at `acked_ns`, then a query to the replica with
// `Reservoir-Min-Offset: N`, answered `lag_us` after the acknowledgement
// (200, or 503 when the replica was more than --min-offset-wait behind).
//
// Thread safety: pure functions of their arguments.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace reservoir::tools::bench {

struct LagSample {
  int64_t acked_ns = 0;    // when the writer's answer (its Reservoir-Offset) arrived
  int64_t lag_us = 0;      // from then to the replica's answer reflecting that offset
  bool timed_out = false;  // the replica answered 503: not applied within its wait
};

struct LagSummary {
  int64_t samples = 0, timed_out = 0;
  int64_t p50_us = 0, p99_us = 0, max_us = 0;  // nearest rank; 0 when no sample
};

// The samples acknowledged in [from_ns, to_ns), summarised. A timed-out
// sample counts with the time it took (at least the replica's wait), so it
// can only raise the percentiles.
inline LagSummary summarize_lag(const std::vector<LagSample>& samples, int64_t from_ns,
                                int64_t to_ns) {
  std::vector<int64_t> lags;
  LagSummary s;
  for (const LagSample& x : samples) {
    if (x.acked_ns < from_ns || x.acked_ns >= to_ns) continue;
    lags.push_back(x.lag_us);
    if (x.timed_out) ++s.timed_out;
  }
  s.samples = static_cast<int64_t>(lags.size());
  if (lags.empty()) return s;
  std::sort(lags.begin(), lags.end());
  const auto rank = [&](double q) {  // nearest rank: the smallest value >= q of all samples
    const auto k = static_cast<size_t>(std::ceil(q * static_cast<double>(lags.size())));
    return lags[std::clamp<size_t>(k, 1, lags.size()) - 1];
  };
  s.p50_us = rank(0.50);
  s.p99_us = rank(0.99);
  s.max_us = lags.back();
  return s;
}

// A rate over the mean of the ceilings measured just before and just after
// it (as `--compare` does); 0 when no ceiling was measured.
inline double ratio_to_ceilings(double rps, double ceiling_before_rps, double ceiling_after_rps) {
  const double ceiling = (ceiling_before_rps + ceiling_after_rps) / 2;
  return ceiling > 0 ? rps / ceiling : 0;
}

}  // namespace reservoir::tools::bench
