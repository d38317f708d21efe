// The value rules the seed dialects share (SPEC §5.2): how ids, sequence
// numbers and times look in their JSON, and how their request bodies name
// ids. The canonical dialect uses none of this (its ids are strings, its
// times ISO-8601 with milliseconds).
//
//   write_dialect_id(w, "1")   -> 1        write_dialect_id(w, "007") -> "007"
//   body_id(obj, "userId")     <- 1 or "1" (both mean the id "1")
//   reservation_ref(obj, ...)  <- 7 or "7" (sequence number 7), "r-9f…" (an id)
//
// Thread safety: pure functions.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "engine/reply.h"
#include "projections/views.h"

namespace reservoir::api {

// The int64 value of `s` when it is a canonical decimal: digits only, no
// sign, no leading zero ("0" itself allowed), within int64; else nullopt.
std::optional<int64_t> canonical_decimal(std::string_view s);

// An id as the dialects render it: a JSON integer when it is a canonical
// decimal, else a JSON string.
void write_dialect_id(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view id);

// A body id (`name` of `object`): a JSON integer in 0..2^63-1 (meaning its
// decimal string) or a string following the id rule. A DomainError
// INVALID_REQUEST naming the field otherwise, or when it is required and
// missing (or null).
std::variant<std::string, DomainError> body_id(const rapidjson::Value& object, const char* name,
                                               bool required = true);
// The same rule for one value (an array element), `name` naming it in errors.
std::variant<std::string, DomainError> id_value(const rapidjson::Value& v, const char* name);

// A request's reservationId: a sequence number when it is a JSON integer >= 1
// or a string of digits without leading zero (within int64), else a canonical
// reservation id (a string following the id rule).
struct ReservationRef {
  int64_t seq = 0;  // > 0: by sequence number
  std::string id;   // when seq == 0
};
std::variant<ReservationRef, DomainError> reservation_ref(const rapidjson::Value& object,
                                                          const char* name);

// concert-events times: "2023-07-01T12:05:00Z"; queue-tokens times:
// "2024-07-04T10:00:00". Seconds precision, the fraction truncated.
std::string format_ce_time(int64_t unix_ms);
std::string format_qt_time(int64_t unix_ms);

// A schedule a hold could be placed on at `now_ms`: not started, open, and
// with an AVAILABLE seat (canonical `?status=AVAILABLE`, SPEC §2 and §5.1).
bool schedule_bookable(const projections::ScheduleView& s, int64_t now_ms);

// A token's place in the line at `now_ms` (SPEC §2): its state then (an
// ACTIVE token past its expiry counts as EXPIRED), its 1-based position
// among WAITING tokens (0 unless WAITING) and the estimated wait in seconds.
struct QueuePlace {
  projections::TokenStatus status = projections::TokenStatus::kWaiting;
  int64_t position = 0;
  int64_t wait_seconds = 0;
};
QueuePlace queue_place(const projections::TokenView& t, int64_t now_ms, int64_t admitted_seq,
                       int64_t token_ttl_ms, int64_t active_tokens_max);

}  // namespace reservoir::api
