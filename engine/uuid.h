// new_uuid(random): the version-4 UUID that Random::uuid() (events/os.h)
// makes from the same 16 random bytes, byte for byte, written through a
// byte -> two hex digits table into a string sized once. Decide makes one
// for every payment, and Random::uuid's character-by-character appends
// showed in the core profile (13% of its instructions).
//
// new_locating_uuid(random, id): a version-8 UUID that carries the dense Id
// its record will get (engine/id_table.h, "Self-locating keys"), with the
// other 90 bits random. Decide makes one for every reservation; tokens are
// bearer secrets (SPEC §1: at least 122 random bits), so they are new_uuid's.
//
// Thread safety: as the Random passed in.
#pragma once

#include <array>
#include <cassert>
#include <cstring>
#include <string>

#include "engine/id_table.h"
#include "events/os.h"

namespace reservoir {

namespace uuid_detail {
inline constexpr std::array<char, 512> kHexPairs = [] {
  constexpr char kHex[] = "0123456789abcdef";
  std::array<char, 512> t{};
  for (int b = 0; b < 256; ++b) {
    t[2 * b] = kHex[b >> 4];
    t[2 * b + 1] = kHex[b & 15];
  }
  return t;
}();

// The UUID of these 16 bytes, into `out`, reusing its capacity.
inline void write_uuid(const unsigned char (&b)[16], std::string& out) {
  char text[36];
  char* p = text;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
    std::memcpy(p, &uuid_detail::kHexPairs[2 * b[i]], 2);
    p += 2;
  }
  if (out.size() == sizeof text) {
    std::memcpy(out.data(), text, sizeof text);  // a recycled id: overwrite in place
  } else {
    out.assign(text, sizeof text);
  }
}

}  // namespace uuid_detail

// Writes a version-4 UUID into `out`, reusing its capacity.
inline void new_uuid(Random& random, std::string& out) {
  unsigned char b[16];
  random.fill(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 9562 variant
  uuid_detail::write_uuid(b, out);
}

// Writes a self-locating (version-8) UUID for Id `id` into `out`, so that
// locating_id(out) == id.
inline void new_locating_uuid(Random& random, Id id, std::string& out) {
  assert(id != kNoId);
  unsigned char b[16];
  random.fill(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x80);  // version 8
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 9562 variant
  for (int i = 0; i < 4; ++i) {
    b[i] = static_cast<unsigned char>(((id >> (24 - 8 * i)) & 0xff) ^ b[12 + i]);
  }
  uuid_detail::write_uuid(b, out);
}

inline std::string new_uuid(Random& random) {
  std::string s;
  new_uuid(random, s);
  return s;
}

}  // namespace reservoir
