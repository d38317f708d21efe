#include "projections/keys.h"

namespace reservoir::projections::keys {

std::optional<uint64_t> parse_hex64(std::string_view s) {
  if (s.size() != kHexChars) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

Status from_rocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::OK();
  if (s.IsCorruption()) return Status::Corruption("rocksdb: " + s.ToString());
  if (s.IsBusy()) return Status::Busy("rocksdb: " + s.ToString());
  return Status::IOError("rocksdb: " + s.ToString());
}

}  // namespace reservoir::projections::keys
