// The reader rule of writer epochs (docs/KAFKA.md, "Failover: epochs and
// takeover markers"; docs/SCALING.md, "Why no acknowledged command is lost
// or decided twice"), as pure functions of message headers, so that every
// reader of a log applies the same rule: KafkaLog's scan, its writer's
// confirmation of a batch, and the deterministic simulator (tests/sim).
//
// A log is a sequence of messages in one total order. Each carries its
// writer's epoch; a takeover marker carries the epoch it claims. Walking the
// sequence with the highest valid epoch so far (0 at the start):
//   - a marker whose epoch is above it is valid: it becomes the highest;
//   - a marker whose epoch is not above it lost a race: ignored;
//   - any other message whose epoch is below it is void (written by a
//     fenced writer): skipped by every reader, as if aborted;
//   - any other message is valid.
// A writer at epoch E may acknowledge a batch only if no marker with an
// epoch above E precedes it (epoch_fences): such a marker makes the batch
// void, or, if it lost its own race, another valid one above E precedes it.
//
// Thread safety: pure functions; any thread.
#pragma once

#include <cstdint>
#include <vector>

namespace reservoir {

enum class EpochVerdict {
  kValid,     // a message of events: read it
  kVoid,      // a message of a fenced writer: skip it
  kTakeover,  // a valid marker: its epoch is the highest valid one from here on
  kLostRace,  // a marker at or below the highest valid epoch: ignored
};

// The verdict on one message, given the highest valid epoch before it.
inline EpochVerdict epoch_verdict(uint64_t highest_valid, uint64_t epoch, bool marker) {
  if (marker) return epoch > highest_valid ? EpochVerdict::kTakeover : EpochVerdict::kLostRace;
  return epoch < highest_valid ? EpochVerdict::kVoid : EpochVerdict::kValid;
}

// Whether a message seen before a writer's batch fences that writer (its
// batch is void or another's marker won): a marker above its epoch.
inline bool epoch_fences(uint64_t write_epoch, uint64_t epoch, bool marker) {
  return marker && epoch > write_epoch;
}

struct EpochHeader {
  uint64_t epoch = 0;
  bool marker = false;
};

// The verdicts on a whole sequence of messages, in order.
std::vector<EpochVerdict> epoch_verdicts(const std::vector<EpochHeader>& messages);

}  // namespace reservoir
