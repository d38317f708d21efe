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
// Failover (simulation.h, SimConfig::failover): every node's SimLog is a
// handle on one SimDisk, the shared partition: messages in one total order,
// each with its writer's epoch, filtered for every reader by the same epoch
// rule as KafkaLog's (events/epoch_rule.h): readers see only valid events,
// numbered 0, 1, 2, ... A handle appends at its write epoch; take_over()
// commits a marker with epoch = highest valid + 1 (a `serve --ha` writer
// at start, a standby taking over). With confirm_appends (an --ha writer)
// append() returns Fenced, nothing acknowledged, when a marker above its
// epoch precedes its batch, as KafkaLog::confirm() does. A planned pause
// runs a hook (the other node's takeover and batches) in the middle of an
// append, before the batch lands or after it landed but before it is
// confirmed: the paused process resumes when the hook returns. Kafka's
// transactional.id fencing is not modelled (as on the mock): only epochs
// keep two writers apart, the stricter case.
//
// Snapshots: save() may fail (nothing stored) or tear (stored, but load()
// answers Corruption, as FileSnapshotStore does for a file that fails its
// CRC), as planned per save; the newest kKeepMax are kept, like the file store.
//
// Thread safety: every member under one mutex (recovery reads on a reader
// thread, events/replay.h); plan_*() and restart() from the simulator's
// thread while the writer is not inside the log. SimDisk: under its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/snapshot_store.h"
#include "events/epoch_rule.h"
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

// The shared partition of the failover mode (and a single writer's log):
// every message in order, and the valid events the epoch rule leaves.
class SimDisk {
 public:
  // Adds a message at the end; its events get offsets when it is valid.
  // Returns its index.
  size_t add(uint64_t epoch, bool marker, std::vector<EventEnvelope>* batch) {
    std::lock_guard lock(mu_);
    const EpochVerdict v = epoch_verdict(highest_, epoch, marker);
    headers_.push_back(EpochHeader{epoch, marker});
    verdicts_.push_back(v);
    if (v == EpochVerdict::kTakeover) highest_ = epoch;
    if (v == EpochVerdict::kVoid) ++voided_;
    if (v == EpochVerdict::kValid && batch != nullptr) {
      for (auto& env : *batch) {
        env.offset = events_.size();
        events_.push_back(env);
      }
    }
    return headers_.size() - 1;
  }
  // Whether a message in [from, to) fences a writer at `write_epoch`.
  bool fenced(size_t from, size_t to, uint64_t write_epoch) const {
    std::lock_guard lock(mu_);
    for (size_t i = from; i < to && i < headers_.size(); ++i) {
      if (epoch_fences(write_epoch, headers_[i].epoch, headers_[i].marker)) return true;
    }
    return false;
  }
  EpochVerdict verdict(size_t index) const {
    std::lock_guard lock(mu_);
    return verdicts_[index];
  }
  uint64_t highest_epoch() const {
    std::lock_guard lock(mu_);
    return highest_;
  }
  size_t messages() const {
    std::lock_guard lock(mu_);
    return headers_.size();
  }
  uint64_t voided() const {
    std::lock_guard lock(mu_);
    return voided_;
  }
  uint64_t end() const {
    std::lock_guard lock(mu_);
    return events_.size();
  }
  void read(uint64_t from, size_t max_events, std::vector<EventEnvelope>* out) const {
    std::lock_guard lock(mu_);
    for (uint64_t i = from; i < events_.size() && i - from < max_events; ++i) {
      out->push_back(events_[i]);
    }
  }
  std::vector<EventEnvelope> since(uint64_t from) const {
    std::lock_guard lock(mu_);
    return {events_.begin() + static_cast<std::ptrdiff_t>(std::min<uint64_t>(from, events_.size())),
            events_.end()};
  }

 private:
  mutable std::mutex mu_;
  std::vector<EpochHeader> headers_;
  std::vector<EpochVerdict> verdicts_;
  uint64_t highest_ = 0;
  uint64_t voided_ = 0;
  std::vector<EventEnvelope> events_;  // the valid ones, numbered in order
};

// Where a planned pause stops the appending process (failover mode).
enum class PausePoint {
  kNone,
  kBeforeLanding,  // the batch is decided; the process stops before it reaches the log
  kBeforeConfirm,  // the batch is in the log; the process stops before confirming it
};

class SimLog final : public EventLog {
 public:
  // `disk`: the shared partition (failover); nullptr: a disk of its own.
  explicit SimLog(ManualClock* clock, SimDisk* disk = nullptr)
      : clock_(clock),
        own_(disk == nullptr ? std::make_unique<SimDisk>() : nullptr),
        disk_(disk == nullptr ? own_.get() : disk) {}

  // An --ha writer's log: each append is confirmed before it returns OK.
  void confirm_appends() {
    std::lock_guard lock(mu_);
    confirm_ = true;
  }
  // Commits a takeover marker (highest valid epoch + 1) and writes at its
  // epoch from then on; a single simulated thread never loses the race.
  void take_over() {
    std::lock_guard lock(mu_);
    epoch_ = disk_->highest_epoch() + 1;
    confirmed_ = disk_->add(epoch_, true, nullptr) + 1;
    writing_ = true;
    end_ = disk_->end();  // read to the end after the marker
  }
  // The next kNone append pauses at `at` and runs `hook` (without the log's lock).
  void plan_pause(PausePoint at, std::function<void()> hook) {
    std::lock_guard lock(mu_);
    pause_ = at;
    hook_ = std::move(hook);
  }
  // The verdict on this handle's last message (kValid when it wrote none).
  EpochVerdict last_verdict() const {
    std::lock_guard lock(mu_);
    return last_ < 0 ? EpochVerdict::kValid : disk_->verdict(static_cast<size_t>(last_));
  }
  uint64_t epoch() const {
    std::lock_guard lock(mu_);
    return epoch_;
  }
  // A commit of unknown outcome waits for settle().
  bool pending() const {
    std::lock_guard lock(mu_);
    return pending_.has_value();
  }
  // The index of this handle's last message in the partition (-1: none).
  int64_t last_message() const {
    std::lock_guard lock(mu_);
    return last_;
  }

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
    std::unique_lock lock(mu_);
    const AppendPlan plan = plan_;
    plan_ = AppendPlan{};
    ++appends_;
    if (crashed_) return Status::IOError("sim: the process is dead");
    if (broken_) return Status::IOError("sim: an earlier fdatasync failed; reopen the log");
    if (pending_) return Status::Unavailable("sim: an earlier commit is not settled");
    if (plan.slow_ms > 0) clock_->advance_ms(plan.slow_ms);
    switch (plan.fault) {
      case AppendFault::kNone:
        return land_and_confirm(lock, batch);
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
    end_ = disk_->end();  // the tail re-read
    return Status::OK();
  }

  // A writer's log: the end as it last saw it (its own batch's end, as
  // KafkaLog publishes); a standby's: the partition's, as it polls.
  uint64_t end_offset() const override {
    std::lock_guard lock(mu_);
    return writing_ ? end_ : disk_->end();
  }

  Status read(uint64_t from, size_t max_events, std::vector<EventEnvelope>* out) override {
    std::lock_guard lock(mu_);
    if (read_failures_ > 0) {
      --read_failures_;
      return Status::IOError("sim: read failed");
    }
    disk_->read(from, max_events, out);
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
    pause_ = PausePoint::kNone;
    hook_ = nullptr;
    end_ = disk_->end();
  }

  bool crashed() const {
    std::lock_guard lock(mu_);
    return crashed_;
  }
  bool broken() const {
    std::lock_guard lock(mu_);
    return broken_;
  }
  // Durable (valid) events [from, end).
  std::vector<EventEnvelope> since(uint64_t from) const { return disk_->since(from); }
  SimDisk& disk() { return *disk_; }
  uint64_t appends() const {
    std::lock_guard lock(mu_);
    return appends_;
  }

 private:
  void land(std::vector<EventEnvelope>& batch) {
    last_ = static_cast<int64_t>(disk_->add(epoch_, false, &batch));
    end_ = disk_->end();
  }

  // kNone: lands the batch and, for an --ha writer, confirms it; a planned
  // pause lets the hook run before either.
  Status land_and_confirm(std::unique_lock<std::mutex>& lock, std::vector<EventEnvelope>& batch) {
    const PausePoint pause = std::exchange(pause_, PausePoint::kNone);
    std::function<void()> hook = std::exchange(hook_, nullptr);
    if (pause == PausePoint::kBeforeLanding) run_unlocked(lock, hook);
    land(batch);
    if (pause == PausePoint::kBeforeConfirm) run_unlocked(lock, hook);
    if (!confirm_) return Status::OK();
    const size_t mine = static_cast<size_t>(last_);
    if (disk_->fenced(confirmed_, mine, epoch_)) {
      return Status::Fenced("sim: a takeover marker above epoch " + std::to_string(epoch_) +
                            " precedes our batch; it is void");
    }
    confirmed_ = mine + 1;
    return Status::OK();
  }
  static void run_unlocked(std::unique_lock<std::mutex>& lock, const std::function<void()>& f) {
    if (!f) return;
    lock.unlock();
    f();
    lock.lock();
  }

  mutable std::mutex mu_;
  ManualClock* clock_;
  std::unique_ptr<SimDisk> own_;
  SimDisk* disk_;         // durable
  uint64_t epoch_ = 0;    // this writer's epoch, in every message it appends
  bool confirm_ = false;  // an --ha writer: confirm each batch
  size_t confirmed_ = 0;  // messages below this index were checked for markers
  int64_t last_ = -1;     // index of this handle's last message
  bool writing_ = false;  // took the log over: end_offset() is end_
  uint64_t end_ = 0;      // the end this writer last saw
  PausePoint pause_ = PausePoint::kNone;
  std::function<void()> hook_;
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
