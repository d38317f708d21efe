#include "events/os.h"

#include <pthread.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace reservoir {
namespace {

bool set_this_thread_nice(int nice) {
  return setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice) == 0;
}

std::string not_changed() {
  return std::string("normal priority (") + std::strerror(errno) + ")";
}

void getrandom_all(void* buf, size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    const ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::abort();  // no entropy means no safe tokens: fail stop
    }
    p += got;
    n -= static_cast<size_t>(got);
  }
}

}  // namespace

std::string raise_this_thread_priority() {
  sched_param p{};
  p.sched_priority = sched_get_priority_min(SCHED_FIFO);
  if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) == 0) return "real-time (SCHED_FIFO)";
  constexpr int kNice = -10;
  if (set_this_thread_nice(kNice)) return "nice -10";
  return not_changed();
}

std::string lower_this_thread_priority(int nice) {
  if (set_this_thread_nice(nice)) return "nice " + std::to_string(nice);
  return not_changed();
}

void name_this_thread(const char* name) {
  constexpr size_t kNameBytesMax = 15;  // TASK_COMM_LEN less the terminator
  char cut[kNameBytesMax + 1] = {};
  std::strncpy(cut, name, kNameBytesMax);
  [[maybe_unused]] const int rc = pthread_setname_np(pthread_self(), cut);
}

int64_t SystemClock::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Random::uuid() {
  unsigned char b[16];
  fill(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b[i] >> 4]);
    s.push_back(kHex[b[i] & 15]);
  }
  return s;
}

void OsRandom::fill(void* buf, size_t n) {
  if (n > kBufferBytes) return getrandom_all(buf, n);
  std::lock_guard lock(mu_);
  if (kBufferBytes - used_ < n) {
    getrandom_all(buffer_.data(), kBufferBytes);
    used_ = 0;
  }
  std::memcpy(buf, buffer_.data() + used_, n);
  std::memset(buffer_.data() + used_, 0, n);
  used_ += n;
}

void SeededRandom::fill(void* buf, size_t n) {
  auto* p = static_cast<unsigned char*>(buf);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    std::memcpy(p + i, &z, n - i < 8 ? n - i : 8);
  }
}

}  // namespace reservoir
