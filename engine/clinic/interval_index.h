// The clinic's two interval indexes (docs/CLINIC-DESIGN.md (c)). Intervals
// are half-open [start, end) in Unix ms: back-to-back intervals do not
// overlap, one millisecond of overlap does.
//
// - SpanSet, one per visitor: the pieces of the visitor's RESERVED
//   schedules. Invariant 6 makes every piece of one visitor disjoint from
//   every other (a schedule's own overlapping resources are merged into one
//   piece first, merge_pieces), so the pieces meeting [s, e) are contiguous
//   in start order: conflict(s, e, ignore) costs O(log k + pieces met).
// - ZoneLoad, one per zone with a capacity: how many occupied resources
//   overlap at each instant, as a step function. A treap keyed by time
//   point holds each point's delta (+1 where an interval starts, -1 where one
//   ends), its subtree's sum and its subtree's maximum prefix sum, so add,
//   remove and max_load are O(log n) expected, never a scan of the bookings.
//   Nodes live in a pool (32-bit links, a free list); priorities are a hash
//   of the key, so the tree's shape depends only on the set of points: the
//   same bookings give the same tree whatever order they came in (replay,
//   snapshot restore), and apply stays deterministic.
//
// Thread safety: none; owned by the clinic State (single writer).
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <iterator>
#include <map>
#include <utility>
#include <vector>

#include "engine/id_table.h"

namespace reservoir::clinic {

// [start, end) pieces covering the union of `spans` (each start < end),
// sorted by start, pairwise disjoint; touching spans are joined.
inline std::vector<std::pair<int64_t, int64_t>> merge_pieces(
    std::vector<std::pair<int64_t, int64_t>> spans) {
  std::sort(spans.begin(), spans.end());
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& [s, e] : spans) {
    assert(s < e);
    if (!out.empty() && s <= out.back().second) {
      out.back().second = std::max(out.back().second, e);
    } else {
      out.emplace_back(s, e);
    }
  }
  return out;
}

class SpanSet {
 public:
  struct Piece {
    int64_t end = 0;
    Id schedule = kNoId;
    bool operator==(const Piece&) const = default;
  };
  using Pieces = std::map<int64_t, Piece>;  // by start

  // Adds [s, e) for `schedule`; it must meet no piece already held.
  void insert(int64_t s, int64_t e, Id schedule) {
    assert(s < e);
    assert(!conflict(s, e, kNoId));
    pieces_.emplace(s, Piece{e, schedule});
  }

  // Removes the piece starting at `s`, which `schedule` must hold.
  void erase(int64_t s, Id schedule) {
    const auto it = pieces_.find(s);
    assert(it != pieces_.end() && it->second.schedule == schedule);
    (void)schedule;
    if (it != pieces_.end()) pieces_.erase(it);
  }

  // True when a piece of a schedule other than `ignore` meets [s, e).
  bool conflict(int64_t s, int64_t e, Id ignore) const {
    auto it = pieces_.upper_bound(s);  // the first piece starting after s
    if (it != pieces_.begin() && std::prev(it)->second.end > s) --it;
    // Disjoint pieces: every one from here that starts before e meets [s, e).
    for (; it != pieces_.end() && it->first < e; ++it) {
      if (it->second.schedule != ignore) return true;
    }
    return false;
  }

  size_t size() const { return pieces_.size(); }
  const Pieces& pieces() const { return pieces_; }
  bool operator==(const SpanSet&) const = default;

 private:
  Pieces pieces_;
};

class ZoneLoad {
 public:
  // Counts [s, e) as one more (add) or one fewer (remove) occupied resource.
  void add(int64_t s, int64_t e) {
    assert(s < e);
    bump(s, +1);
    bump(e, -1);
  }
  void remove(int64_t s, int64_t e) {
    assert(s < e);
    bump(s, -1);
    bump(e, +1);
  }

  // The occupied resources at instant t.
  int64_t load_at(int64_t t) const;
  // The most occupied resources at any instant of [s, e) (s < e).
  int64_t max_load(int64_t s, int64_t e) const {
    assert(s < e);
    return std::max(load_at(s), best_in(root_, 0, s, e, false, false));
  }

  // Time points where the load changes, with the change, in time order.
  std::vector<std::pair<int64_t, int64_t>> points() const {
    std::vector<std::pair<int64_t, int64_t>> out;
    collect(root_, out);
    return out;
  }
  size_t point_count() const { return nodes_.size() - free_.size(); }
  void clear() { *this = ZoneLoad(); }

 private:
  static constexpr uint32_t kNil = UINT32_MAX;
  // Below any real prefix sum and safe to add small sums to.
  static constexpr int64_t kNone = INT64_MIN / 4;

  struct Node {
    int64_t key = 0;
    int64_t delta = 0;
    int64_t sum = 0;   // of the deltas in the subtree
    int64_t best = 0;  // max over the subtree's keys of the prefix sum within it
    uint64_t priority = 0;
    uint32_t left = kNil;
    uint32_t right = kNil;
  };

  static uint64_t priority_of(int64_t key) {
    return hash_mix(static_cast<uint64_t>(key) ^ 0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL);
  }
  int64_t sum(uint32_t n) const { return n == kNil ? 0 : nodes_[n].sum; }
  int64_t best(uint32_t n) const { return n == kNil ? kNone : nodes_[n].best; }

  void bump(int64_t key, int64_t d) { root_ = bump_at(root_, key, d); }
  uint32_t bump_at(uint32_t n, int64_t key, int64_t d);
  uint32_t make(int64_t key, int64_t d);
  uint32_t merge(uint32_t a, uint32_t b);
  uint32_t rotate_right(uint32_t n);
  uint32_t rotate_left(uint32_t n);
  void pull(uint32_t n);
  int64_t best_in(uint32_t n, int64_t offset, int64_t lo, int64_t hi, bool above_lo,
                  bool below_hi) const;
  void collect(uint32_t n, std::vector<std::pair<int64_t, int64_t>>& out) const;

  std::vector<Node> nodes_;
  std::vector<uint32_t> free_;
  uint32_t root_ = kNil;
};

}  // namespace reservoir::clinic
