// ReadAhead: reads the log [from, end) in chunks on a thread of its own and
// runs `prepare` (typically decoding) on each chunk there too, so the
// caller's thread only consumes. Reading, CRC checks and decoding then
// overlap with the caller's work on the other core (replay --verify,
// rebuild).
//
// Bounded: at most kChunksInFlight chunks exist; the reader waits while the
// consumer is behind. Chunks are recycled, so their vectors keep capacity.
//
// Thread safety: one consumer thread calls next(); the destructor stops and
// joins the reader (a consumer may stop early).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "events/event_log.h"

namespace reservoir::tools {

// Chunk must have `std::vector<EventEnvelope> envelopes`.
template <class Chunk>
class ReadAhead {
 public:
  static constexpr size_t kChunksInFlight = 4;
  using Prepare = std::function<Status(Chunk&)>;

  ReadAhead(EventLog& log, uint64_t from, uint64_t end, size_t chunk_events_max, Prepare prepare)
      : log_(log),
        next_(from),
        end_(end),
        chunk_events_max_(chunk_events_max),
        prepare_(std::move(prepare)) {
    for (size_t i = 0; i < kChunksInFlight; ++i) {
      chunks_.push_back(std::make_unique<Chunk>());
      free_.push_back(chunks_.back().get());
    }
    thread_ = std::thread([this] { run(); });
  }

  ~ReadAhead() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The next chunk (valid until the next call), or nullptr after the last.
  // An error (unreadable log, failed prepare) ends the stream.
  Status next(Chunk** out) {
    std::unique_lock lock(mu_);
    if (current_ != nullptr) {
      free_.push_back(current_);
      current_ = nullptr;
      cv_.notify_all();
    }
    cv_.wait(lock, [&] { return !ready_.empty() || done_; });
    if (!ready_.empty()) {
      current_ = ready_.front();
      ready_.pop_front();
      cv_.notify_all();
    }
    *out = current_;
    return current_ != nullptr ? Status::OK() : status_;
  }

 private:
  void run() {
    for (;;) {
      Chunk* chunk = nullptr;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !free_.empty() || stop_; });
        if (stop_ || next_ >= end_) break;
        chunk = free_.back();
        free_.pop_back();
      }
      Status s = fill(*chunk);
      std::lock_guard lock(mu_);
      if (!s.ok()) {
        status_ = s;
        break;
      }
      ready_.push_back(chunk);
      cv_.notify_all();
    }
    std::lock_guard lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

  Status fill(Chunk& chunk) {
    chunk.envelopes.clear();
    const uint64_t want = std::min<uint64_t>(chunk_events_max_, end_ - next_);
    Status s = log_.read(next_, want, &chunk.envelopes);
    if (!s.ok()) return s;
    if (chunk.envelopes.empty()) {
      return Status::Corruption("log ends early at offset " + std::to_string(next_));
    }
    next_ = chunk.envelopes.back().offset + 1;
    return prepare_ ? prepare_(chunk) : Status::OK();
  }

  EventLog& log_;
  uint64_t next_;  // reader thread only
  const uint64_t end_;
  const size_t chunk_events_max_;
  const Prepare prepare_;
  std::vector<std::unique_ptr<Chunk>> chunks_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Chunk*> free_;
  std::deque<Chunk*> ready_;
  Chunk* current_ = nullptr;
  bool stop_ = false;
  bool done_ = false;
  Status status_;
  std::thread thread_;
};

}  // namespace reservoir::tools
