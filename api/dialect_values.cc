#include "api/dialect_values.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "api/json_util.h"
#include "events/time_format.h"

namespace reservoir::api {
namespace {

DomainError invalid_field(const char* name, const char* what) {
  return {ErrorCode::INVALID_REQUEST, std::string("field '") + name + "' " + what};
}

constexpr const char* kIdRule =
    "must be an integer in 0..9223372036854775807 or 1-64 characters of [A-Za-z0-9._:-]";

// "2026-11-22T10:00:00.000Z" -> its first 19 characters: seconds, truncated.
constexpr size_t kSecondsLength = 19;

}  // namespace

std::optional<int64_t> canonical_decimal(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;  // beyond int64
  return v;
}

void write_dialect_id(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view id) {
  if (auto n = canonical_decimal(id)) {
    w.Int64(*n);
  } else {
    w.String(id.data(), static_cast<rapidjson::SizeType>(id.size()));
  }
}

std::variant<std::string, DomainError> body_id(const rapidjson::Value& object, const char* name,
                                               bool required) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || it->value.IsNull()) {
    if (required) return invalid_field(name, "is required");
    return std::string();
  }
  return id_value(it->value, name);
}

std::variant<std::string, DomainError> id_value(const rapidjson::Value& v, const char* name) {
  // IsInt64 excludes fractions, exponents (1e3 parses as a double) and
  // integers beyond int64; a negative one fails the range.
  if (v.IsInt64() && v.GetInt64() >= 0) return std::to_string(v.GetInt64());
  if (v.IsString() && valid_id(std::string_view(v.GetString(), v.GetStringLength()))) {
    return std::string(v.GetString(), v.GetStringLength());
  }
  return invalid_field(name, kIdRule);
}

std::variant<ReservationRef, DomainError> reservation_ref(const rapidjson::Value& object,
                                                          const char* name) {
  auto id = body_id(object, name);
  if (auto* err = std::get_if<DomainError>(&id)) return *err;
  ReservationRef ref;
  const std::string& s = std::get<std::string>(id);
  const auto seq = canonical_decimal(s);
  if (seq && *seq >= 1) {
    ref.seq = *seq;
  } else {
    ref.id = s;  // "0" included: no reservation has sequence number 0
  }
  return ref;
}

std::string format_ce_time(int64_t unix_ms) {
  std::string s = format_iso8601_ms(unix_ms);
  s.resize(kSecondsLength);
  return s + "Z";
}

std::string format_qt_time(int64_t unix_ms) {
  std::string s = format_iso8601_ms(unix_ms);
  s.resize(kSecondsLength);
  return s;
}

bool schedule_bookable(const projections::ScheduleView& s, int64_t now_ms) {
  return s.starts_at > now_ms && s.opens_at <= now_ms && s.available_seats > 0;
}

QueuePlace queue_place(const projections::TokenView& t, int64_t now_ms, int64_t admitted_seq,
                       int64_t token_ttl_ms, int64_t active_tokens_max) {
  QueuePlace p;
  p.status = t.status;
  // A token past its due time is expired now, even before its event is written.
  if (t.status == projections::TokenStatus::kActive && t.expires_at <= now_ms) {
    p.status = projections::TokenStatus::kExpired;
  }
  if (p.status == projections::TokenStatus::kWaiting) {
    p.position = std::max<int64_t>(1, t.seq - admitted_seq);
    p.wait_seconds = (p.position * token_ttl_ms / active_tokens_max + 999) / 1000;
  }
  return p;
}

}  // namespace reservoir::api
