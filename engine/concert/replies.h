// Replies of the concert domain's commands: what decide answers besides the
// events. The API layer renders them; the engine never formats JSON.
//
// Thread safety: value types.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "engine/reply.h"
#include "events/concert_events.h"

namespace reservoir::concert {

enum class TokenState { kWaiting, kActive, kExpired };
enum class ReservationState { kPendingPayment, kConfirmed, kExpired, kCancelled, kRefunded };

struct UserReply {
  std::string user_id;
};

struct ConcertReply {
  events::ConcertCreated created;  // ids filled in
};

struct TokenReply {
  std::string token;
  TokenState state = TokenState::kWaiting;
  int64_t position = 0;  // 0 when ACTIVE
  int64_t estimated_wait_seconds = 0;
  int64_t expires_at = 0;  // 0 while WAITING
  int64_t token_id = 0;    // the numeric name of SPEC §5.1
  int64_t seq = 0;         // issue number
  int64_t issued_at = 0;
};

struct ReservationReply {
  std::string reservation_id;
  std::string user_id;
  std::string schedule_id;
  std::vector<events::SeatRef> seats;
  int64_t total_price = 0;
  ReservationState state = ReservationState::kPendingPayment;
  int64_t created_at = 0;
  int64_t expires_at = 0;
  int64_t paid_at = 0;  // 0 until paid
  int64_t seq = 0;      // sequence number (SPEC §5.1)
  // What the dialects render beside it (queue-tokens: concertId, concertName, concertAt).
  std::string concert_id;
  std::string concert_title;
  int64_t starts_at = 0;
};

struct PaymentReply {
  std::string payment_id;
  std::string reservation_id;
  int64_t amount = 0;
  int64_t paid_at = 0;
  int64_t balance = 0;
  int64_t seq = 0;              // the payment's sequence number
  int64_t reservation_seq = 0;  // its reservation's
};

struct BalanceReply {
  std::string user_id;
  int64_t balance = 0;
};

using Reply = std::variant<DomainError, UserReply, ConcertReply, TokenReply, ReservationReply,
                           PaymentReply, BalanceReply>;

}  // namespace reservoir::concert
