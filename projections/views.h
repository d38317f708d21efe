// Projections: RocksDB views of the concert domain, built only by applying
// events from the log (pure apply: no clock, no decisions), and read by
// queries. Each apply_batch() writes the views and the checkpoint (the next
// offset to apply) in one RocksDB WriteBatch, so a crash never leaves views
// and checkpoint apart.
//
// Thread safety: apply_batch() from one thread at a time (the follower);
// queries from any number of threads concurrently with it. A query that
// reads several keys reads them from one RocksDB snapshot, so it never sees
// half of a batch.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "events/concert_events.h"
#include "events/envelope.h"
#include "events/status.h"
#include "projections/view_store.h"
#include "projections/view_versions.h"

namespace rocksdb {
class DB;
}

namespace reservoir::projections {

namespace internal {
struct RecentWrites;  // defined in views.cc
struct BulkLoad;      // defined in views.cc
}  // namespace internal

// An event as the views need it: nullopt for envelopes of types they do not
// show (engine events such as IdempotencyRecorded).
using ViewEvent = std::optional<events::ConcertEvent>;

// Decodes an envelope for the views; Corruption when it does not decode.
// Pure: callers may decode on another thread, ahead of applying.
Result<ViewEvent> decode_for_views(const EventEnvelope& env);

struct UserView {
  std::string user_id;
  std::string name;
  int64_t balance = 0;
};

enum class TokenStatus { kWaiting, kActive, kExpired };

struct TokenView {
  std::string token;       // in clear only when the caller presented it (token()), else ""
  std::string token_hash;  // its hex SHA-256, the name the store knows it by
  std::string user_id;
  TokenStatus status = TokenStatus::kWaiting;
  int64_t seq = 0;
  int64_t issued_at = 0;
  int64_t activated_at = 0;  // 0 until ACTIVE
  int64_t expires_at =
      0;  // 0 while WAITING; activation + TTL once ACTIVE; when it expired once EXPIRED
  int64_t token_id = 0;  // the numeric name of SPEC §5.1 (queue-tokens' TOKEN-ID)
};

struct ConcertSummary {
  std::string concert_id;
  std::string title;
  int64_t schedule_count = 0;
};

struct ScheduleView {
  std::string schedule_id;
  std::string concert_id;
  int64_t starts_at = 0;
  int64_t available_seats = 0;
  int64_t total_seats = 0;
  int64_t opens_at = 0;  // reservationOpensAt (never 0 once applied)
};

enum class SeatStatus { kAvailable, kHeld, kSold };

struct SeatView {
  std::string seat_id;
  int64_t number = 0;
  int64_t price = 0;
  SeatStatus status = SeatStatus::kAvailable;
};

enum class ReservationStatus { kPendingPayment, kConfirmed, kExpired, kCancelled, kRefunded };

struct ReservationView {
  std::string reservation_id;
  std::string user_id;
  std::string schedule_id;
  std::vector<events::SeatRef> seats;
  int64_t total_price = 0;
  ReservationStatus status = ReservationStatus::kPendingPayment;
  int64_t created_at = 0;
  int64_t expires_at = 0;
  int64_t paid_at = 0;  // 0 until paid
  int64_t seq = 0;      // sequence number (SPEC §5.1)
  std::string concert_id;
};

enum class PaymentStatus { kCompleted, kRefunded };

struct PaymentView {
  std::string payment_id;
  std::string reservation_id;
  int64_t amount = 0;
  PaymentStatus status = PaymentStatus::kCompleted;
  int64_t paid_at = 0;
  int64_t seq = 0;              // the payment's sequence number
  int64_t reservation_seq = 0;  // its reservation's
};

template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;  // opaque; nullopt when nothing follows
};

// The concert domain's ViewStore.
class Projections : public ViewStore {
 public:
  // Opens (creating if missing) the view store in directory `path`. A store
  // in an older record layout (written before SPEC §5.1's fields) is dropped
  // and opens empty at checkpoint 0, so the follower re-applies the log; a
  // newer layout is Corruption.
  static Result<std::unique_ptr<Projections>> open(const std::string& path);
  ~Projections() override;
  Projections(const Projections&) = delete;
  Projections& operator=(const Projections&) = delete;

  // The next log offset to apply (0 for an empty store).
  uint64_t checkpoint() const override;

  // Applies a batch of consecutive events; batch.front().offset must equal
  // checkpoint() (else InvalidArgument). Envelopes of types this view does
  // not know (engine events such as IdempotencyRecorded) only advance the
  // checkpoint. Corruption on a payload that does not decode, or on an event
  // that contradicts the views (e.g. a seat that does not exist); nothing of
  // the batch is written then. An empty batch is a no-op.
  Status apply_batch(const std::vector<EventEnvelope>& batch) override;

  // Bulk load, for rebuilding a fresh store (much faster than apply_batch):
  // applies events onto an in-memory overlay of every record written so far,
  // with no RocksDB write per batch; when the overlay holds
  // kBulkEntriesMax records, and at finish_bulk(), it is written out with
  // the checkpoint as one sorted SST file and ingested. The store then
  // answers every query as apply_batch over the same events would.
  // bulk_apply takes the event at `offset` == checkpoint() (else
  // InvalidArgument); Corruption as apply_batch. A crash midway leaves a
  // consistent prefix. Only from the one applying thread; queries see the
  // store as of the last ingest.
  static constexpr size_t kBulkEntriesMax = size_t{4} << 20;
  // BulkViews (view_store.h): an envelope decoded for bulk_apply, by
  // decode_for_views.
  using Decoded = Result<ViewEvent>;
  static Decoded decode(const EventEnvelope& env) { return decode_for_views(env); }
  Status bulk_apply(uint64_t offset, const ViewEvent& event);
  Status finish_bulk();
  // Tests spill often with a small limit; > 0.
  void set_bulk_entries_max(size_t entries) { bulk_entries_max_ = entries; }

  // Every stored record (key, value) in key order: for tests that compare
  // two stores; reads the whole store into memory.
  std::vector<std::pair<std::string, std::string>> dump() const;

  // Flushes memtables so a restart needs no re-apply (clean shutdown). Views
  // are written without a RocksDB WAL: after a crash the store holds a prefix
  // of the applied batches with its matching checkpoint, and the follower
  // re-applies the rest from the log.
  Status flush() override;

  // Change counters of the views (view_versions.h): apply_batch bumps the
  // parts each batch changes before and after writing it, and before
  // checkpoint() moves; a bulk ingest bumps them all.
  const ViewVersions& versions() const { return versions_; }

  std::optional<UserView> user(const std::string& user_id) const;
  std::optional<TokenView> token(const std::string& token) const;
  // The token with this tokenHash (events/secrets.h); its `token` is "".
  std::optional<TokenView> token_by_hash(const std::string& hash) const;
  // The token with this tokenId (SPEC §5.1), if any.
  std::optional<TokenView> token_by_id(int64_t token_id) const;
  // The user's live (WAITING or ACTIVE) token, else its newest; nullopt when
  // the user never had one (queue-tokens' GET /v1/queue-tokens/users/{id}).
  std::optional<TokenView> user_token(const std::string& user_id) const;
  // The highest seq admitted (ACTIVE) so far: a WAITING token's 1-based
  // position is its seq minus this.
  int64_t admitted_seq() const;

  // Every concert, ordered by concert id.
  std::vector<ConcertSummary> concerts() const;
  // One concert (its title, for the dialects); nullopt when it does not exist.
  std::optional<ConcertSummary> concert(const std::string& concert_id) const;
  // nullopt when the concert does not exist; schedules ordered by startsAt, then id.
  std::optional<std::vector<ScheduleView>> schedules(const std::string& concert_id) const;
  std::optional<ScheduleView> schedule(const std::string& schedule_id) const;
  // Seats of a schedule ordered by number (then seat id); nullopt when the
  // schedule does not exist.
  //
  // The optional-returning queries treat an unreadable record (a RocksDB
  // error) as absent and log it to stderr: they have no Status to carry it.
  std::optional<std::vector<SeatView>> seats(const std::string& schedule_id) const;

  std::optional<ReservationView> reservation(const std::string& reservation_id) const;
  // By sequence number (SPEC §5.1); nullopt when no reservation has it.
  std::optional<ReservationView> reservation_by_seq(int64_t seq) const;
  // Newest first. `cursor` is empty for the first page or a next_cursor from
  // a previous page; a cursor that is not one gives InvalidArgument, and so
  // does a limit outside 1..1000. NotFound when the user does not exist.
  Result<Page<ReservationView>> user_reservations(const std::string& user_id, size_t limit,
                                                  const std::string& cursor) const;
  Result<Page<PaymentView>> user_payments(const std::string& user_id, size_t limit,
                                          const std::string& cursor) const;

 private:
  Projections(std::unique_ptr<rocksdb::DB> db, uint64_t checkpoint);
  std::unique_ptr<rocksdb::DB> db_;
  // Mirror of the stored checkpoint, published after each successful write.
  std::atomic<uint64_t> checkpoint_;
  Status spill_bulk();

  // Records apply_batch wrote lately, and the buffer its batch's arena
  // starts in; only apply_batch uses them.
  std::unique_ptr<internal::RecentWrites> recent_;
  std::unique_ptr<std::byte[]> batch_arena_;
  std::unique_ptr<internal::BulkLoad> bulk_;  // while bulk loading
  ViewVersions versions_;
  size_t bulk_entries_max_ = kBulkEntriesMax;
};

static_assert(BulkViews<Projections>);

}  // namespace reservoir::projections
