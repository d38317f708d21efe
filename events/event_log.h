// EventLog: the durable, totally ordered log of events: the system of record.
//
// Contract:
// - append() writes a batch atomically and durably: when it returns OK every
//   event of the batch survives a crash (kill -9, power loss after fsync),
//   and a reader never observes part of a batch. Offsets are 0-based and
//   consecutive; append assigns them (filling EventEnvelope::offset).
//   On error nothing of the batch is visible, now or after a restart.
// - read() returns durable events only, in offset order.
// - After a failed append, the outcome may be undecided for a while (a Kafka
//   commit that timed out may still complete). settle() decides it: when it
//   returns OK, end_offset() is final for everything appended so far, so the
//   appender may rebuild its state from the log and append again. While
//   settle() fails, append() refuses. A Fenced status from either means
//   another writer owns the log now: the appender must stop for good.
//
// Thread safety: one appender at a time (the engine's single writer); any
// number of concurrent readers and waiters.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "events/envelope.h"
#include "events/status.h"

namespace reservoir {

class EventLog {
 public:
  virtual ~EventLog() = default;

  // Appends `batch` (offsets are assigned in place) as one atomic, durable unit.
  virtual Status append(std::vector<EventEnvelope>& batch) = 0;

  // Decides what a failed append left undecided (see the contract above).
  // OK at once when nothing is pending.
  virtual Status settle() { return Status::OK(); }

  // The offset the next appended event gets: the number of durable events.
  virtual uint64_t end_offset() const = 0;

  // Appends to *out up to `max_events` events starting at offset `from`
  // (fewer at the end of the log). Corruption names the offset it met.
  virtual Status read(uint64_t from, size_t max_events, std::vector<EventEnvelope>* out) = 0;

  // Blocks until end_offset() > offset or the timeout passes, or close_waiters()
  // is called; returns end_offset().
  virtual uint64_t wait_beyond(uint64_t offset, std::chrono::milliseconds timeout) = 0;

  // Wakes every wait_beyond() now and makes later ones return at once
  // (shutdown).
  virtual void close_waiters() = 0;

  // From the call on, append() leaves waiters of wait_beyond() asleep until
  // the appender calls wake_readers(). The engine's writer does this to
  // answer its callers before a reader of higher priority (the projection
  // follower) can preempt it. Logs whose readers do not wait here ignore it.
  virtual void defer_reader_wakes() {}
  // Wakes the waiters of wait_beyond() for what was appended (after
  // defer_reader_wakes(); harmless otherwise).
  virtual void wake_readers() {}

  // How many times events once read as part of the log were dropped since
  // open (a broker showed an aborted batch that a later message replaced).
  // A reader that keeps state across reads (a standby's warm engine)
  // rebuilds it when this changes. 0 for logs that never drop.
  virtual uint64_t rewrites() const { return 0; }
};

}  // namespace reservoir
