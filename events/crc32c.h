// CRC-32C (Castagnoli): the checksum that guards every event-log record.
//
// crc32c() uses the SSE4.2 crc32 instruction when the CPU has it (checked once
// at run time) and a table otherwise; both give the same values. It extends:
//   crc32c(ab, na + nb) == crc32c(b, nb, crc32c(a, na)).
// mask()/unmask() (as in LevelDB) rotate a stored CRC, because the CRC of a
// byte string that itself contains its CRC is weak.
//
// Thread safety: pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace reservoir {

// The CRC-32C of data[0, n), continuing from `seed` (the CRC of what came before).
uint32_t crc32c(const void* data, size_t n, uint32_t seed = 0);

// The table-driven path alone, whatever the CPU: lets tests check both agree.
uint32_t crc32c_portable(const void* data, size_t n, uint32_t seed = 0);

inline constexpr uint32_t kCrc32cMaskDelta = 0xa282ead8u;

inline uint32_t crc32c_mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + kCrc32cMaskDelta;
}

inline uint32_t crc32c_unmask(uint32_t masked) {
  const uint32_t rot = masked - kCrc32cMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace reservoir
