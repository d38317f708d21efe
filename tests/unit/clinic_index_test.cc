// The clinic's interval indexes (engine/clinic/interval_index.h) against
// brute-force models over many random operations with a fixed seed: a
// SpanSet against a list of pieces, a ZoneLoad against an array of counts
// per millisecond of a small time range. Operation counts, no timings.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "engine/clinic/interval_index.h"

namespace {

using namespace reservoir;
using namespace reservoir::clinic;

constexpr int kOperations = 100'000;
constexpr int64_t kRangeMs = 2'000;  // the models' time range [0, kRangeMs)
constexpr int64_t kSpanMaxMs = 150;

TEST_CASE("clinic index: merge_pieces joins overlapping and touching spans") {
  using Spans = std::vector<std::pair<int64_t, int64_t>>;
  CHECK(merge_pieces({}).empty());
  CHECK(merge_pieces({{5, 9}, {1, 3}, {3, 4}, {8, 12}, {20, 21}}) ==
        Spans{{1, 4}, {5, 12}, {20, 21}});
  CHECK(merge_pieces({{1, 10}, {2, 3}}) == Spans{{1, 10}});
}

TEST_CASE("clinic index: SpanSet is half-open") {
  SpanSet s;
  s.insert(10, 20, 1);
  CHECK_FALSE(s.conflict(0, 10, kNoId));
  CHECK_FALSE(s.conflict(20, 30, kNoId));
  CHECK(s.conflict(19, 30, kNoId));
  CHECK(s.conflict(0, 11, kNoId));
  CHECK(s.conflict(12, 13, kNoId));
  CHECK(s.conflict(0, 100, kNoId));
  CHECK_FALSE(s.conflict(0, 100, 1));  // its own
  s.erase(10, 1);
  CHECK(s.size() == 0);
}

TEST_CASE("clinic index: ZoneLoad is half-open") {
  ZoneLoad z;
  z.add(10, 20);
  CHECK(z.max_load(0, 10) == 0);
  CHECK(z.max_load(20, 30) == 0);
  CHECK(z.max_load(19, 20) == 1);
  CHECK(z.max_load(0, 11) == 1);
  z.add(20, 30);  // back to back: never two at once
  CHECK(z.max_load(0, 100) == 1);
  z.add(15, 25);
  CHECK(z.max_load(0, 100) == 2);
  CHECK(z.max_load(25, 26) == 1);
  z.remove(10, 20);
  z.remove(20, 30);
  z.remove(15, 25);
  CHECK(z.point_count() == 0);
  CHECK(z.max_load(0, 100) == 0);
}

struct Span {
  int64_t start, end;
  Id schedule;
};

bool brute_conflict(const std::vector<Span>& pieces, int64_t s, int64_t e, Id ignore) {
  return std::any_of(pieces.begin(), pieces.end(), [&](const Span& p) {
    return p.schedule != ignore && p.start < e && s < p.end;
  });
}

TEST_CASE("clinic index: SpanSet matches a brute-force model") {
  std::mt19937_64 rng(20261224);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  SpanSet set;
  std::vector<Span> model;
  int inserts = 0, erases = 0, hits = 0;
  for (int op = 0; op < kOperations; ++op) {
    const int64_t s = pick(0, kRangeMs - 2);
    const int64_t e = std::min(kRangeMs, s + pick(1, kSpanMaxMs));
    const Id schedule = static_cast<Id>(pick(0, 40));
    const int64_t kind = pick(0, 9);
    if (kind < 4) {
      const bool clash = brute_conflict(model, s, e, kNoId);
      REQUIRE(set.conflict(s, e, kNoId) == clash);
      if (!clash) {
        set.insert(s, e, schedule);
        model.push_back({s, e, schedule});
        ++inserts;
      }
    } else if (kind < 6 && !model.empty()) {
      const size_t at = static_cast<size_t>(pick(0, static_cast<int64_t>(model.size()) - 1));
      set.erase(model[at].start, model[at].schedule);
      model.erase(model.begin() + static_cast<std::ptrdiff_t>(at));
      ++erases;
    } else {
      const Id ignore = kind < 8 ? schedule : kNoId;
      const bool clash = brute_conflict(model, s, e, ignore);
      hits += clash;
      REQUIRE(set.conflict(s, e, ignore) == clash);
    }
    REQUIRE(set.size() == model.size());
  }
  CHECK(inserts > 1000);
  CHECK(erases > 1000);
  CHECK(hits > 1000);
}

TEST_CASE("clinic index: ZoneLoad matches a brute-force model") {
  std::mt19937_64 rng(6'2'4);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  ZoneLoad load;
  std::vector<int64_t> count(kRangeMs, 0);  // occupied resources per millisecond
  std::vector<std::pair<int64_t, int64_t>> live;
  int64_t highest = 0;
  for (int op = 0; op < kOperations; ++op) {
    const int64_t s = pick(0, kRangeMs - 2);
    const int64_t e = std::min(kRangeMs, s + pick(1, kSpanMaxMs));
    const int64_t kind = pick(0, 9);
    if (kind < 3 && live.size() < 400) {
      load.add(s, e);
      live.emplace_back(s, e);
      for (int64_t t = s; t < e; ++t) ++count[static_cast<size_t>(t)];
    } else if (kind < 5 && !live.empty()) {
      const size_t at = static_cast<size_t>(pick(0, static_cast<int64_t>(live.size()) - 1));
      const auto [a, b] = live[at];
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(at));
      load.remove(a, b);
      for (int64_t t = a; t < b; ++t) --count[static_cast<size_t>(t)];
    } else {
      const int64_t want = *std::max_element(count.begin() + s, count.begin() + e);
      highest = std::max(highest, want);
      REQUIRE(load.max_load(s, e) == want);
      REQUIRE(load.load_at(s) == count[static_cast<size_t>(s)]);
    }
  }
  CHECK(highest > 10);
  // Only points where the load changes are kept.
  for (const auto& [t, d] : load.points()) CHECK(d != 0);
  for (const auto& [a, b] : live) load.remove(a, b);
  CHECK(load.point_count() == 0);
}

TEST_CASE("clinic index: ZoneLoad far outside the model's range") {
  ZoneLoad z;
  const int64_t big = int64_t{1} << 45;  // Unix ms of the year 3084
  z.add(-big, big);
  z.add(0, 1);
  CHECK(z.max_load(-big, big) == 2);
  CHECK(z.max_load(1, big) == 1);
  CHECK(z.max_load(big, big + 1) == 0);
}

}  // namespace
