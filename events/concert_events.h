// The concert domain's events. Events carry all the
// data projections and auditors need, so neither has to look anything up:
// a seat event names the seats with their numbers and prices, a money event
// carries the balance after it.
//
// Schema versions: every event started at 1. Version 2 (SPEC §5.1) added
// reservationOpensAt to schedules (ConcertCreated), tokenId to TokenIssued,
// and sequence numbers to SeatsHeld and PaymentCompleted; upgrade() derives
// them for version-1 events, so old logs still load (see each event).
// Version 3 of TokenIssued and version 2 of TokenActivated and TokenExpired
// (issue 16, docs/SECURITY.md) name a token by its hash (tokenHash: hex
// SHA-256) instead of the token itself, which the log no longer holds in
// clear; TokenIssued also carries tokenSeal, the token sealed under the
// engine's token key. Their upgrade() hashes the token an older event
// carries (still held in `legacy_token`, for whoever must answer with it).
// TokenExpired version 2 also carries the token's issue number (seq), as
// TokenActivated always did: a token's Id in the engine is seq - 1 when
// every token was issued in order, so applying either finds its token
// without a hash lookup (engine/concert/state.cc).
//
// Times are Unix milliseconds (UTC). Thread safety: value types.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "events/catalog.h"
#include "events/secrets.h"

namespace reservoir::events {

struct SeatRef {
  std::string seat_id;
  int64_t number = 0;
  int64_t price = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("seatId", s.seat_id);
    f("number", s.number);
    f("price", s.price);
  }
};

struct ScheduleSpec {
  std::string schedule_id;
  int64_t starts_at = 0;
  std::vector<SeatRef> seats;
  int64_t opens_at = 0;  // reservationOpensAt: holds are refused before it (< starts_at)
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("concertScheduleId", s.schedule_id);
    f("startsAt", s.starts_at);
    f("seats", s.seats);
    f("reservationOpensAt", s.opens_at, 2);
  }
};

struct UserRegistered {
  static constexpr const char* kType = "UserRegistered";
  static constexpr uint32_t kVersion = 1;
  std::string user_id;
  std::string name;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("userId", s.user_id);
    f("name", s.name);
  }
};

struct ConcertCreated {
  static constexpr const char* kType = "ConcertCreated";
  static constexpr uint32_t kVersion = 2;
  std::string concert_id;
  std::string title;
  std::vector<ScheduleSpec> schedules;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("concertId", s.concert_id);
    f("title", s.title);
    f("schedules", s.schedules);
  }
  // Version 1 had no opening time: its schedules opened at creation.
  static void upgrade(ConcertCreated& e, const EventEnvelope& env) {
    for (auto& s : e.schedules) s.opens_at = env.time_ms;
  }
};

// A token enters the line. `seq` is its place in issue order (its issue
// number, 1, 2, 3, …); tokens are admitted in seq order, so a WAITING token's
// position is seq minus the highest seq admitted so far. `token_id` is the
// numeric name the queue-tokens dialect uses (SPEC §5.1): random in
// [1, 2^53), unique among all tokens ever issued. `token_hash` names the
// token (events/secrets.h); `token_seal` hides it under the engine's key
// ("" in an upgraded event: an old token was never sealed).
struct TokenIssued {
  static constexpr const char* kType = "TokenIssued";
  static constexpr uint32_t kVersion = 3;
  // Members in the order events were built in before hashes (aggregate
  // initialisation); the field list below gives the encoding's order.
  std::string token_hash;
  std::string user_id;
  int64_t seq = 0;
  int64_t issued_at = 0;
  int64_t token_id = 0;
  std::string token_seal;
  std::string legacy_token;  // the token in clear: versions 1-2 only
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("token", s.legacy_token, 1, 2);
    f("userId", s.user_id);
    f("seq", s.seq);
    f("issuedAt", s.issued_at);
    f("tokenId", s.token_id, 2);
    f("tokenHash", s.token_hash, 3);
    f("tokenSeal", s.token_seal, 3);
  }
  // Version 1 drew no tokenId: derive one from the token's random bits.
  // Versions 1-2 held the token in clear: name it by its hash.
  static void upgrade(TokenIssued& e, const EventEnvelope& env) {
    if (env.version < 2) e.token_id = legacy_token_id(e.legacy_token);
    e.token_hash = secrets::token_hash(e.legacy_token);
  }
  // FNV-1a of the token folded into [1, 2^53): deterministic, so replay,
  // snapshots and rebuild agree.
  static int64_t legacy_token_id(const std::string& token) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : token) h = (h ^ c) * 1099511628211ULL;
    return static_cast<int64_t>(h % ((uint64_t{1} << 53) - 1)) + 1;
  }
};

struct TokenActivated {
  static constexpr const char* kType = "TokenActivated";
  static constexpr uint32_t kVersion = 2;
  std::string token_hash;
  std::string user_id;
  int64_t seq = 0;
  int64_t activated_at = 0;
  int64_t expires_at = 0;
  std::string legacy_token;  // version 1 only
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("token", s.legacy_token, 1, 1);
    f("userId", s.user_id);
    f("seq", s.seq);
    f("activatedAt", s.activated_at);
    f("expiresAt", s.expires_at);
    f("tokenHash", s.token_hash, 2);
  }
  static void upgrade(TokenActivated& e, const EventEnvelope&) {
    e.token_hash = secrets::token_hash(e.legacy_token);
  }
};

struct TokenExpired {
  static constexpr const char* kType = "TokenExpired";
  static constexpr uint32_t kVersion = 2;
  std::string token_hash;
  std::string user_id;
  std::string reason;  // "TTL" (time ran out) or "PAID" (spent by a payment)
  bool was_active = false;
  int64_t expired_at = 0;
  std::string legacy_token;  // version 1 only
  int64_t seq = 0;           // the token's issue number; 0 in a version-1 event
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("token", s.legacy_token, 1, 1);
    f("userId", s.user_id);
    f("reason", s.reason);
    f("wasActive", s.was_active);
    f("expiredAt", s.expired_at);
    f("tokenHash", s.token_hash, 2);
    f("seq", s.seq, 2);
  }
  static void upgrade(TokenExpired& e, const EventEnvelope&) {
    e.token_hash = secrets::token_hash(e.legacy_token);
  }
};

// A reservation is created. `seq` is its sequence number: 1, 2, 3, … in log
// order over all reservations (SPEC §5.1). A version-1 event has seq 0:
// whoever applies it numbers it by counting (state and projections alike).
struct SeatsHeld {
  static constexpr const char* kType = "SeatsHeld";
  static constexpr uint32_t kVersion = 2;
  std::string reservation_id;
  std::string user_id;
  std::string concert_id;
  std::string schedule_id;
  std::vector<SeatRef> seats;
  int64_t total_price = 0;
  int64_t created_at = 0;
  int64_t expires_at = 0;
  int64_t seq = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("reservationId", s.reservation_id);
    f("userId", s.user_id);
    f("concertId", s.concert_id);
    f("concertScheduleId", s.schedule_id);
    f("seats", s.seats);
    f("totalPrice", s.total_price);
    f("createdAt", s.created_at);
    f("expiresAt", s.expires_at);
    f("seq", s.seq, 2);
  }
};

// A reservation leaves PENDING_PAYMENT without payment (hold expiry or
// cancellation): its seats are AVAILABLE again.
struct HoldReleased {
  std::string reservation_id;
  std::string user_id;
  std::string schedule_id;
  std::vector<SeatRef> seats;
  int64_t released_at = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("reservationId", s.reservation_id);
    f("userId", s.user_id);
    f("concertScheduleId", s.schedule_id);
    f("seats", s.seats);
    f("releasedAt", s.released_at);
  }
};

struct HoldExpired : HoldReleased {
  static constexpr const char* kType = "HoldExpired";
  static constexpr uint32_t kVersion = 1;
};

struct ReservationCancelled : HoldReleased {
  static constexpr const char* kType = "ReservationCancelled";
  static constexpr uint32_t kVersion = 1;
};

// `seq` is the payment's sequence number (1, 2, 3, … in log order over all
// payments), `reservation_seq` its reservation's. Version-1 events carry 0
// for both: whoever applies them derives them (by counting, and from the
// reservation), as for SeatsHeld.
struct PaymentCompleted {
  static constexpr const char* kType = "PaymentCompleted";
  static constexpr uint32_t kVersion = 2;
  std::string payment_id;
  std::string reservation_id;
  std::string user_id;
  std::string schedule_id;
  std::vector<SeatRef> seats;
  int64_t amount = 0;
  int64_t paid_at = 0;
  int64_t balance_after = 0;
  int64_t seq = 0;
  int64_t reservation_seq = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("paymentId", s.payment_id);
    f("reservationId", s.reservation_id);
    f("userId", s.user_id);
    f("concertScheduleId", s.schedule_id);
    f("seats", s.seats);
    f("amount", s.amount);
    f("paidAt", s.paid_at);
    f("balanceAfter", s.balance_after);
    f("seq", s.seq, 2);
    f("reservationSeq", s.reservation_seq, 2);
  }
};

struct ReservationRefunded {
  static constexpr const char* kType = "ReservationRefunded";
  static constexpr uint32_t kVersion = 1;
  std::string reservation_id;
  std::string payment_id;
  std::string user_id;
  std::string schedule_id;
  std::vector<SeatRef> seats;
  int64_t amount = 0;
  int64_t refunded_at = 0;
  int64_t balance_after = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("reservationId", s.reservation_id);
    f("paymentId", s.payment_id);
    f("userId", s.user_id);
    f("concertScheduleId", s.schedule_id);
    f("seats", s.seats);
    f("amount", s.amount);
    f("refundedAt", s.refunded_at);
    f("balanceAfter", s.balance_after);
  }
};

struct BalanceCharged {
  static constexpr const char* kType = "BalanceCharged";
  static constexpr uint32_t kVersion = 1;
  std::string user_id;
  int64_t amount = 0;
  int64_t balance_after = 0;
  int64_t charged_at = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("userId", s.user_id);
    f("amount", s.amount);
    f("balanceAfter", s.balance_after);
    f("chargedAt", s.charged_at);
  }
};

// The business limits in force from this event on (written at start-up when
// they differ from the last recorded ones), so an auditor checks the log
// against the limits the engine actually had.
struct LimitsConfigured {
  static constexpr const char* kType = "LimitsConfigured";
  static constexpr uint32_t kVersion = 1;
  int64_t hold_ttl_ms = 0;
  int64_t token_ttl_ms = 0;
  int64_t active_tokens_max = 0;
  int64_t seats_per_user_max = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("holdTtlMs", s.hold_ttl_ms);
    f("tokenTtlMs", s.token_ttl_ms);
    f("activeTokensMax", s.active_tokens_max);
    f("seatsPerUserMax", s.seats_per_user_max);
  }
};

using ConcertEvent =
    std::variant<UserRegistered, ConcertCreated, TokenIssued, TokenActivated, TokenExpired,
                 SeatsHeld, HoldExpired, ReservationCancelled, PaymentCompleted,
                 ReservationRefunded, BalanceCharged, LimitsConfigured>;
using ConcertCatalog = Catalog<ConcertEvent>;

}  // namespace reservoir::events
