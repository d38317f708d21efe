// DeadlineHeap: the pending deadlines of dense-id records (engine/id_table.h)
// as an indexed binary min-heap of (due ms, id), so the clock finds the next
// due deadline in O(1) and a record that is settled early (a hold paid, a
// token spent) leaves it in O(log n) without a search. It holds exactly the
// live deadlines: no stale entries to skip, and memory follows the live count.
//
// Ties on `due` go to the lower id (the older record), so the order of
// clock events is a function of the state alone.
//
// Thread safety: none; part of the single writer's state.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <utility>
#include <vector>

#include "engine/id_table.h"

namespace reservoir {

class DeadlineHeap {
 public:
  using Entry = std::pair<int64_t, Id>;  // (due ms, id)

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  const Entry& top() const {
    assert(!heap_.empty());
    return heap_.front();
  }
  bool contains(Id id) const { return id < pos_.size() && pos_[id] != kNoPos; }

  // Adds `id`, which must not be in the heap.
  void push(int64_t due, Id id) {
    assert(!contains(id));
    if (id >= pos_.size()) pos_.resize(std::max<size_t>(id + 1, pos_.size() * 2), kNoPos);
    heap_.emplace_back(due, id);
    pos_[id] = static_cast<uint32_t>(heap_.size() - 1);
    sift_up(heap_.size() - 1);
  }

  // Removes `id`; false if it was not in the heap.
  bool erase(Id id) {
    if (!contains(id)) return false;
    const size_t i = pos_[id];
    pos_[id] = kNoPos;
    const size_t last = heap_.size() - 1;
    if (i == last) {
      heap_.pop_back();
    } else {
      // The last entry fills the hole, then moves up or down to its place.
      const Id moved = heap_[last].second;
      heap_[i] = heap_[last];
      heap_.pop_back();
      sift_up(i);
      sift_down(pos_[moved]);
    }
    return true;
  }

  // Bytes held, for memory accounting.
  size_t memory_bytes() const {
    return heap_.capacity() * sizeof(Entry) + pos_.capacity() * sizeof(uint32_t);
  }

  // Every entry, earliest first (ties by id): for tests and snapshots.
  std::vector<Entry> sorted() const {
    std::vector<Entry> out = heap_;
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  static constexpr uint32_t kNoPos = UINT32_MAX;

  void set(size_t i, const Entry& e) {
    heap_[i] = e;
    pos_[e.second] = static_cast<uint32_t>(i);
  }
  void sift_up(size_t i) {
    const Entry e = heap_[i];
    while (i > 0) {
      const size_t parent = (i - 1) / 2;
      if (!(e < heap_[parent])) break;
      set(i, heap_[parent]);
      i = parent;
    }
    set(i, e);
  }
  void sift_down(size_t i) {
    const Entry e = heap_[i];
    const size_t n = heap_.size();
    for (;;) {
      size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap_[child + 1] < heap_[child]) ++child;
      if (!(heap_[child] < e)) break;
      set(i, heap_[child]);
      i = child;
    }
    set(i, e);
  }

  std::vector<Entry> heap_;
  std::vector<uint32_t> pos_;  // by id: index in heap_, or kNoPos
};

}  // namespace reservoir
