// events/os.h: the OS behind its interface.
#include <doctest/doctest.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "events/os.h"

namespace reservoir {
namespace {

TEST_CASE("raise_this_thread_priority: the thread gets what it reports, others keep theirs") {
  std::string got;
  int policy = -1, nice_value = 0;
  // On a thread of its own: the test runner keeps its priority.
  std::thread t([&] {
    got = raise_this_thread_priority();
    sched_param p{};
    REQUIRE(pthread_getschedparam(pthread_self(), &policy, &p) == 0);
    nice_value = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  });
  t.join();
  INFO("got: ", got);
  if (got == "real-time (SCHED_FIFO)") {
    CHECK(policy == SCHED_FIFO);
  } else if (got == "nice -10") {
    CHECK(policy == SCHED_OTHER);
    CHECK(nice_value == -10);
  } else {
    CHECK(got.rfind("normal priority (", 0) == 0);
    CHECK(policy == SCHED_OTHER);
  }
  int mine = -1;
  sched_param p{};
  REQUIRE(pthread_getschedparam(pthread_self(), &mine, &p) == 0);
  CHECK(mine == SCHED_OTHER);
}

TEST_CASE("lower_this_thread_priority: the thread runs at that nice value, others keep theirs") {
  const int before = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  // Below the runner's own, which may be niced already.
  const int want = std::min(19, std::max(before, 0) + 3);
  std::string got;
  int nice_value = 0;
  std::thread t([&] {
    got = lower_this_thread_priority(want);
    nice_value = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  });
  t.join();
  // Lowering one's own priority needs no privilege.
  CHECK(got == "nice " + std::to_string(want));
  CHECK(nice_value == want);
  CHECK(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())) == before);
}

TEST_CASE("name_this_thread: the thread carries the name, cut to the kernel's 15 bytes") {
  std::array<char, 32> short_name{}, long_name{}, runner_before{}, runner_after{};
  REQUIRE(pthread_getname_np(pthread_self(), runner_before.data(), runner_before.size()) == 0);
  std::thread t([&] {
    name_this_thread("rsv-writer");
    REQUIRE(pthread_getname_np(pthread_self(), short_name.data(), short_name.size()) == 0);
    name_this_thread("rsv-a-name-longer-than-fifteen");
    REQUIRE(pthread_getname_np(pthread_self(), long_name.data(), long_name.size()) == 0);
  });
  t.join();
  CHECK(std::string(short_name.data()) == "rsv-writer");
  CHECK(std::string(long_name.data()) == "rsv-a-name-long");
  REQUIRE(pthread_getname_np(pthread_self(), runner_after.data(), runner_after.size()) == 0);
  CHECK(std::string(runner_after.data()) == std::string(runner_before.data()));
}

// 16 random bytes as a string, for comparing.
std::string block16(Random& r) {
  std::string s(16, '\0');
  r.fill(s.data(), s.size());
  return s;
}

TEST_CASE("OsRandom: fills of any size, across buffer refills, are random and never repeat") {
  OsRandom random;
  std::set<std::string> seen;
  // Enough 16-byte ids to refill the buffer many times over; a repeat or an
  // all-zero id would mean bytes handed out twice or a wiped buffer reused.
  for (size_t i = 0; i < 10 * OsRandom::kBufferBytes / 16; ++i) {
    const std::string b = block16(random);
    REQUIRE(b != std::string(16, '\0'));
    REQUIRE(seen.insert(b).second);
  }
  // Sizes around the buffer's, including one that skips it.
  for (size_t n :
       {size_t{0}, size_t{1}, size_t{7}, OsRandom::kBufferBytes - 1, OsRandom::kBufferBytes,
        OsRandom::kBufferBytes + 1, 3 * OsRandom::kBufferBytes}) {
    std::vector<unsigned char> a(n + 2, 0xAA), b(n + 2, 0xAA);
    random.fill(a.data() + 1, n);
    random.fill(b.data() + 1, n);
    CHECK(a.front() == 0xAA);  // nothing written outside [1, n]
    CHECK(a.back() == 0xAA);
    if (n >= 7) {
      CHECK(a != b);
      // 256 values over n bytes: a byte value missing from a long fill, or
      // one run of equal bytes across it, would mean a broken source.
      CHECK(std::count(a.begin() + 1, a.end() - 1, a[1]) < static_cast<long>(n));
    }
  }
}

TEST_CASE("OsRandom: threads filling at once never get the same bytes") {
  OsRandom random;
  constexpr int kThreads = 4, kIdsEach = 2000;
  std::vector<std::vector<std::string>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIdsEach; ++i) got[t].push_back(block16(random));
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& ids : got) all.insert(ids.begin(), ids.end());
  CHECK(all.size() == static_cast<size_t>(kThreads * kIdsEach));
}

}  // namespace
}  // namespace reservoir
