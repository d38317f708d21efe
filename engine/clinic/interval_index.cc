#include "engine/clinic/interval_index.h"

namespace reservoir::clinic {

int64_t ZoneLoad::load_at(int64_t t) const {
  int64_t acc = 0;
  for (uint32_t n = root_; n != kNil;) {
    const Node& node = nodes_[n];
    if (node.key <= t) {
      acc += sum(node.left) + node.delta;
      n = node.right;
    } else {
      n = node.left;
    }
  }
  return acc;
}

// The highest prefix sum at a key k with lo < k < hi in n's subtree, where
// `offset` is the sum of every delta before the subtree. above_lo / below_hi
// say the ancestors already proved every key here > lo / < hi; a subtree
// with both is answered from its node alone, so only two root-to-leaf paths
// are walked.
int64_t ZoneLoad::best_in(uint32_t n, int64_t offset, int64_t lo, int64_t hi, bool above_lo,
                          bool below_hi) const {
  if (n == kNil) return kNone;
  const Node& node = nodes_[n];
  if (above_lo && below_hi) return offset + node.best;
  int64_t out = kNone;
  if (above_lo || node.key > lo) {  // else the left subtree lies at or below lo
    out = best_in(node.left, offset, lo, hi, above_lo, below_hi || node.key <= hi);
  }
  const int64_t through = offset + sum(node.left) + node.delta;
  if (lo < node.key && node.key < hi) out = std::max(out, through);
  if (below_hi || node.key < hi) {  // else the right subtree lies at or above hi
    out = std::max(out, best_in(node.right, through, lo, hi, above_lo || node.key >= lo, below_hi));
  }
  return out;
}

void ZoneLoad::pull(uint32_t n) {
  Node& node = nodes_[n];
  const int64_t left_sum = sum(node.left);
  const int64_t through = left_sum + node.delta;
  node.sum = through + sum(node.right);
  node.best = std::max({best(node.left), through, through + best(node.right)});
}

uint32_t ZoneLoad::make(int64_t key, int64_t d) {
  Node node;
  node.key = key;
  node.delta = d;
  node.priority = priority_of(key);
  uint32_t n;
  if (!free_.empty()) {
    n = free_.back();
    free_.pop_back();
    nodes_[n] = node;
  } else {
    assert(nodes_.size() < kNil);
    n = static_cast<uint32_t>(nodes_.size());
    nodes_.push_back(node);
  }
  pull(n);
  return n;
}

uint32_t ZoneLoad::rotate_right(uint32_t n) {
  const uint32_t l = nodes_[n].left;
  nodes_[n].left = nodes_[l].right;
  nodes_[l].right = n;
  pull(n);
  pull(l);
  return l;
}

uint32_t ZoneLoad::rotate_left(uint32_t n) {
  const uint32_t r = nodes_[n].right;
  nodes_[n].right = nodes_[r].left;
  nodes_[r].left = n;
  pull(n);
  pull(r);
  return r;
}

// Joins two treaps where every key of a is below every key of b.
uint32_t ZoneLoad::merge(uint32_t a, uint32_t b) {
  if (a == kNil) return b;
  if (b == kNil) return a;
  if (nodes_[a].priority >= nodes_[b].priority) {
    const uint32_t right = merge(nodes_[a].right, b);
    nodes_[a].right = right;
    pull(a);
    return a;
  }
  const uint32_t left = merge(a, nodes_[b].left);
  nodes_[b].left = left;
  pull(b);
  return b;
}

// Adds d to key's delta in n's subtree (creating the point, or dropping it
// when its delta reaches 0, so the tree holds only points where the load
// changes) and returns the subtree's new root. Indexes, not references:
// make() may move the pool.
uint32_t ZoneLoad::bump_at(uint32_t n, int64_t key, int64_t d) {
  if (n == kNil) return make(key, d);
  if (key == nodes_[n].key) {
    nodes_[n].delta += d;
    if (nodes_[n].delta != 0) {
      pull(n);
      return n;
    }
    const uint32_t joined = merge(nodes_[n].left, nodes_[n].right);
    free_.push_back(n);
    return joined;
  }
  if (key < nodes_[n].key) {
    const uint32_t left = bump_at(nodes_[n].left, key, d);
    nodes_[n].left = left;
    if (left != kNil && nodes_[left].priority > nodes_[n].priority) return rotate_right(n);
  } else {
    const uint32_t right = bump_at(nodes_[n].right, key, d);
    nodes_[n].right = right;
    if (right != kNil && nodes_[right].priority > nodes_[n].priority) return rotate_left(n);
  }
  pull(n);
  return n;
}

void ZoneLoad::collect(uint32_t n, std::vector<std::pair<int64_t, int64_t>>& out) const {
  if (n == kNil) return;
  collect(nodes_[n].left, out);
  out.emplace_back(nodes_[n].key, nodes_[n].delta);
  collect(nodes_[n].right, out);
}

}  // namespace reservoir::clinic
