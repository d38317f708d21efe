// SimReplica<Driver>: a query replica in the deterministic simulator
// (simulation.h, SimConfig::replica). Like `serve --role replica` it applies
// the log's valid events (SimDisk: the epoch rule's filter, the same for
// every reader) to a copy of its own, at its own pace, and answers queries
// that carry a Reservoir-Min-Offset only once it has applied that many
// events (api/service.cc's wait), else "503 after the wait".
//
// Its pace is drawn from the simulation's seed: each step it applies up to
// the log's end minus a lag of 0..lag_events_max events, sometimes stalls
// for a number of steps (a slow disk, a paused process), and sometimes
// restarts from its last checkpoint (the views are written without a WAL:
// a crash loses what was applied after the last flush, projections/
// clinic_views.h), so its applied offset goes back. During a query's wait
// a replica that is not stalled may catch up to the offset asked for.
//
// What an answered query is checked against: an independent checker
// (engine/audit) fed exactly the events the replica applied, so "the
// checker's view at the replica's applied offset" (Driver::check_queries),
// and the effects of the events it applied: a client that was acknowledged
// at offset N and asks with min-offset N must find its effect there
// (read-your-writes, docs/SCALING.md "Offsets in answers").
//
// The copy is the domain's Module applied event by event (the engine's
// pure apply), not the RocksDB views: the views' own equality with the
// writer's answers is tested by the integration tests (replica_test.cc).
//
// Thread safety: none; one per simulation.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "events/engine_events.h"
#include "sim_log.h"
#include "sim_random.h"

namespace reservoir::sim {

struct ReplicaStats {
  uint64_t answered = 0, unavailable = 0, read_your_writes = 0, stalls = 0, restarts = 0;
  uint64_t max_lag = 0;
};

template <class Driver>
class SimReplica {
 public:
  using Module = typename Driver::Module;
  static constexpr uint64_t kLagEventsMax = 24;  // behind the log's end at most, unless stalled

  SimReplica(const Driver& driver, const SimDisk& disk) : driver_(driver), disk_(disk) {
    reset_to(0, "");
  }

  // One step of the follower; "" or why the replica could not apply.
  std::string advance(SimRng& rng);

  // A query with Reservoir-Min-Offset `min_offset` (0: none); `effect`, if
  // not empty, was acknowledged at an offset <= min_offset. nullopt: 503
  // after the wait; else "" or what the answer got wrong.
  std::optional<std::string> query(SimRng& rng, uint64_t min_offset, const std::string& effect);

  uint64_t applied() const { return applied_; }
  const ReplicaStats& stats() const { return stats_; }

 private:
  std::string apply_to(uint64_t end);
  void reset_to(uint64_t offset, const std::string& bytes);

  const Driver& driver_;
  const SimDisk& disk_;
  std::unique_ptr<Module> module_;
  std::unique_ptr<typename Driver::Checker> checker_;
  std::set<std::string> effects_;  // of the events applied
  uint64_t applied_ = 0;
  uint64_t stalled_steps_ = 0;
  uint64_t checkpoint_ = 0;  // the last flush: offset and the copy's bytes
  std::string checkpoint_bytes_;
  ReplicaStats stats_;
};

template <class Driver>
std::string SimReplica<Driver>::advance(SimRng& rng) {
  const uint64_t end = disk_.end();
  stats_.max_lag = std::max(stats_.max_lag, end - applied_);
  if (stalled_steps_ > 0) {
    --stalled_steps_;
    return "";
  }
  if (rng.chance(8)) {
    ++stats_.stalls;
    stalled_steps_ = 1 + rng.below(30);
    return "";
  }
  if (rng.chance(5)) {  // killed: back to the last flushed checkpoint
    ++stats_.restarts;
    reset_to(checkpoint_, checkpoint_bytes_);
    return "";
  }
  const uint64_t lag = rng.below(kLagEventsMax + 1);
  const uint64_t target = end > lag ? end - lag : 0;
  std::string why = apply_to(std::max(applied_, target));
  if (why.empty() && rng.chance(50)) {
    checkpoint_ = applied_;
    checkpoint_bytes_ = module_->snapshot();
  }
  return why;
}

template <class Driver>
std::optional<std::string> SimReplica<Driver>::query(SimRng& rng, uint64_t min_offset,
                                                     const std::string& effect) {
  if (applied_ < min_offset && stalled_steps_ == 0 && rng.chance(500)) {
    std::string why = apply_to(std::min(min_offset, disk_.end()));  // caught up within the wait
    if (!why.empty()) return why;
  }
  if (applied_ < min_offset) {
    ++stats_.unavailable;
    return std::nullopt;
  }
  ++stats_.answered;
  std::string q = driver_.check_queries(*module_, *checker_);
  if (!q.empty()) {
    return "a replica at offset " + std::to_string(applied_) + " answered with " + q;
  }
  if (!effect.empty()) {
    ++stats_.read_your_writes;
    if (effects_.count(effect) == 0) {
      return "read-your-writes: a replica at offset " + std::to_string(applied_) + " (min-offset " +
             std::to_string(min_offset) + ") does not show " + effect;
    }
  }
  return std::string();
}

// Applies the log's events [applied_, end) to the copy and the checker.
template <class Driver>
std::string SimReplica<Driver>::apply_to(uint64_t end) {
  if (end <= applied_) return "";
  std::vector<EventEnvelope> batch;
  disk_.read(applied_, end - applied_, &batch);
  for (const auto& env : batch) {
    if (env.offset != applied_) return "the replica read offset " + std::to_string(env.offset);
    if (!checker_->feed(env).ok()) return "the replica's checker cannot decode an event";
    if (!events::EngineCatalog::knows(env.type)) {
      if (!module_->apply(env).ok()) {
        return "the replica cannot apply offset " + std::to_string(env.offset);
      }
      std::vector<std::string> keys;
      driver_.effects(env, keys);
      effects_.insert(keys.begin(), keys.end());
    }
    ++applied_;
  }
  return "";
}

// A replica process started from a checkpoint: the copy from its bytes, the
// checker and the effects from the log below it.
template <class Driver>
void SimReplica<Driver>::reset_to(uint64_t offset, const std::string& bytes) {
  module_ = driver_.make_module();
  if (!bytes.empty() && !module_->restore(bytes)) {
    offset = 0;  // an unreadable checkpoint: the replica rebuilds from the start
    module_ = driver_.make_module();
  }
  checker_ = std::make_unique<typename Driver::Checker>();
  effects_.clear();
  std::vector<EventEnvelope> below;
  disk_.read(0, offset, &below);
  for (const auto& env : below) {
    (void)checker_->feed(env);  // decoded once already, when first applied
    std::vector<std::string> keys;
    driver_.effects(env, keys);
    effects_.insert(keys.begin(), keys.end());
  }
  applied_ = offset;
  stalled_steps_ = 0;
}

}  // namespace reservoir::sim
