// EmbeddedLog, DirLock and crc32c: behaviour on a real file system, each test
// in a fresh temporary directory.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "events/crc32c.h"
#include "events/dir_lock.h"
#include "events/embedded_log.h"

namespace reservoir {
namespace {

using Mode = EmbeddedLog::Mode;
using std::chrono::milliseconds;

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/reservoir_log_test_XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    REQUIRE(made != nullptr);
    path_ = made;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string log_dir() const { return path_ + "/data"; }
  std::string log_file() const { return log_dir() + "/events.log"; }

 private:
  std::string path_;
};

// Event number i: varied type, version, time (some negative) and payload
// (empty to a few hundred bytes, every byte value).
EventEnvelope make_event(uint64_t i) {
  EventEnvelope e;
  e.type = "Type" + std::to_string(i % 7);
  e.version = static_cast<uint32_t>(i % 3 + 1);
  e.time_ms = i % 11 == 0 ? -static_cast<int64_t>(i) : 1'700'000'000'000 + static_cast<int64_t>(i);
  const size_t n = (i * 37) % 300;
  for (size_t j = 0; j < n; ++j) e.payload.push_back(static_cast<char>(i * 7 + j));
  return e;
}

std::vector<EventEnvelope> make_batch(uint64_t first, size_t n) {
  std::vector<EventEnvelope> batch;
  for (size_t k = 0; k < n; ++k) batch.push_back(make_event(first + k));
  return batch;
}

void check_event(const EventEnvelope& got, uint64_t offset) {
  const EventEnvelope want = make_event(offset);
  CHECK(got.offset == offset);
  CHECK(got.type == want.type);
  CHECK(got.version == want.version);
  CHECK(got.time_ms == want.time_ms);
  CHECK(got.payload == want.payload);
}

std::unique_ptr<EmbeddedLog> open_log(const std::string& dir, Mode mode = Mode::kReadWrite) {
  auto log = EmbeddedLog::open(dir, mode);
  REQUIRE_MESSAGE(log.ok(), log.status().ToString());
  return std::move(log.value());
}

// Appends `sizes.size()` batches; the events are make_event(offset).
void append_batches(EmbeddedLog& log, const std::vector<size_t>& sizes) {
  for (size_t n : sizes) {
    const uint64_t first = log.end_offset();
    auto batch = make_batch(first, n);
    REQUIRE(log.append(batch).ok());
    for (size_t k = 0; k < n; ++k) REQUIRE(batch[k].offset == first + k);
    REQUIRE(log.end_offset() == first + n);
  }
}

std::vector<EventEnvelope> read_all(EventLog& log) {
  std::vector<EventEnvelope> out;
  const Status s = log.read(0, SIZE_MAX, &out);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return out;
}

void check_log_holds(EventLog& log, uint64_t events) {
  const auto all = read_all(log);
  REQUIRE(all.size() == events);
  for (uint64_t i = 0; i < events; ++i) check_event(all[i], i);
}

uint64_t file_size(const std::string& path) {
  return std::filesystem::file_size(path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Rewrites the file in place (same inode, so open logs see the change).
// Not O_TRUNC: ext4 flushes a file truncated to zero, which is slow.
void write_file(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
  REQUIRE(::ftruncate(fd, static_cast<off_t>(bytes.size())) == 0);
  ::close(fd);
}

// Overwrites bytes in place, as a disk or a stray write might.
void poke(const std::string& path, uint64_t pos, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(pos)) ==
          static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

// The batch sizes the multi-batch tests use: 1 to 40 events, one big record.
std::vector<size_t> varied_sizes() {
  return {1, 5, 40, 2, 17, 1, 33, 8, 3, 26, 1, 12};
}

uint64_t total(const std::vector<size_t>& sizes) {
  uint64_t n = 0;
  for (size_t s : sizes) n += s;
  return n;
}

}  // namespace

TEST_CASE("crc32c: known vectors, extension, both paths agree, masking") {
  CHECK(crc32c("123456789", 9) == 0xE3069283u);
  CHECK(crc32c("", 0) == 0u);
  const std::string zeros(32, '\0'), ones(32, '\xff');
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  CHECK(crc32c(zeros.data(), zeros.size()) == 0x8A9136AAu);  // RFC 3720 B.4
  CHECK(crc32c(ones.data(), ones.size()) == 0x62A8AB43u);
  CHECK(crc32c(ascending.data(), ascending.size()) == 0x46DD794Eu);
  CHECK(crc32c_portable("123456789", 9) == 0xE3069283u);

  std::string data;
  for (int i = 0; i < 4099; ++i) data.push_back(static_cast<char>(i * 31 + (i >> 3)));
  for (size_t start : {0, 1, 3, 7}) {  // unaligned starts too
    for (size_t len : {0, 1, 7, 8, 9, 63, 64, 1000, 4090}) {
      const char* p = data.data() + start;
      const uint32_t whole = crc32c(p, len);
      CHECK(whole == crc32c_portable(p, len));
      for (size_t cut : {size_t{0}, len / 3, len}) {
        CHECK(crc32c(p + cut, len - cut, crc32c(p, cut)) == whole);
      }
    }
  }
  const uint32_t crc = crc32c(data.data(), data.size());
  CHECK(crc32c_mask(crc) != crc);
  CHECK(crc32c_unmask(crc32c_mask(crc)) == crc);
}

TEST_CASE("EmbeddedLog: append/read round trip across many batches") {
  TempDir tmp;
  auto log = open_log(tmp.log_dir());
  CHECK(log->end_offset() == 0);
  const auto sizes = varied_sizes();
  append_batches(*log, sizes);
  const uint64_t n = total(sizes);
  check_log_holds(*log, n);

  SUBCASE("reads from any offset with any limit") {
    for (uint64_t from = 0; from <= n + 2; from += 3) {
      for (size_t max : {1, 2, 7, 50, 1000}) {
        std::vector<EventEnvelope> out;
        REQUIRE(log->read(from, max, &out).ok());
        const uint64_t want = from >= n ? 0 : std::min<uint64_t>(max, n - from);
        REQUIRE(out.size() == want);
        for (size_t k = 0; k < out.size(); ++k) check_event(out[k], from + k);
      }
    }
  }
  SUBCASE("read appends to what *out holds; past the end or zero events is OK and empty") {
    std::vector<EventEnvelope> out(2);
    REQUIRE(log->read(n, 10, &out).ok());
    REQUIRE(log->read(n + 100, 10, &out).ok());
    REQUIRE(log->read(0, 0, &out).ok());
    CHECK(out.size() == 2);
    REQUIRE(log->read(n - 1, 10, &out).ok());
    REQUIRE(out.size() == 3);
    check_event(out[2], n - 1);
  }
  SUBCASE("an empty batch is OK and writes nothing") {
    const uint64_t bytes = file_size(tmp.log_file());
    std::vector<EventEnvelope> empty;
    CHECK(log->append(empty).ok());
    CHECK(log->end_offset() == n);
    CHECK(file_size(tmp.log_file()) == bytes);
  }
  SUBCASE("records larger than a read chunk") {
    std::vector<EventEnvelope> big(3);
    for (size_t k = 0; k < big.size(); ++k) {
      big[k].type = "Big";
      big[k].payload.assign(EmbeddedLog::kReadChunkBytes + 1000 * k, static_cast<char>('a' + k));
    }
    REQUIRE(log->append(big).ok());
    append_batches(*log, {4});
    std::vector<EventEnvelope> out;
    REQUIRE(log->read(n + 1, 10, &out).ok());
    REQUIRE(out.size() == 6);
    CHECK(out[0].payload == big[1].payload);
    CHECK(out[1].payload == big[2].payload);
    check_event(out[2], n + 3);
    log.reset();
    log = open_log(tmp.log_dir());
    CHECK(log->end_offset() == n + 7);
  }
}

TEST_CASE("EmbeddedLog: a batch over the size limit is refused, and nothing is written") {
  TempDir tmp;
  auto log = open_log(tmp.log_dir());
  append_batches(*log, {3});
  const uint64_t bytes = file_size(tmp.log_file());
  std::vector<EventEnvelope> huge(2);
  huge[0].payload.assign(EmbeddedLog::kBatchBytesMax / 2, 'x');
  huge[1].payload.assign(EmbeddedLog::kBatchBytesMax / 2, 'y');
  const Status s = log->append(huge);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(log->end_offset() == 3);
  CHECK(file_size(tmp.log_file()) == bytes);
  append_batches(*log, {2});
  check_log_holds(*log, 5);
}

TEST_CASE("EmbeddedLog: reopen keeps everything and continues the offsets") {
  TempDir tmp;
  const auto sizes = varied_sizes();
  append_batches(*open_log(tmp.log_dir()), sizes);
  auto log = open_log(tmp.log_dir());
  CHECK(log->repaired_tail_bytes() == 0);
  CHECK(log->end_offset() == total(sizes));
  append_batches(*log, {4, 1});
  log.reset();
  log = open_log(tmp.log_dir());
  check_log_holds(*log, total(sizes) + 5);
}

TEST_CASE("EmbeddedLog: a torn tail is cut away at open, keeping every earlier batch") {
  TempDir tmp;
  // The last batch (offsets 9 and 10) is small: every byte of it is tried.
  const std::vector<size_t> sizes = {3, 6, 2};
  uint64_t tail_pos = 0;
  {
    auto log = open_log(tmp.log_dir());
    append_batches(*log, {3, 6});
    tail_pos = file_size(tmp.log_file());
    append_batches(*log, {2});
  }
  const std::string whole = read_file(tmp.log_file());
  const uint64_t kept_events = 9;
  // After the damage: the last batch is gone, the rest intact; and (when
  // `then_append`: it costs fsyncs, so not at every byte) appends go on.
  // A record whose header is all zeros reads as the zero tail (a header
  // that never reached the disk): cut off, but not reported as torn bytes.
  const auto check_repaired = [&](const std::string& damaged, bool then_append = true) {
    write_file(tmp.log_file(), damaged);
    auto log = open_log(tmp.log_dir());
    REQUIRE(log->end_offset() == kept_events);
    const bool zero_header =
        damaged.size() >= tail_pos + EmbeddedLog::kHeaderBytes &&
        damaged.find_first_not_of('\0', tail_pos) >= tail_pos + EmbeddedLog::kHeaderBytes;
    CHECK(log->repaired_tail_bytes() == (zero_header ? 0 : damaged.size() - tail_pos));
    CHECK(file_size(tmp.log_file()) == tail_pos);
    check_log_holds(*log, kept_events);
    if (!then_append) return;
    append_batches(*log, {2});
    log.reset();
    check_log_holds(*open_log(tmp.log_dir()), kept_events + 2);
  };
  SUBCASE("cut at every byte inside the last record") {
    const uint64_t header_end = tail_pos + EmbeddedLog::kHeaderBytes;
    for (uint64_t cut = tail_pos + 1; cut < whole.size(); ++cut) {
      CAPTURE(cut);
      const bool then_append = cut == tail_pos + 1 || cut == header_end - 1 || cut == header_end ||
                               cut == header_end + 1 || cut == whole.size() - 1 || cut % 17 == 0;
      check_repaired(whole.substr(0, cut), then_append);
    }
  }
  SUBCASE("last record overwritten with zeros, or with garbage") {
    const uint64_t len = whole.size() - tail_pos;
    check_repaired(whole.substr(0, tail_pos) + std::string(len, '\0'));
    std::string garbage = whole.substr(0, tail_pos);
    for (uint64_t k = 0; k < len; ++k) garbage.push_back(static_cast<char>(k * 131 + 7));
    check_repaired(garbage);
  }
  SUBCASE("one byte of the last record flipped, wherever it is") {
    for (uint64_t at = tail_pos; at < whole.size(); ++at) {
      CAPTURE(at);
      std::string damaged = whole;
      damaged[at] = static_cast<char>(damaged[at] ^ 0x40);
      check_repaired(damaged, at % 17 == 0);
    }
  }
  SUBCASE("zeros after the last record (a file extended but never written)") {
    write_file(tmp.log_file(), whole + std::string(4096, '\0'));
    auto log = open_log(tmp.log_dir());
    CHECK(log->end_offset() == total(sizes));
    CHECK(file_size(tmp.log_file()) == whole.size());
  }
}

TEST_CASE("EmbeddedLog: a bad record with valid records after it is corruption") {
  TempDir tmp;
  std::vector<uint64_t> record_pos;  // where each batch's record starts
  {
    auto log = open_log(tmp.log_dir());
    for (size_t n : {3, 2, 5, 4}) {
      record_pos.push_back(file_size(tmp.log_file()));
      append_batches(*log, {n});
    }
  }
  const std::string whole = read_file(tmp.log_file());
  // Record 2 holds offsets 5..9: damage anywhere in it names offset 5.
  const uint64_t bad_pos = record_pos[2];
  const auto check_corrupt = [&](const std::string& damaged) {
    write_file(tmp.log_file(), damaged);
    for (Mode mode : {Mode::kReadWrite, Mode::kReadOnly}) {
      auto log = EmbeddedLog::open(tmp.log_dir(), mode);
      REQUIRE_FALSE(log.ok());
      CHECK(log.status().code() == Status::Code::kCorruption);
      CHECK(log.status().message().find("offset 5 ") != std::string::npos);
      CHECK(log.status().message().find("position " + std::to_string(bad_pos)) !=
            std::string::npos);
    }
    CHECK(read_file(tmp.log_file()) == damaged);  // never "repaired"
  };
  for (uint64_t at : {bad_pos, bad_pos + 4, bad_pos + 8, bad_pos + 12, bad_pos + 16, bad_pos + 30,
                      record_pos[3] - 1}) {
    CAPTURE(at);
    std::string damaged = whole;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x01);
    check_corrupt(damaged);
  }
  std::string zeroed = whole;
  std::fill(zeroed.begin() + static_cast<ptrdiff_t>(bad_pos),
            zeroed.begin() + static_cast<ptrdiff_t>(record_pos[3]), '\0');
  check_corrupt(zeroed);
}

TEST_CASE("EmbeddedLog: a record with a wrong first offset is corruption") {
  TempDir tmp;
  std::string a, b;
  {  // Two logs; splice log b's record for offsets 0.. after log a's record.
    auto log = open_log(tmp.path() + "/a");
    append_batches(*log, {2});
    a = read_file(tmp.path() + "/a/events.log");
    auto other = open_log(tmp.path() + "/b");
    append_batches(*other, {3});
    b = read_file(tmp.path() + "/b/events.log");
  }
  write_file(tmp.path() + "/a/events.log", a + b);
  auto log = EmbeddedLog::open(tmp.path() + "/a", Mode::kReadWrite);
  REQUIRE_FALSE(log.ok());
  CHECK(log.status().code() == Status::Code::kCorruption);
  CHECK(log.status().message().find("offset 2 ") != std::string::npos);
}

TEST_CASE("EmbeddedLog: corruption met by read() names the offset and leaves *out alone") {
  TempDir tmp;
  auto log = open_log(tmp.log_dir());
  append_batches(*log, {3});
  const uint64_t bad_pos = file_size(tmp.log_file());
  append_batches(*log, {4, 2});
  poke(tmp.log_file(), bad_pos + EmbeddedLog::kHeaderBytes + 2, "\x5a\x5a");
  std::vector<EventEnvelope> out(1);
  const Status s = log->read(0, 100, &out);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message().find("offset 3 ") != std::string::npos);
  CHECK(s.message().find("position " + std::to_string(bad_pos)) != std::string::npos);
  CHECK(out.size() == 1);
  CHECK(log->read(5, 1, &out).code() == Status::Code::kCorruption);
  REQUIRE(log->read(7, 10, &out).ok());  // other records still read
  REQUIRE(out.size() == 3);
  check_event(out[1], 7);
  REQUIRE(log->read(0, 3, &out).ok());
  CHECK(out.size() == 6);
}

TEST_CASE("EmbeddedLog: read-only open") {
  TempDir tmp;
  SUBCASE("no log is NotFound, and nothing is created") {
    auto log = EmbeddedLog::open(tmp.log_dir(), Mode::kReadOnly);
    REQUIRE_FALSE(log.ok());
    CHECK(log.status().code() == Status::Code::kNotFound);
    CHECK_FALSE(std::filesystem::exists(tmp.log_dir()));
  }
  SUBCASE("append is refused") {
    open_log(tmp.log_dir());
    auto log = open_log(tmp.log_dir(), Mode::kReadOnly);
    auto batch = make_batch(0, 1);
    CHECK(log->append(batch).code() == Status::Code::kInvalidArgument);
    CHECK(file_size(tmp.log_file()) == 0);
  }
  SUBCASE("sees batches a writer appends later, and an unchanged torn tail") {
    auto writer = open_log(tmp.log_dir());
    append_batches(*writer, {2});
    auto reader = open_log(tmp.log_dir(), Mode::kReadOnly);
    CHECK(reader->end_offset() == 2);
    append_batches(*writer, {3, 1});
    check_log_holds(*reader, 6);
    CHECK(reader->end_offset() == 6);
    const uint64_t bytes = file_size(tmp.log_file());
    poke(tmp.log_file(), bytes, std::string(10, '\x01'));
    CHECK(reader->end_offset() == 6);
    check_log_holds(*reader, 6);
    CHECK(file_size(tmp.log_file()) == bytes + 10);  // a reader never repairs
  }
}

TEST_CASE("EmbeddedLog: a read-only reader never sees part of a record") {
  TempDir tmp;
  std::string record_a, record_b;  // the bytes of batches {3 events} and {5 events}
  {
    auto scratch = open_log(tmp.path() + "/scratch");
    append_batches(*scratch, {3});
    record_a = read_file(tmp.path() + "/scratch/events.log");
    append_batches(*scratch, {5});
    record_b = read_file(tmp.path() + "/scratch/events.log").substr(record_a.size());
  }
  append_batches(*open_log(tmp.log_dir()), {3});
  REQUIRE(read_file(tmp.log_file()) == record_a);
  auto reader = open_log(tmp.log_dir(), Mode::kReadOnly);
  const auto check_sees_only_a = [&](const std::string& file) {
    write_file(tmp.log_file(), file);
    CHECK(reader->end_offset() == 3);
    check_log_holds(*reader, 3);
    std::vector<EventEnvelope> out;
    REQUIRE(reader->read(3, 10, &out).ok());
    CHECK(out.empty());
    CHECK(reader->wait_beyond(2, milliseconds(0)) == 3);
  };
  for (size_t cut = 1; cut < record_b.size(); ++cut) {
    CAPTURE(cut);
    check_sees_only_a(record_a + record_b.substr(0, cut));
  }
  // All of the record's bytes allocated, only the header written yet.
  check_sees_only_a(record_a + record_b.substr(0, EmbeddedLog::kHeaderBytes) +
                    std::string(record_b.size() - EmbeddedLog::kHeaderBytes, '\0'));
  write_file(tmp.log_file(), record_a + record_b);
  CHECK(reader->end_offset() == 8);
  check_log_holds(*reader, 8);
}

TEST_CASE("EmbeddedLog: concurrent readers see whole batches while one writer appends") {
  TempDir tmp;
  auto writer = open_log(tmp.log_dir());
  auto ro = open_log(tmp.log_dir(), Mode::kReadOnly);
  std::vector<size_t> sizes;
  std::set<uint64_t> boundaries = {0};
  for (size_t i = 0; i < 150; ++i) {
    sizes.push_back(i % 9 + 1);
    boundaries.insert(*boundaries.rbegin() + sizes.back());
  }
  const uint64_t n = *boundaries.rbegin();
  std::atomic<bool> failed{false};
  // Reads everything in small steps, waiting for more; every end it sees
  // must be a batch boundary and every event must be the one written.
  const auto follow = [&](EventLog* log) {
    uint64_t next = 0;
    while (next < n) {
      const uint64_t end = log->wait_beyond(next, milliseconds(10'000));
      if (boundaries.count(end) == 0 || end <= next) failed = true;
      std::vector<EventEnvelope> out;
      if (!log->read(next, 7, &out).ok() || out.empty()) failed = true;
      if (failed) return;
      for (const auto& e : out) {
        const EventEnvelope want = make_event(next);
        if (e.offset != next++ || e.payload != want.payload || e.type != want.type) failed = true;
      }
    }
  };
  std::thread t1(follow, writer.get()), t2(follow, ro.get()), t3(follow, ro.get());
  append_batches(*writer, sizes);
  t1.join();
  t2.join();
  t3.join();
  CHECK_FALSE(failed.load());
  check_log_holds(*ro, n);
}

TEST_CASE("EmbeddedLog: wait_beyond wakes on append and on close_waiters") {
  TempDir tmp;
  auto log = open_log(tmp.log_dir());
  append_batches(*log, {2});
  CHECK(log->wait_beyond(1, milliseconds(60'000)) == 2);  // already beyond: at once
  CHECK(log->wait_beyond(2, milliseconds(0)) == 2);       // timed out: the end

  SUBCASE("append wakes a waiter") {
    uint64_t seen = 0;
    std::thread waiter([&] { seen = log->wait_beyond(2, std::chrono::hours(1)); });
    append_batches(*log, {3});
    waiter.join();
    CHECK(seen == 5);
  }
  SUBCASE("with deferred wakes, the appender's wake_readers() wakes a waiter") {
    log->defer_reader_wakes();  // as the engine's writer does
    uint64_t seen = 0;
    std::thread waiter([&] { seen = log->wait_beyond(2, std::chrono::hours(1)); });
    append_batches(*log, {3});
    CHECK(log->end_offset() == 5);  // published to readers that look
    log->wake_readers();
    waiter.join();
    CHECK(seen == 5);
  }
  SUBCASE("a writer's append wakes a read-only waiter") {
    auto ro = open_log(tmp.log_dir(), Mode::kReadOnly);
    uint64_t seen = 0;
    std::thread waiter([&] { seen = ro->wait_beyond(2, std::chrono::hours(1)); });
    append_batches(*log, {3});
    waiter.join();
    CHECK(seen == 5);
  }
  SUBCASE("close_waiters wakes every waiter, and later waits return at once") {
    auto ro = open_log(tmp.log_dir(), Mode::kReadOnly);
    std::vector<std::thread> waiters;
    std::atomic<int> woken{0};
    for (EventLog* l : {static_cast<EventLog*>(log.get()), static_cast<EventLog*>(ro.get())}) {
      for (int i = 0; i < 2; ++i) {
        waiters.emplace_back([&woken, l] {
          if (l->wait_beyond(2, std::chrono::hours(1)) == 2) ++woken;
        });
      }
    }
    log->close_waiters();
    ro->close_waiters();
    for (auto& t : waiters) t.join();
    CHECK(woken == 4);
    CHECK(log->wait_beyond(2, std::chrono::hours(1)) == 2);
    CHECK(ro->wait_beyond(2, milliseconds::max()) == 2);
  }
}

std::unique_ptr<EmbeddedLog> open_preallocating(const std::string& dir, uint64_t bytes) {
  auto log = EmbeddedLog::open(dir, Mode::kReadWrite, bytes);
  REQUIRE_MESSAGE(log.ok(), log.status().ToString());
  return std::move(log.value());
}

TEST_CASE("EmbeddedLog: a preallocating log keeps a zero tail that every reader ignores") {
  TempDir tmp;
  constexpr uint64_t kChunk = 4096;
  const std::vector<size_t> sizes = {3, 9, 1, 30, 2, 17, 5, 40};
  uint64_t records_end = 0;
  {
    auto log = open_preallocating(tmp.log_dir(), kChunk);
    append_batches(*log, sizes);
    check_log_holds(*log, total(sizes));
    auto reader = open_log(tmp.log_dir(), Mode::kReadOnly);
    CHECK(reader->end_offset() == total(sizes));
    check_log_holds(*reader, total(sizes));
    const std::string bytes = read_file(tmp.log_file());
    CHECK(bytes.size() % kChunk == 0);
    // The records end where the zeros begin (at least one header's worth).
    records_end = bytes.find_last_not_of('\0') + 1;
    CHECK(bytes.size() - records_end >= EmbeddedLog::kHeaderBytes);
  }
  SUBCASE("a plain kReadWrite open cuts the zero tail off and appends on") {
    auto log = open_log(tmp.log_dir());
    CHECK(log->repaired_tail_bytes() == 0);
    CHECK(file_size(tmp.log_file()) == records_end);
    append_batches(*log, {4});
    log.reset();
    check_log_holds(*open_log(tmp.log_dir(), Mode::kReadOnly), total(sizes) + 4);
  }
  SUBCASE("reopened preallocating, it appends into its zero tail") {
    auto log = open_preallocating(tmp.log_dir(), kChunk);
    append_batches(*log, {4, 6});
    log.reset();
    check_log_holds(*open_log(tmp.log_dir(), Mode::kReadOnly), total(sizes) + 10);
    CHECK(file_size(tmp.log_file()) % kChunk == 0);
  }
}

TEST_CASE("EmbeddedLog: a torn append into the zero tail is cut away at open") {
  TempDir tmp;
  std::string next_record;  // the bytes the torn append would have written
  {
    auto scratch = open_log(tmp.path() + "/scratch");
    append_batches(*scratch, {3});
    const uint64_t first = file_size(tmp.path() + "/scratch/events.log");
    append_batches(*scratch, {5});
    next_record = read_file(tmp.path() + "/scratch/events.log").substr(first);
  }
  {
    auto log = open_preallocating(tmp.log_dir(), 1u << 16);
    append_batches(*log, {3});
  }
  const uint64_t end = read_file(tmp.log_file()).find_last_not_of('\0') + 1;
  SUBCASE("header and part of the body written") {
    poke(tmp.log_file(), end, next_record.substr(0, next_record.size() / 2));
  }
  SUBCASE("the header's page lost, a later part of the record written") {
    poke(tmp.log_file(), end + EmbeddedLog::kHeaderBytes + 8,
         next_record.substr(EmbeddedLog::kHeaderBytes + 8));
  }
  auto log = open_preallocating(tmp.log_dir(), 1u << 16);
  CHECK(log->end_offset() == 3);
  CHECK(file_size(tmp.log_file()) == end);
  append_batches(*log, {5});
  log.reset();
  check_log_holds(*open_log(tmp.log_dir(), Mode::kReadOnly), 8);
}

TEST_CASE("EmbeddedLog: a zeroed record header with valid records after it is corruption") {
  TempDir tmp;
  uint64_t second = 0;  // where the second record starts: after the first one's bytes
  {
    auto scratch = open_log(tmp.path() + "/scratch");
    append_batches(*scratch, {3});
    second = file_size(tmp.path() + "/scratch/events.log");
  }
  append_batches(*open_preallocating(tmp.log_dir(), 1u << 16), {3, 2, 5});
  const std::string bytes = read_file(tmp.log_file());
  poke(tmp.log_file(), second, std::string(EmbeddedLog::kHeaderBytes, '\0'));
  for (Mode mode : {Mode::kReadWrite, Mode::kReadOnly}) {
    auto log = EmbeddedLog::open(tmp.log_dir(), mode);
    REQUIRE_FALSE(log.ok());
    CHECK(log.status().code() == Status::Code::kCorruption);
    CHECK(log.status().ToString().find("event offset 3") != std::string::npos);
  }
  CHECK(read_file(tmp.log_file()).size() == bytes.size());  // nothing was cut
}

TEST_CASE("EmbeddedLog: readers follow a preallocating writer across many extensions") {
  TempDir tmp;
  auto writer = open_preallocating(tmp.log_dir(), 512);  // small: it grows all the time
  auto ro = open_log(tmp.log_dir(), Mode::kReadOnly);
  std::vector<size_t> sizes;
  for (size_t i = 0; i < 120; ++i) sizes.push_back(i % 7 + 1);
  const uint64_t n = total(sizes);
  std::atomic<bool> failed{false};
  std::thread follower([&] {
    uint64_t next = 0;
    while (next < n && !failed) {
      if (ro->wait_beyond(next, milliseconds(10'000)) <= next) failed = true;
      std::vector<EventEnvelope> out;
      if (!ro->read(next, 5, &out).ok() || out.empty()) failed = true;
      for (const auto& e : out) {
        if (e.offset != next || e.payload != make_event(next).payload) failed = true;
        ++next;
      }
    }
  });
  append_batches(*writer, sizes);
  follower.join();
  CHECK_FALSE(failed.load());
  check_log_holds(*ro, n);
}

TEST_CASE("DirLock: one holder at a time") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/data";
  CHECK_FALSE(DirLock::is_locked(dir));

  SUBCASE("another process holds it: Busy naming its pid, free after it exits") {
    int ready[2], go[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(go) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      auto lock = DirLock::acquire(dir);
      char c = lock.ok() ? 'y' : 'n';
      [[maybe_unused]] ssize_t w = ::write(ready[1], &c, 1);
      [[maybe_unused]] ssize_t r = ::read(go[0], &c, 1);
      ::_exit(0);
    }
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    REQUIRE(c == 'y');
    auto second = DirLock::acquire(dir);
    REQUIRE_FALSE(second.ok());
    CHECK(second.status().code() == Status::Code::kBusy);
    CHECK(second.status().message() == "data directory '" + dir +
                                           "' is in use by another reservoir process (pid " +
                                           std::to_string(child) + ")");
    CHECK(DirLock::is_locked(dir));
    REQUIRE(::write(go[1], &c, 1) == 1);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    for (int fd : {ready[0], ready[1], go[0], go[1]}) ::close(fd);
    CHECK_FALSE(DirLock::is_locked(dir));
    CHECK(DirLock::acquire(dir).ok());
  }
  SUBCASE("a second acquire in the same process conflicts too; moves keep it held") {
    auto first = DirLock::acquire(dir);
    REQUIRE(first.ok());
    CHECK(std::filesystem::exists(dir + "/LOCK"));
    auto second = DirLock::acquire(dir);
    REQUIRE_FALSE(second.ok());
    CHECK(second.status().code() == Status::Code::kBusy);
    CHECK(second.status().message().find("(pid " + std::to_string(::getpid()) + ")") !=
          std::string::npos);
    {
      DirLock moved = std::move(first.value());
      CHECK(DirLock::is_locked(dir));
      CHECK(moved.dir() == dir);
    }
    CHECK_FALSE(DirLock::is_locked(dir));
    auto again = DirLock::acquire(dir);
    CHECK(again.ok());
  }
}

}  // namespace reservoir
