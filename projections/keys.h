// RocksDB key helpers shared by the view stores (the concert Projections,
// another domain's store): keys are '/'-separated parts, numbers are fixed
// width hex so byte order is numeric order, and a prefix scan reads one
// index in key order. Only for view stores' sources: it includes RocksDB,
// which the projections library links privately.
//
// Thread safety: pure functions; scan() as thread-safe as the DB it reads.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "events/status.h"

namespace reservoir::projections::keys {

inline constexpr size_t kHexChars = 16;  // one uint64 as hex

// Inline: apply builds several keys per event.

// The parts, concatenated with one allocation.
inline std::string cat(std::initializer_list<std::string_view> parts) {
  size_t n = 0;
  for (auto p : parts) n += p.size();
  std::string s;
  s.reserve(n);
  for (auto p : parts) s.append(p);
  return s;
}

// 16 lower-case hex digits of `v` (appended, or as a string).
inline void append_hex64(std::string& s, uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4) s.push_back(kHex[(v >> shift) & 15]);
}
inline std::string hex64(uint64_t v) {
  std::string s;
  append_hex64(s, v);
  return s;
}
// Signed values in byte-comparable form: flipping the sign bit maps int64
// order onto uint64 order.
inline std::string ordered_hex(int64_t v) {
  return hex64(static_cast<uint64_t>(v) ^ (uint64_t{1} << 63));
}
// Parses exactly kHexChars lower-case hex digits.
std::optional<uint64_t> parse_hex64(std::string_view s);

// The least key above every key that starts with `prefix` (whose last byte
// is '/', so incrementing it cannot overflow).
inline std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  end.back() = static_cast<char>(end.back() + 1);
  return end;
}

// A RocksDB status as ours: Corruption, Busy, else IOError.
Status from_rocks(const rocksdb::Status& s);

// Iterates the keys under `prefix` in order, from `start` (inclusive; empty
// = the prefix itself) until fn(key, value) returns false.
template <class Fn>
rocksdb::Status scan(rocksdb::DB* db, rocksdb::ReadOptions ro, const std::string& prefix,
                     const std::string& start, Fn&& fn) {
  const std::string end = prefix_end(prefix);
  const rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  for (it->Seek(start.empty() ? prefix : start); it->Valid(); it->Next()) {
    if (!fn(it->key(), it->value())) break;
  }
  return it->status();
}

}  // namespace reservoir::projections::keys
