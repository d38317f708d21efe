// The byte format every domain module's snapshot is written in: varints
// (signed ones zigzag), strings with a length prefix, dense ids as id + 1
// (0 for kNoId). SnapshotOut appends; SnapshotIn reads, and a malformed
// read makes ok() false (codec::Reader) so a decoder checks once at the
// end. Counts are bounded by the bytes left, so garbage cannot allocate
// much.
//
// Thread safety: one owner each.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/id_table.h"
#include "events/codec.h"

namespace reservoir {

class SnapshotOut {
 public:
  explicit SnapshotOut(std::string& out) : out_(out) {}
  void u(uint64_t v) { codec::put_varint(out_, v); }
  void i(int64_t v) { u(codec::zigzag(v)); }
  void s(std::string_view v) {
    u(v.size());
    out_.append(v);
  }
  void id(Id v) { u(v == kNoId ? 0 : uint64_t{v} + 1); }

 private:
  std::string& out_;
};

class SnapshotIn {
 public:
  explicit SnapshotIn(std::string_view bytes) : r_(bytes) {}
  bool ok() const { return r_.ok() && ok_; }
  bool done() const { return ok() && r_.at_end(); }
  uint64_t u() { return r_.varint(); }
  int64_t i() { return codec::unzigzag(r_.varint()); }
  std::string_view s() { return r_.string(); }
  Id id() {
    const uint64_t v = r_.varint();
    if (v > kNoId) ok_ = false;
    return v == 0 || v > kNoId ? kNoId : static_cast<Id>(v - 1);
  }
  // An element count: each element takes at least one byte.
  size_t count() {
    const uint64_t n = r_.varint();
    if (n > r_.remaining()) ok_ = false;
    return ok() ? static_cast<size_t>(n) : 0;
  }
  void fail() { ok_ = false; }

 private:
  codec::Reader r_;
  bool ok_ = true;
};

}  // namespace reservoir
