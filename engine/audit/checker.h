// ConcertChecker (alias Checker): the auditor's independent state machine
// for the concert domain, a LogChecker (log_checker.h). It re-derives seat
// ownership, balances, reservation lifecycles and token states from the
// events alone and checks SPEC §1's invariants after every event, so a bug
// in the engine's decide (which wrote the events) is caught rather than
// trusted. It links only `events` (CMake enforces it): it cannot call decide.
//
//   1 seat:      a seat belongs to at most one live reservation
//   2 balance:   0 <= balance <= 10^12 and balance = charges - payments + refunds
//   3 payment:   paid at most once, by its owner, before expiresAt
//   4 tokens:    at most active_tokens_max ACTIVE; no user with two live tokens
//   5 atomicity: offsets consecutive from 0; batches whole (the log's CRC)
//   6 numbering (SPEC §5.1): no hold before its schedule's
//                reservationOpensAt (by event time); reservation and payment
//                sequence numbers 1, 2, 3, ... in log order (a version-1
//                event's 0 is numbered by counting), a payment naming its
//                reservation's; tokenIds in [1, 2^53), never reused
//
// Thread safety: none; one checker per replay.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/audit/log_checker.h"
#include "engine/audit/violation.h"
#include "events/concert_events.h"
#include "events/envelope.h"
#include "events/status.h"

namespace reservoir::audit {

inline constexpr int kInvariants = 6;

struct CheckerConfig {
  // Used until the log's first LimitsConfigured event says otherwise.
  int64_t active_tokens_max = 1000;
  size_t violations_kept_max = 1000;  // the rest are only counted
};

class ConcertChecker {
 public:
  static constexpr std::string_view kDomain = "concert";
  static constexpr int kInvariants = audit::kInvariants;
  // Invariant i (1..kInvariants) in one line, as `replay --verify` reports it; "?" otherwise.
  static const char* invariant_name(int i);

  explicit ConcertChecker(CheckerConfig config = {}) : config_(config) {}

  // An event as the checker needs it: a domain event, or nothing for an
  // engine event (an answer, not a state change: it only has to decode).
  using Decoded = std::optional<events::ConcertEvent>;

  // Decodes `env`. Corruption when it cannot be decoded: the log is
  // unreadable from there, and the caller stops. Pure: callers may decode on
  // another thread, ahead of feed().
  static Result<Decoded> decode(const EventEnvelope& env);

  // Checks one event, decoded from `env`.
  void feed(const EventEnvelope& env, const Decoded& decoded);

  // decode() then feed().
  Status feed(const EventEnvelope& env);

  const std::vector<Violation>& violations() const { return violations_; }
  uint64_t violation_count() const { return violation_count_; }
  uint64_t events_checked() const { return next_offset_; }
  size_t users() const { return users_.size(); }
  size_t live_seats() const { return live_seats_; }
  int64_t total_balance() const;

 private:
  enum class Res { kPending, kConfirmed, kExpired, kCancelled, kRefunded };
  enum class Tok { kWaiting, kActive, kExpired };
  static constexpr uint32_t kFree = UINT32_MAX;  // Seat::holder of a free seat

  // Records refer to each other by pointers into the maps' nodes (stable:
  // nodes never move) and by indexes into reservations_, so checking an
  // event hashes each id it names once and copies no id.
  struct User {
    int64_t balance = 0;                      // recomputed from money events
    const std::string* live_token = nullptr;  // a key of tokens_, or none
  };
  struct Seat {
    int64_t price = 0;
    uint32_t holder = kFree;  // index of the live reservation holding it
  };
  struct CatalogSeat {
    std::string id;
    Seat seat;
  };
  // A schedule's seats sorted by id, built once when its concert is created
  // and never resized after (Reservation::seats points into it). Cheaper to
  // build than a hash map (a catalog may hold millions of seats) and about
  // as quick to search.
  using ScheduleSeats = std::vector<CatalogSeat>;
  struct Schedule {
    ScheduleSeats seats;
    int64_t opens_at = 0;
  };
  struct Reservation {
    const std::string* id = nullptr;       // a key of reservation_index_
    const std::string* user_id = nullptr;  // a key of users_ (none: unknown)
    std::vector<Seat*> seats;              // the catalog's seats it held
    int64_t total = 0;
    int64_t expires_at = 0;
    int64_t seq = 0;  // its sequence number as counted
    Res state = Res::kPending;
  };

  void check(const events::ConcertEvent& e, int64_t time_ms);
  // Invariant 6's numbering: `claimed` (0 in a version-1 event: counted)
  // must be `*counter` + 1; advances the counter either way.
  void check_seq(const char* what, int64_t claimed, uint32_t version, int64_t* counter);
  void check_token_id(const events::TokenIssued& e);
  void on(const events::UserRegistered& e, int64_t t);
  void on(const events::ConcertCreated& e, int64_t t);
  void on(const events::TokenIssued& e, int64_t t);
  void on(const events::TokenActivated& e, int64_t t);
  void on(const events::TokenExpired& e, int64_t t);
  void on(const events::SeatsHeld& e, int64_t t);
  void on(const events::HoldExpired& e, int64_t t);
  void on(const events::ReservationCancelled& e, int64_t t);
  void on(const events::PaymentCompleted& e, int64_t t);
  void on(const events::ReservationRefunded& e, int64_t t);
  void on(const events::BalanceCharged& e, int64_t t);
  void on(const events::LimitsConfigured& e, int64_t t);
  Seat* hold_seat(ScheduleSeats* seats, const events::SeatsHeld& e, const events::SeatRef& ref,
                  uint32_t index);
  void free_seats(uint32_t index);
  void release(const events::HoldReleased& e, Res to);
  void move_money(const std::string& user, int64_t delta, int64_t claimed_after);
  Reservation* find_reservation(const std::string& id, uint32_t* index);
  void violate(int invariant, std::string detail);

  CheckerConfig config_;
  uint64_t next_offset_ = 0;
  uint64_t current_offset_ = 0;
  const char* current_type_ = "";
  std::vector<Violation> violations_;
  uint64_t violation_count_ = 0;

  std::unordered_map<std::string, User> users_;
  std::unordered_map<std::string, Schedule> schedules_;  // schedule id -> its seats
  size_t live_seats_ = 0;
  std::unordered_map<std::string, uint32_t> reservation_index_;  // id -> reservations_ index
  std::vector<Reservation> reservations_;
  std::unordered_map<std::string, Tok> tokens_;
  std::unordered_set<int64_t> token_ids_;  // every tokenId issued
  int64_t active_tokens_ = 0;
  int64_t reservations_counted_ = 0;  // SeatsHeld events so far
  int64_t payments_counted_ = 0;      // PaymentCompleted events so far
  uint32_t current_version_ = 1;      // schema version of the event being checked
};

using Checker = ConcertChecker;
static_assert(LogChecker<ConcertChecker>);

}  // namespace reservoir::audit
