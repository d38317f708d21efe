// BenchOptions: the flags of `reservoir bench` and their bounds. Every knob a
// user can turn is bounded here, so a typo cannot ask for a million threads or
// a day-long run.
//
// Thread safety: a value type, read-only once the run starts.
#pragma once

#include <cstdint>
#include <string>

namespace reservoir::tools::bench {

inline constexpr int64_t kConnectionsMax = 20000;
inline constexpr int64_t kDurationMaxMs = 60 * 60 * 1000;  // one hour
inline constexpr int64_t kCoreDurationMaxMs = 60 * 1000;   // core state grows ~1 KB per cycle
inline constexpr int64_t kRateMax = 10'000'000;            // requests/s, whole run
inline constexpr int64_t kUsersMax = 1'000'000;
inline constexpr int64_t kSchedulesMax = 2000;
// One schedule's seats go in one admin request, whose body must stay under the
// server's 64 KiB limit (about 42 bytes a seat).
inline constexpr int64_t kSeatsPerScheduleMax = 1000;
inline constexpr int64_t kMemoryCommandsMax = 100'000'000;
inline constexpr int64_t kMemoryDaysMax = 365;
inline constexpr int64_t kPairsMax = 50;  // --compare-dialect: runs of canonical and the dialect

struct BenchOptions {
  std::string url = "http://127.0.0.1:8080";
  std::string admin_key;
  std::string scenario = "booking";
  int64_t connections = 64;
  int64_t slow_connections = 1000;  // slowloris: clients trickling a head a byte a second
  int64_t duration_ms = 10 * 1000;
  int64_t warmup_ms = 2 * 1000;
  int64_t rate = 0;  // requests/s in total; 0: closed loop
  int64_t users = 10000;
  int64_t schedules = 200;
  int64_t seats_per_schedule = 500;
  int64_t seed = 1;
  bool json = false;
  bool compare = false;
  bool os_random = false;         // core: getrandom(2) ids like the server, not a seeded PRNG
  int64_t commands = 10'000'000;  // memory: commands in all
  int64_t days = 4;               // memory: simulated days the booking mix is spread over
  // SPEC §5's dialects (booking and charge): the flows' routes; set-up stays canonical.
  std::string dialect = "canonical";
  std::string dialect_url;      // the dialect's own listener; "" for --url
  std::string compare_dialect;  // "" for none; else canonical and it, alternately
  int64_t pairs = 3;
  std::string replica_url;  // replica: a query replica of the writer at `url` (SPEC §7)
};

}  // namespace reservoir::tools::bench
