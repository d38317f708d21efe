// ISO-8601 UTC times <-> Unix milliseconds, durations like "300ms"/"5m".
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace reservoir {

// "2026-11-22T10:00:00Z" or with milliseconds "2026-11-22T10:00:00.250Z";
// also accepts a "+00:00" suffix. nullopt when malformed or out of range.
std::optional<int64_t> parse_iso8601_ms(std::string_view s);

// Always with milliseconds: "2026-11-22T10:00:00.000Z".
std::string format_iso8601_ms(int64_t unix_ms);

// "2026-11-22": the UTC calendar date.
std::string format_date(int64_t unix_ms);

// "300ms", "2s", "5m", "1h" (a positive integer and a unit) -> milliseconds.
std::optional<int64_t> parse_duration_ms(std::string_view s);

}  // namespace reservoir
