// SimRng: the simulator's seeded generator (splitmix64), for every choice a
// simulation makes: commands, faults, clock moves, crashes. One stream per
// run, drawn in a fixed order, so a seed names a run exactly.
//
// Thread safety: none; one per simulation.
#pragma once

#include <cstdint>

namespace reservoir::sim {

class SimRng {
 public:
  explicit SimRng(uint64_t seed) : s_(seed) {}

  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); 0 when n is 0. The modulo bias is irrelevant here.
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
  // True with probability permille / 1000.
  bool chance(int permille) { return below(1000) < static_cast<uint64_t>(permille); }
  template <class V>
  const auto& pick(const V& v) {
    return v[below(v.size())];
  }

 private:
  uint64_t s_;
};

}  // namespace reservoir::sim
