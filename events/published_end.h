// PublishedEnd: a log's end offset (the number of durable events) as its
// readers see it, and the waiting on it that EventLog::wait_beyond() and
// close_waiters() promise. Shared by the EventLog implementations.
//
// A writer in this process publishes each new end and wakes the waiters. A
// reader of a log another process writes has no one to wake it: it passes a
// `poll` that looks at the log again (and publishes what it finds), called
// every poll interval without the waiters' lock held.
//
// Thread safety: any number of threads load, wait and publish concurrently.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace reservoir {

class PublishedEnd {
 public:
  // Longer timeouts are "forever"; the clamp keeps steady_clock from overflowing.
  static constexpr std::chrono::hours kWaitForever{24 * 365 * 50};
  // An event-driven wait still looks again this often.
  static constexpr std::chrono::hours kWaitSliceMax{1};

  uint64_t load(std::memory_order order = std::memory_order_acquire) const {
    return end_.load(order);
  }

  // Sets the end and wakes every waiter.
  void publish(uint64_t end) {
    set(end);
    wake();
  }
  // publish() in two steps, for a caller that must set the end under a lock
  // of its own but should wake the waiters only once it has let go of that
  // lock (a woken reader would take it next). No wake-up is lost: set()
  // takes the waiters' lock, so a waiter either sees the new end or is
  // already waiting when wake() comes.
  void set(uint64_t end) {
    std::lock_guard lock(mu_);
    end_.store(end, std::memory_order_release);
  }
  void wake() { cv_.notify_all(); }

  // Blocks until the end passes `offset`, `timeout` passes or close_waiters()
  // is called; returns the end. With a `poll`, looks again every
  // `poll_interval` instead of waiting to be woken.
  uint64_t wait_beyond(uint64_t offset, std::chrono::milliseconds timeout,
                       const std::function<void()>& poll = {},
                       std::chrono::milliseconds poll_interval = kWaitSliceMax) {
    using Clock = std::chrono::steady_clock;
    const auto wait =
        std::clamp<std::chrono::milliseconds>(timeout, std::chrono::milliseconds(0), kWaitForever);
    const Clock::time_point deadline = Clock::now() + wait;
    const auto done = [&] { return closed_ || end_.load(std::memory_order_acquire) > offset; };
    std::unique_lock lock(mu_);
    while (!done()) {
      const Clock::time_point now = Clock::now();
      if (now >= deadline) break;
      if (!poll) {
        cv_.wait_until(lock, std::min<Clock::time_point>(deadline, now + kWaitSliceMax));
        continue;
      }
      // The poll publishes what it finds, which takes mu_: drop it meanwhile
      // (callers' own locks rank before it).
      lock.unlock();
      poll();
      lock.lock();
      if (done()) break;
      cv_.wait_until(lock, std::min<Clock::time_point>(deadline, Clock::now() + poll_interval));
    }
    return end_.load(std::memory_order_acquire);
  }

  // Wakes every wait_beyond() now and makes later ones return at once.
  void close_waiters() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::atomic<uint64_t> end_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
};

}  // namespace reservoir
