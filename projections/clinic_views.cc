#include "projections/clinic_views.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <map>
#include <variant>

#include "events/clinic_time.h"
#include "events/codec.h"
#include "events/engine_events.h"
#include "events/oplog.h"
#include "projections/keys.h"
#include "projections/versioned_store.h"

// Key layout ('/' separates parts: ids are [A-Za-z0-9._:-], never '/'):
//   m/checkpoint                          -> CheckpointRec: next offset, store format
//   cf                                    -> OffsetRec: the UTC offset last recorded
//   vi/<visitorId>                        -> VisitorRec
//   zo/<zoneId>                           -> ZoneRec
//   gr/<groupId>                          -> GroupRec
//   sc/<scheduleId>                       -> ScheduleRec: the whole schedule
//   vs/<visitorId>/<start>/<scheduleId>   -> "" (index: first start order)
//   zd/<zoneId>/<start>/<scheduleId>/<n>  -> OccupancyRec (RESERVED resources only)
// <start> is 16 hex digits of the value with its sign bit flipped, so byte
// order is numeric order; <n> (the resource index) is 8 hex digits. Within
// one <start>, keys sort by scheduleId and then n: schedule ids are UUIDs of
// one length, so no id is a prefix of another. A visitor page's cursor is
// the hex of the vs/ key suffix (<start>/<scheduleId>) of the page's next
// item.

namespace reservoir::projections {
namespace {

constexpr size_t kBlockCacheBytes = size_t{32} << 20;
constexpr size_t kWriteBufferBytes = size_t{32} << 20;  // bounds re-apply after a crash
constexpr int kWriteBuffersMax = 4;                     // memtables before writes stall
constexpr double kBloomBitsPerKey = 10;
constexpr size_t kHexChars = 16;      // one int64 as ordered hex
constexpr size_t kIndexHexChars = 8;  // a resource index
constexpr int64_t kReserved = 0;      // ScheduleRec::status values (ClinicStatus)
constexpr int64_t kCancelled = 1;

// ---- stored records: codec field lists give their binary form ----

struct CheckpointRec {
  int64_t next = 0;
  int64_t format = ClinicViews::kStoreFormat;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("next", s.next);
    f("format", s.format);
  }
};
struct OffsetRec {
  int64_t utc_offset_min = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("utcOffsetMinutes", s.utc_offset_min);
  }
};
struct VisitorRec {
  std::string name;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("name", s.name);
  }
};
struct ZoneRec {
  std::string name;
  int64_t capacity = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("name", s.name);
    f("capacity", s.capacity);
  }
};
struct GroupRec {
  std::string name;
  std::vector<std::string> zone_ids;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("name", s.name);
    f("zoneIds", s.zone_ids);
  }
};
struct ScheduleRec {
  events::ScheduleBody body;
  int64_t status = kReserved;
  int64_t updated_at = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    events::ScheduleBody::body_fields(s.body, f);
    f("status", s.status);
    f("updatedAt", s.updated_at);
  }
};
struct OccupancyRec {
  std::string visitor_id;
  int64_t end_ms = 0;
  std::string group_id;
  std::string doctor;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("visitorId", s.visitor_id);
    f("endDateTimeUtc", s.end_ms);
    f("reservationGroupId", s.group_id);
    f("doctor", s.doctor);
  }
};

template <class R>
std::string encode_rec(const R& rec) {
  std::string out;
  codec::encode(rec, out);
  return out;
}

// ---- keys: the shared helpers of projections/keys.h, plus hex of any
// width (a resource's index in zd/ keys has 8 digits). ----

using keys::cat;
using keys::from_rocks;
using keys::ordered_hex;
using keys::prefix_end;

constexpr char kHexDigits[] = "0123456789abcdef";

std::string hex_digits(uint64_t v, size_t digits) {
  std::string s(digits, '0');
  for (size_t i = digits; i-- > 0; v >>= 4) s[i] = kHexDigits[v & 15];
  return s;
}
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}
bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return hex_value(c) >= 0; });
}
// Parses exactly `digits` lower-case hex digits.
std::optional<uint64_t> parse_hex(std::string_view s, size_t digits) {
  if (s.size() != digits || !is_hex(s)) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) v = (v << 4) | static_cast<uint64_t>(hex_value(c));
  return v;
}
std::optional<int64_t> parse_ordered_hex(std::string_view s) {
  const std::optional<uint64_t> v = parse_hex(s, kHexChars);
  if (!v) return std::nullopt;
  return static_cast<int64_t>(*v ^ (uint64_t{1} << 63));
}

const std::string kCheckpointKey = "m/checkpoint";
const std::string kOffsetKey = "cf";

std::string visitor_key(std::string_view id) {
  return cat({"vi/", id});
}
std::string zone_key(std::string_view id) {
  return cat({"zo/", id});
}
std::string group_key(std::string_view id) {
  return cat({"gr/", id});
}
std::string schedule_key(std::string_view id) {
  return cat({"sc/", id});
}
std::string visitor_schedules_prefix(std::string_view visitor_id) {
  return cat({"vs/", visitor_id, "/"});
}
std::string visitor_schedule_key(std::string_view visitor_id, int64_t first_start,
                                 std::string_view schedule_id) {
  return cat({visitor_schedules_prefix(visitor_id), ordered_hex(first_start), "/", schedule_id});
}
std::string zone_day_prefix(std::string_view zone_id) {
  return cat({"zd/", zone_id, "/"});
}
std::string occupancy_key(std::string_view zone_id, int64_t start, std::string_view schedule_id,
                          size_t n) {
  return cat({zone_day_prefix(zone_id), ordered_hex(start), "/", schedule_id, "/",
              hex_digits(n, kIndexHexChars)});
}

// The least start of a schedule's resources (its position in vs/).
int64_t first_start(const std::vector<events::OccupiedResource>& resources) {
  int64_t first = resources.front().start_ms;
  for (const auto& r : resources) first = std::min(first, r.start_ms);
  return first;
}

// A page cursor: the hex of a vs/ key suffix, "<16 hex start>/<scheduleId>".
std::string encode_cursor(std::string_view suffix) {
  std::string out;
  out.reserve(suffix.size() * 2);
  for (char c : suffix) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 15]);
  }
  return out;
}
// The vs/ key suffix a cursor names; nullopt when it is not a cursor.
std::optional<std::string> decode_cursor(std::string_view cursor) {
  if (cursor.size() % 2 != 0 || !is_hex(cursor)) return std::nullopt;
  std::string suffix;
  for (size_t i = 0; i < cursor.size(); i += 2) {
    suffix.push_back(static_cast<char>(hex_value(cursor[i]) * 16 + hex_value(cursor[i + 1])));
  }
  const bool well_formed = suffix.size() > kHexChars + 1 &&
                           parse_hex(std::string_view(suffix).substr(0, kHexChars), kHexChars) &&
                           suffix[kHexChars] == '/' &&
                           suffix.find('/', kHexChars + 1) == std::string::npos;
  if (!well_formed) return std::nullopt;
  return suffix;
}

// Reads one record for a query: false when absent; an unreadable record is
// logged and reported absent.
template <class R>
bool get_rec(rocksdb::DB* db, const rocksdb::ReadOptions& ro, const std::string& key, R* rec) {
  rocksdb::PinnableSlice value;
  const rocksdb::Status s = db->Get(ro, db->DefaultColumnFamily(), key, &value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) {
    oplog::log_event(oplog::Level::kError, "fault",
                     {{"kind", "clinic_view_read"},
                      {"what", "read_failed"},
                      {"key", key},
                      {"error", s.ToString()}});
    return false;
  }
  if (!codec::decode(std::string_view(value.data(), value.size()), *rec)) {
    oplog::log_event(oplog::Level::kError, "fault",
                     {{"kind", "clinic_view_read"}, {"what", "malformed_record"}, {"key", key}});
    return false;
  }
  return true;
}

// Iterates the keys in [lower, upper) in order until fn(key, value)
// returns false.
template <class Fn>
rocksdb::Status scan(rocksdb::DB* db, rocksdb::ReadOptions ro, const std::string& lower,
                     const std::string& upper, Fn&& fn) {
  if (lower >= upper) return rocksdb::Status::OK();
  const rocksdb::Slice bound(upper);
  ro.iterate_upper_bound = &bound;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  for (it->Seek(lower); it->Valid(); it->Next()) {
    if (!fn(std::string_view(it->key().data(), it->key().size()),
            std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return it->status();
}

std::optional<ClinicScheduleView> to_view(ScheduleRec&& rec) {
  if (rec.status != kReserved && rec.status != kCancelled) return std::nullopt;
  ClinicScheduleView v;
  v.body = std::move(rec.body);
  v.status = rec.status == kReserved ? ClinicStatus::kReserved : ClinicStatus::kCancelled;
  v.updated_at = rec.updated_at;
  return v;
}

// ---- apply ----

// Writes not yet in the store, in key order; nullopt is a delete. Reads see
// them before the store (events of one batch may touch one key twice).
using Overlay = std::map<std::string, std::optional<std::string>, std::less<>>;

// Applies events onto an overlay (a batch's, or a bulk load's), then writes
// the overlay and the checkpoint as one WriteBatch.
class ClinicApplier {
 public:
  ClinicApplier(rocksdb::DB* db, Overlay& pending) : db_(db), pending_(pending) {}

  Status apply(const ClinicViewEvent& e, uint64_t offset) {
    offset_ = offset;
    time_ms_ = e.time_ms;
    return std::visit([this](const auto& ev) { return on(ev); }, e.event);
  }

  // Writes the overlay (then empties it) and the checkpoint in one batch.
  Status commit(uint64_t next_checkpoint) {
    rocksdb::WriteBatch wb;
    for (const auto& [key, value] : pending_) {
      if (value) {
        wb.Put(key, *value);
      } else {
        wb.Delete(key);
      }
    }
    wb.Put(kCheckpointKey, encode_rec(CheckpointRec{static_cast<int64_t>(next_checkpoint)}));
    // No WAL, as the concert views (views.cc explains why this is safe).
    rocksdb::WriteOptions wo;
    wo.disableWAL = true;
    const Status s = from_rocks(db_->Write(wo, &wb));
    if (s.ok()) pending_.clear();
    return s;
  }

 private:
  Status on(const events::ClinicConfigured& e) {
    put(kOffsetKey, OffsetRec{e.utc_offset_min});
    return Status::OK();
  }
  Status on(const events::VisitorRegistered& e) {
    put(visitor_key(e.visitor_id), VisitorRec{e.name});
    return Status::OK();
  }
  Status on(const events::ZoneCreated& e) {
    put(zone_key(e.zone_id), ZoneRec{e.name, e.capacity});
    return Status::OK();
  }
  Status on(const events::ReservationGroupCreated& e) {
    put(group_key(e.group_id), GroupRec{e.name, e.zone_ids});
    return Status::OK();
  }

  Status on(const events::ScheduleReserved& e) {
    const std::string key = schedule_key(e.schedule_id);
    ScheduleRec old;
    if (Status s = load(key, &old); s.code() != Status::Code::kNotFound) {
      return s.ok() ? inconsistent("schedule " + e.schedule_id + " reserved twice") : s;
    }
    if (e.resources.empty()) return inconsistent("schedule " + e.schedule_id + " occupies nothing");
    put_raw(visitor_schedule_key(e.visitor_id, first_start(e.resources), e.schedule_id), "");
    put_occupancy(e);
    put(key, ScheduleRec{e, kReserved, time_ms_});
    return Status::OK();
  }

  // Checks the update's previous* against the stored schedule (a forged or
  // misordered update must not leave stray index entries), then moves the
  // indexes from the old resources to the new.
  Status on(const events::ScheduleUpdated& e) {
    ScheduleRec old;
    if (Status s = load_reserved(e, &old); !s.ok()) return s;
    if (old.body.zone_id != e.previous_zone_id || old.body.resources != e.previous_resources) {
      return inconsistent("previous state of schedule " + e.schedule_id + " differs");
    }
    if (e.resources.empty()) return inconsistent("schedule " + e.schedule_id + " occupies nothing");
    remove_occupancy(old.body);
    const int64_t old_first = first_start(old.body.resources);
    const int64_t new_first = first_start(e.resources);
    if (old_first != new_first) {
      del(visitor_schedule_key(e.visitor_id, old_first, e.schedule_id));
      put_raw(visitor_schedule_key(e.visitor_id, new_first, e.schedule_id), "");
    }
    put_occupancy(e);
    put(schedule_key(e.schedule_id), ScheduleRec{e, kReserved, time_ms_});
    return Status::OK();
  }

  // The schedule keeps its place in the visitor's list; its resources leave
  // the day views.
  Status on(const events::ScheduleCancelled& e) {
    ScheduleRec old;
    if (Status s = load_reserved(e, &old); !s.ok()) return s;
    if (old.body.resources != e.resources) {
      return inconsistent("resources of cancelled schedule " + e.schedule_id + " differ");
    }
    remove_occupancy(old.body);
    put(schedule_key(e.schedule_id), ScheduleRec{e, kCancelled, time_ms_});
    return Status::OK();
  }

  // The stored schedule `e` changes: it must exist, be RESERVED and belong
  // to the same visitor.
  Status load_reserved(const events::ScheduleBody& e, ScheduleRec* old) {
    Status s = load(schedule_key(e.schedule_id), old);
    if (s.code() == Status::Code::kNotFound) return inconsistent("no schedule " + e.schedule_id);
    if (!s.ok()) return s;
    if (old->status != kReserved) return inconsistent("schedule " + e.schedule_id + " cancelled");
    if (old->body.visitor_id != e.visitor_id) {
      return inconsistent("visitor of schedule " + e.schedule_id + " differs");
    }
    return Status::OK();
  }

  void put_occupancy(const events::ScheduleBody& b) {
    for (size_t n = 0; n < b.resources.size(); ++n) {
      const events::OccupiedResource& r = b.resources[n];
      put(occupancy_key(r.zone_id, r.start_ms, b.schedule_id, n),
          OccupancyRec{b.visitor_id, r.end_ms, r.group_id, r.doctor});
    }
  }
  void remove_occupancy(const events::ScheduleBody& b) {
    for (size_t n = 0; n < b.resources.size(); ++n) {
      const events::OccupiedResource& r = b.resources[n];
      del(occupancy_key(r.zone_id, r.start_ms, b.schedule_id, n));
    }
  }

  // The current record at `key`: this overlay's writes first, then the
  // store. NotFound when absent.
  template <class R>
  Status load(const std::string& key, R* rec) {
    std::string_view value;
    if (auto it = pending_.find(key); it != pending_.end()) {
      if (!it->second) return Status::NotFound(key);
      value = *it->second;
    } else {
      const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &scratch_);
      if (s.IsNotFound()) return Status::NotFound(key);
      if (!s.ok()) return from_rocks(s);
      value = scratch_;
    }
    if (!codec::decode(value, *rec)) return inconsistent("malformed record " + key);
    return Status::OK();
  }

  template <class R>
  void put(std::string key, const R& rec) {
    put_raw(std::move(key), encode_rec(rec));
  }
  void put_raw(std::string key, std::string value) {
    pending_.insert_or_assign(std::move(key), std::move(value));
  }
  void del(std::string key) { pending_.insert_or_assign(std::move(key), std::nullopt); }

  Status inconsistent(const std::string& what) const {
    return Status::Corruption("clinic views: event at offset " + std::to_string(offset_) +
                              " contradicts the views: " + what);
  }

  rocksdb::DB* db_;
  Overlay& pending_;
  std::string scratch_;  // reused read buffer
  uint64_t offset_ = 0;  // of the event being applied
  int64_t time_ms_ = 0;  // its envelope's time
};

// The store's options; why each differs from the default is said in
// views.cc's store_options (the clinic's store is smaller: half the
// memtable and cache).
rocksdb::Options store_options() {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.write_buffer_size = kWriteBufferBytes;
  o.max_write_buffer_number = kWriteBuffersMax;
  o.level_compaction_dynamic_level_bytes = true;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = rocksdb::NewLRUCache(kBlockCacheBytes);
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(kBloomBitsPerKey));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  o.avoid_flush_during_shutdown = false;  // memtables are not in a WAL
  return o;
}

// The stored checkpoint; {0, kStoreFormat} for an empty store.
Result<CheckpointRec> read_checkpoint(rocksdb::DB* db, const std::string& path) {
  std::string value;
  const rocksdb::Status g = db->Get(rocksdb::ReadOptions(), kCheckpointKey, &value);
  if (g.IsNotFound()) return CheckpointRec{};
  if (!g.ok()) return from_rocks(g);
  CheckpointRec cp;
  if (!codec::decode(value, cp) || cp.next < 0) {
    return Status::Corruption("clinic views at " + path + ": malformed checkpoint");
  }
  return cp;
}

}  // namespace

namespace internal {

struct ClinicBulkLoad {
  explicit ClinicBulkLoad(uint64_t next) : next(next) {}
  uint64_t next;    // offset of the next event
  Overlay overlay;  // every record written since the last write-out
};

}  // namespace internal

ClinicViews::Decoded ClinicViews::decode(const EventEnvelope& env) {
  if (!events::ClinicCatalog::knows(env.type)) {
    // Engine events carry nothing for these views; any other type means
    // this is not a clinic log.
    if (events::EngineCatalog::knows(env.type)) return ViewEvent();
    return Status::Corruption("offset " + std::to_string(env.offset) +
                              ": not a clinic event type '" + env.type + "'");
  }
  Result<events::ClinicEvent> event = events::ClinicCatalog::decode(env);
  if (!event.ok()) {
    return Status::Corruption("offset " + std::to_string(env.offset) + ": " +
                              event.status().message());
  }
  return ViewEvent(ClinicViewEvent{std::move(*event), env.time_ms});
}

Result<std::unique_ptr<ClinicViews>> ClinicViews::open(const std::string& path) {
  Result<VersionedStore> store =
      open_versioned_store(path, "clinic views", kStoreFormat, &store_options, &read_checkpoint);
  if (!store.ok()) return store.status();
  return std::unique_ptr<ClinicViews>(new ClinicViews(std::move(store->db), store->next));
}

ClinicViews::ClinicViews(std::unique_ptr<rocksdb::DB> db, uint64_t checkpoint)
    : db_(std::move(db)), checkpoint_(checkpoint) {}

ClinicViews::~ClinicViews() = default;

uint64_t ClinicViews::checkpoint() const {
  return checkpoint_.load(std::memory_order_acquire);
}

Status ClinicViews::apply_batch(const std::vector<EventEnvelope>& batch) {
  if (batch.empty()) return Status::OK();
  const uint64_t first = checkpoint();
  if (batch.front().offset != first) {
    return Status::InvalidArgument("batch starts at offset " +
                                   std::to_string(batch.front().offset) + ", checkpoint is " +
                                   std::to_string(first));
  }
  Overlay pending;
  ClinicApplier applier(db_.get(), pending);
  for (size_t i = 0; i < batch.size(); ++i) {
    const EventEnvelope& env = batch[i];
    if (env.offset != first + i) {
      return Status::InvalidArgument("batch offsets not consecutive at " +
                                     std::to_string(env.offset));
    }
    Decoded event = decode(env);
    if (!event.ok()) return event.status();
    if (!*event) continue;
    if (Status s = applier.apply(**event, env.offset); !s.ok()) return s;
  }
  const uint64_t next = first + batch.size();
  if (Status s = applier.commit(next); !s.ok()) return s;
  checkpoint_.store(next, std::memory_order_release);
  return Status::OK();
}

Status ClinicViews::bulk_apply(uint64_t offset, const ViewEvent& event) {
  if (!bulk_) bulk_ = std::make_unique<internal::ClinicBulkLoad>(checkpoint());
  if (offset != bulk_->next) {
    return Status::InvalidArgument("bulk load expects offset " + std::to_string(bulk_->next) +
                                   ", got " + std::to_string(offset));
  }
  if (event) {
    ClinicApplier applier(db_.get(), bulk_->overlay);
    if (Status s = applier.apply(*event, offset); !s.ok()) return s;
  }
  bulk_->next = offset + 1;
  return bulk_->overlay.size() >= bulk_entries_max_ ? write_out_bulk() : Status::OK();
}

Status ClinicViews::finish_bulk() {
  if (!bulk_) return Status::OK();
  Status s = write_out_bulk();
  bulk_.reset();
  return s;
}

// One WriteBatch of the overlay and the checkpoint: the store stays a
// consistent prefix of the log.
Status ClinicViews::write_out_bulk() {
  ClinicApplier applier(db_.get(), bulk_->overlay);
  if (Status s = applier.commit(bulk_->next); !s.ok()) return s;
  checkpoint_.store(bulk_->next, std::memory_order_release);
  return Status::OK();
}

std::vector<std::pair<std::string, std::string>> ClinicViews::dump() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  return out;
}

Status ClinicViews::flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  return from_rocks(db_->Flush(fo));
}

// ---- queries ----

std::optional<ClinicScheduleView> ClinicViews::schedule(std::string_view schedule_id) const {
  const std::string key = schedule_key(schedule_id);
  ScheduleRec rec;
  if (!get_rec(db_.get(), rocksdb::ReadOptions(), key, &rec)) return std::nullopt;
  std::optional<ClinicScheduleView> v = to_view(std::move(rec));
  if (!v)
    oplog::log_event(oplog::Level::kError, "fault",
                     {{"kind", "clinic_view_read"}, {"what", "malformed_status"}, {"key", key}});
  return v;
}

bool ClinicViews::visitor_exists(std::string_view visitor_id) const {
  VisitorRec rec;
  return get_rec(db_.get(), rocksdb::ReadOptions(), visitor_key(visitor_id), &rec);
}

std::optional<ClinicZoneView> ClinicViews::zone(std::string_view zone_id) const {
  ZoneRec rec;
  if (!get_rec(db_.get(), rocksdb::ReadOptions(), zone_key(zone_id), &rec)) return std::nullopt;
  return ClinicZoneView{std::string(zone_id), std::move(rec.name), rec.capacity};
}

int64_t ClinicViews::utc_offset_min() const {
  OffsetRec rec;
  get_rec(db_.get(), rocksdb::ReadOptions(), kOffsetKey, &rec);
  return rec.utc_offset_min;
}

Result<VisitorSchedulesPage> ClinicViews::visitor_schedules(std::string_view visitor_id,
                                                            std::optional<int64_t> from_ms,
                                                            std::optional<int64_t> to_ms,
                                                            size_t limit,
                                                            std::string_view cursor) const {
  if (limit < 1 || limit > kPageItemsMax) {
    return Status::InvalidArgument("limit must be in 1.." + std::to_string(kPageItemsMax));
  }
  std::optional<std::string> resume;
  if (!cursor.empty() && !(resume = decode_cursor(cursor))) {
    return Status::InvalidArgument("malformed cursor");
  }
  rocksdb::ManagedSnapshot snap(db_.get());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.snapshot();
  VisitorRec visitor;
  if (!get_rec(db_.get(), ro, visitor_key(visitor_id), &visitor)) {
    return Status::NotFound("no visitor " + std::string(visitor_id));
  }
  const std::string prefix = visitor_schedules_prefix(visitor_id);
  std::string lower = from_ms ? prefix + ordered_hex(*from_ms) : prefix;
  if (resume) lower = std::max(lower, prefix + *resume);
  const std::string upper = to_ms ? prefix + ordered_hex(*to_ms) : prefix_end(prefix);
  // One more than the page, to know whether another follows.
  std::vector<std::string> suffixes;
  const rocksdb::Status s = scan(db_.get(), ro, lower, upper, [&](std::string_view key, auto) {
    suffixes.emplace_back(key.substr(prefix.size()));
    return suffixes.size() <= limit;
  });
  if (!s.ok()) return from_rocks(s);
  VisitorSchedulesPage page;
  if (suffixes.size() > limit) {
    page.next_cursor = encode_cursor(suffixes.back());
    suffixes.pop_back();
  }
  std::vector<std::string> keys;
  for (const auto& suffix : suffixes) keys.push_back(schedule_key(suffix.substr(kHexChars + 1)));
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet(ro, db_->DefaultColumnFamily(), keys.size(), slices.data(), values.data(),
                statuses.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    ScheduleRec rec;
    std::optional<ClinicScheduleView> v;
    if (statuses[i].ok() &&
        codec::decode(std::string_view(values[i].data(), values[i].size()), rec)) {
      v = to_view(std::move(rec));
    }
    if (!v) return Status::Corruption("clinic views: unreadable " + keys[i]);
    page.items.push_back(std::move(*v));
  }
  return page;
}

std::optional<ZoneDayView> ClinicViews::zone_day(std::string_view zone_id, int64_t day) const {
  rocksdb::ManagedSnapshot snap(db_.get());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.snapshot();
  ZoneRec zone;
  if (!get_rec(db_.get(), ro, zone_key(zone_id), &zone)) return std::nullopt;
  OffsetRec offset;
  get_rec(db_.get(), ro, kOffsetKey, &offset);  // absent: +00:00
  ZoneDayView view;
  view.zone = ClinicZoneView{std::string(zone_id), std::move(zone.name), zone.capacity};
  view.day = day;
  const int64_t start = clinic_time::day_start_ms(day, offset.utc_offset_min);
  const std::string prefix = zone_day_prefix(zone_id);
  const rocksdb::Status s = scan(
      db_.get(), ro, prefix + ordered_hex(start), prefix + ordered_hex(start + clinic_time::kDayMs),
      [&](std::string_view key, std::string_view value) {
        // <prefix><16 hex start>/<scheduleId>/<8 hex n>
        const std::string_view k = key.substr(prefix.size());
        const std::optional<int64_t> at = parse_ordered_hex(k.substr(0, kHexChars));
        const size_t id_end = k.size() - kIndexHexChars - 1;
        OccupancyRec rec;
        if (!at || k.size() <= kHexChars + kIndexHexChars + 2 || k[kHexChars] != '/' ||
            k[id_end] != '/' || !codec::decode(value, rec)) {
          oplog::log_event(
              oplog::Level::kError, "fault",
              {{"kind", "clinic_view_read"}, {"what", "malformed_entry"}, {"key", prefix}});
          return true;
        }
        view.items.push_back(OccupancyItem{
            std::string(k.substr(kHexChars + 1, id_end - kHexChars - 1)), std::move(rec.visitor_id),
            *at, rec.end_ms, std::move(rec.group_id), std::move(rec.doctor)});
        return true;
      });
  if (!s.ok())
    oplog::log_event(oplog::Level::kError, "fault",
                     {{"kind", "clinic_view_read"},
                      {"what", "list_failed"},
                      {"key", prefix},
                      {"error", s.ToString()}});
  return view;
}

}  // namespace reservoir::projections
