#include "tools/demo.h"

namespace reservoir::tools {
namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr int64_t kStartHourMs = 19LL * 3600 * 1000;  // schedules start at 19:00 UTC
constexpr int64_t kDemoBalance = 500000;
// The numeric catalog of SPEC §5.1 ("Amendment to §3 — demo"): what seeds
// 001 and 002's examples expect of a fresh demo.
constexpr int64_t kNumericBalance = 100000;
constexpr int64_t kNumericSeats = 50;

concert::ScheduleInput demo_schedule(const std::string& id, int64_t starts_at) {
  concert::ScheduleInput s{id, starts_at, {}};
  const char rows[] = {'A', 'B', 'C', 'D', 'E'};
  for (int r = 0; r < 5; ++r) {
    for (int n = 1; n <= 10; ++n) {
      const int64_t price = r < 2 ? 150000 : r < 4 ? 100000 : 50000;
      s.seats.push_back({std::string(1, rows[r]) + std::to_string(n), r * 10 + n, price});
    }
  }
  return s;
}

// Seats "1".."50", seat n numbered n; seed 002's [10, 11] costs 25000, and
// seed 001's 50000 seats exist. Open at once (opens_at 0).
concert::ScheduleInput numeric_schedule(const std::string& id, int64_t starts_at) {
  concert::ScheduleInput s{id, starts_at, {}};
  for (int64_t n = 1; n <= kNumericSeats; ++n) {
    const int64_t price = n <= 10 ? 10000 : n <= 20 ? 15000 : 50000;
    s.seats.push_back({std::to_string(n), n, price});
  }
  return s;
}

}  // namespace

Result<std::vector<std::string>> load_demo(api::ConcertWriter& writer, int64_t now_ms) {
  const std::vector<std::string> users = {"alice", "bob", "carol"};
  const std::vector<std::string> numeric_users = {"1", "2", "3"};
  // Schedules start at 19:00 UTC, 30 and 31 days from now.
  const int64_t day = (now_ms / kDayMs + 30) * kDayMs + kStartHourMs;
  std::vector<concert::Command> commands;
  for (const auto& u : users) commands.push_back(concert::RegisterUser{u, "Demo " + u});
  for (const auto& u : numeric_users) commands.push_back(concert::RegisterUser{u, "Demo " + u});
  commands.push_back(concert::CreateConcert{
      "demo-concert",
      "Reservoir Live",
      {demo_schedule("demo-schedule-1", day), demo_schedule("demo-schedule-2", day + kDayMs)}});
  commands.push_back(concert::CreateConcert{
      "1", "콘서트", {numeric_schedule("1", day), numeric_schedule("2", day + kDayMs)}});
  for (const auto& u : users) commands.push_back(concert::ChargeBalance{u, kDemoBalance});
  for (const auto& u : numeric_users) {
    commands.push_back(concert::ChargeBalance{u, kNumericBalance});
  }
  for (auto& c : commands) {
    Rendered r = writer.execute(std::move(c));
    if (r.status != 200) return Status::IOError("demo data refused: " + r.body);
  }
  std::vector<std::string> all = users;
  all.insert(all.end(), numeric_users.begin(), numeric_users.end());
  return all;
}

}  // namespace reservoir::tools
