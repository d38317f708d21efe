// SnapshotStore: where the writer keeps snapshots of its state, each tagged
// with the log offset it covers, so a restart replays only the tail.
// FileSnapshotStore keeps `snapshot-<offset>.snap` files under a directory,
// each with a header and a CRC-32C; it writes a temp file, fsyncs, renames
// and fsyncs the directory, so a crash mid-write never leaves a file that
// passes the check. It keeps the newest `keep_max` snapshots.
//
// Thread safety: save() from one thread at a time; list()/load() from any.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "events/status.h"

namespace reservoir {

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;
  virtual Status save(uint64_t offset, const std::string& bytes) = 0;
  // Offsets of the stored snapshots, newest (highest) first.
  virtual std::vector<uint64_t> list() const = 0;
  // Corruption when the file is partial or fails its checksum.
  virtual Result<std::string> load(uint64_t offset) const = 0;
};

class FileSnapshotStore final : public SnapshotStore {
 public:
  static constexpr size_t kKeepMax = 2;

  explicit FileSnapshotStore(std::string dir) : dir_(std::move(dir)) {}
  Status save(uint64_t offset, const std::string& bytes) override;
  std::vector<uint64_t> list() const override;
  Result<std::string> load(uint64_t offset) const override;

 private:
  std::string path(uint64_t offset) const;
  std::string dir_;
};

}  // namespace reservoir
