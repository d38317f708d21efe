#include "projections/views.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>
#include <cstring>
#include <initializer_list>
#include <memory_resource>
#include <new>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "events/codec.h"
#include "events/oplog.h"
#include "events/secrets.h"
#include "projections/keys.h"
#include "projections/versioned_store.h"

// Key layout ('/' separates parts: ids are [A-Za-z0-9._:-], never '/'):
//   m/checkpoint                     -> CheckpointRec: next offset to apply, store format
//   u/<userId>                       -> UserRec
//   t/<tokenHash>                    -> TokenRec (the token's hex SHA-256: no token in clear)
//   ti/<tokenId>                     -> tokenHash (index by the numeric tokenId)
//   ut/<userId>                      -> tokenHash: the user's newest
//   q/admitted                       -> CounterRec: highest seq admitted
//   n/reservation, n/payment         -> CounterRec: the last sequence number given
//   c/<concertId>                    -> ConcertRec
//   cs/<concertId>/<startsAt>/<schedId> -> "" (index, startsAt order)
//   s/<scheduleId>                   -> ScheduleRec
//   st/<scheduleId>/<number>/<seatId> -> SeatRec (a prefix scan is number order)
//   r/<reservationId>                -> ReservationRec
//   rs/<seq>                         -> reservation id (index by sequence number)
//   ur/<userId>/<~offset>            -> reservation id (newest first)
//   up/<userId>/<~offset>            -> PaymentRec (newest first)
// A paid reservation keeps its payment's offset, which names the payment's
// up/ key, so a refund finds the payment without an index of its own.
// <startsAt> and <number> are 16 hex digits of the value with its sign bit
// flipped, so byte order is numeric order; <~offset> is 16 hex digits of the
// offset's complement, so byte order is newest first. The hex of ~offset is
// also the page cursor. <tokenId> and <seq> are 16 hex digits (both are
// positive).
//
// Sequence numbers (SPEC §5.1) are counted here as the engine counts them:
// an event's own seq when it carries one (schema version 2), else the last
// one given plus one (a version-1 event), so every store of one log agrees
// with the engine and with each other.

namespace reservoir::projections {
namespace {

using keys::append_hex64;
using keys::cat;
using keys::from_rocks;
using keys::hex64;
using keys::kHexChars;
using keys::ordered_hex;
using keys::parse_hex64;
using keys::prefix_end;
using keys::scan;

constexpr size_t kBlockCacheBytes = size_t{64} << 20;
constexpr size_t kWriteBufferBytes = size_t{64} << 20;  // bounds re-apply after a crash
constexpr int kWriteBuffersMax = 4;                     // memtables before writes stall
constexpr double kBloomBitsPerKey = 10;
constexpr size_t kPageItemsMax = 1000;
constexpr size_t kPendingPerEvent = 4;  // overlay entries reserved per event
// Recently written records kept in memory for apply, per generation (two
// generations: at most twice this many writes, some tens of MiB).
constexpr size_t kRecentWritesPerGeneration = size_t{1} << 15;
// First block of an arena that grows (a generation of recent writes, a bulk
// load's overlay).
constexpr size_t kArenaFirstBlockBytes = size_t{1} << 20;
// A batch's writes live in an arena that starts in a buffer of this size,
// reused by every batch: only larger batches touch malloc.
constexpr size_t kBatchArenaBytes = size_t{256} << 10;
// The layout of the stored records (kept in the checkpoint record). A store
// of an older layout cannot be read by this code: open() drops it, and the
// follower rebuilds it from the log (the log is the only truth). 1: before
// SPEC §5.1's fields; 2: tokenIds, opening times, sequence numbers; 3:
// tokens named by their hash (issue 16), never in clear.
constexpr int64_t kStoreFormat = 3;

// Stored records: codec field lists give their binary form. Enums are stored
// as their int64 value and range-checked when read.
struct CheckpointRec {
  int64_t next = 0;
  int64_t format = kStoreFormat;  // absent (read as 0) in a format-1 store
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("next", s.next);
    f("format", s.format, 2);
  }
};
struct CounterRec {
  int64_t value = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("value", s.value);
  }
};
struct UserRec {
  std::string name;
  int64_t balance = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("name", s.name);
    f("balance", s.balance);
  }
};
struct TokenRec {
  std::string user_id;
  int64_t status = 0;
  int64_t seq = 0;
  int64_t issued_at = 0;
  int64_t activated_at = 0;
  int64_t expires_at = 0;
  int64_t token_id = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("userId", s.user_id);
    f("status", s.status);
    f("seq", s.seq);
    f("issuedAt", s.issued_at);
    f("activatedAt", s.activated_at);
    f("expiresAt", s.expires_at);
    f("tokenId", s.token_id);
  }
};
struct ConcertRec {
  std::string title;
  int64_t schedule_count = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("title", s.title);
    f("scheduleCount", s.schedule_count);
  }
};
struct ScheduleRec {
  std::string concert_id;
  int64_t starts_at = 0;
  int64_t available = 0;
  int64_t total = 0;
  int64_t opens_at = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("concertId", s.concert_id);
    f("startsAt", s.starts_at);
    f("available", s.available);
    f("total", s.total);
    f("opensAt", s.opens_at);
  }
};
struct SeatRec {
  int64_t price = 0;
  int64_t status = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("price", s.price);
    f("status", s.status);
  }
};
struct ReservationRec {
  std::string user_id;
  std::string schedule_id;
  std::vector<events::SeatRef> seats;
  int64_t total_price = 0;
  int64_t status = 0;
  int64_t created_at = 0;
  int64_t expires_at = 0;
  int64_t paid_at = 0;
  int64_t paid_offset = -1;  // of its PaymentCompleted, naming the payment's up/ key
  int64_t seq = 0;
  std::string concert_id;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("userId", s.user_id);
    f("scheduleId", s.schedule_id);
    f("seats", s.seats);
    f("totalPrice", s.total_price);
    f("status", s.status);
    f("createdAt", s.created_at);
    f("expiresAt", s.expires_at);
    f("paidAt", s.paid_at);
    f("paidOffset", s.paid_offset);
    f("seq", s.seq);
    f("concertId", s.concert_id);
  }
};
struct PaymentRec {
  std::string payment_id;
  std::string reservation_id;
  int64_t amount = 0;
  int64_t status = 0;
  int64_t paid_at = 0;
  int64_t seq = 0;
  int64_t reservation_seq = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("paymentId", s.payment_id);
    f("reservationId", s.reservation_id);
    f("amount", s.amount);
    f("status", s.status);
    f("paidAt", s.paid_at);
    f("seq", s.seq);
    f("reservationSeq", s.reservation_seq);
  }
};

template <class E>
int64_t to_int(E e) {
  return static_cast<int64_t>(e);
}
// False when `v` is not a value of E (whose last enumerator is `last`).
template <class E>
bool to_enum(int64_t v, E last, E* out) {
  if (v < 0 || v > static_cast<int64_t>(last)) return false;
  *out = static_cast<E>(v);
  return true;
}

// ---- keys ----

const std::string kCheckpointKey = "m/checkpoint";
const std::string kAdmittedKey = "q/admitted";
const std::string kReservationSeqKey = "n/reservation";
const std::string kPaymentSeqKey = "n/payment";
const std::string kConcertPrefix = "c/";

std::string user_key(std::string_view id) {
  return cat({"u/", id});
}
std::string token_key(std::string_view t) {
  return cat({"t/", t});
}
std::string token_id_key(int64_t token_id) {
  return cat({"ti/", hex64(static_cast<uint64_t>(token_id))});
}
std::string user_token_key(std::string_view user_id) {
  return cat({"ut/", user_id});
}
std::string concert_key(std::string_view id) {
  return cat({"c/", id});
}
std::string schedule_key(std::string_view id) {
  return cat({"s/", id});
}
std::string concert_schedules_prefix(std::string_view concert_id) {
  return cat({"cs/", concert_id, "/"});
}
std::string seats_prefix(std::string_view schedule_id) {
  return cat({"st/", schedule_id, "/"});
}
std::string seat_key(std::string_view schedule_id, int64_t number, std::string_view seat_id) {
  return cat({"st/", schedule_id, "/", ordered_hex(number), "/", seat_id});
}
std::string reservation_key(std::string_view id) {
  return cat({"r/", id});
}
std::string reservation_seq_key(int64_t seq) {
  return cat({"rs/", hex64(static_cast<uint64_t>(seq))});
}
std::string user_reservations_prefix(std::string_view user_id) {
  return cat({"ur/", user_id, "/"});
}
std::string user_payments_prefix(std::string_view user_id) {
  return cat({"up/", user_id, "/"});
}
std::string user_payment_key(std::string_view user_id, uint64_t offset) {
  std::string key = user_payments_prefix(user_id);
  append_hex64(key, ~offset);
  return key;
}

template <class R>
std::string encode_rec(const R& rec) {
  std::string out;
  codec::encode(rec, out);
  return out;
}

// Reads one record for a query: false when absent; an unreadable record is
// logged and reported absent (queries have no Status to carry it).
template <class R>
bool get_rec(rocksdb::DB* db, const rocksdb::ReadOptions& ro, const std::string& key, R* rec) {
  rocksdb::PinnableSlice value;
  const rocksdb::Status s = db->Get(ro, db->DefaultColumnFamily(), key, &value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) {
    oplog::log_event(oplog::Level::kError, "fault",
                     {{"kind", "projection_read"},
                      {"what", "read_failed"},
                      {"key", key},
                      {"error", s.ToString()}});
    return false;
  }
  if (!codec::decode(std::string_view(value.data(), value.size()), *rec)) {
    oplog::log_event(oplog::Level::kError, "fault",
                     {{"kind", "projection_read"}, {"what", "malformed_record"}, {"key", key}});
    return false;
  }
  return true;
}

// Reads an index entry (a string) for a query, as get_rec reads a record.
bool get_index(rocksdb::DB* db, const std::string& key, std::string* value) {
  const rocksdb::Status s = db->Get(rocksdb::ReadOptions(), key, value);
  if (!s.ok() && !s.IsNotFound()) {
    oplog::log_event(oplog::Level::kError, "fault",
                     {{"kind", "projection_read"},
                      {"what", "read_failed"},
                      {"key", key},
                      {"error", s.ToString()}});
  }
  return s.ok();
}

bool key_exists(rocksdb::DB* db, const rocksdb::ReadOptions& ro, const std::string& key) {
  rocksdb::PinnableSlice value;
  const rocksdb::Status s = db->Get(ro, db->DefaultColumnFamily(), key, &value);
  if (!s.ok() && !s.IsNotFound()) {
    oplog::log_event(oplog::Level::kError, "fault",
                     {{"kind", "projection_read"},
                      {"what", "read_failed"},
                      {"key", key},
                      {"error", s.ToString()}});
  }
  return s.ok();
}

// Reads `keys` in one MultiGet from the same snapshot as the caller.
std::vector<rocksdb::PinnableSlice> multi_get(rocksdb::DB* db, const rocksdb::ReadOptions& ro,
                                              const std::vector<std::string>& keys,
                                              std::vector<rocksdb::Status>* statuses) {
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  statuses->assign(keys.size(), rocksdb::Status());
  db->MultiGet(ro, db->DefaultColumnFamily(), keys.size(), slices.data(), values.data(),
               statuses->data());
  return values;
}

ReservationView to_view(std::string id, ReservationRec&& rec, bool* ok) {
  ReservationView v;
  v.reservation_id = std::move(id);
  v.user_id = std::move(rec.user_id);
  v.schedule_id = std::move(rec.schedule_id);
  v.seats = std::move(rec.seats);
  v.total_price = rec.total_price;
  *ok = to_enum(rec.status, ReservationStatus::kRefunded, &v.status);
  v.created_at = rec.created_at;
  v.expires_at = rec.expires_at;
  v.paid_at = rec.paid_at;
  v.seq = rec.seq;
  v.concert_id = std::move(rec.concert_id);
  return v;
}

TokenView to_view(std::string hash, TokenRec&& rec, bool* ok) {
  TokenView v;
  *ok = to_enum(rec.status, TokenStatus::kExpired, &v.status);
  v.token_hash = std::move(hash);
  v.user_id = std::move(rec.user_id);
  v.seq = rec.seq;
  v.issued_at = rec.issued_at;
  v.activated_at = rec.activated_at;
  v.expires_at = rec.expires_at;
  v.token_id = rec.token_id;
  return v;
}

ScheduleView to_view(std::string id, ScheduleRec&& rec) {
  return ScheduleView{std::move(id), std::move(rec.concert_id),
                      rec.starts_at, rec.available,
                      rec.total,     rec.opens_at};
}

// ---- apply ----

// Hashes any string type by its bytes, for lookups by std::string in a map
// keyed by arena strings (heterogeneous lookup).
// Not noexcept on purpose: libstdc++ then stores each node's hash, so a
// rehash or a bucket walk never re-hashes or compares keys in vain.
struct BytesHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
struct BytesEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

// Records keyed by view key, whose keys, values and nodes live in an arena
// that is released whole: building one costs no malloc per record and
// dropping one no free per record. A batch's writes, a bulk load's overlay
// and a generation of recent writes are all this.
using ArenaWrites =
    std::pmr::unordered_map<std::pmr::string, std::pmr::string, BytesHash, BytesEqual>;

// Writes `value` at `key`: over the old value in place (the arena keeps the
// old bytes until it is released), or as a new entry.
void put_arena(ArenaWrites& writes, std::string_view key, std::string_view value) {
  if (auto it = writes.find(key); it != writes.end()) {
    it->second.assign(value);
  } else {
    writes.emplace(std::piecewise_construct, std::forward_as_tuple(key),
                   std::forward_as_tuple(value));
  }
}

// An ArenaWrites that lives in `arena` and is never destroyed: releasing the
// arena frees it whole. Destroying the map would visit every node (a cache
// miss each) to free what the arena frees anyway: skipping it took a
// 1M-event catch-up from 17.1-18.3 s to 16.3-18.2 s (docs/BENCHMARKS.md).
ArenaWrites& make_arena_writes(std::pmr::memory_resource* arena) {
  void* at = arena->allocate(sizeof(ArenaWrites), alignof(ArenaWrites));
  return *::new (at) ArenaWrites(arena);
}

}  // namespace

namespace internal {

// One generation of recent writes, in an arena of its own.
struct RecentGeneration {
  std::pmr::monotonic_buffer_resource arena{kArenaFirstBlockBytes};
  ArenaWrites& writes = make_arena_writes(&arena);
  size_t absorbed = 0;  // writes taken in, overwrites included: bounds the arena
};

// Records the follower wrote lately, so the read-modify-writes of apply
// (a hold, then its payment; a schedule's count) rarely read RocksDB. Only
// the follower writes the store, so an entry always equals the stored value.
// Two generations bound the memory: once the young one has taken in
// kRecentWritesPerGeneration writes, it replaces the old one. Dropping a
// generation releases its arena whole: freeing its records one by one took
// the follower 15-130 ms at a time on the benchmark machine (malloc's locks
// are shared with hundreds of HTTP threads), which showed as projection lag.
struct RecentWrites {
  std::unique_ptr<RecentGeneration> young = std::make_unique<RecentGeneration>();
  std::unique_ptr<RecentGeneration> old = std::make_unique<RecentGeneration>();

  const std::pmr::string* find(std::string_view key) const {
    if (auto it = young->writes.find(key); it != young->writes.end()) return &it->second;
    if (auto it = old->writes.find(key); it != old->writes.end()) return &it->second;
    return nullptr;
  }

  // Copies a committed batch's writes in.
  void absorb(const ArenaWrites& committed) {
    for (const auto& [key, value] : committed) {
      put_arena(young->writes, key, value);
      if (++young->absorbed >= kRecentWritesPerGeneration) {
        old = std::exchange(young, std::make_unique<RecentGeneration>());
      }
    }
  }
};

}  // namespace internal

namespace {

using internal::RecentWrites;

// Applies the events of one batch onto an overlay of pending writes that
// reads see before the store (events of one batch may touch one key twice),
// then commits the overlay and the checkpoint as one WriteBatch. The
// overlay is a batch's (apply_batch) or a bulk load's.
class BatchApplier {
 public:
  // Writes go to `pending`, which reads see first.
  BatchApplier(rocksdb::DB* db, const RecentWrites& recent, ArenaWrites& pending)
      : db_(db), recent_(recent), pending_(pending) {}

  Status apply(const events::ConcertEvent& event, uint64_t offset) {
    offset_ = offset;
    return std::visit([this](const auto& e) { return on(e); }, event);
  }

  // From now on, records the version stripe of every view part an event
  // changes into `touched` (duplicates included); nullptr stops it.
  void track(std::vector<size_t>* touched) { touched_ = touched; }

  Status commit(uint64_t next_checkpoint) {
    // In key order: the memtable's skip list then reuses each insert's
    // search path for the next (random order costs a search from the top).
    std::vector<const ArenaWrites::value_type*> sorted;
    sorted.reserve(pending_.size());
    for (const auto& kv : pending_) sorted.push_back(&kv);
    std::sort(sorted.begin(), sorted.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    rocksdb::WriteBatch wb;
    for (const auto* kv : sorted) wb.Put(std::string_view(kv->first), std::string_view(kv->second));
    wb.Put(kCheckpointKey, encode_rec(CheckpointRec{static_cast<int64_t>(next_checkpoint)}));
    // No WAL: see Projections::open.
    rocksdb::WriteOptions wo;
    wo.disableWAL = true;
    return from_rocks(db_->Write(wo, &wb));
  }

  // Writes one record (a view's or the checkpoint).
  void put_raw(std::string_view key, std::string_view value) { put_arena(pending_, key, value); }

 private:
  Status on(const events::UserRegistered& e) {
    touch(ViewScope::kUser, e.user_id);
    put(user_key(e.user_id), UserRec{e.name, 0});
    return Status::OK();
  }

  Status on(const events::ConcertCreated& e) {
    put(concert_key(e.concert_id), ConcertRec{e.title, static_cast<int64_t>(e.schedules.size())});
    touch(ViewScope::kCatalog, {});
    touch(ViewScope::kConcert, e.concert_id);
    for (const auto& sc : e.schedules) {
      touch(ViewScope::kSchedule, sc.schedule_id);
      const auto n = static_cast<int64_t>(sc.seats.size());
      put(schedule_key(sc.schedule_id), ScheduleRec{e.concert_id, sc.starts_at, n, n, sc.opens_at});
      put_raw(cat({concert_schedules_prefix(e.concert_id), ordered_hex(sc.starts_at), "/",
                   sc.schedule_id}),
              std::string());
      for (const auto& seat : sc.seats) {
        put(seat_key(sc.schedule_id, seat.number, seat.seat_id),
            SeatRec{seat.price, to_int(SeatStatus::kAvailable)});
      }
    }
    return Status::OK();
  }

  Status on(const events::TokenIssued& e) {
    TokenRec t;
    t.user_id = e.user_id;
    t.status = to_int(TokenStatus::kWaiting);
    t.seq = e.seq;
    t.issued_at = e.issued_at;
    t.token_id = e.token_id;
    put(token_key(e.token_hash), t);
    put_raw(token_id_key(e.token_id), e.token_hash);
    // The engine issues a user a new token only when it has no live one
    // (SPEC §1, invariant 4), so the newest is the live one if any.
    put_raw(user_token_key(e.user_id), e.token_hash);
    return Status::OK();
  }

  Status on(const events::TokenActivated& e) {
    const std::string key = token_key(e.token_hash);
    TokenRec t;
    if (Status s = load(key, &t); !s.ok()) return s;
    t.status = to_int(TokenStatus::kActive);
    t.activated_at = e.activated_at;
    t.expires_at = e.expires_at;
    put(key, t);
    CounterRec admitted;
    if (Status s = load_or_default(kAdmittedKey, &admitted); !s.ok()) return s;
    if (e.seq > admitted.value) {
      admitted.value = e.seq;
      put(kAdmittedKey, admitted);
    }
    return Status::OK();
  }

  Status on(const events::TokenExpired& e) {
    const std::string key = token_key(e.token_hash);
    TokenRec t;
    if (Status s = load(key, &t); !s.ok()) return s;
    t.status = to_int(TokenStatus::kExpired);
    t.expires_at = e.expired_at;
    put(key, t);
    return Status::OK();
  }

  Status on(const events::SeatsHeld& e) {
    if (Status s = set_seats(e.schedule_id, e.seats, SeatStatus::kHeld); !s.ok()) return s;
    const auto n = static_cast<int64_t>(e.seats.size());
    if (Status s = add_available(e.schedule_id, -n); !s.ok()) return s;
    ReservationRec r;
    if (Status s = next_seq(kReservationSeqKey, e.seq, &r.seq); !s.ok()) return s;
    r.user_id = e.user_id;
    r.schedule_id = e.schedule_id;
    r.seats = e.seats;
    r.total_price = e.total_price;
    r.status = to_int(ReservationStatus::kPendingPayment);
    r.created_at = e.created_at;
    r.expires_at = e.expires_at;
    r.concert_id = e.concert_id;
    put(reservation_key(e.reservation_id), r);
    put_raw(reservation_seq_key(r.seq), e.reservation_id);
    std::string index = user_reservations_prefix(e.user_id);
    append_hex64(index, ~offset_);
    put_raw(index, e.reservation_id);
    return Status::OK();
  }

  Status on(const events::HoldExpired& e) { return release(e, ReservationStatus::kExpired); }
  Status on(const events::ReservationCancelled& e) {
    return release(e, ReservationStatus::kCancelled);
  }

  Status on(const events::PaymentCompleted& e) {
    if (Status s = set_seats(e.schedule_id, e.seats, SeatStatus::kSold); !s.ok()) return s;
    // A version-1 event names its reservation by id only: its number is the
    // reservation's.
    int64_t reservation_seq = e.reservation_seq;
    Status s = update_reservation(e.reservation_id, e.schedule_id, [&](ReservationRec& r) {
      r.status = to_int(ReservationStatus::kConfirmed);
      r.paid_at = e.paid_at;
      r.paid_offset = static_cast<int64_t>(offset_);
      if (reservation_seq == 0) reservation_seq = r.seq;
    });
    if (!s.ok()) return s;
    if (s = set_balance(e.user_id, e.balance_after); !s.ok()) return s;
    int64_t seq = 0;
    if (s = next_seq(kPaymentSeqKey, e.seq, &seq); !s.ok()) return s;
    put(user_payment_key(e.user_id, offset_),
        PaymentRec{e.payment_id, e.reservation_id, e.amount, to_int(PaymentStatus::kCompleted),
                   e.paid_at, seq, reservation_seq});
    return Status::OK();
  }

  Status on(const events::ReservationRefunded& e) {
    if (Status s = set_seats(e.schedule_id, e.seats, SeatStatus::kAvailable); !s.ok()) return s;
    const auto n = static_cast<int64_t>(e.seats.size());
    if (Status s = add_available(e.schedule_id, n); !s.ok()) return s;
    int64_t paid_offset = -1;
    Status s = update_reservation(e.reservation_id, e.schedule_id, [&](ReservationRec& r) {
      r.status = to_int(ReservationStatus::kRefunded);
      paid_offset = r.paid_offset;
    });
    if (!s.ok()) return s;
    if (s = set_balance(e.user_id, e.balance_after); !s.ok()) return s;
    if (paid_offset < 0) return inconsistent("refund of unpaid " + e.reservation_id);
    const std::string key = user_payment_key(e.user_id, static_cast<uint64_t>(paid_offset));
    PaymentRec p;
    if (s = load(key, &p); !s.ok()) return s;
    if (p.payment_id != e.payment_id) return inconsistent("payment of " + e.reservation_id);
    p.status = to_int(PaymentStatus::kRefunded);
    put(key, p);
    return Status::OK();
  }

  Status on(const events::BalanceCharged& e) { return set_balance(e.user_id, e.balance_after); }
  // Limits are for the engine and auditors; no view shows them.
  Status on(const events::LimitsConfigured&) { return Status::OK(); }

  Status release(const events::HoldReleased& e, ReservationStatus to) {
    if (Status s = set_seats(e.schedule_id, e.seats, SeatStatus::kAvailable); !s.ok()) return s;
    const auto n = static_cast<int64_t>(e.seats.size());
    if (Status s = add_available(e.schedule_id, n); !s.ok()) return s;
    return update_reservation(e.reservation_id, e.schedule_id,
                              [&](ReservationRec& r) { r.status = to_int(to); });
  }

  Status set_seats(const std::string& schedule_id, const std::vector<events::SeatRef>& seats,
                   SeatStatus to) {
    touch(ViewScope::kSchedule, schedule_id);
    for (const auto& seat : seats) {
      std::string key = seat_key(schedule_id, seat.number, seat.seat_id);
      SeatRec rec;
      if (Status s = load(key, &rec); !s.ok()) return s;
      rec.status = to_int(to);
      put(std::move(key), rec);
    }
    return Status::OK();
  }

  Status add_available(const std::string& schedule_id, int64_t delta) {
    const std::string key = schedule_key(schedule_id);
    ScheduleRec rec;
    if (Status s = load(key, &rec); !s.ok()) return s;
    rec.available += delta;
    if (rec.available < 0 || rec.available > rec.total) {
      return inconsistent("available seats of " + schedule_id + " out of range");
    }
    touch(ViewScope::kConcert, rec.concert_id);  // its schedules list shows availableSeats
    put(key, rec);
    return Status::OK();
  }

  template <class Change>
  Status update_reservation(const std::string& id, const std::string& schedule_id,
                            Change&& change) {
    const std::string key = reservation_key(id);
    ReservationRec rec;
    if (Status s = load(key, &rec); !s.ok()) return s;
    if (rec.schedule_id != schedule_id) return inconsistent("schedule of reservation " + id);
    change(rec);
    put(key, rec);
    return Status::OK();
  }

  // The sequence number of the next event counted under `counter_key`:
  // `given` (the event's own, schema version 2) when non-zero, else the
  // last one given plus one (version 1). Records it as the last one given.
  Status next_seq(const std::string& counter_key, int64_t given, int64_t* seq) {
    CounterRec last;
    if (Status s = load_or_default(counter_key, &last); !s.ok()) return s;
    *seq = given != 0 ? given : last.value + 1;
    if (*seq <= last.value) return inconsistent(counter_key + " out of order");
    last.value = *seq;
    put(counter_key, last);
    return Status::OK();
  }

  Status set_balance(const std::string& user_id, int64_t balance) {
    const std::string key = user_key(user_id);
    UserRec rec;
    if (Status s = load(key, &rec); !s.ok()) return s;
    rec.balance = balance;
    touch(ViewScope::kUser, user_id);
    put(key, rec);
    return Status::OK();
  }

  // The current value of `key`: this batch's writes first, then recent
  // batches' writes, then the store. NotFound when absent. The view is valid
  // until the next put.
  Status read(const std::string& key, std::string_view* value, bool must_exist = true) {
    if (auto it = pending_.find(key); it != pending_.end()) {
      *value = it->second;
      return Status::OK();
    }
    if (const std::pmr::string* recent = recent_.find(key)) {
      *value = *recent;
      return Status::OK();
    }
    const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &scratch_);
    if (s.IsNotFound()) {
      return must_exist ? inconsistent("missing " + key) : Status::NotFound(key);
    }
    *value = scratch_;
    return from_rocks(s);
  }

  template <class R>
  Status load(const std::string& key, R* rec) {
    std::string_view value;
    if (Status s = read(key, &value); !s.ok()) return s;
    if (!codec::decode(value, *rec)) return inconsistent("malformed record " + key);
    return Status::OK();
  }

  template <class R>
  Status load_or_default(const std::string& key, R* rec) {
    std::string_view value;
    Status s = read(key, &value, /*must_exist=*/false);
    if (s.code() == Status::Code::kNotFound) return Status::OK();
    if (!s.ok()) return s;
    if (!codec::decode(value, *rec)) return inconsistent("malformed record " + key);
    return Status::OK();
  }

  template <class R>
  void put(std::string_view key, const R& rec) {
    put_raw(key, encode_rec(rec));
  }

  void touch(ViewScope scope, std::string_view id) {
    if (touched_ != nullptr) touched_->push_back(ViewVersions::stripe(scope, id));
  }

  Status inconsistent(const std::string& what) const {
    return Status::Corruption("projections: event at offset " + std::to_string(offset_) +
                              " contradicts the views: " + what);
  }

  rocksdb::DB* db_;
  const RecentWrites& recent_;
  ArenaWrites& pending_;
  std::string scratch_;  // reused read buffer
  uint64_t offset_ = 0;  // of the event being applied
  std::vector<size_t>* touched_ = nullptr;
};

// Builds the options of the view store. Why each differs from the default:
rocksdb::Options store_options() {
  rocksdb::Options o;
  o.create_if_missing = true;
  // Larger memtables absorb the follower's read-modify-write of hot keys
  // (schedules, users) before they reach L0; more of them keep a flush from
  // stalling the single writer.
  o.write_buffer_size = kWriteBufferBytes;
  o.max_write_buffer_number = kWriteBuffersMax;
  o.level_compaction_dynamic_level_bytes = true;
  // The default (8 MiB) block cache is small for point reads of views; bloom
  // filters spare a disk read per miss.
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = rocksdb::NewLRUCache(kBlockCacheBytes);
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(kBloomBitsPerKey));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  // Closing flushes the memtables: they are not in a WAL.
  o.avoid_flush_during_shutdown = false;
  return o;
}

}  // namespace

// The store runs without a RocksDB WAL (WriteOptions::disableWAL in commit).
// Why this is safe: the event log is the system of record, and every batch
// writes its views and the checkpoint in one WriteBatch. A WriteBatch lands
// in one memtable, and memtables are flushed and installed oldest first, so
// after a crash the store holds exactly the batches up to some memtable
// boundary together with their checkpoint: a prefix of the log, consistent.
// The follower then re-applies from that checkpoint, and apply is a pure
// function of the events, so the result is the same as without the crash.
// Why it is worth it: no WAL append per batch, and no WAL replay on open.
// The cost is bounded: at most kWriteBuffersMax memtables of events to
// re-apply after a crash; a clean shutdown (flush(), or closing) loses none.
namespace {

// The stored checkpoint; {0, kStoreFormat} for an empty store. A format-1
// record lacks the format field.
Result<CheckpointRec> read_checkpoint(rocksdb::DB* db, const std::string& path) {
  std::string value;
  const rocksdb::Status g = db->Get(rocksdb::ReadOptions(), kCheckpointKey, &value);
  if (g.IsNotFound()) return CheckpointRec{};
  if (!g.ok()) return from_rocks(g);
  CheckpointRec cp;
  if (!codec::decode(value, cp)) {
    cp = CheckpointRec{0, 1};
    if (!codec::decode(value, cp, 1)) cp.next = -1;
  }
  if (cp.next < 0) return Status::Corruption("projections at " + path + ": malformed checkpoint");
  return cp;
}

}  // namespace

Result<std::unique_ptr<Projections>> Projections::open(const std::string& path) {
  Result<VersionedStore> store =
      open_versioned_store(path, "projections", kStoreFormat, &store_options, &read_checkpoint);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Projections>(new Projections(std::move(store->db), store->next));
}

Projections::Projections(std::unique_ptr<rocksdb::DB> db, uint64_t checkpoint)
    : db_(std::move(db)),
      checkpoint_(checkpoint),
      recent_(std::make_unique<RecentWrites>()),
      batch_arena_(std::make_unique<std::byte[]>(kBatchArenaBytes)) {}

Projections::~Projections() = default;

uint64_t Projections::checkpoint() const {
  return checkpoint_.load(std::memory_order_acquire);
}

Status Projections::apply_batch(const std::vector<EventEnvelope>& batch) {
  if (batch.empty()) return Status::OK();
  const uint64_t first = checkpoint();
  if (batch.front().offset != first) {
    return Status::InvalidArgument("batch starts at offset " +
                                   std::to_string(batch.front().offset) + ", checkpoint is " +
                                   std::to_string(first));
  }
  // The batch's writes, in an arena that starts in a buffer every batch
  // reuses: no malloc or free per record on the follower's path.
  std::pmr::monotonic_buffer_resource arena(batch_arena_.get(), kBatchArenaBytes);
  ArenaWrites& pending = make_arena_writes(&arena);
  pending.reserve(batch.size() * kPendingPerEvent);
  BatchApplier applier(db_.get(), *recent_, pending);
  std::vector<size_t> touched;
  applier.track(&touched);
  for (size_t i = 0; i < batch.size(); ++i) {
    const EventEnvelope& env = batch[i];
    if (env.offset != first + i) {
      return Status::InvalidArgument("batch offsets not consecutive at " +
                                     std::to_string(env.offset));
    }
    Result<ViewEvent> event = decode_for_views(env);
    if (!event.ok()) return event.status();
    if (!*event) continue;
    if (Status s = applier.apply(**event, env.offset); !s.ok()) return s;
  }
  const uint64_t next = first + batch.size();
  // Each touched part's version turns odd before the write and even after
  // it (view_versions.h), so once per part: duplicates would break parity.
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (size_t stripe : touched) versions_.bump(stripe);
  const Status committed = applier.commit(next);
  // Even again whether or not the write happened; before the checkpoint, so
  // a query that waited for this batch (read-your-writes) sees the versions.
  for (size_t stripe : touched) versions_.bump(stripe);
  if (!committed.ok()) return committed;
  checkpoint_.store(next, std::memory_order_release);
  recent_->absorb(pending);
  return Status::OK();
}

Result<ViewEvent> decode_for_views(const EventEnvelope& env) {
  // Engine events (and any other domain's) carry nothing for these views.
  if (!events::ConcertCatalog::knows(env.type)) return ViewEvent();
  Result<events::ConcertEvent> event = events::ConcertCatalog::decode(env);
  if (!event.ok()) {
    return Status::Corruption("offset " + std::to_string(env.offset) + ": " +
                              event.status().message());
  }
  return ViewEvent(std::move(*event));
}

namespace internal {

// The overlay of a bulk load: every record written since the last spill.
struct BulkOverlay {
  BulkOverlay(rocksdb::DB* db, const RecentWrites& no_recent, size_t entries_max)
      : arena(kArenaFirstBlockBytes),
        writes(make_arena_writes(&arena)),
        applier(db, no_recent, writes) {
    writes.reserve(entries_max + 1);  // no rehash before the spill (+1: the checkpoint)
  }
  std::pmr::monotonic_buffer_resource arena;
  ArenaWrites& writes;  // in `arena`, never destroyed
  BatchApplier applier;
};

struct BulkLoad {
  BulkLoad(rocksdb::DB* db, uint64_t next, size_t entries_max)
      : db(db),
        next(next),
        entries_max(entries_max),
        overlay(std::make_unique<BulkOverlay>(db, no_recent, entries_max)) {}
  rocksdb::DB* db;
  uint64_t next;  // offset of the next event
  size_t entries_max;
  RecentWrites no_recent;  // stays empty: the overlay holds every recent write
  std::unique_ptr<BulkOverlay> overlay;
  int spills = 0;
};

}  // namespace internal

namespace {

constexpr size_t kParallelSortEntriesMin = size_t{1} << 16;
constexpr size_t kSortPrefixBytes = 32;  // covers most keys whole (ids are ~36 chars)

// A key's first bytes kept inline, so most comparisons while sorting touch
// no string on the heap (a pointer chase per comparison made the sort the
// slowest part of a bulk load). Keys hold no NUL byte, so zero padding
// sorts a shorter key first, as std::string does.
struct SortKey {
  std::array<char, kSortPrefixBytes> prefix;
  std::string_view key;
  std::string_view value;
};

bool operator<(const SortKey& a, const SortKey& b) {
  const int c = std::memcmp(a.prefix.data(), b.prefix.data(), kSortPrefixBytes);
  return c != 0 ? c < 0 : a.key < b.key;
}

using SortKeys = std::vector<SortKey>;

// The overlay's entries, unsorted.
SortKeys sort_keys(const ArenaWrites& overlay) {
  SortKeys v(overlay.size());
  size_t i = 0;
  for (const auto& [key, value] : overlay) {
    SortKey& k = v[i++];
    k.prefix.fill('\0');
    std::memcpy(k.prefix.data(), key.data(), std::min(kSortPrefixBytes, key.size()));
    k.key = key;
    k.value = value;
  }
  return v;
}

// Splits `v` into a lower and an upper part of about equal size (every
// key of the lower part sorts before every key of the upper), so two
// threads can sort and write one SST file each, with no merge. The pivot is
// the median of an evenly spaced sample (hash order is random).
SortKeys::iterator split_in_two(SortKeys& v) {
  constexpr size_t kSample = 1001;
  SortKeys sample;
  sample.reserve(kSample);
  for (size_t i = 0; i < kSample; ++i) sample.push_back(v[i * v.size() / kSample]);
  const auto median = sample.begin() + kSample / 2;
  std::nth_element(sample.begin(), median, sample.end());
  const SortKey pivot = *median;
  // Neither part is empty: the sampled keys below the median go low, the
  // median itself high.
  return std::partition(v.begin(), v.end(), [&](const SortKey& k) { return k < pivot; });
}

// Sorts [begin, end) (not empty: RocksDB refuses an empty SST file) and
// writes it as one SST file.
rocksdb::Status write_sst(SortKeys::iterator begin, SortKeys::iterator end,
                          const std::string& file) {
  assert(begin != end);
  std::sort(begin, end);
  // Uncompressed: RocksDB compresses as it compacts the store later; the
  // rebuild should not wait for it.
  rocksdb::Options options = store_options();
  options.compression = rocksdb::kNoCompression;
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options);
  rocksdb::Status s = writer.Open(file);
  for (auto it = begin; it != end && s.ok(); ++it) s = writer.Put(it->key, it->value);
  return s.ok() ? writer.Finish() : s;
}

}  // namespace

Status Projections::bulk_apply(uint64_t offset, const ViewEvent& event) {
  if (!bulk_) {
    bulk_ = std::make_unique<internal::BulkLoad>(db_.get(), checkpoint(), bulk_entries_max_);
  }
  if (offset != bulk_->next) {
    return Status::InvalidArgument("bulk load expects offset " + std::to_string(bulk_->next) +
                                   ", got " + std::to_string(offset));
  }
  if (event) {
    if (Status s = bulk_->overlay->applier.apply(*event, offset); !s.ok()) return s;
  }
  bulk_->next = offset + 1;
  return bulk_->overlay->writes.size() >= bulk_entries_max_ ? spill_bulk() : Status::OK();
}

std::vector<std::pair<std::string, std::string>> Projections::dump() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  return out;
}

Status Projections::finish_bulk() {
  if (!bulk_) return Status::OK();
  Status s = spill_bulk();
  bulk_.reset();
  return s;
}

// Writes the overlay and the checkpoint as one sorted SST file and ingests
// it: one file lands whole or not at all, so the store stays a consistent
// prefix of the log.
Status Projections::spill_bulk() {
  internal::BulkLoad& b = *bulk_;
  b.overlay->applier.put_raw(kCheckpointKey,
                             encode_rec(CheckpointRec{static_cast<int64_t>(b.next)}));
  SortKeys keys = sort_keys(b.overlay->writes);
  const std::string stem = db_->GetName() + "/bulk-" + std::to_string(b.spills++);
  std::vector<std::string> files;
  rocksdb::Status s;
  if (keys.size() < kParallelSortEntriesMin) {
    files = {stem + ".sst"};
    s = write_sst(keys.begin(), keys.end(), files[0]);
  } else {  // two files with disjoint key ranges, written on two threads
    files = {stem + "a.sst", stem + "b.sst"};
    const auto mid = split_in_two(keys);
    rocksdb::Status lower;
    std::thread t([&] { lower = write_sst(keys.begin(), mid, files[0]); });
    s = write_sst(mid, keys.end(), files[1]);
    t.join();
    if (s.ok()) s = lower;
  }
  if (s.ok()) {
    rocksdb::IngestExternalFileOptions io;
    io.move_files = true;                    // a hard link, not a copy
    versions_.bump_all();                    // odd: any part may change (view_versions.h)
    s = db_->IngestExternalFile(files, io);  // all files or none
    versions_.bump_all();                    // even again
  }
  for (const auto& f : files) std::remove(f.c_str());  // ingested under RocksDB's own names
  if (!s.ok()) return from_rocks(s);
  b.overlay = std::make_unique<internal::BulkOverlay>(b.db, b.no_recent, b.entries_max);
  checkpoint_.store(b.next, std::memory_order_release);
  return Status::OK();
}

Status Projections::flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  return from_rocks(db_->Flush(fo));
}

std::optional<UserView> Projections::user(const std::string& user_id) const {
  UserRec rec;
  if (!get_rec(db_.get(), rocksdb::ReadOptions(), user_key(user_id), &rec)) return std::nullopt;
  return UserView{user_id, std::move(rec.name), rec.balance};
}

std::optional<TokenView> Projections::token(const std::string& token) const {
  auto v = token_by_hash(secrets::token_hash(token));
  if (v) v->token = token;
  return v;
}

std::optional<TokenView> Projections::token_by_hash(const std::string& hash) const {
  TokenRec rec;
  if (!get_rec(db_.get(), rocksdb::ReadOptions(), token_key(hash), &rec)) return std::nullopt;
  bool ok = false;
  TokenView v = to_view(hash, std::move(rec), &ok);
  if (!ok) return std::nullopt;
  return v;
}

// The index entries (ti/, ut/, rs/) are written in the same WriteBatch (or
// ingested SST file) as the record they name, so a reader that sees an entry
// sees its record: the two reads need no common snapshot.

std::optional<TokenView> Projections::token_by_id(int64_t token_id) const {
  if (token_id <= 0) return std::nullopt;
  std::string hash;
  if (!get_index(db_.get(), token_id_key(token_id), &hash)) return std::nullopt;
  return token_by_hash(hash);
}

std::optional<TokenView> Projections::user_token(const std::string& user_id) const {
  std::string hash;
  if (!get_index(db_.get(), user_token_key(user_id), &hash)) return std::nullopt;
  return token_by_hash(hash);
}

int64_t Projections::admitted_seq() const {
  CounterRec rec;
  get_rec(db_.get(), rocksdb::ReadOptions(), kAdmittedKey, &rec);
  return rec.value;
}

std::vector<ConcertSummary> Projections::concerts() const {
  std::vector<ConcertSummary> out;
  const rocksdb::Status s =
      scan(db_.get(), rocksdb::ReadOptions(), kConcertPrefix, std::string(),
           [&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
             ConcertRec rec;
             if (!codec::decode(std::string_view(value.data(), value.size()), rec)) return true;
             std::string id(key.data() + kConcertPrefix.size(), key.size() - kConcertPrefix.size());
             out.push_back(ConcertSummary{std::move(id), std::move(rec.title), rec.schedule_count});
             return true;
           });
  if (!s.ok()) {
    oplog::log_event(oplog::Level::kError, "fault",
                     {{"kind", "projection_read"},
                      {"what", "list_failed"},
                      {"key", "concerts"},
                      {"error", s.ToString()}});
  }
  return out;
}

std::optional<ConcertSummary> Projections::concert(const std::string& concert_id) const {
  ConcertRec rec;
  if (!get_rec(db_.get(), rocksdb::ReadOptions(), concert_key(concert_id), &rec)) {
    return std::nullopt;
  }
  return ConcertSummary{concert_id, std::move(rec.title), rec.schedule_count};
}

std::optional<std::vector<ScheduleView>> Projections::schedules(
    const std::string& concert_id) const {
  rocksdb::ManagedSnapshot snap(db_.get());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.snapshot();
  if (!key_exists(db_.get(), ro, concert_key(concert_id))) return std::nullopt;
  // The index is in startsAt-then-id order; its last part is the schedule id.
  std::vector<std::string> keys;
  const rocksdb::Status s = scan(db_.get(), ro, concert_schedules_prefix(concert_id), std::string(),
                                 [&](const rocksdb::Slice& key, const rocksdb::Slice&) {
                                   const std::string_view k(key.data(), key.size());
                                   keys.push_back(schedule_key(k.substr(k.rfind('/') + 1)));
                                   return true;
                                 });
  if (!s.ok()) {
    oplog::log_event(oplog::Level::kError, "fault",
                     {{"kind", "projection_read"},
                      {"what", "list_failed"},
                      {"key", "schedules"},
                      {"error", s.ToString()}});
  }
  std::vector<rocksdb::Status> statuses;
  std::vector<rocksdb::PinnableSlice> values = multi_get(db_.get(), ro, keys, &statuses);
  std::vector<ScheduleView> out;
  out.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    ScheduleRec rec;
    if (!statuses[i].ok() ||
        !codec::decode(std::string_view(values[i].data(), values[i].size()), rec)) {
      oplog::log_event(
          oplog::Level::kError, "fault",
          {{"kind", "projection_read"}, {"what", "unreadable_record"}, {"key", keys[i]}});
      continue;
    }
    out.push_back(to_view(keys[i].substr(2), std::move(rec)));
  }
  return out;
}

std::optional<ScheduleView> Projections::schedule(const std::string& schedule_id) const {
  ScheduleRec rec;
  if (!get_rec(db_.get(), rocksdb::ReadOptions(), schedule_key(schedule_id), &rec)) {
    return std::nullopt;
  }
  return to_view(schedule_id, std::move(rec));
}

std::optional<std::vector<SeatView>> Projections::seats(const std::string& schedule_id) const {
  rocksdb::ManagedSnapshot snap(db_.get());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.snapshot();
  if (!key_exists(db_.get(), ro, schedule_key(schedule_id))) return std::nullopt;
  const std::string prefix = seats_prefix(schedule_id);
  std::vector<SeatView> out;
  const rocksdb::Status s =
      scan(db_.get(), ro, prefix, std::string(),
           [&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
             // <prefix><16 hex number>/<seatId>
             const std::string_view k(key.data() + prefix.size(), key.size() - prefix.size());
             const std::optional<uint64_t> number = parse_hex64(k.substr(0, kHexChars));
             SeatRec rec;
             SeatView v;
             if (!number || k.size() <= kHexChars + 1 ||
                 !codec::decode(std::string_view(value.data(), value.size()), rec) ||
                 !to_enum(rec.status, SeatStatus::kSold, &v.status)) {
               oplog::log_event(
                   oplog::Level::kError, "fault",
                   {{"kind", "projection_read"}, {"what", "malformed_seat"}, {"key", prefix}});
               return true;
             }
             v.seat_id = std::string(k.substr(kHexChars + 1));
             v.number = static_cast<int64_t>(*number ^ (uint64_t{1} << 63));
             v.price = rec.price;
             out.push_back(std::move(v));
             return true;
           });
  if (!s.ok()) {
    oplog::log_event(oplog::Level::kError, "fault",
                     {{"kind", "projection_read"},
                      {"what", "list_failed"},
                      {"key", "seats"},
                      {"error", s.ToString()}});
  }
  return out;
}

std::optional<ReservationView> Projections::reservation(const std::string& reservation_id) const {
  ReservationRec rec;
  if (!get_rec(db_.get(), rocksdb::ReadOptions(), reservation_key(reservation_id), &rec)) {
    return std::nullopt;
  }
  bool ok = false;
  ReservationView v = to_view(reservation_id, std::move(rec), &ok);
  if (!ok) return std::nullopt;
  return v;
}

std::optional<ReservationView> Projections::reservation_by_seq(int64_t seq) const {
  if (seq <= 0) return std::nullopt;
  std::string id;
  if (!get_index(db_.get(), reservation_seq_key(seq), &id)) return std::nullopt;
  return reservation(id);
}

namespace {

// One page of a newest-first index under `prefix`: calls fn(value) for up
// to `limit` entries after the cursor and returns the cursor of the last
// one when more follow. NotFound when `owner_key` (the user) is absent.
template <class Fn>
Result<std::optional<std::string>> index_page(rocksdb::DB* db, const rocksdb::ReadOptions& ro,
                                              const std::string& owner_key,
                                              const std::string& prefix, size_t limit,
                                              const std::string& cursor, Fn&& fn) {
  if (limit < 1 || limit > kPageItemsMax) {
    return Status::InvalidArgument("limit must be in 1.." + std::to_string(kPageItemsMax));
  }
  if (!cursor.empty() && !parse_hex64(cursor)) return Status::InvalidArgument("malformed cursor");
  if (!key_exists(db, ro, owner_key)) return Status::NotFound("no user " + owner_key.substr(2));
  const std::string start = cursor.empty() ? std::string() : prefix + cursor;
  size_t taken = 0;
  std::optional<std::string> next;
  std::string last;
  const rocksdb::Status s =
      scan(db, ro, prefix, start, [&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
        const std::string_view suffix(key.data() + prefix.size(), key.size() - prefix.size());
        if (suffix == cursor) return true;  // the cursor names the last item already served
        if (taken == limit) {
          next = std::move(last);
          return false;
        }
        ++taken;
        last.assign(suffix);
        fn(std::string_view(value.data(), value.size()));
        return true;
      });
  if (!s.ok()) return from_rocks(s);
  return next;
}

}  // namespace

Result<Page<ReservationView>> Projections::user_reservations(const std::string& user_id,
                                                             size_t limit,
                                                             const std::string& cursor) const {
  rocksdb::ManagedSnapshot snap(db_.get());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.snapshot();
  std::vector<std::string> ids;
  std::vector<std::string> keys;
  Result<std::optional<std::string>> next =
      index_page(db_.get(), ro, user_key(user_id), user_reservations_prefix(user_id), limit, cursor,
                 [&](std::string_view id) {
                   ids.emplace_back(id);
                   keys.push_back(reservation_key(id));
                 });
  if (!next.ok()) return next.status();
  std::vector<rocksdb::Status> statuses;
  std::vector<rocksdb::PinnableSlice> values = multi_get(db_.get(), ro, keys, &statuses);
  Page<ReservationView> page;
  page.items.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    ReservationRec rec;
    bool ok = statuses[i].ok() &&
              codec::decode(std::string_view(values[i].data(), values[i].size()), rec);
    if (ok) page.items.push_back(to_view(std::move(ids[i]), std::move(rec), &ok));
    if (!ok) return Status::Corruption("projections: unreadable " + keys[i]);
  }
  page.next_cursor = std::move(*next);
  return page;
}

Result<Page<PaymentView>> Projections::user_payments(const std::string& user_id, size_t limit,
                                                     const std::string& cursor) const {
  rocksdb::ManagedSnapshot snap(db_.get());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.snapshot();
  Page<PaymentView> page;
  bool malformed = false;
  Result<std::optional<std::string>> next =
      index_page(db_.get(), ro, user_key(user_id), user_payments_prefix(user_id), limit, cursor,
                 [&](std::string_view value) {
                   PaymentRec rec;
                   PaymentView v;
                   if (!codec::decode(value, rec) ||
                       !to_enum(rec.status, PaymentStatus::kRefunded, &v.status)) {
                     malformed = true;
                     return;
                   }
                   v.payment_id = std::move(rec.payment_id);
                   v.reservation_id = std::move(rec.reservation_id);
                   v.amount = rec.amount;
                   v.paid_at = rec.paid_at;
                   v.seq = rec.seq;
                   v.reservation_seq = rec.reservation_seq;
                   page.items.push_back(std::move(v));
                 });
  if (!next.ok()) return next.status();
  if (malformed) return Status::Corruption("projections: malformed payment of " + user_id);
  page.next_cursor = std::move(*next);
  return page;
}

}  // namespace reservoir::projections
