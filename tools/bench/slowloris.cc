// `slowloris` (issue 16): the charge load alone, then the same load beside
// --slow-connections clients that each send one more byte of a request head
// every second and never finish it. A slow client the server closes (408 at
// its request deadline, 503 beyond its connection bound) is opened again, so
// the pressure stays. Reports both runs and their p50/p99 and rates side by
// side, and what the server did to the slow clients.
#include <netdb.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tools/bench/scenarios.h"

namespace reservoir::tools::bench {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kFilesSpare = 1024;  // the working connections and the rest
constexpr int kSlicesPerSecond = 10;   // each slice sends to a tenth of the slow clients
// The slow clients get this long to connect and begin before the measured run.
constexpr auto kSettle = 2s;
constexpr const char kHead[] = "POST /api/v1/balance/charge HTTP/1.1\r\nHost: bench\r\nX-Slow: ";

struct SlowCounts {
  std::atomic<int64_t> timed_out{0};  // answered 408 and closed
  std::atomic<int64_t> refused{0};    // answered 503 and closed
  std::atomic<int64_t> closed{0};     // closed without an answer (or reset)
  std::atomic<int64_t> connect_failures{0};
};

// N slow connections driven by one thread.
class SlowClients {
 public:
  SlowClients(addrinfo* where, int n) : where_(where), fds_(static_cast<size_t>(n), -1) {}
  ~SlowClients() { stop(); }

  void start() {
    for (auto& fd : fds_) fd = open();
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    for (int& fd : fds_) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }
  int64_t open_now() const {
    int64_t n = 0;
    for (int fd : fds_) n += fd >= 0 ? 1 : 0;
    return n;
  }
  const SlowCounts& counts() const { return counts_; }

 private:
  int open() {
    const int fd = ::socket(where_->ai_family, SOCK_STREAM, 0);
    if (fd >= 0 && ::connect(fd, where_->ai_addr, where_->ai_addrlen) == 0) return fd;
    if (fd >= 0) ::close(fd);
    counts_.connect_failures.fetch_add(1);
    return -1;
  }
  // Sends connection i its next byte; a connection the server ended is
  // counted by how it ended and opened again.
  void poke(size_t i, size_t byte_index) {
    int& fd = fds_[i];
    if (fd < 0 && (fd = open()) < 0) return;
    char answer[16] = {};
    const ssize_t got = ::recv(fd, answer, sizeof answer - 1, MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {  // still open: one more byte
      const char byte = byte_index < sizeof kHead - 1 ? kHead[byte_index] : 'a';
      if (::send(fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0 || errno == EAGAIN) return;
      counts_.closed.fetch_add(1);
    } else if (got > 0) {
      const bool timeout = std::strncmp(answer, "HTTP/1.1 408", 12) == 0;
      const bool refused = std::strncmp(answer, "HTTP/1.1 503", 12) == 0;
      (timeout ? counts_.timed_out : refused ? counts_.refused : counts_.closed).fetch_add(1);
    } else {
      counts_.closed.fetch_add(1);  // end of stream or reset
    }
    ::close(fd);
    fd = open();
  }
  void run() {
    const size_t n = fds_.size();
    for (size_t second = 0; !stop_.load(); ++second) {
      for (int slice = 0; slice < kSlicesPerSecond && !stop_.load(); ++slice) {
        const auto until = std::chrono::steady_clock::now() + 1000ms / kSlicesPerSecond;
        for (size_t i = static_cast<size_t>(slice); i < n; i += kSlicesPerSecond) poke(i, second);
        std::this_thread::sleep_until(until);
      }
    }
  }

  addrinfo* where_;
  std::vector<int> fds_;
  SlowCounts counts_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

double number(const Report& r, const char* name) {
  const Report::Value* v = r.find(name);
  if (v == nullptr) return 0;
  if (const auto* d = std::get_if<double>(v)) return *d;
  if (const auto* i = std::get_if<int64_t>(v)) return static_cast<double>(*i);
  return 0;
}

// p50, p99 (ms) and the rate of one run, under `prefix`.
void summarize(const std::string& prefix, const Report& run, Report& report) {
  const LatencyHistogram* h = run.find_latency("latency");
  report.add(prefix + "_rps", number(run, "throughput_rps"));
  report.add(prefix + "_errors", static_cast<int64_t>(number(run, "errors")));
  if (h == nullptr) return;
  report.add(prefix + "_p50_ms", static_cast<double>(h->percentile_us(50)) / 1000.0);
  report.add(prefix + "_p99_ms", static_cast<double>(h->percentile_us(99)) / 1000.0);
}

bool raise_files(int64_t needed, std::string& error) {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return true;
  if (r.rlim_max < static_cast<rlim_t>(needed)) {
    error = "need " + std::to_string(needed) + " file descriptors, the hard limit is " +
            std::to_string(r.rlim_max) + " (raise it with ulimit -Hn)";
    return false;
  }
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
  return true;
}

}  // namespace

bool run_slowloris(const BenchOptions& o, const LoadPlan& charge, Report& report,
                   std::string& error) {
  if (!raise_files(o.slow_connections + kFilesSpare, error)) return false;
  std::string host;
  int port = 0;
  split_url(o.url, host, port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* where = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &where) != 0) {
    error = "cannot resolve " + host;
    return false;
  }
  Report alone, beside;
  if (!run_load(charge, alone, error)) {
    freeaddrinfo(where);
    return false;
  }
  std::fprintf(stderr, "slowloris: opening %lld slow connections\n",
               static_cast<long long>(o.slow_connections));
  SlowClients slow(where, static_cast<int>(o.slow_connections));
  slow.start();
  std::this_thread::sleep_for(kSettle);
  // A server the slow clients starve fails this run: that is the finding.
  std::string starved;
  const bool served = run_load(charge, beside, starved);
  const int64_t open_at_end = slow.open_now();
  slow.stop();
  freeaddrinfo(where);
  report.add("scenario", std::string("slowloris"));
  report.add("slow_connections", o.slow_connections);
  report.add("working_connections", o.connections);
  summarize("alone", alone, report);
  if (served) {
    summarize("beside_slow", beside, report);
  } else {
    report.add("beside_slow", "not served: " + starved);
  }
  const SlowCounts& c = slow.counts();
  report.add("slow_open_at_end", open_at_end);
  report.add("slow_cut_408", c.timed_out.load());
  report.add("slow_refused_503", c.refused.load());
  report.add("slow_closed_otherwise", c.closed.load());
  report.add("slow_connect_failures", c.connect_failures.load());
  report.add_child("alone", std::move(alone));
  report.add_child("beside_slow", std::move(beside));
  return true;
}

}  // namespace reservoir::tools::bench
