#include "projections/follower.h"

#include <cassert>
#include <cstdio>
#include <vector>

#include "events/oplog.h"

namespace reservoir::projections {

namespace {

// A log that is briefly unreachable (a Kafka broker failing over) is waited
// out; anything else (corruption) stops the follower for an operator to see.
bool transient(const Status& s) {
  return s.code() == Status::Code::kUnavailable || s.code() == Status::Code::kBusy;
}

}  // namespace

Follower::Follower(EventLog& log, ViewStore& views, Options options)
    : log_(log), views_(views), options_(options), applied_(views.checkpoint()) {}

Follower::~Follower() {
  stop();
}

void Follower::start() {
  assert(!thread_.joinable());
  {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = Status::OK();
    applied_.store(views_.checkpoint(), std::memory_order_release);
    stopping_.store(false, std::memory_order_release);
  }
  thread_ = std::thread([this] { run(); });
}

void Follower::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_at_ = log_.end_offset();
    stopping_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
  thread_.join();
}

bool Follower::wait_applied(uint64_t offset, std::chrono::milliseconds timeout) {
  if (applied() >= offset) return true;  // the common case takes no lock
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return applied() >= offset; });
}

Status Follower::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

void Follower::run() {
  name_this_thread(options_.thread_name.c_str());
  if (options_.raise_priority) {
    const std::string got = raise_this_thread_priority();
    oplog::log_event(oplog::Level::kInfo, "thread_priority",
                     {{"thread", options_.thread_name}, {"priority", got}});
  }
  std::vector<EventEnvelope> batch;
  batch.reserve(kBatchEventsMax);
  uint64_t next = applied();
  bool log_down = false;  // reported once per outage, not once per retry
  for (;;) {
    batch.clear();
    if (Status s = log_.read(next, kBatchEventsMax, &batch); !s.ok()) {
      if (!transient(s)) return fail(s);
      if (!log_down) {
        oplog::log_event(oplog::Level::kWarn, "log_unavailable",
                         {{"thread", options_.thread_name}, {"error", s.ToString()}});
      }
      log_down = true;
      if (should_exit(next, /*log_drained=*/true)) return;
      nap(kIdlePoll);
      continue;
    }
    log_down = false;
    if (batch.empty()) {
      if (should_exit(next, /*log_drained=*/true)) return;
      idle(next);
      continue;
    }
    oldest_unapplied_ms_.store(batch.front().time_ms, std::memory_order_release);
    if (Status s = views_.apply_batch(batch); !s.ok()) return fail(s);
    next += batch.size();
    publish(next);
    oldest_unapplied_ms_.store(0, std::memory_order_release);
    count_lag(batch);
    if (should_exit(next, /*log_drained=*/false)) return;
  }
}

// Exits once stop() was called and everything the log held then is applied,
// or the log has nothing more to give (so a stop never spins).
bool Follower::should_exit(uint64_t next, bool log_drained) {
  if (!stopping_.load(std::memory_order_acquire)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return log_drained || next >= stop_at_;
}

void Follower::idle(uint64_t next) {
  const auto start = std::chrono::steady_clock::now();
  if (log_.wait_beyond(next, kIdlePoll) > next) return;
  // Nothing new: either the poll timed out, or the log's waiters are closed
  // (shutdown) and wait_beyond returns at once; then nap here for the rest
  // of the poll, so the loop does not spin, waking early on stop().
  nap(kIdlePoll - (std::chrono::steady_clock::now() - start));
}

void Follower::nap(std::chrono::steady_clock::duration d) {
  if (d <= std::chrono::steady_clock::duration::zero()) return;
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [&] { return stopping_.load(std::memory_order_acquire); });
}

// Publishing under mu_ means a waiter that has just seen the old value is
// already waiting on cv_ when notify_all runs, so no wake-up is lost.
void Follower::publish(uint64_t next) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    applied_.store(next, std::memory_order_release);
  }
  cv_.notify_all();
}

// Events of one batch share a few distinct times (one per writer batch),
// so runs of equal times are counted at once.
void Follower::count_lag(const std::vector<EventEnvelope>& batch) {
  if (options_.clock == nullptr || batch.empty()) return;
  const int64_t now = options_.clock->now_ms();
  size_t run_start = 0;
  for (size_t i = 1; i <= batch.size(); ++i) {
    if (i < batch.size() && batch[i].time_ms == batch[run_start].time_ms) continue;
    lag_.record(now - batch[run_start].time_ms, i - run_start);
    run_start = i;
  }
}

void Follower::fail(const Status& s) {
  oplog::log_event(oplog::Level::kError, "follower_stopped",
                   {{"thread", options_.thread_name},
                    {"offset", std::to_string(applied())},
                    {"error", s.ToString()}});
  std::lock_guard<std::mutex> lock(mu_);
  error_ = s;
}

}  // namespace reservoir::projections
