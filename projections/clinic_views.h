// ClinicViews: RocksDB views of the clinic domain (SPEC §6.3; design (d) of
// docs/CLINIC-DESIGN.md), built only by applying events from the clinic log
// (pure apply: no clock, no decisions) and read by the clinic queries. The
// follower-facing methods (checkpoint, apply_batch, flush) and the rebuild
// methods (Decoded, decode, bulk_apply, finish_bulk) have the names and
// meanings of Projections' (views.h), so one Follower and one rebuild drive
// either store. Each apply_batch() writes the views and the checkpoint (the
// next offset to apply) in one RocksDB WriteBatch, without a WAL (see
// views.cc: the log is the system of record), so a crash never leaves views
// and checkpoint apart.
//
// An event that contradicts the views (a schedule reserved twice, an update
// or cancel of an unknown or cancelled schedule, an update whose previous*
// differ from the stored schedule) is Corruption and stops the follower, as
// in the concert views.
//
// Thread safety: apply_batch(), bulk_apply() and finish_bulk() from one
// thread at a time (the follower, or rebuild); queries from any number of
// threads concurrently with it. A query that reads several keys reads them
// from one RocksDB snapshot, so it never sees half of a batch.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/clinic_events.h"
#include "events/envelope.h"
#include "events/status.h"
#include "projections/clinic_view_types.h"
#include "projections/view_store.h"

namespace rocksdb {
class DB;
}

namespace reservoir::projections {

namespace internal {
struct ClinicBulkLoad;  // defined in clinic_views.cc
}  // namespace internal

// A clinic event as the views need it, with its envelope's time: a
// schedule's updatedAt is the time of its last event, which the event
// itself does not carry.
struct ClinicViewEvent {
  events::ClinicEvent event;
  int64_t time_ms = 0;
};

class ClinicViews : public ViewStore {
 public:
  // nullopt for envelopes the views do not show (engine events such as
  // IdempotencyRecorded).
  using ViewEvent = std::optional<ClinicViewEvent>;  // nullopt: an engine event
  using Decoded = Result<ViewEvent>;

  // Decodes an envelope for the views; Corruption for a malformed payload
  // or a type that is neither a clinic nor an engine event (a concert log
  // opened as the clinic's fails on its first event). Pure: callers may
  // decode on another thread, ahead of applying.
  static Decoded decode(const EventEnvelope& env);

  // Opens (creating if missing) the view store in directory `path`. A store
  // of an older record layout (kStoreFormat) is dropped and opens empty at
  // checkpoint 0, so the follower re-applies the log; a newer one is
  // Corruption.
  static Result<std::unique_ptr<ClinicViews>> open(const std::string& path);
  ~ClinicViews();
  ClinicViews(const ClinicViews&) = delete;
  ClinicViews& operator=(const ClinicViews&) = delete;

  // The layout of the stored records, kept in the checkpoint record; bumped
  // whenever a record or key changes shape.
  static constexpr int64_t kStoreFormat = 1;

  // The next log offset to apply (0 for an empty store).
  uint64_t checkpoint() const override;

  // Applies a batch of consecutive events; batch.front().offset must equal
  // checkpoint() (else InvalidArgument). Engine events only advance the
  // checkpoint. Corruption on a payload that does not decode or an event
  // that contradicts the views; nothing of the batch is written then. An
  // empty batch is a no-op.
  Status apply_batch(const std::vector<EventEnvelope>& batch) override;

  // Bulk load, for rebuilding a fresh store: applies events onto an
  // in-memory overlay of the records written since the last write-out, with
  // no RocksDB write per event; when the overlay holds kBulkEntriesMax
  // records (about 64 k events), and at finish_bulk(), it is written with
  // the checkpoint as one WriteBatch. The store then answers every query as
  // apply_batch over the same events would. bulk_apply takes the event at
  // `offset` == checkpoint() (else InvalidArgument); Corruption as
  // apply_batch. A crash midway leaves a consistent prefix. Only from the
  // one applying thread; queries see the store as of the last write-out.
  static constexpr size_t kBulkEntriesMax = size_t{1} << 18;
  Status bulk_apply(uint64_t offset, const ViewEvent& event);
  Status finish_bulk();
  // Tests write out often with a small limit; > 0.
  void set_bulk_entries_max(size_t entries) { bulk_entries_max_ = entries; }

  // Every stored record (key, value) in key order: for tests that compare
  // two stores; reads the whole store into memory.
  std::vector<std::pair<std::string, std::string>> dump() const;

  // Flushes memtables so a restart needs no re-apply (clean shutdown).
  Status flush() override;

  // ---- queries ----
  //
  // The optional-returning queries treat an unreadable record (a RocksDB
  // error, a malformed value) as absent and log it to stderr: they have no
  // Status to carry it.

  // GET …/schedules/{scheduleId}; nullopt when unknown.
  std::optional<ClinicScheduleView> schedule(std::string_view schedule_id) const;
  bool visitor_exists(std::string_view visitor_id) const;
  std::optional<ClinicZoneView> zone(std::string_view zone_id) const;
  // The clinic's UTC offset last recorded (ClinicConfigured); 0 before any.
  int64_t utc_offset_min() const;

  // GET …/visitors/{visitorId}/schedules: the visitor's schedules (RESERVED
  // and CANCELLED) by first start (the least start of its resources), then
  // scheduleId; only those whose first start is in [from_ms, to_ms) (each
  // bound optional). `cursor` is "" for the first page or a next_cursor of
  // a previous page with the same visitor and bounds. InvalidArgument for a
  // limit outside 1..kPageItemsMax or a malformed cursor; NotFound for an
  // unknown visitor; Corruption for an unreadable schedule.
  static constexpr size_t kPageItemsMax = 100;
  Result<VisitorSchedulesPage> visitor_schedules(std::string_view visitor_id,
                                                 std::optional<int64_t> from_ms,
                                                 std::optional<int64_t> to_ms, size_t limit,
                                                 std::string_view cursor) const;

  // GET …/zones/{zoneId}/occupancy: the RESERVED resources of the zone that
  // start on clinic day `day` (clinic_time.h), judged with the offset last
  // recorded, ordered by start, then scheduleId, then resource index;
  // nullopt for an unknown zone.
  std::optional<ZoneDayView> zone_day(std::string_view zone_id, int64_t day) const;

 private:
  ClinicViews(std::unique_ptr<rocksdb::DB> db, uint64_t checkpoint);
  Status write_out_bulk();

  std::unique_ptr<rocksdb::DB> db_;
  // Mirror of the stored checkpoint, published after each successful write.
  std::atomic<uint64_t> checkpoint_;
  std::unique_ptr<internal::ClinicBulkLoad> bulk_;  // while bulk loading
  size_t bulk_entries_max_ = kBulkEntriesMax;
};

static_assert(BulkViews<ClinicViews>);

}  // namespace reservoir::projections
