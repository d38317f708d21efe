// Commands of the concert domain: validated intent, as the API layer builds
// them after parsing (syntax, types and limits already checked; decide checks
// again what business rules need).
//
// Thread safety: value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace reservoir::concert {

struct RegisterUser {
  std::string user_id;
  std::string name;
};

struct SeatInput {
  std::string seat_id;  // empty: the engine generates one
  int64_t number = 0;
  int64_t price = 0;
};

struct ScheduleInput {
  std::string schedule_id;  // empty: generated
  int64_t starts_at = 0;
  std::vector<SeatInput> seats;
  int64_t opens_at = 0;  // reservationOpensAt; 0: the command's time (open at once)
};

struct CreateConcert {
  std::string concert_id;  // empty: generated
  std::string title;
  std::vector<ScheduleInput> schedules;
};

// `user_first` (queue-tokens, SPEC §5.2): an unknown user is USER_NOT_FOUND
// from actor_of, before the idempotency key, so it is not remembered; the
// canonical API decides it in decide and remembers it (SPEC §2).
struct IssueToken {
  std::string user_id;
  bool user_first = false;
};

// How a token-bearing command names its token and its user. The canonical
// and concert-events dialects send the token string (`token`); queue-tokens
// sends the numeric tokenId (`token_id`, used when `token` is empty) and
// names the user in the path or body (`named_user`). With `named_user` set,
// the acting user is resolved before the idempotency key, and neither
// answer is remembered (SPEC §5.2): an unknown named user is
// USER_NOT_FOUND, a token of another user INVALID_TOKEN.
//   HoldSeats{.token = t, ...}                       canonical
//   HoldSeats{.token_id = 7, .named_user = "1", ...} queue-tokens

struct HoldSeats {
  std::string token;
  std::optional<std::string> user_id;  // a body userId, which must match the token's (403)
  std::string schedule_id;
  std::vector<std::string> seat_ids;
  int64_t token_id = 0;
  std::optional<std::string> named_user;
  // queue-tokens names the concert too: a schedule of another concert is
  // SCHEDULE_NOT_FOUND, an unknown concert CONCERT_NOT_FOUND.
  std::optional<std::string> concert_id;
};

struct PayReservation {
  std::string token;
  std::optional<std::string> user_id;
  std::string reservation_id;  // the canonical id; or, when reservation_seq > 0, unused
  int64_t token_id = 0;
  std::optional<std::string> named_user;
  int64_t reservation_seq = 0;  // the reservation's sequence number (the dialects' name)
};

// Cancels a pending hold, or refunds a confirmed reservation.
struct CancelReservation {
  std::string token;
  std::string reservation_id;
};

struct ChargeBalance {
  std::string user_id;
  int64_t amount = 0;
  bool user_first = false;  // as IssueToken's
};

// concert-events `reserve` (SPEC §5.3): reads, at the command's time, the
// newest reservation of the token's user in `schedule_id` holding `seat_id`.
// Writes no event; answers like a command (it may carry an Idempotency-Key).
// Needs a live token (WAITING or ACTIVE).
struct FindReservation {
  std::string token;
  std::string schedule_id;
  std::string seat_id;
};

using Command = std::variant<RegisterUser, CreateConcert, IssueToken, HoldSeats, PayReservation,
                             CancelReservation, ChargeBalance, FindReservation>;

}  // namespace reservoir::concert
