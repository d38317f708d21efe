#include "projections/versioned_store.h"

#include "events/oplog.h"

namespace reservoir::projections {
namespace {

Result<std::unique_ptr<rocksdb::DB>> open_db(const std::string& path, const StoreSpec& spec) {
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(spec.options(), path, &raw);
  if (!s.ok()) return Status::IOError("opening " + spec.what + " at " + path + ": " + s.ToString());
  return std::unique_ptr<rocksdb::DB>(raw);
}

}  // namespace

Result<VersionedStore> open_versioned_store(const std::string& path, const StoreSpec& spec) {
  Result<std::unique_ptr<rocksdb::DB>> db = open_db(path, spec);
  if (!db.ok()) return db.status();
  Result<StoreCheckpoint> cp = spec.read_checkpoint(db->get());
  if (!cp.ok()) return cp.status();
  if (cp->format > spec.format) {
    return Status::Corruption(spec.what + " at " + path + " have format " +
                              std::to_string(cp->format) + ", newer than this program's " +
                              std::to_string(spec.format) + "; run `reservoir rebuild`");
  }
  if (cp->format < spec.format) {
    oplog::log_event(oplog::Level::kWarn, "store_format_dropped",
                     {{"store", spec.what},
                      {"path", path},
                      {"format", std::to_string(cp->format)},
                      {"action", "rebuilding from the log"}});
    db->reset();
    const rocksdb::Status d = rocksdb::DestroyDB(path, spec.options());
    if (!d.ok()) {
      return Status::IOError("dropping " + spec.what + " at " + path + ": " + d.ToString());
    }
    db = open_db(path, spec);
    if (!db.ok()) return db.status();
    *cp = StoreCheckpoint{0, spec.format};
  }
  return VersionedStore{std::move(*db), static_cast<uint64_t>(cp->next)};
}

}  // namespace reservoir::projections
