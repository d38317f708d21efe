// The concert domain's events (schema version 1 each). Events carry all the
// data projections and auditors need, so neither has to look anything up:
// a seat event names the seats with their numbers and prices, a money event
// carries the balance after it.
//
// Times are Unix milliseconds (UTC). Thread safety: value types.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "events/catalog.h"

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
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("concertScheduleId", s.schedule_id);
    f("startsAt", s.starts_at);
    f("seats", s.seats);
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
  static constexpr uint32_t kVersion = 1;
  std::string concert_id;
  std::string title;
  std::vector<ScheduleSpec> schedules;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("concertId", s.concert_id);
    f("title", s.title);
    f("schedules", s.schedules);
  }
};

// A token enters the line. `seq` is its place in issue order; tokens are
// admitted in seq order, so a WAITING token's position is seq minus the
// highest seq admitted so far.
struct TokenIssued {
  static constexpr const char* kType = "TokenIssued";
  static constexpr uint32_t kVersion = 1;
  std::string token;
  std::string user_id;
  int64_t seq = 0;
  int64_t issued_at = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("token", s.token);
    f("userId", s.user_id);
    f("seq", s.seq);
    f("issuedAt", s.issued_at);
  }
};

struct TokenActivated {
  static constexpr const char* kType = "TokenActivated";
  static constexpr uint32_t kVersion = 1;
  std::string token;
  std::string user_id;
  int64_t seq = 0;
  int64_t activated_at = 0;
  int64_t expires_at = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("token", s.token);
    f("userId", s.user_id);
    f("seq", s.seq);
    f("activatedAt", s.activated_at);
    f("expiresAt", s.expires_at);
  }
};

struct TokenExpired {
  static constexpr const char* kType = "TokenExpired";
  static constexpr uint32_t kVersion = 1;
  std::string token;
  std::string user_id;
  std::string reason;  // "TTL" (time ran out) or "PAID" (spent by a payment)
  bool was_active = false;
  int64_t expired_at = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("token", s.token);
    f("userId", s.user_id);
    f("reason", s.reason);
    f("wasActive", s.was_active);
    f("expiredAt", s.expired_at);
  }
};

struct SeatsHeld {
  static constexpr const char* kType = "SeatsHeld";
  static constexpr uint32_t kVersion = 1;
  std::string reservation_id;
  std::string user_id;
  std::string concert_id;
  std::string schedule_id;
  std::vector<SeatRef> seats;
  int64_t total_price = 0;
  int64_t created_at = 0;
  int64_t expires_at = 0;
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

struct PaymentCompleted {
  static constexpr const char* kType = "PaymentCompleted";
  static constexpr uint32_t kVersion = 1;
  std::string payment_id;
  std::string reservation_id;
  std::string user_id;
  std::string schedule_id;
  std::vector<SeatRef> seats;
  int64_t amount = 0;
  int64_t paid_at = 0;
  int64_t balance_after = 0;
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
