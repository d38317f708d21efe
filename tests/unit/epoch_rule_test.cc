// The reader rule of writer epochs (events/epoch_rule.h), which KafkaLog's
// scan and confirmation and the simulator's shared log all call.
#include <doctest/doctest.h>

#include <vector>

#include "events/epoch_rule.h"

namespace {

using reservoir::epoch_fences;
using reservoir::epoch_verdicts;
using reservoir::EpochHeader;
using reservoir::EpochVerdict;

constexpr auto kValid = EpochVerdict::kValid;
constexpr auto kVoid = EpochVerdict::kVoid;
constexpr auto kTakeover = EpochVerdict::kTakeover;
constexpr auto kLostRace = EpochVerdict::kLostRace;

EpochHeader batch(uint64_t epoch) {
  return {epoch, false};
}
EpochHeader marker(uint64_t epoch) {
  return {epoch, true};
}

TEST_CASE("epoch rule: a log without markers is valid throughout, epoch 0 included") {
  CHECK(epoch_verdicts({batch(0), batch(0), batch(0)}) ==
        std::vector<EpochVerdict>{kValid, kValid, kValid});
  CHECK(epoch_verdicts({}).empty());
}

TEST_CASE("epoch rule: after a takeover marker the old writer's batches are void") {
  // Given writer 1's batches, a marker of epoch 2, then a late batch of writer 1
  // (paused while the standby took over) and writer 2's batch,
  const auto v = epoch_verdicts({marker(1), batch(1), marker(2), batch(1), batch(2), batch(1)});
  // then every batch of epoch 1 after the marker is void, the rest valid.
  CHECK(v == std::vector<EpochVerdict>{kTakeover, kValid, kTakeover, kVoid, kValid, kVoid});
}

TEST_CASE("epoch rule: a batch appended before the marker stays valid") {
  // The old writer's batch landed, then it paused before confirming: the marker follows it.
  CHECK(epoch_verdicts({batch(0), batch(0), marker(1), batch(1)}) ==
        std::vector<EpochVerdict>{kValid, kValid, kTakeover, kValid});
}

TEST_CASE("epoch rule: of two markers racing to one epoch, the first wins") {
  const auto v = epoch_verdicts({marker(1), marker(2), marker(2), batch(2), marker(1), batch(1)});
  CHECK(v == std::vector<EpochVerdict>{kTakeover, kTakeover, kLostRace, kValid, kLostRace, kVoid});
}

TEST_CASE("epoch rule: a batch above the highest valid epoch is read") {
  // A writer restarted after a takeover writes at the epoch it read; a higher
  // epoch without its marker (not written by us) is not voided either.
  CHECK(epoch_verdicts({marker(3), batch(3), batch(4)}) ==
        std::vector<EpochVerdict>{kTakeover, kValid, kValid});
}

TEST_CASE("epoch rule: a writer is fenced only by a marker above its epoch") {
  CHECK(epoch_fences(1, 2, true));
  CHECK_FALSE(epoch_fences(2, 2, true));  // its own marker, or one that lost to it
  CHECK_FALSE(epoch_fences(1, 1, true));
  CHECK_FALSE(epoch_fences(1, 5, false));  // batches never fence
}

}  // namespace
