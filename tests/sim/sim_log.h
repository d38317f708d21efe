// SimLog and SimSnapshots: an in-memory EventLog and SnapshotStore whose
// faults the deterministic simulator (simulation.h) plans, one append at a
// time, from its seed. They model what the real logs can do to the writer
// (events/event_log.h, embedded_log.h, kafka_log.h):
//
//   kNone          the batch is durable, OK
//   kFail          the write fails cleanly: IOError, nothing stored
//   kUnknown       a commit of unknown outcome (Kafka timeout): Unavailable;
//                  the batch is pending, invisible to readers; settle()
//                  fails `settle_failures` times, then lands it or drops it
//                  as planned (`lands`), and only then may the writer append
//   kAnswerLost    the batch is durable but the answer was lost: Unavailable
//   kFsyncFail     fdatasync failed: IOError, and the log refuses appends
//                  and settle() until it is reopened (restart()); the batch
//                  is on disk after the restart or not, as planned
//   kCrashDuring   the process dies mid-append (a torn record): the caller
//                  must discard the writer; restart() keeps the batch whole
//                  (every byte reached the disk) or truncates it (torn), as
//                  planned: never part of it
//   kCrashAfter    the process dies after the batch is durable, before any
//                  answer leaves it
// `slow_ms` (any fault): a slow fsync; the simulated clock moves on that much
// during the append, so the next batch finds holds and tokens expired.
// `read_failures`: the next reads fail (a recovery attempt fails).
//
// Snapshots: save() may fail (nothing stored) or tear (stored, but load()
// answers Corruption, as FileSnapshotStore does for a file that fails its
// CRC), as planned per save; the newest kKeepMax are kept, like the file store.
//
// Thread safety: every member under one mutex (recovery reads on a reader
// thread, events/replay.h); plan_*() and restart() from the simulator's
// thread while the writer is not inside the log.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/snapshot_store.h"
#include "events/event_log.h"
#include "events/os.h"
#include "events/status.h"

namespace reservoir::sim {

enum class AppendFault {
  kNone,
  kFail,
  kUnknown,
  kAnswerLost,
  kFsyncFail,
  kCrashDuring,
  kCrashAfter,
};
inline constexpr int kAppendFaultKinds = 7;

inline const char* fault_name(AppendFault f) {
  static const char* const kNames[kAppendFaultKinds] = {
      "none", "fail", "unknown", "answer-lost", "fsync-fail", "crash-during", "crash-after"};
  return kNames[static_cast<int>(f)];
}

struct AppendPlan {
  AppendFault fault = AppendFault::kNone;
  bool lands = false;       // kUnknown, kFsyncFail, kCrashDuring: durable in the end?
  int settle_failures = 0;  // kUnknown: settle() calls that fail before it decides
  int64_t slow_ms = 0;      // simulated time the append takes
};

class SimLog final : public EventLog {
 public:
  explicit SimLog(ManualClock* clock) : clock_(clock) {}

  // The next append() suffers `plan` (later ones: kNone until planned again).
  void plan_append(AppendPlan plan) {
    std::lock_guard lock(mu_);
    plan_ = plan;
  }
  void fail_reads(int n) {
    std::lock_guard lock(mu_);
    read_failures_ = n;
  }

  Status append(std::vector<EventEnvelope>& batch) override {
    std::lock_guard lock(mu_);
    const AppendPlan plan = plan_;
    plan_ = AppendPlan{};
    ++appends_;
    if (crashed_) return Status::IOError("sim: the process is dead");
    if (broken_) return Status::IOError("sim: an earlier fdatasync failed; reopen the log");
    if (pending_) return Status::Unavailable("sim: an earlier commit is not settled");
    if (plan.slow_ms > 0) clock_->advance_ms(plan.slow_ms);
    switch (plan.fault) {
      case AppendFault::kNone:
        land(batch);
        return Status::OK();
      case AppendFault::kFail:
        return Status::IOError("sim: write failed");
      case AppendFault::kUnknown:
        pending_ = batch;
        pending_lands_ = plan.lands;
        settle_failures_ = plan.settle_failures;
        return Status::Unavailable("sim: commit outcome unknown");
      case AppendFault::kAnswerLost:
        land(batch);
        return Status::Unavailable("sim: committed, but the answer was lost");
      case AppendFault::kFsyncFail:
        broken_ = true;
        if (plan.lands) on_disk_ = batch;
        return Status::IOError("sim: fdatasync failed");
      case AppendFault::kCrashDuring:
        crashed_ = true;
        if (plan.lands) on_disk_ = batch;
        return Status::IOError("sim: crashed during the append");
      case AppendFault::kCrashAfter:
        crashed_ = true;
        land(batch);
        return Status::IOError("sim: crashed after the append");
    }
    return Status::IOError("sim: unknown fault");
  }

  Status settle() override {
    std::lock_guard lock(mu_);
    if (crashed_) return Status::IOError("sim: the process is dead");
    if (broken_) return Status::IOError("sim: an earlier fdatasync failed; reopen the log");
    if (!pending_) return Status::OK();
    if (settle_failures_ > 0) {
      --settle_failures_;
      return Status::Unavailable("sim: commit outcome still unknown");
    }
    if (pending_lands_) land(*pending_);
    pending_.reset();
    return Status::OK();
  }

  uint64_t end_offset() const override {
    std::lock_guard lock(mu_);
    return events_.size();
  }

  Status read(uint64_t from, size_t max_events, std::vector<EventEnvelope>* out) override {
    std::lock_guard lock(mu_);
    if (read_failures_ > 0) {
      --read_failures_;
      return Status::IOError("sim: read failed");
    }
    for (uint64_t i = from; i < events_.size() && i - from < max_events; ++i) {
      out->push_back(events_[i]);
    }
    return Status::OK();
  }

  uint64_t wait_beyond(uint64_t /*offset*/, std::chrono::milliseconds /*timeout*/) override {
    return end_offset();  // nobody follows a simulated log
  }
  void close_waiters() override {}

  // A new process opens the log: what the dead or broken one left on disk
  // is decided now (a pending commit settles as planned; a torn record is
  // truncated; a whole one is kept).
  void restart() {
    std::lock_guard lock(mu_);
    if (on_disk_) land(*on_disk_);
    if (pending_ && pending_lands_) land(*pending_);
    on_disk_.reset();
    pending_.reset();
    crashed_ = broken_ = false;
    settle_failures_ = read_failures_ = 0;
    plan_ = AppendPlan{};
  }

  bool crashed() const {
    std::lock_guard lock(mu_);
    return crashed_;
  }
  bool broken() const {
    std::lock_guard lock(mu_);
    return broken_;
  }
  // Durable events [from, end).
  std::vector<EventEnvelope> since(uint64_t from) const {
    std::lock_guard lock(mu_);
    return {events_.begin() + static_cast<std::ptrdiff_t>(std::min<uint64_t>(from, events_.size())),
            events_.end()};
  }
  uint64_t appends() const {
    std::lock_guard lock(mu_);
    return appends_;
  }

 private:
  void land(std::vector<EventEnvelope>& batch) {
    for (auto& env : batch) {
      env.offset = events_.size();
      events_.push_back(env);
    }
  }

  mutable std::mutex mu_;
  ManualClock* clock_;
  std::vector<EventEnvelope> events_;  // durable
  AppendPlan plan_;
  std::optional<std::vector<EventEnvelope>> pending_;  // kUnknown, not settled yet
  bool pending_lands_ = false;
  int settle_failures_ = 0;
  std::optional<std::vector<EventEnvelope>> on_disk_;  // whole on disk, found by restart()
  bool crashed_ = false;
  bool broken_ = false;
  int read_failures_ = 0;
  uint64_t appends_ = 0;
};

enum class SaveFault { kNone, kFail, kTear };

class SimSnapshots final : public SnapshotStore {
 public:
  static constexpr size_t kKeepMax = 2;

  void plan_save(SaveFault f) {
    std::lock_guard lock(mu_);
    plan_ = f;
  }

  Status save(uint64_t offset, const std::string& bytes) override {
    std::lock_guard lock(mu_);
    const SaveFault f = plan_;
    plan_ = SaveFault::kNone;
    if (f == SaveFault::kFail) return Status::IOError("sim: snapshot write failed");
    stored_[offset] = Stored{bytes, f == SaveFault::kTear};
    while (stored_.size() > kKeepMax) stored_.erase(stored_.begin());
    ++saved_;
    return Status::OK();
  }

  std::vector<uint64_t> list() const override {
    std::lock_guard lock(mu_);
    std::vector<uint64_t> out;
    for (auto it = stored_.rbegin(); it != stored_.rend(); ++it) out.push_back(it->first);
    return out;
  }

  Result<std::string> load(uint64_t offset) const override {
    std::lock_guard lock(mu_);
    auto it = stored_.find(offset);
    if (it == stored_.end()) return Status::NotFound("sim: no such snapshot");
    if (it->second.torn) return Status::Corruption("sim: snapshot fails its checksum");
    return it->second.bytes;
  }

  uint64_t saved() const {
    std::lock_guard lock(mu_);
    return saved_;
  }

 private:
  struct Stored {
    std::string bytes;
    bool torn = false;
  };
  mutable std::mutex mu_;
  SaveFault plan_ = SaveFault::kNone;
  std::map<uint64_t, Stored> stored_;
  uint64_t saved_ = 0;
};

}  // namespace reservoir::sim
