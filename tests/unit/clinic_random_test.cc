// Randomized runs of the clinic domain (issue 14: "randomized runs whose
// every state passes the checker"): seeded streams of reserves, updates and
// cancels skewed toward collisions (few visitors, one small day, capacity
// zones of 1 and 2) go through clinic::Module::execute, exactly as the
// writer calls it; every event it emits is fed, in offset order, to the
// independent audit::ClinicChecker, which must find nothing. The runs must
// also both accept and refuse, or they prove little.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/audit/clinic_checker.h"
#include "engine/clinic/module.h"
#include "events/os.h"

namespace reservoir::clinic {
namespace {

constexpr int64_t kDay = 1'798'070'400'000;  // 2026-12-24T00:00:00Z
constexpr int64_t kSlotMs = 15 * 60'000;
constexpr int kSlots = 40;  // 10 hours of the day: crowded on purpose
constexpr int kVisitors = 5;
constexpr int kCommands = 3000;

struct Run {
  Module module{Module::Config{540}};
  audit::ClinicChecker checker;
  SeededRandom random;
  uint64_t offset = 0;
  int64_t now = kDay;
  int64_t day = kDay;  // the day resources() books on
  std::vector<std::string> schedules;
  int accepted = 0;
  int refused = 0;

  explicit Run(uint64_t seed) : random(seed) {}

  void feed(std::vector<EventEnvelope>& out) {
    for (auto& env : out) {
      env.offset = offset++;
      REQUIRE(checker.feed(env).ok());
    }
    out.clear();
  }
  Reply execute(const Command& c) {
    std::vector<EventEnvelope> out;
    Reply r = module.execute(c, ++now, random, out);
    feed(out);
    if (const auto* reserved = std::get_if<Reserved>(&r))
      schedules.push_back(reserved->schedule_id);
    if (std::holds_alternative<Refusal>(r)) ++refused;
    if (!std::holds_alternative<Refusal>(r) && !std::holds_alternative<DomainError>(r)) ++accepted;
    return r;
  }
  uint64_t pick(uint64_t n) {
    uint64_t v = 0;
    random.fill(&v, sizeof v);
    return v % n;
  }

  ResourceInput resource() {
    static const char* kZones[] = {"one", "two", "open", "open"};
    const int64_t start = day + static_cast<int64_t>(pick(kSlots)) * kSlotMs;
    const int64_t length = (1 + static_cast<int64_t>(pick(6))) * kSlotMs;
    return ResourceInput{start, start + length, "g", kZones[pick(4)], ""};
  }
  std::vector<ResourceInput> resources() {
    std::vector<ResourceInput> list;
    for (uint64_t n = 1 + pick(3); n > 0; --n) list.push_back(resource());
    return list;
  }
  Command next() {
    const uint64_t kind = pick(10);
    if (kind < 6 || schedules.empty()) {
      return Reserve{"v" + std::to_string(pick(kVisitors)),
                     "reception",
                     resources(),
                     {},
                     pick(2) == 0 ? Api::kV1 : Api::kV2};
    }
    const std::string& id = schedules[pick(schedules.size())];
    if (kind < 9) return Update{id, "reception", resources(), {}};
    return Cancel{id};
  }
};

void set_up(Run& run) {
  std::vector<EventEnvelope> out;
  run.module.start(run.now, out);
  run.feed(out);
  for (int v = 0; v < kVisitors; ++v) {
    run.execute(RegisterVisitor{"v" + std::to_string(v), "V"});
  }
  run.execute(CreateZone{"reception", "Reception", 0});
  run.execute(CreateZone{"one", "Capacity 1", 1});
  run.execute(CreateZone{"two", "Capacity 2", 2});
  run.execute(CreateZone{"open", "Unlimited", 0});
  run.execute(CreateGroup{"g", "All rooms", {"one", "two", "open"}});
  REQUIRE(run.accepted == kVisitors + 5);
}

TEST_CASE("clinic random: every state of a seeded run passes the independent checker") {
  for (uint64_t seed : {1u, 2u, 3u, 42u, 2026u}) {
    CAPTURE(seed);
    Run run(seed);
    set_up(run);
    for (int i = 0; i < kCommands; ++i) run.execute(run.next());
    CHECK(run.checker.violation_count() == 0);
    for (const auto& v : run.checker.violations()) {
      MESSAGE("offset " << v.offset << " " << v.event_type << " invariant " << v.invariant << ": "
                        << v.detail);
    }
    CHECK(run.checker.events_checked() == run.offset);
    // Both outcomes occur, so the run exercised the rules it checks.
    CHECK(run.accepted > 200);
    CHECK(run.refused > 500);
  }
}

// Months of bookings: the clock jumps days at a time and bookings land from
// 40 days back to 5 ahead, so the engine forgets schedules (state.h,
// "Retention") while commands still name them and book around them. A
// schedule forgotten too early would let an overlap or an overload through,
// which the checker (which forgets nothing) would report.
TEST_CASE("clinic random: months of bookings forget old schedules and pass the checker") {
  constexpr int64_t kDayMs = 24 * 3600'000;
  for (uint64_t seed : {7u, 8u, 9u}) {
    CAPTURE(seed);
    Run run(seed);
    set_up(run);
    for (int i = 0; i < kCommands; ++i) {
      if (i % 50 == 0) run.now += static_cast<int64_t>(1 + run.pick(4)) * kDayMs;
      const int64_t today = (run.now + 9 * 3600'000) / kDayMs * kDayMs - 9 * 3600'000;
      run.day = today + (static_cast<int64_t>(run.pick(46)) - 40) * kDayMs;
      run.execute(run.next());
    }
    CHECK(run.checker.violation_count() == 0);
    for (const auto& v : run.checker.violations()) {
      MESSAGE("offset " << v.offset << " invariant " << v.invariant << ": " << v.detail);
    }
    const State& st = run.module.state();
    size_t live_reserved = 0;
    for (Id s = 0; s < st.schedules.id_end(); ++s) {
      if (st.schedules.live(s) && st.schedules[s].status == ScheduleStatus::kReserved) {
        ++live_reserved;
      }
    }
    CHECK(live_reserved == run.checker.reserved_schedules_ending_after(st.horizon_ms));
    CHECK(st.horizon_ms > kDay);  // it forgot...
    CHECK(st.schedules.free_ids().size() + st.schedules.size() == st.schedules.id_end());
    CHECK(run.checker.reserved_schedules() > live_reserved);  // ...some RESERVED ones too
    CHECK(run.accepted > 200);
    CHECK(run.refused > 500);
  }
}

}  // namespace
}  // namespace reservoir::clinic
