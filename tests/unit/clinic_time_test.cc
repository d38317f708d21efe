// events/clinic_time.h: the clinic day (SPEC §6.1 invariant 8) at positive
// and negative offsets, and the offset and date texts.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>

#include "events/clinic_time.h"

namespace {

using namespace reservoir::clinic_time;

constexpr int64_t kHourMs = 3'600'000;

int64_t day_of(const char* date) {
  return *parse_day(date);
}

TEST_CASE("clinic time: parse_day and format_day") {
  CHECK(parse_day("1970-01-01") == 0);
  CHECK(parse_day("1970-01-02") == 1);
  CHECK(parse_day("1969-12-31") == -1);
  CHECK(parse_day("2000-03-01") == 11'017);
  CHECK(format_day(day_of("2026-12-24")) == "2026-12-24");
  CHECK(format_day(day_of("2024-02-29")) == "2024-02-29");
  CHECK(day_of("2025-01-01") - day_of("2024-12-31") == 1);
  CHECK(day_of("2024-03-01") - day_of("2024-02-28") == 2);  // leap year
  CHECK(day_of("2100-03-01") - day_of("2100-02-28") == 1);  // not a leap year
  CHECK(day_of("2000-03-01") - day_of("2000-02-28") == 2);  // a 400th year is
  for (const char* bad : {"2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-12-1",
                          "2026/12/24", "20261224xx", "", "2026-12-2x"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_day(bad).has_value());
  }
  for (int64_t d = -800; d < 800'000; d += 997) REQUIRE(parse_day(format_day(d)) == d);
}

TEST_CASE("clinic time: day boundaries at +00:00, +09:00 and -03:30") {
  const int64_t dec24 = day_of("2026-12-24");
  const int64_t midnight = dec24 * kDayMs;  // 2026-12-24T00:00Z
  CHECK(clinic_day(midnight, 0) == dec24);
  CHECK(clinic_day(midnight - 1, 0) == dec24 - 1);
  // +09:00: the 25th starts at 15:00Z on the 24th.
  CHECK(clinic_day(midnight + 14 * kHourMs, 9 * 60) == dec24);
  CHECK(clinic_day(midnight + 15 * kHourMs - 1, 9 * 60) == dec24);
  CHECK(clinic_day(midnight + 15 * kHourMs, 9 * 60) == dec24 + 1);
  CHECK(clinic_day(midnight + 15 * kHourMs + 30 * 60'000, 9 * 60) == dec24 + 1);
  CHECK(day_start_ms(dec24 + 1, 9 * 60) == midnight + 15 * kHourMs);
  // -03:30: the 24th starts at 03:30Z.
  const int64_t local_midnight = midnight + 3 * kHourMs + 30 * 60'000;
  CHECK(clinic_day(local_midnight - 1, -210) == dec24 - 1);
  CHECK(clinic_day(local_midnight, -210) == dec24);
  CHECK(day_start_ms(dec24, -210) == local_midnight);
  // Before 1970 the day is floored, not truncated.
  CHECK(clinic_day(-1, 0) == -1);
  CHECK(clinic_day(-kDayMs, 0) == -1);
  CHECK(clinic_day(-kDayMs - 1, 0) == -2);
  for (int64_t offset : {int64_t{-720}, int64_t{-210}, int64_t{0}, int64_t{540}, int64_t{840}}) {
    for (int64_t d = dec24 - 3; d <= dec24 + 3; ++d) {
      CAPTURE(offset);
      CHECK(clinic_day(day_start_ms(d, offset), offset) == d);
      CHECK(clinic_day(day_start_ms(d, offset) - 1, offset) == d - 1);
    }
  }
}

TEST_CASE("clinic time: UTC offsets parse and format") {
  CHECK(parse_utc_offset("+00:00") == 0);
  CHECK(parse_utc_offset("-00:00") == 0);
  CHECK(parse_utc_offset("+09:00") == 540);
  CHECK(parse_utc_offset("-03:30") == -210);
  CHECK(parse_utc_offset("+14:00") == kOffsetMaxMinutes);
  CHECK(parse_utc_offset("-12:00") == kOffsetMinMinutes);
  for (const char* bad : {"+14:01", "-12:30", "+09:60", "09:00", "+9:00", "+09:0", "+0900",
                          "+09:00 ", "Z", "", "+ab:cd"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_utc_offset(bad).has_value());
  }
  CHECK(format_utc_offset(0) == "+00:00");
  CHECK(format_utc_offset(540) == "+09:00");
  CHECK(format_utc_offset(-210) == "-03:30");
  CHECK(format_utc_offset(-720) == "-12:00");
  for (int64_t m = kOffsetMinMinutes; m <= kOffsetMaxMinutes; ++m) {
    REQUIRE(parse_utc_offset(format_utc_offset(m)) == m);
  }
}

}  // namespace
