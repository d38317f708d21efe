// The clinic's calendar day (SPEC §6.1, invariant 8): a fixed UTC offset in
// minutes (serve --clinic-utc-offset, recorded in the log by
// ClinicConfigured), and the day number a Unix-ms instant falls on there.
// One definition, used by the API's different-days check, decide, the
// projections' day view and the independent checker, so they cannot drift.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace reservoir::clinic_time {

inline constexpr int64_t kDayMs = 86'400'000;
inline constexpr int64_t kOffsetMinMinutes = -12 * 60;  // -12:00
inline constexpr int64_t kOffsetMaxMinutes = 14 * 60;   // +14:00

// Days since 1970-01-01 in the clinic's zone: floor((ms + offset) / day).
inline int64_t clinic_day(int64_t unix_ms, int64_t utc_offset_min) {
  const int64_t local = unix_ms + utc_offset_min * 60'000;
  int64_t day = local / kDayMs;
  if (local % kDayMs < 0) --day;  // floor, also before 1970
  return day;
}

// The first instant (Unix ms) of clinic day `day`.
inline int64_t day_start_ms(int64_t day, int64_t utc_offset_min) {
  return day * kDayMs - utc_offset_min * 60'000;
}

// "+09:00" / "-03:30" / "+00:00" -> minutes within [-12:00, +14:00]; nullopt otherwise.
inline std::optional<int64_t> parse_utc_offset(std::string_view s) {
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') return std::nullopt;
  auto digit = [&](size_t i) { return s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1; };
  const int h1 = digit(1), h2 = digit(2), m1 = digit(4), m2 = digit(5);
  if (h1 < 0 || h2 < 0 || m1 < 0 || m2 < 0) return std::nullopt;
  const int64_t hours = h1 * 10 + h2, minutes = m1 * 10 + m2;
  if (minutes >= 60) return std::nullopt;
  const int64_t total = (s[0] == '-' ? -1 : 1) * (hours * 60 + minutes);
  if (total < kOffsetMinMinutes || total > kOffsetMaxMinutes) return std::nullopt;
  return total;
}

inline std::string format_utc_offset(int64_t minutes) {
  const char sign = minutes < 0 ? '-' : '+';
  const int64_t m = minutes < 0 ? -minutes : minutes;
  char out[8];
  out[0] = sign;
  out[1] = static_cast<char>('0' + m / 600);
  out[2] = static_cast<char>('0' + m / 60 % 10);
  out[3] = ':';
  out[4] = static_cast<char>('0' + m % 60 / 10);
  out[5] = static_cast<char>('0' + m % 10);
  return std::string(out, 6);
}

// Day number <-> "YYYY-MM-DD" (proleptic Gregorian, days since 1970-01-01;
// Howard Hinnant's civil-date algorithms).
inline std::string format_day(int64_t day) {
  int64_t z = day + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char out[16];
  if (y < 0 || y > 9999) return "0000-00-00";
  out[0] = static_cast<char>('0' + y / 1000);
  out[1] = static_cast<char>('0' + y / 100 % 10);
  out[2] = static_cast<char>('0' + y / 10 % 10);
  out[3] = static_cast<char>('0' + y % 10);
  out[4] = '-';
  out[5] = static_cast<char>('0' + m / 10);
  out[6] = static_cast<char>('0' + m % 10);
  out[7] = '-';
  out[8] = static_cast<char>('0' + d / 10);
  out[9] = static_cast<char>('0' + d % 10);
  return std::string(out, 10);
}

// "YYYY-MM-DD" -> day number; nullopt when malformed or not a real date.
inline std::optional<int64_t> parse_day(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  int64_t v[3] = {0, 0, 0};
  const size_t starts[3] = {0, 5, 8}, lens[3] = {4, 2, 2};
  for (int k = 0; k < 3; ++k) {
    for (size_t i = starts[k]; i < starts[k] + lens[k]; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v[k] = v[k] * 10 + (s[i] - '0');
    }
  }
  const int64_t y0 = v[0], m = v[1], d = v[2];
  if (m < 1 || m > 12 || d < 1) return std::nullopt;
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y0 % 4 == 0 && y0 % 100 != 0) || y0 % 400 == 0;
  if (d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) return std::nullopt;
  const int64_t y = m <= 2 ? y0 - 1 : y0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace reservoir::clinic_time
