// events/os.h: the OS behind its interface.
#include <doctest/doctest.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <thread>

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

}  // namespace
}  // namespace reservoir
