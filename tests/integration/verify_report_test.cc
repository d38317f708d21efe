// `replay --verify`'s whole report, pinned line for line (only the timing
// figures of its first line vary), so the report's text stays as auditors'
// scripts read it when the checker or the tool changes shape. The log is
// written here with EmbeddedLog: no server is needed.
#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <vector>

#include "events/concert_events.h"
#include "events/embedded_log.h"
#include "events/envelope.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace reservoir::test {
namespace {

namespace ev = reservoir::events;

constexpr int64_t kT0 = 1'700'000'000'000;

// Writes `events` as the log under `data`, one event a batch.
void write_log(const std::string& data, const std::vector<ev::ConcertEvent>& events) {
  auto log = EmbeddedLog::open(data + "/log", EmbeddedLog::Mode::kReadWrite);
  REQUIRE_MESSAGE(log.ok(), log.status().ToString());
  int64_t t = kT0;
  for (const auto& e : events) {
    std::vector<EventEnvelope> batch = {ev::ConcertCatalog::encode(e, t++)};
    Status s = (*log)->append(batch);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
}

// The report with the first line's timing figures replaced by X.
std::string normalized(const std::string& out) {
  static const std::regex kTiming(R"(in [0-9.]+ s \([0-9]+ events/s\))");
  return std::regex_replace(out, kTiming, "in X s (X events/s)",
                            std::regex_constants::format_first_only);
}

TEST_CASE("replay --verify: the whole report of a log that holds every invariant") {
  TempDir dir;
  write_log(dir.path(), {ev::UserRegistered{"alice", "Alice"},
                         ev::BalanceCharged{"alice", 1000, 1000, kT0 + 1}});
  const RunResult r = run_reservoir({"replay", "--data", dir.path(), "--verify"});
  INFO("stderr: ", r.err);
  CHECK(r.status == 0);
  CHECK(normalized(r.out) ==
        "verify: checked 2 events in X s (X events/s)\n"
        "  invariant 1 (a seat belongs to at most one live reservation): holds\n"
        "  invariant 2 (balances stay in 0..10^12 and equal charges - payments + refunds): "
        "holds\n"
        "  invariant 3 (a reservation is paid at most once, by its owner, before expiresAt): "
        "holds\n"
        "  invariant 4 (at most --active-tokens ACTIVE tokens; no user with two live tokens): "
        "holds\n"
        "  invariant 5 (every command's events are in the log, whole (consecutive offsets, "
        "whole batches)): holds\n"
        "  invariant 6 (no hold before reservationOpensAt; reservation and payment numbers 1, "
        "2, 3, ...; tokenIds in [1, 2^53), unique): holds\n"
        "verify: OK\n");
}

TEST_CASE("replay --verify: the whole report of a log with violations") {
  TempDir dir;
  write_log(dir.path(),
            {ev::UserRegistered{"alice", "Alice"}, ev::BalanceCharged{"alice", 1000, 1000, kT0 + 1},
             ev::BalanceCharged{"alice", 500, 9999, kT0 + 2},
             ev::BalanceCharged{"nobody", 5, 5, kT0 + 3}});
  const RunResult r = run_reservoir({"replay", "--data", dir.path(), "--verify"});
  INFO("stderr: ", r.err);
  CHECK(r.status == 1);
  CHECK(normalized(r.out) ==
        "verify: checked 4 events in X s (X events/s)\n"
        "  invariant 1 (a seat belongs to at most one live reservation): holds\n"
        "  invariant 2 (balances stay in 0..10^12 and equal charges - payments + refunds): "
        "2 violation(s)\n"
        "  invariant 3 (a reservation is paid at most once, by its owner, before expiresAt): "
        "holds\n"
        "  invariant 4 (at most --active-tokens ACTIVE tokens; no user with two live tokens): "
        "holds\n"
        "  invariant 5 (every command's events are in the log, whole (consecutive offsets, "
        "whole batches)): holds\n"
        "  invariant 6 (no hold before reservationOpensAt; reservation and payment numbers 1, "
        "2, 3, ...; tokenIds in [1, 2^53), unique): holds\n"
        "VIOLATION offset 2 BalanceCharged: invariant 2: balanceAfter 9999 but charges - "
        "payments + refunds = 1500 for alice\n"
        "VIOLATION offset 3 BalanceCharged: invariant 2: money event for unknown user nobody\n"
        "verify: FAILED\n");
}

}  // namespace
}  // namespace reservoir::test
