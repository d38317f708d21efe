// Error codes of the product contract (SPEC §2) and the two shapes an answer
// takes inside the engine: a DomainError value, and a Rendered answer (HTTP
// status + body bytes) that the engine stores for idempotent replays.
// Business rejections are values, never exceptions.
//
// Thread safety: value types and pure functions.
#pragma once

#include <string>
#include <string_view>

namespace reservoir {

#define RESERVOIR_ERROR_CODES(X) \
  X(INVALID_REQUEST)             \
  X(INVALID_AMOUNT)              \
  X(INVALID_TOKEN)               \
  X(TOKEN_EXPIRED)               \
  X(TOKEN_NOT_ACTIVE)            \
  X(FORBIDDEN)                   \
  X(USER_NOT_FOUND)              \
  X(USER_EXISTS)                 \
  X(CONCERT_NOT_FOUND)           \
  X(CONCERT_EXISTS)              \
  X(SCHEDULE_NOT_FOUND)          \
  X(SEAT_NOT_FOUND)              \
  X(RESERVATION_NOT_FOUND)       \
  X(SEAT_UNAVAILABLE)            \
  X(SCHEDULE_CLOSED)             \
  X(SCHEDULE_NOT_OPEN)           \
  X(SEAT_LIMIT_EXCEEDED)         \
  X(RESERVATION_EXPIRED)         \
  X(RESERVATION_CANCELLED)       \
  X(ALREADY_PAID)                \
  X(INSUFFICIENT_BALANCE)        \
  X(BALANCE_LIMIT_EXCEEDED)      \
  X(IDEMPOTENCY_KEY_REUSED)      \
  X(ADMIN_DISABLED)              \
  X(ADMIN_KEY_REQUIRED)          \
  X(PAYLOAD_TOO_LARGE)           \
  X(UNSUPPORTED_MEDIA_TYPE)      \
  X(NOT_FOUND)                   \
  X(METHOD_NOT_ALLOWED)          \
  X(OVERLOADED)                  \
  X(UNAVAILABLE)                 \
  X(INTERNAL)                    \
  X(NOT_WRITER)

enum class ErrorCode {
#define RESERVOIR_ENUM(name) name,
  RESERVOIR_ERROR_CODES(RESERVOIR_ENUM)
#undef RESERVOIR_ENUM
};

inline std::string_view error_name(ErrorCode code) {
  switch (code) {
#define RESERVOIR_NAME(name) \
  case ErrorCode::name:      \
    return #name;
    RESERVOIR_ERROR_CODES(RESERVOIR_NAME)
#undef RESERVOIR_NAME
  }
  return "INTERNAL";
}

struct DomainError {
  ErrorCode code = ErrorCode::INTERNAL;
  std::string message;
};

// An answer as the client receives it. Stored byte for byte for
// idempotent replays, so a retry gets exactly the first answer.
struct Rendered {
  int status = 0;
  std::string body;
  bool operator==(const Rendered&) const = default;
};

}  // namespace reservoir
