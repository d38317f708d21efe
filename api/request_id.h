// new_request_id(): a fresh X-Request-Id (SPEC §8), 32 lowercase hex digits
// of 128 random bits, for an answer to a request that named none.
//
// Thread safety: any thread; each has its own generator (seeded from
// std::random_device), so no lock. Formatted by hand: snprintf cost about
// 1% of the machine's CPU on the query stream (docs/BENCHMARKS.md).
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace reservoir::api {

inline std::string new_request_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  constexpr int kWordDigits = 16;
  std::string id(2 * kWordDigits, '0');
  for (int word = 0; word < 2; ++word) {
    uint64_t bits = random();
    for (int i = kWordDigits - 1; i >= 0; --i, bits >>= 4) {
      id[static_cast<size_t>(word * kWordDigits + i)] = kHex[bits & 0xf];
    }
  }
  return id;
}

}  // namespace reservoir::api
