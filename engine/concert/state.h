// State of the concert domain and apply(): the pure fold of events into
// state. apply holds no business logic: it records what an event says and
// keeps the indexes decide needs (deadline sets, per-user seat counts). It
// asserts what must already be true, since decide checked it.
//
// Thread safety: none; owned by the single writer (or a replaying tool).
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/concert/replies.h"
#include "events/concert_events.h"

namespace reservoir::concert {

// Business limits; durations in milliseconds.
struct Limits {
  int64_t hold_ttl_ms = 5 * 60 * 1000;
  int64_t token_ttl_ms = 10 * 60 * 1000;
  int64_t active_tokens_max = 1000;
  int64_t seats_per_user_max = 4;  // per schedule, pending + confirmed
  bool operator==(const Limits&) const = default;
};

inline constexpr int64_t kBalanceMax = 1'000'000'000'000;  // KRW, SPEC invariant 2
inline constexpr int64_t kChargeMax = 1'000'000'000;       // KRW per charge
inline constexpr size_t kHoldSeatsMax = 64;                // hard cap whatever --max-seats says

struct Seat {
  std::string seat_id;
  int64_t number = 0;
  int64_t price = 0;
  std::string holder;  // reservation id while PENDING_PAYMENT or CONFIRMED, else empty
};

struct Schedule {
  std::string concert_id;
  int64_t starts_at = 0;
  std::vector<Seat> seats;
  std::unordered_map<std::string, uint32_t> seat_index;  // seat id -> index in seats
};

struct Reservation {
  std::string user_id;
  std::string schedule_id;
  std::string payment_id;  // once paid
  std::vector<events::SeatRef> seats;
  int64_t total_price = 0;
  int64_t created_at = 0;
  int64_t expires_at = 0;
  int64_t paid_at = 0;
  ReservationState state = ReservationState::kPendingPayment;
};

struct Token {
  std::string user_id;
  TokenState state = TokenState::kWaiting;
  int64_t seq = 0;
  int64_t expires_at = 0;  // 0 while WAITING; when it expires (ACTIVE) or expired (EXPIRED)
};

struct User {
  int64_t balance = 0;
  std::string live_token;                               // WAITING or ACTIVE token, empty if none
  std::unordered_map<std::string, int64_t> live_seats;  // schedule id -> pending+confirmed seats
};

using Deadline = std::pair<int64_t, std::string>;  // (due ms, id)

class State {
 public:
  void apply(const events::ConcertEvent& event);

  std::unordered_map<std::string, User> users;
  std::unordered_set<std::string> concert_ids;
  std::unordered_map<std::string, Schedule> schedules;
  std::unordered_map<std::string, Reservation> reservations;
  std::unordered_map<std::string, Token> tokens;
  std::deque<std::string> waiting;     // WAITING tokens in seq order
  std::set<Deadline> hold_deadlines;   // PENDING_PAYMENT reservations by expires_at
  std::set<Deadline> token_deadlines;  // ACTIVE tokens by expires_at
  int64_t active_tokens = 0;
  int64_t next_seq = 1;
  int64_t admitted_seq = 0;            // highest seq ever ACTIVE
  Limits recorded_limits{0, 0, 0, 0};  // as the last LimitsConfigured said

 private:
  void on(const events::UserRegistered& e);
  void on(const events::ConcertCreated& e);
  void on(const events::TokenIssued& e);
  void on(const events::TokenActivated& e);
  void on(const events::TokenExpired& e);
  void on(const events::SeatsHeld& e);
  void on(const events::HoldExpired& e);
  void on(const events::ReservationCancelled& e);
  void on(const events::PaymentCompleted& e);
  void on(const events::ReservationRefunded& e);
  void on(const events::BalanceCharged& e);
  void on(const events::LimitsConfigured& e);
  void release(const events::HoldReleased& e, ReservationState to);
  void set_holder(const std::string& schedule_id, const std::vector<events::SeatRef>& seats,
                  const std::string& holder);
};

}  // namespace reservoir::concert
