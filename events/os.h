// The operating system behind interfaces (clock and randomness), so the pure
// core and its tests run deterministic and in memory.
//
// Thread safety: SystemClock and OsRandom are safe from any thread;
// ManualClock and SeededRandom are for single-threaded tests (ManualClock's
// time is atomic so a test thread may advance it while a writer reads it).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

namespace reservoir {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() = 0;  // Unix milliseconds, UTC
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() override;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms) : now_(start_ms) {}
  int64_t now_ms() override { return now_.load(); }
  void advance_ms(int64_t d) { now_ += d; }
  void set_ms(int64_t t) { now_ = t; }

 private:
  std::atomic<int64_t> now_;
};

class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(void* buf, size_t n) = 0;
  // A version-4 UUID: 122 random bits, lower-case, 36 characters.
  std::string uuid();
};

// getrandom(2): a cryptographic source for bearer tokens. It reads
// kBufferBytes at a time (a fill larger than that goes straight to the
// kernel): the writer makes an id for most commands, and one system call
// each cost the core 30% of its rate (docs/BENCHMARKS.md). Bytes handed out
// are wiped from the buffer.
class OsRandom final : public Random {
 public:
  static constexpr size_t kBufferBytes = 4096;
  void fill(void* buf, size_t n) override;

 private:
  std::mutex mu_;
  std::array<unsigned char, kBufferBytes> buffer_{};
  size_t used_ = kBufferBytes;  // bytes at the front already handed out
};

// Asks the OS to run the calling thread ahead of ordinary ones: SCHED_FIFO
// at the lowest real-time priority when permitted (root, CAP_SYS_NICE),
// else nice -10, else nothing. For a serial stage that must keep up while
// hundreds of HTTP and client threads share 2 cores: the kernel's fair
// share gives one thread among ~130 runnable ones about 1% of the CPU.
// Returns what the thread got, in words, for the caller to log.
std::string raise_this_thread_priority();

// Asks the OS to run the calling thread behind ordinary ones, at `nice`
// (1..19). For a serial stage that gains from waiting under load (the
// single writer: see engine/writer.h). Returns what the thread got, in
// words, for the caller to log.
std::string lower_this_thread_priority(int nice);

// Names the calling thread for `top -H`, `ps -L` and perf (the kernel keeps
// the first 15 bytes). Best effort: a name is for people, not for logic.
void name_this_thread(const char* name);

// splitmix64: reproducible ids for tests. Not for secrets.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : s_(seed) {}
  void fill(void* buf, size_t n) override;

 private:
  uint64_t s_;
};

}  // namespace reservoir
