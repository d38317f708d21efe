// MemoryLog: an in-memory EventLog (events/event_log.h) for tests, with knobs.
//
// Contract: implements EventLog exactly, minus durability: append() stores a
// batch atomically and assigns consecutive 0-based offsets; read() returns
// stored envelopes in offset order (fewer at the end); wait_beyond() blocks
// until end_offset() > offset, the timeout, or close_waiters().
//
// Knobs, each safe from any thread:
// - fail_next_append(): the next append() returns IOError and stores nothing.
// - store_then_fail_next_append(): the next append() stores its batch but
//   returns Unavailable (a commit whose answer was lost: it did happen).
// - set_read_failure(s) / clear_read_failure(): read() returns s meanwhile.
// - set_settle_result(s): settle() returns s (OK by default); settle_calls().
// - fence(): every later append() and settle() returns Fenced.
// - append_calls(), batch_sizes(): every append() call (failed ones too) and
//   the number of events it was given.
// - set_append_hook(f): f(batch) runs inside append(), before anything is
//   stored (and before a failure is injected), on the appending thread.
// - close_gate() / open_gate(): while the gate is closed, append() blocks on
//   entry (after being counted); blocked_appends() tells how many wait there.
//   A test holds an append this way and piles commands up behind it.
// - envelopes(): a copy of everything stored.
//
// Thread safety: every member from any thread. The hook runs without the
// log's lock held, so it may call the log's readers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "events/envelope.h"
#include "events/event_log.h"
#include "events/status.h"

namespace reservoir::test {

class MemoryLog final : public EventLog {
 public:
  using Hook = std::function<void(const std::vector<EventEnvelope>& batch)>;

  Status append(std::vector<EventEnvelope>& batch) override {
    Hook hook;
    {
      std::unique_lock lock(mu_);
      ++append_calls_;
      batch_sizes_.push_back(batch.size());
      ++blocked_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return gate_open_; });
      --blocked_;
      hook = hook_;
    }
    if (hook) hook(batch);
    std::lock_guard lock(mu_);
    if (fenced_) return Status::Fenced("injected: fenced by another writer");
    if (fail_next_) {
      fail_next_ = false;
      return Status::IOError("injected append failure");
    }
    for (auto& env : batch) {
      env.offset = events_.size();
      events_.push_back(env);
    }
    cv_.notify_all();
    if (store_then_fail_) {
      store_then_fail_ = false;
      return Status::Unavailable("injected: stored, but the answer was lost");
    }
    return Status::OK();
  }

  Status settle() override {
    std::lock_guard lock(mu_);
    ++settle_calls_;
    if (fenced_) return Status::Fenced("injected: fenced by another writer");
    return settle_result_;
  }

  uint64_t end_offset() const override {
    std::lock_guard lock(mu_);
    return events_.size();
  }

  Status read(uint64_t from, size_t max_events, std::vector<EventEnvelope>* out) override {
    std::lock_guard lock(mu_);
    if (!read_failure_.ok()) return read_failure_;
    for (uint64_t i = from; i < events_.size() && i - from < max_events; ++i) {
      out->push_back(events_[i]);
    }
    return Status::OK();
  }

  uint64_t wait_beyond(uint64_t offset, std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return closed_ || events_.size() > offset; });
    return events_.size();
  }

  void close_waiters() override {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }

  // --- knobs ---
  void fail_next_append() {
    std::lock_guard lock(mu_);
    fail_next_ = true;
  }
  void store_then_fail_next_append() {
    std::lock_guard lock(mu_);
    store_then_fail_ = true;
  }
  void set_read_failure(Status s) {
    std::lock_guard lock(mu_);
    read_failure_ = std::move(s);
  }
  void clear_read_failure() { set_read_failure(Status::OK()); }
  void set_settle_result(Status s) {
    std::lock_guard lock(mu_);
    settle_result_ = std::move(s);
  }
  size_t settle_calls() const {
    std::lock_guard lock(mu_);
    return settle_calls_;
  }
  void fence() {
    std::lock_guard lock(mu_);
    fenced_ = true;
  }
  void set_append_hook(Hook hook) {
    std::lock_guard lock(mu_);
    hook_ = std::move(hook);
  }
  void close_gate() {
    std::lock_guard lock(mu_);
    gate_open_ = false;
  }
  void open_gate() {
    std::lock_guard lock(mu_);
    gate_open_ = true;
    cv_.notify_all();
  }
  // Waits (bounded) until `n` appends are blocked at the closed gate.
  bool wait_blocked_appends(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return blocked_ >= n; });
  }
  size_t blocked_appends() const {
    std::lock_guard lock(mu_);
    return blocked_;
  }
  size_t append_calls() const {
    std::lock_guard lock(mu_);
    return append_calls_;
  }
  std::vector<size_t> batch_sizes() const {
    std::lock_guard lock(mu_);
    return batch_sizes_;
  }
  std::vector<EventEnvelope> envelopes() const {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<EventEnvelope> events_;
  bool closed_ = false;
  bool fail_next_ = false;
  bool store_then_fail_ = false;
  bool fenced_ = false;
  Status read_failure_;
  Status settle_result_;
  size_t settle_calls_ = 0;
  bool gate_open_ = true;
  size_t blocked_ = 0;
  size_t append_calls_ = 0;
  std::vector<size_t> batch_sizes_;
  Hook hook_;
};

}  // namespace reservoir::test
