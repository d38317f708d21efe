// open_versioned_store: opens a RocksDB view store whose checkpoint record
// names its layout ("store format"), for both domains' views. Views are
// derived data: a store of an older layout is dropped and re-applied from
// the log (checkpoint 0) rather than misread; a newer one is refused, since
// this program cannot read it and must not drop what a newer one wrote.
//
// Thread safety: a plain function; call it before the store is shared.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include "events/status.h"

namespace reservoir::projections {

// A store's checkpoint record as the store's own code reads it.
struct StoreCheckpoint {
  int64_t next = 0;    // offset of the next event to apply
  int64_t format = 0;  // the layout that wrote the store
};

struct StoreSpec {
  std::string what;    // names the store in messages: "projections", "clinic views"
  int64_t format = 0;  // the layout this program writes
  std::function<rocksdb::Options()> options;
  // The checkpoint of an open store: {0, format} when it has none.
  std::function<Result<StoreCheckpoint>(rocksdb::DB*)> read_checkpoint;
};

struct VersionedStore {
  std::unique_ptr<rocksdb::DB> db;
  uint64_t next = 0;  // offset of the next event to apply
};

Result<VersionedStore> open_versioned_store(const std::string& path, const StoreSpec& spec);

// The same for a store whose checkpoint record `Rec` (fields `next`,
// `format`) is read by `read(db, path)`.
template <class Rec>
Result<VersionedStore> open_versioned_store(const std::string& path, std::string what,
                                            int64_t format, rocksdb::Options (*options)(),
                                            Result<Rec> (*read)(rocksdb::DB*, const std::string&)) {
  const StoreSpec spec{std::move(what), format, options,
                       [&path, read](rocksdb::DB* db) -> Result<StoreCheckpoint> {
                         Result<Rec> cp = read(db, path);
                         if (!cp.ok()) return cp.status();
                         return StoreCheckpoint{cp->next, cp->format};
                       }};
  return open_versioned_store(path, spec);
}

}  // namespace reservoir::projections
