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
};

struct CreateConcert {
  std::string concert_id;  // empty: generated
  std::string title;
  std::vector<ScheduleInput> schedules;
};

struct IssueToken {
  std::string user_id;
};

struct HoldSeats {
  std::string token;
  std::optional<std::string> user_id;  // a body userId, which must match the token's
  std::string schedule_id;
  std::vector<std::string> seat_ids;
};

struct PayReservation {
  std::string token;
  std::optional<std::string> user_id;
  std::string reservation_id;
};

// Cancels a pending hold, or refunds a confirmed reservation.
struct CancelReservation {
  std::string token;
  std::string reservation_id;
};

struct ChargeBalance {
  std::string user_id;
  int64_t amount = 0;
};

using Command = std::variant<RegisterUser, CreateConcert, IssueToken, HoldSeats, PayReservation,
                             CancelReservation, ChargeBalance>;

}  // namespace reservoir::concert
