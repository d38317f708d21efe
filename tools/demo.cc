#include "tools/demo.h"

namespace reservoir::tools {
namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

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

}  // namespace

Result<std::vector<std::string>> load_demo(api::ConcertWriter& writer, int64_t now_ms) {
  const std::vector<std::string> users = {"alice", "bob", "carol"};
  // Schedules start at 19:00 UTC, 30 and 31 days from now.
  const int64_t day = (now_ms / kDayMs + 30) * kDayMs + 19 * 3600 * 1000;
  std::vector<concert::Command> commands;
  for (const auto& u : users) commands.push_back(concert::RegisterUser{u, "Demo " + u});
  commands.push_back(concert::CreateConcert{
      "demo-concert",
      "Reservoir Live",
      {demo_schedule("demo-schedule-1", day), demo_schedule("demo-schedule-2", day + kDayMs)}});
  for (const auto& u : users) commands.push_back(concert::ChargeBalance{u, 500000});
  for (auto& c : commands) {
    Rendered r = writer.execute(std::move(c));
    if (r.status != 200) return Status::IOError("demo data refused: " + r.body);
  }
  return users;
}

}  // namespace reservoir::tools
