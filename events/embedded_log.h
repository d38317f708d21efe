// EmbeddedLog: the EventLog in one append-only file, `<dir>/events.log`.
//
// File format: a sequence of records, one per appended batch, nothing else.
//   header (24 bytes, little-endian):
//     u32 magic          kRecordMagic
//     u32 masked crc     crc32c_mask(CRC-32C of the magic, then of every byte
//                        after this field up to the end of the body)
//     u32 body bytes     <= kBatchBytesMax
//     u32 event count    >= 1
//     u64 first offset   offset of the record's first event
//   body: the record's events in the form of events/envelope_codec.h.
// Offsets are consecutive across records, starting at 0; an event's offset
// is the record's first offset plus its index in the record.
//
// Zero tail: a log opened with `preallocate_bytes` > 0 keeps zero-filled
// space after its last record, grown that many bytes at a time. An append
// then overwrites blocks that exist already, so its fdatasync flushes the
// data alone, with no filesystem journal commit for a new file size: on
// ext4 here that halves the CPU and the latency of each durable append
// (docs/BENCHMARKS.md). A record header of all zeros therefore marks the
// end of the records; kReadWrite open() cuts the zero tail off (and grows
// it again on the next append), and if a valid record follows such zeros
// that is corruption, like any bad record before a valid one (checked at
// open; a kReadOnly log's later polls just stop at the zeros).
//
// Durability: append() is one pwrite of the whole record at the end of the
// records, then fdatasync, and only then publishes the new end. A batch is
// atomic because its one CRC covers all of it: a crash mid-write leaves a
// torn tail that fails the CRC (or is short), and kReadWrite open() truncates
// it away. A bad record with a valid record after it cannot come from a
// crash: that is corruption, and open() fails naming offset and position.
//
// kReadOnly never writes and may run while another process appends (e.g.
// `reservoir replay` next to the server): read(), end_offset() and
// wait_beyond() re-check the file size and pick up new complete records; an
// incomplete tail is ignored until it completes. Note a reader in another
// process can see a record the writer has written but not yet made durable.
//
// Readers do not hold the lock while reading: they find the byte range in an
// in-memory index (first offset -> file position of every record) under a
// shared lock, then pread it in chunks of kReadChunkBytes into their own
// buffers, re-checking every CRC.
//
// Thread safety: as EventLog: one appender, any number of concurrent readers
// and waiters. The log does not take the directory lock; the owner of a
// kReadWrite log holds a DirLock (dir_lock.h) to keep other writers out.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "events/event_log.h"
#include "events/published_end.h"

namespace reservoir {

class EmbeddedLog final : public EventLog {
 public:
  enum class Mode { kReadWrite, kReadOnly };

  static constexpr uint32_t kRecordMagic = 0x7a5e1eb7u;
  static constexpr size_t kHeaderBytes = 24;
  static constexpr size_t kBatchBytesMax = 64u << 20;  // a record's body
  static constexpr size_t kReadChunkBytes = 1u << 20;  // one pread while scanning or reading
  static constexpr std::chrono::milliseconds kReadOnlyPollInterval{20};  // wait_beyond, kReadOnly
  // What the server preallocates at a time (a zero tail of at most this).
  static constexpr uint64_t kServerPreallocateBytes = 4u << 20;

  // kReadWrite creates `dir` and the file when missing and repairs a torn
  // tail; kReadOnly fails with NotFound when there is no log. Corruption
  // when the file is damaged before its tail. `preallocate_bytes` (kReadWrite
  // only; 0: none): the zero tail to keep ahead of the appends.
  static Result<std::unique_ptr<EmbeddedLog>> open(const std::string& dir, Mode mode,
                                                   uint64_t preallocate_bytes = 0);

  ~EmbeddedLog() override;
  EmbeddedLog(const EmbeddedLog&) = delete;
  EmbeddedLog& operator=(const EmbeddedLog&) = delete;

  // Fills in the batch's offsets only on success.
  // InvalidArgument when the encoded batch exceeds kBatchBytesMax or the log
  // is kReadOnly; IOError when the write fails (after an fdatasync failure the
  // log refuses further appends: the page cache can no longer be trusted, so
  // reopen to recover from what is on disk).
  Status append(std::vector<EventEnvelope>& batch) override;
  // IOError once an fdatasync failed (see append); OK otherwise.
  Status settle() override;
  uint64_t end_offset() const override;
  // On error *out is left as it was.
  Status read(uint64_t from, size_t max_events, std::vector<EventEnvelope>* out) override;
  uint64_t wait_beyond(uint64_t offset, std::chrono::milliseconds timeout) override;
  void close_waiters() override;
  void defer_reader_wakes() override;
  void wake_readers() override;

  const std::string& path() const { return path_; }
  // Bytes of torn tail that open() cut off (kReadWrite), for the owner to log.
  uint64_t repaired_tail_bytes() const { return repaired_tail_bytes_; }

 private:
  struct IndexEntry {
    uint64_t first_offset;
    uint64_t pos;  // file position of the record's header
  };
  struct ReadPlan;

  EmbeddedLog(std::string path, Mode mode, int fd, uint64_t preallocate_bytes);

  struct BadRecord;

  Status scan(bool repair, bool at_open) const;
  Status handle_bad_record(const BadRecord& bad, bool repair, bool* retry) const;
  Status handle_zero_header(uint64_t pos, uint64_t offset, uint64_t file_bytes, bool repair,
                            bool at_open) const;
  bool zero_header_at(uint64_t pos, uint64_t file_bytes) const;
  Status find_valid_record(uint64_t from, uint64_t file_bytes, bool* found) const;
  Status preallocate(uint64_t need_bytes);
  Status truncate_to(uint64_t pos) const;
  Status refresh() const;
  bool plan_read(uint64_t from, size_t max_events, ReadPlan* plan) const;
  Status read_plan(const ReadPlan& plan, std::vector<EventEnvelope>* out) const;
  void publish(const IndexEntry* entries, size_t n, uint64_t end_pos, uint64_t end_offset) const;
  Status write_record(uint64_t pos);
  Status corruption(uint64_t offset, uint64_t pos, const std::string& why) const;

  const std::string path_;
  const Mode mode_;
  const int fd_;

  // The published log: index_, end_pos_ and end_offset_ change together
  // under index_mu_ (end_offset_'s waiters are woken after it: publish()).
  // Mutable because a kReadOnly log's view grows in const calls (end_offset).
  mutable std::shared_mutex index_mu_;
  mutable std::vector<IndexEntry> index_;
  mutable uint64_t end_pos_ = 0;
  mutable PublishedEnd end_offset_;           // also wakes wait_beyond()
  std::atomic<bool> defer_wakes_{false};      // wake_readers() wakes, not publish()
  mutable uint64_t repaired_tail_bytes_ = 0;  // set once, by open()

  // kReadOnly: one refresh at a time extends the index from the file.
  mutable std::mutex refresh_mu_;

  // The appender's own state (one appender at a time).
  std::string append_buf_;
  bool broken_ = false;
  const uint64_t preallocate_bytes_;
  mutable uint64_t file_bytes_ = 0;  // the file's size: records, then the zero tail
};

}  // namespace reservoir
