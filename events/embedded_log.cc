#include "events/embedded_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string_view>
#include <system_error>
#include <utility>

#include "events/crc32c.h"
#include "events/envelope_codec.h"

namespace reservoir {
namespace {

constexpr const char* kLogFileName = "events.log";
constexpr size_t kMagicBytes = 4;
constexpr size_t kCrcFieldBytes = 4;
// Every event takes at least 4 body bytes, so a count above this is garbage.
constexpr uint64_t kRecordEventsMax = EmbeddedLog::kBatchBytesMax / 4;
// After a huge batch the append buffer shrinks back, not to pin 64 MiB forever.
constexpr size_t kAppendBufferKeepBytes = 4 * EmbeddedLog::kReadChunkBytes;

static_assert(EmbeddedLog::kBatchBytesMax <= std::numeric_limits<uint32_t>::max(),
              "a record's body length is a u32");
static_assert(EmbeddedLog::kReadChunkBytes >= EmbeddedLog::kHeaderBytes);

std::string errno_text(int err) {
  return std::generic_category().message(err);
}

void put_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void put_u64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

struct RecordHeader {
  uint32_t magic = 0;
  uint32_t masked_crc = 0;
  uint32_t body_bytes = 0;
  uint32_t count = 0;
  uint64_t first_offset = 0;
};

RecordHeader parse_header(const char* p) {
  return RecordHeader{get_u32(p), get_u32(p + 4), get_u32(p + 8), get_u32(p + 12), get_u64(p + 16)};
}

// A header of all zeros: the zero tail (see embedded_log.h), not a record.
bool is_zero_header(const char* p) {
  return std::all_of(p, p + EmbeddedLog::kHeaderBytes, [](char c) { return c == 0; });
}

// The CRC of a whole record (header and body), skipping the CRC field itself.
uint32_t record_crc(const char* record, size_t record_bytes) {
  assert(record_bytes >= EmbeddedLog::kHeaderBytes);
  const uint32_t crc = crc32c(record, kMagicBytes);
  const size_t skip = kMagicBytes + kCrcFieldBytes;
  return crc32c_mask(crc32c(record + skip, record_bytes - skip, crc));
}

// pread until `n` bytes or end of file; the byte count read, or -1 (errno).
ssize_t pread_full(int fd, char* buf, size_t n, uint64_t pos) {
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd, buf + done, n - done, static_cast<off_t>(pos + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return -1;
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return static_cast<ssize_t>(done);
}

Status file_bytes_of(int fd, const std::string& path, uint64_t* bytes) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return Status::IOError("cannot stat '" + path + "': " + errno_text(errno));
  *bytes = static_cast<uint64_t>(st.st_size);
  return Status::OK();
}

// Walks the records in [pos, limit) of a file, pread-ing a chunk of
// kReadChunkBytes (or one whole record, if larger) at a time, and checks each
// record's framing and CRC. It does not decode bodies.
class RecordCursor {
 public:
  // kZeros: a header of all zeros (the zero tail, see embedded_log.h).
  enum class Step { kRecord, kEnd, kIncomplete, kBad, kZeros, kIOError };

  RecordCursor(int fd, uint64_t pos, uint64_t limit) : fd_(fd), pos_(pos), limit_(limit) {
    assert(pos <= limit);
    buf_ = std::move(t_spare_buf);  // may be null
    buf_capacity_ = buf_ ? t_spare_capacity : 0;
  }
  // Keeps a chunk-sized buffer for the thread's next cursor: a fresh 1 MiB
  // buffer per read costs a large malloc and its page faults every time.
  ~RecordCursor() {
    if (buf_ && buf_capacity_ <= EmbeddedLog::kReadChunkBytes) {
      t_spare_buf = std::move(buf_);
      t_spare_capacity = buf_capacity_;
    }
  }
  RecordCursor(const RecordCursor&) = delete;
  RecordCursor& operator=(const RecordCursor&) = delete;

  // Walks [pos, limit) afresh: nothing buffered is trusted.
  void restart(uint64_t pos, uint64_t limit) {
    assert(pos <= limit);
    pos_ = pos;
    limit_ = limit;
    buf_pos_ = 0;
    buf_bytes_ = 0;
  }

  Step next();
  uint64_t pos() const { return pos_; }                // where the next record starts
  uint64_t record_pos() const { return record_pos_; }  // the record last met
  const RecordHeader& header() const { return header_; }
  std::string_view body() const { return body_; }
  const std::string& why() const { return why_; }  // kBad: what is wrong
  const Status& error() const { return error_; }   // kIOError

 private:
  Step load(uint64_t at, size_t need);
  Step bad(std::string why) {
    why_ = std::move(why);
    return Step::kBad;
  }

  int fd_;
  uint64_t pos_;
  uint64_t limit_;
  uint64_t record_pos_ = 0;
  RecordHeader header_;
  std::string_view body_;
  std::string why_;
  Status error_;
  static thread_local std::unique_ptr<char[]> t_spare_buf;
  static thread_local size_t t_spare_capacity;
  std::unique_ptr<char[]> buf_;
  size_t buf_capacity_ = 0;
  uint64_t buf_pos_ = 0;  // file position of buf_[0]
  size_t buf_bytes_ = 0;
};

thread_local std::unique_ptr<char[]> RecordCursor::t_spare_buf;
thread_local size_t RecordCursor::t_spare_capacity = 0;

// Makes buf_ hold [at, at + need); kRecord on success.
RecordCursor::Step RecordCursor::load(uint64_t at, size_t need) {
  assert(at + need <= limit_);
  if (at >= buf_pos_ && at + need <= buf_pos_ + buf_bytes_) return Step::kRecord;
  const size_t want =
      std::max<size_t>(need, std::min<uint64_t>(EmbeddedLog::kReadChunkBytes, limit_ - at));
  if (buf_capacity_ < want) {
    buf_ = std::make_unique_for_overwrite<char[]>(want);
    buf_capacity_ = want;
  }
  buf_bytes_ = 0;
  const ssize_t got = pread_full(fd_, buf_.get(), want, at);
  if (got < 0) {
    error_ = Status::IOError("cannot read event log: " + errno_text(errno));
    return Step::kIOError;
  }
  buf_pos_ = at;
  buf_bytes_ = static_cast<size_t>(got);
  // Short: the file shrank under us; what is missing is not there.
  return buf_bytes_ >= need ? Step::kRecord : Step::kIncomplete;
}

RecordCursor::Step RecordCursor::next() {
  if (pos_ == limit_) return Step::kEnd;
  record_pos_ = pos_;
  if (limit_ - pos_ < EmbeddedLog::kHeaderBytes) return Step::kIncomplete;
  if (Step s = load(pos_, EmbeddedLog::kHeaderBytes); s != Step::kRecord) return s;
  const char* head = buf_.get() + (pos_ - buf_pos_);
  if (is_zero_header(head)) return Step::kZeros;
  header_ = parse_header(head);
  if (header_.magic != EmbeddedLog::kRecordMagic) return bad("bad record magic");
  if (header_.body_bytes > EmbeddedLog::kBatchBytesMax) {
    return bad("record length " + std::to_string(header_.body_bytes) + " over the limit");
  }
  if (header_.count == 0 || header_.count > kRecordEventsMax) {
    return bad("bad event count " + std::to_string(header_.count));
  }
  const size_t record_bytes = EmbeddedLog::kHeaderBytes + header_.body_bytes;
  if (limit_ - pos_ < record_bytes) return Step::kIncomplete;
  if (Step s = load(pos_, record_bytes); s != Step::kRecord) return s;
  const char* record = buf_.get() + (pos_ - buf_pos_);
  if (record_crc(record, record_bytes) != header_.masked_crc) return bad("checksum mismatch");
  body_ = std::string_view(record + EmbeddedLog::kHeaderBytes, header_.body_bytes);
  pos_ += record_bytes;
  return Step::kRecord;
}

// Encodes the whole record into *out; false when its body passes the limit.
bool encode_record(const std::vector<EventEnvelope>& batch, uint64_t first_offset,
                   std::string* out) {
  assert(!batch.empty());
  out->assign(EmbeddedLog::kHeaderBytes, '\0');
  for (const EventEnvelope& e : batch) {
    envelope_codec::encode(e, *out);
    // Checked as we go, so an oversized batch fails before building gigabytes.
    if (out->size() - EmbeddedLog::kHeaderBytes > EmbeddedLog::kBatchBytesMax) return false;
  }
  char* h = out->data();
  put_u32(h, EmbeddedLog::kRecordMagic);
  put_u32(h + 8, static_cast<uint32_t>(out->size() - EmbeddedLog::kHeaderBytes));
  put_u32(h + 12, static_cast<uint32_t>(batch.size()));
  put_u64(h + 16, first_offset);
  put_u32(h + 4, record_crc(h, out->size()));
  return true;
}

std::string parent_dir(const std::string& dir) {
  const size_t slash = dir.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : dir.substr(0, slash);
}

// mkdir -p: every missing component of `dir`.
Status make_dirs(const std::string& dir) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i != dir.size() && dir[i] != '/') continue;
    const std::string part = dir.substr(0, i);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::IOError("cannot create directory '" + part + "': " + errno_text(errno));
    }
  }
  return Status::OK();
}

// A new file's name is durable only once its directory is synced.
Status fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open directory '" + dir + "': " + errno_text(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IOError("cannot fsync directory '" + dir + "': " + errno_text(err));
  return Status::OK();
}

// Opens (kReadWrite: creating) the log file; *fd is -1 on error.
Status open_file(const std::string& dir, const std::string& path, EmbeddedLog::Mode mode, int* fd) {
  if (mode == EmbeddedLog::Mode::kReadOnly) {
    *fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (*fd >= 0) return Status::OK();
    if (errno == ENOENT) return Status::NotFound("no event log at '" + path + "'");
    return Status::IOError("cannot open '" + path + "': " + errno_text(errno));
  }
  if (Status s = make_dirs(dir); !s.ok()) return s;
  bool created = false;
  *fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (*fd < 0 && errno == ENOENT) {
    *fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    created = *fd >= 0;
  }
  if (*fd < 0) return Status::IOError("cannot open '" + path + "': " + errno_text(errno));
  if (!created) return Status::OK();
  // The directory may be new too, so its own entry in the parent is synced.
  Status s = fsync_dir(dir);
  if (s.ok()) s = fsync_dir(parent_dir(dir));
  if (!s.ok()) {
    ::close(*fd);
    *fd = -1;
  }
  return s;
}

}  // namespace

// What a read() will pread: whole records covering [from, until).
struct EmbeddedLog::ReadPlan {
  uint64_t from = 0;
  uint64_t until = 0;         // exclusive
  uint64_t first_offset = 0;  // of the record at `pos`
  uint64_t pos = 0;
  uint64_t end_pos = 0;  // end of the last record needed
};

// A record the scan could not accept, and where it stood.
struct EmbeddedLog::BadRecord {
  uint64_t pos;
  uint64_t offset;  // the offset its first event would have
  uint64_t file_bytes;
  bool incomplete;  // runs past the end of the file (else: fails its checks)
  std::string why;
};

EmbeddedLog::EmbeddedLog(std::string path, Mode mode, int fd, uint64_t preallocate_bytes)
    : path_(std::move(path)),
      mode_(mode),
      fd_(fd),
      preallocate_bytes_(mode == Mode::kReadWrite ? preallocate_bytes : 0) {
  assert(fd_ >= 0);
}

EmbeddedLog::~EmbeddedLog() {
  ::close(fd_);
}

Result<std::unique_ptr<EmbeddedLog>> EmbeddedLog::open(const std::string& dir, Mode mode,
                                                       uint64_t preallocate_bytes) {
  if (dir.empty()) return Status::InvalidArgument("event log directory path is empty");
  const std::string path = dir + "/" + kLogFileName;
  int fd = -1;
  if (Status s = open_file(dir, path, mode, &fd); !s.ok()) return s;
  std::unique_ptr<EmbeddedLog> log(new EmbeddedLog(path, mode, fd, preallocate_bytes));
  if (Status s = log->scan(mode == Mode::kReadWrite, /*at_open=*/true); !s.ok()) return s;
  if (mode == Mode::kReadWrite) {
    if (Status s = file_bytes_of(fd, path, &log->file_bytes_); !s.ok()) return s;
  }
  return log;
}

Status EmbeddedLog::corruption(uint64_t offset, uint64_t pos, const std::string& why) const {
  return Status::Corruption("event log '" + path_ + "': " + why + " at event offset " +
                            std::to_string(offset) + " (file position " + std::to_string(pos) +
                            ")");
}

// Extends the published log with the complete records after end_pos_.
// At open (repair: kReadWrite) a torn tail is truncated away; a kReadOnly
// log leaves it, as a writer may be completing it right now.
Status EmbeddedLog::scan(bool repair, bool at_open) const {
  uint64_t file_bytes = 0;
  if (Status s = file_bytes_of(fd_, path_, &file_bytes); !s.ok()) return s;
  uint64_t start_pos, expected;
  {
    std::shared_lock lock(index_mu_);
    start_pos = end_pos_;
    expected = end_offset_.load(std::memory_order_relaxed);
  }
  if (file_bytes < start_pos) {
    return corruption(expected, file_bytes, "file shrank below its last known end");
  }
  // A poll that finds the writer's zero tail reads one header, not a chunk of zeros.
  if (!at_open && zero_header_at(start_pos, file_bytes)) return Status::OK();
  std::vector<IndexEntry> fresh;
  RecordCursor cursor(fd_, start_pos, file_bytes);
  for (;;) {
    const RecordCursor::Step step = cursor.next();
    if (step == RecordCursor::Step::kEnd) break;
    if (step == RecordCursor::Step::kIOError) return cursor.error();
    if (step == RecordCursor::Step::kRecord) {
      if (cursor.header().first_offset != expected) {
        return corruption(
            expected, cursor.record_pos(),
            "record claims first offset " + std::to_string(cursor.header().first_offset));
      }
      fresh.push_back(IndexEntry{expected, cursor.record_pos()});
      expected += cursor.header().count;
      continue;
    }
    if (step == RecordCursor::Step::kZeros) {
      Status s = handle_zero_header(cursor.record_pos(), expected, file_bytes, repair, at_open);
      if (!s.ok()) return s;
      break;
    }
    bool retry = false;
    const BadRecord bad{cursor.record_pos(), expected, file_bytes,
                        step == RecordCursor::Step::kIncomplete, cursor.why()};
    if (Status s = handle_bad_record(bad, repair, &retry); !s.ok()) return s;
    if (!retry) break;
    cursor.restart(bad.pos, file_bytes);  // it became valid: read it afresh
  }
  publish(fresh.data(), fresh.size(), cursor.pos(), expected);
  return Status::OK();
}

// Torn tail or corruption? A crash only ever damages the last record, so a
// bad record with a valid record after it is corruption. *retry: the record
// turned out valid on a second look (a writer in another process finished it).
Status EmbeddedLog::handle_bad_record(const BadRecord& bad, bool repair, bool* retry) const {
  *retry = false;
  // A kReadOnly reader meets a short record whenever a writer is mid-append:
  // not worth a scan of the tail on every poll.
  if (!repair && bad.incomplete) return Status::OK();
  bool found = false;
  if (Status s = find_valid_record(bad.pos + 1, bad.file_bytes, &found); !s.ok()) return s;
  if (found) {
    // Read it again: a concurrent writer may have completed it since.
    RecordCursor again(fd_, bad.pos, bad.file_bytes);
    if (again.next() == RecordCursor::Step::kRecord) {
      *retry = true;
      return Status::OK();
    }
    const std::string why = bad.incomplete ? "record runs past the end of the file" : bad.why;
    return corruption(bad.offset, bad.pos, why + " (valid records follow)");
  }
  if (!repair) return Status::OK();
  repaired_tail_bytes_ = bad.file_bytes - bad.pos;
  return truncate_to(bad.pos);
}

// The zero tail, or a record whose header never reached the disk (a torn
// append: only what follows may be there). Either way the records end at
// `pos`, unless a valid record follows, which no crash (and no writer that
// is mid-append) can leave. That is looked for at open only: a kReadOnly
// reader polls often, and its later scans stop at the zeros.
Status EmbeddedLog::handle_zero_header(uint64_t pos, uint64_t offset, uint64_t file_bytes,
                                       bool repair, bool at_open) const {
  if (!at_open) return Status::OK();
  bool found = false;
  if (Status s = find_valid_record(pos + 1, file_bytes, &found); !s.ok()) return s;
  if (found) return corruption(offset, pos, "zeroed record header (valid records follow)");
  return repair ? truncate_to(pos) : Status::OK();
}

// Whether the bytes at `pos` are a whole all-zero header (a read error
// says no: the cursor will report it).
bool EmbeddedLog::zero_header_at(uint64_t pos, uint64_t file_bytes) const {
  if (file_bytes - pos < kHeaderBytes) return false;
  char header[kHeaderBytes];
  if (pread_full(fd_, header, kHeaderBytes, pos) != static_cast<ssize_t>(kHeaderBytes)) {
    return false;
  }
  return is_zero_header(header);
}

// Whether a valid record starts anywhere in [from, file_bytes).
Status EmbeddedLog::find_valid_record(uint64_t from, uint64_t file_bytes, bool* found) const {
  *found = false;
  char magic[kMagicBytes];
  put_u32(magic, kRecordMagic);
  const std::string_view magic_view(magic, kMagicBytes);
  if (from >= file_bytes) return Status::OK();
  auto buf = std::make_unique_for_overwrite<char[]>(
      std::min<uint64_t>(kReadChunkBytes, file_bytes - from));
  for (uint64_t at = from; at + kMagicBytes <= file_bytes;) {
    const size_t want = std::min<uint64_t>(kReadChunkBytes, file_bytes - at);
    const ssize_t got = pread_full(fd_, buf.get(), want, at);
    if (got < 0) return Status::IOError("cannot read '" + path_ + "': " + errno_text(errno));
    if (static_cast<size_t>(got) < kMagicBytes) return Status::OK();  // shrank meanwhile
    const std::string_view chunk(buf.get(), static_cast<size_t>(got));
    for (size_t i = chunk.find(magic_view); i != std::string_view::npos;
         i = chunk.find(magic_view, i + 1)) {
      RecordCursor candidate(fd_, at + i, file_bytes);
      if (candidate.next() == RecordCursor::Step::kRecord) {
        *found = true;
        return Status::OK();
      }
    }
    // Overlap chunks so a magic split across two of them is still seen.
    at += static_cast<uint64_t>(got) - (kMagicBytes - 1);
  }
  return Status::OK();
}

Status EmbeddedLog::truncate_to(uint64_t pos) const {
  assert(mode_ == Mode::kReadWrite);
  if (::ftruncate(fd_, static_cast<off_t>(pos)) != 0 || ::fdatasync(fd_) != 0) {
    return Status::IOError("cannot truncate '" + path_ + "' to " + std::to_string(pos) +
                           " bytes: " + errno_text(errno));
  }
  file_bytes_ = pos;
  return Status::OK();
}

void EmbeddedLog::publish(const IndexEntry* entries, size_t n, uint64_t end_pos,
                          uint64_t end_offset) const {
  {
    std::unique_lock lock(index_mu_);
    assert(end_pos >= end_pos_);
    assert(end_offset >= end_offset_.load(std::memory_order_relaxed));
    assert(n == 0 || index_.empty() || entries[0].pos > index_.back().pos);
    index_.insert(index_.end(), entries, entries + n);
    end_pos_ = end_pos;
    end_offset_.set(end_offset);  // with the index: a reader never sees an end it does not cover
  }
  // The wake-up comes after the lock is released: a reader this wakes (the
  // projection follower, which runs at a higher priority than the writer)
  // must not find the lock still held by a writer it just preempted. That
  // inversion held the follower up until the niced writer got a core again:
  // tens of ms under load.
  if (!defer_wakes_.load(std::memory_order_relaxed)) end_offset_.wake();
}

void EmbeddedLog::defer_reader_wakes() {
  defer_wakes_.store(true, std::memory_order_relaxed);
}

void EmbeddedLog::wake_readers() {
  end_offset_.wake();
}

Status EmbeddedLog::refresh() const {
  if (mode_ != Mode::kReadOnly) return Status::OK();
  std::lock_guard lock(refresh_mu_);
  return scan(/*repair=*/false, /*at_open=*/false);
}

Status EmbeddedLog::append(std::vector<EventEnvelope>& batch) {
  if (mode_ != Mode::kReadWrite) {
    return Status::InvalidArgument("event log '" + path_ + "' is open read-only");
  }
  if (broken_) {
    return Status::IOError("event log '" + path_ + "': an earlier write failed; reopen the log");
  }
  if (batch.empty()) return Status::OK();
  const uint64_t first = end_offset_.load(std::memory_order_relaxed);  // we are its only writer
  if (!encode_record(batch, first, &append_buf_)) {
    return Status::InvalidArgument("batch of " + std::to_string(batch.size()) +
                                   " events is over the limit of " +
                                   std::to_string(kBatchBytesMax) + " bytes");
  }
  uint64_t pos;
  {
    std::shared_lock lock(index_mu_);
    pos = end_pos_;
  }
  Status s = preallocate(pos + append_buf_.size());
  if (s.ok()) s = write_record(pos);
  const uint64_t record_bytes = append_buf_.size();
  if (append_buf_.capacity() > kAppendBufferKeepBytes) std::string().swap(append_buf_);
  if (!s.ok()) return s;
  for (size_t i = 0; i < batch.size(); ++i) batch[i].offset = first + i;
  const IndexEntry entry{first, pos};
  publish(&entry, 1, pos + record_bytes, first + batch.size());
  return Status::OK();
}

Status EmbeddedLog::settle() {
  if (!broken_) return Status::OK();
  return Status::IOError("event log '" + path_ + "': an earlier write failed; reopen the log");
}

// One pwrite of append_buf_ at `pos`, then fdatasync. On failure the file is
// cut back to `pos`, so nothing of the batch survives a restart either.
Status EmbeddedLog::write_record(uint64_t pos) {
  assert(!append_buf_.empty());
  const char* p = append_buf_.data();
  size_t left = append_buf_.size();
  uint64_t at = pos;
  int err = 0;
  bool sync_failed = false;
  while (left > 0) {
    const ssize_t n = ::pwrite(fd_, p, left, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    p += n;
    at += static_cast<uint64_t>(n);
    left -= static_cast<size_t>(n);
  }
  if (err == 0 && ::fdatasync(fd_) != 0) {
    err = errno;
    sync_failed = true;
  }
  if (err == 0) return Status::OK();
  // After a failed fdatasync the kernel may have dropped dirty pages while
  // reporting the error once: the page cache no longer tells what is on disk.
  const bool rolled_back = truncate_to(pos).ok();
  if (sync_failed || !rolled_back) broken_ = true;
  return Status::IOError("cannot append to '" + path_ + "': " + errno_text(err));
}

// Grows the zero tail so the file holds `need_bytes`: zeros written (not
// just reserved, which ext4 would convert at each append, a journal commit
// again), made durable by the next record's fdatasync.
Status EmbeddedLog::preallocate(uint64_t need_bytes) {
  if (preallocate_bytes_ == 0 || need_bytes <= file_bytes_) return Status::OK();
  static constexpr size_t kZeroChunkBytes = 64u << 10;
  static const std::string kZeros(kZeroChunkBytes, '\0');
  const uint64_t target = need_bytes + preallocate_bytes_ - need_bytes % preallocate_bytes_;
  for (uint64_t at = file_bytes_; at < target;) {
    const size_t want = std::min<uint64_t>(kZeroChunkBytes, target - at);
    const ssize_t n = ::pwrite(fd_, kZeros.data(), want, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Zeros past the records are harmless: they are the zero tail.
      return Status::IOError("cannot preallocate '" + path_ +
                             "': " + errno_text(n < 0 ? errno : EIO));
    }
    at += static_cast<uint64_t>(n);
    file_bytes_ = std::max(file_bytes_, at);
  }
  return Status::OK();
}

uint64_t EmbeddedLog::end_offset() const {
  // A kReadOnly log looks at the file again; on error it keeps what it knew.
  [[maybe_unused]] const Status s = refresh();
  return end_offset_.load(std::memory_order_acquire);
}

bool EmbeddedLog::plan_read(uint64_t from, size_t max_events, ReadPlan* plan) const {
  std::shared_lock lock(index_mu_);
  const uint64_t end = end_offset_.load(std::memory_order_relaxed);
  if (from >= end || max_events == 0) return false;
  assert(!index_.empty());
  const uint64_t until = from + std::min<uint64_t>(max_events, end - from);
  const auto by_offset = [](uint64_t offset, const IndexEntry& e) {
    return offset < e.first_offset;
  };
  // The records holding `from` and `until - 1`: the last ones starting at or before them.
  const auto first = std::upper_bound(index_.begin(), index_.end(), from, by_offset) - 1;
  const auto last = std::upper_bound(first, index_.end(), until - 1, by_offset) - 1;
  assert(first->first_offset <= from && last >= first);
  const auto after = last + 1;
  *plan = ReadPlan{from, until, first->first_offset, first->pos,
                   after == index_.end() ? end_pos_ : after->pos};
  return true;
}

Status EmbeddedLog::read(uint64_t from, size_t max_events, std::vector<EventEnvelope>* out) {
  assert(out != nullptr);
  if (Status s = refresh(); !s.ok()) return s;
  ReadPlan plan;
  if (!plan_read(from, max_events, &plan)) return Status::OK();  // at or past the end
  const size_t before = out->size();
  out->reserve(before + (plan.until - plan.from));
  Status s = read_plan(plan, out);
  if (!s.ok()) out->erase(out->begin() + static_cast<ptrdiff_t>(before), out->end());
  return s;
}

Status EmbeddedLog::read_plan(const ReadPlan& plan, std::vector<EventEnvelope>* out) const {
  RecordCursor cursor(fd_, plan.pos, plan.end_pos);
  uint64_t expected = plan.first_offset;
  for (;;) {
    const RecordCursor::Step step = cursor.next();
    if (step == RecordCursor::Step::kEnd) break;
    if (step == RecordCursor::Step::kIOError) return cursor.error();
    if (step == RecordCursor::Step::kIncomplete) {
      return corruption(expected, cursor.record_pos(), "record cut short");
    }
    if (step == RecordCursor::Step::kBad) {
      return corruption(expected, cursor.record_pos(), cursor.why());
    }
    if (step == RecordCursor::Step::kZeros) {
      return corruption(expected, cursor.record_pos(), "zeroed record header");
    }
    const RecordHeader& h = cursor.header();
    if (h.first_offset != expected) {
      return corruption(expected, cursor.record_pos(),
                        "record claims first offset " + std::to_string(h.first_offset));
    }
    if (!envelope_codec::decode(cursor.body(), h.count, expected, plan.from, plan.until, out)) {
      return corruption(expected, cursor.record_pos(), "malformed record body");
    }
    expected += h.count;
  }
  if (expected < plan.until) {
    return corruption(expected, cursor.pos(), "index and file disagree");
  }
  return Status::OK();
}

uint64_t EmbeddedLog::wait_beyond(uint64_t offset, std::chrono::milliseconds timeout) {
  if (mode_ == Mode::kReadWrite) return end_offset_.wait_beyond(offset, timeout);
  // No one notifies across processes: poll the file.
  return end_offset_.wait_beyond(
      offset, timeout, [this] { [[maybe_unused]] const Status s = refresh(); },
      kReadOnlyPollInterval);
}

void EmbeddedLog::close_waiters() {
  end_offset_.close_waiters();
}

}  // namespace reservoir
