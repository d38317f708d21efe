// The arithmetic of `reservoir bench --scenario replica`
// (tools/bench/replica_lag.h): which probe samples count, their percentiles,
// and the ratio to the two ceilings. Nothing here is timed: the samples are
// given.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "tools/bench/replica_lag.h"

namespace reservoir {
namespace {

using tools::bench::LagSample;
using tools::bench::LagSummary;
using tools::bench::ratio_to_ceilings;
using tools::bench::summarize_lag;

constexpr int64_t kSecondNs = 1'000'000'000;

TEST_CASE("bench replica: lag percentiles count only the samples acknowledged in the window") {
  // Given 200 samples in the window with lags 1..200 ms, and two outliers outside it
  std::vector<LagSample> samples;
  samples.push_back({kSecondNs - 1, 999'000, false});  // during the warm-up
  for (int64_t i = 1; i <= 200; ++i) samples.push_back({kSecondNs + i, i * 1000, false});
  samples.push_back({2 * kSecondNs, 888'000, false});  // at the window's end: excluded
  // When they are summarised over [1 s, 2 s)
  const LagSummary s = summarize_lag(samples, kSecondNs, 2 * kSecondNs);
  // Then only the 200 count, with nearest-rank percentiles
  CHECK(s.samples == 200);
  CHECK(s.timed_out == 0);
  CHECK(s.p50_us == 100'000);
  CHECK(s.p99_us == 198'000);
  CHECK(s.max_us == 200'000);
}

TEST_CASE("bench replica: a replica's 503 counts as a sample at the time it took") {
  // Given 99 fast answers and one 503 after the replica's 1 s wait
  std::vector<LagSample> samples;
  for (int64_t i = 0; i < 99; ++i) samples.push_back({i, 2'000, false});
  samples.push_back({99, 1'001'000, true});
  // When summarised
  const LagSummary s = summarize_lag(samples, 0, 100);
  // Then it is counted, and it is the maximum, not dropped
  CHECK(s.samples == 100);
  CHECK(s.timed_out == 1);
  CHECK(s.p99_us == 2'000);
  CHECK(s.max_us == 1'001'000);
}

TEST_CASE("bench replica: no sample in the window gives an empty summary") {
  const std::vector<LagSample> samples{{5, 1'000, false}};
  const LagSummary s = summarize_lag(samples, 10, 20);
  CHECK(s.samples == 0);
  CHECK(s.p99_us == 0);
}

TEST_CASE("bench replica: the query rate is judged against the mean of both ceilings") {
  CHECK(ratio_to_ceilings(18'000, 20'000, 16'000) == doctest::Approx(1.0));
  CHECK(ratio_to_ceilings(9'000, 20'000, 20'000) == doctest::Approx(0.45));
  CHECK(ratio_to_ceilings(9'000, 0, 0) == 0);
}

}  // namespace
}  // namespace reservoir
