// Follower: tails the event log and applies it to a view store (view_store.h:
// the concert Projections, or another domain's store) on its own thread, so
// queries can wait for read-your-writes: a query first waits until applied()
// reaches the offset acknowledged before it arrived.
//
// The server raises the thread's priority (Options::raise_priority): at
// normal priority, under full command load, it got so little of the 2
// cores that events took 50-100 ms (p50) and 500-1000 ms (p99) to become
// visible under booking load; raised, the p50 is 1-2 ms and the p99 mostly
// 2-10 ms, with some runs at 100-200 ms (docs/BENCHMARKS.md, "Changes that mattered").
//
// Thread safety: start()/stop() from the owner thread; applied() and
// wait_applied() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "events/event_log.h"
#include "events/os.h"
#include "projections/lag_histogram.h"
#include "projections/view_store.h"

namespace reservoir::projections {

struct FollowerOptions {
  Clock* clock = nullptr;       // when set, lag() counts every applied event's lag
  bool raise_priority = false;  // run ahead of ordinary threads (events/os.h)
  // The thread's name (top, perf, gdb): one follower per domain in a
  // process; the kernel keeps the first 15 bytes.
  std::string thread_name = "rsv-follower";
};

class Follower {
 public:
  static constexpr size_t kBatchEventsMax = 4096;             // events per RocksDB WriteBatch
  static constexpr std::chrono::milliseconds kIdlePoll{100};  // longest wait for new events

  using Options = FollowerOptions;
  Follower(EventLog& log, ViewStore& views, Options options = {});
  ~Follower();  // stops

  // Starts the thread, applying from views.checkpoint().
  void start();
  // Applies what is in the log up to its end_offset() at the time of the
  // call, then stops the thread (at once if the follower stopped on an error).
  // Waking an idle follower may take up to one poll interval (kIdlePoll)
  // unless the owner closes the log's waiters first.
  void stop();

  // The next offset to apply: every event below it is visible to queries.
  uint64_t applied() const { return applied_.load(std::memory_order_acquire); }

  // Blocks until applied() >= offset or the timeout; true when reached.
  bool wait_applied(uint64_t offset, std::chrono::milliseconds timeout);

  const LagHistogram& lag() const { return lag_; }

  // The decision time (Unix ms) of the oldest event read but not yet
  // applied, 0 when none is: a query replica's lag in time (SPEC §7).
  int64_t oldest_unapplied_ms() const {
    return oldest_unapplied_ms_.load(std::memory_order_acquire);
  }

  // The last error that stopped the follower (OK while healthy). Transient
  // log errors (Unavailable, Busy) are retried after kIdlePoll instead.
  Status error() const;

 private:
  void run();
  // Blocks until the log may have events beyond `next`, for at most kIdlePoll.
  void idle(uint64_t next);
  // Sleeps for `d`, or until stop().
  void nap(std::chrono::steady_clock::duration d);
  void publish(uint64_t next);
  void count_lag(const std::vector<EventEnvelope>& batch);
  void fail(const Status& s);
  bool should_exit(uint64_t next, bool log_drained);

  EventLog& log_;
  ViewStore& views_;
  const Options options_;
  LagHistogram lag_;
  std::atomic<uint64_t> applied_{0};
  std::atomic<int64_t> oldest_unapplied_ms_{0};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Status error_;          // guarded by mu_
  uint64_t stop_at_ = 0;  // guarded by mu_: the log end when stop() was called
  std::thread thread_;
};

}  // namespace reservoir::projections
