// `burst`: the ticket-drop test of SPEC §4. Every connection is opened in the
// first few milliseconds, so the server's accept queue takes the whole burst
// at once; a queue that overflows drops SYNs or handshakes, which the client
// kernel retries after a second (a stall) or answers with a reset.
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <latch>
#include <thread>
#include <vector>

#include "tools/bench/clock.h"
#include "tools/bench/scenarios.h"

namespace reservoir::tools::bench {
namespace {

constexpr int kThreadsMax = 4;          // enough to open thousands of sockets in ms
constexpr int64_t kTimeoutMs = 30'000;  // a connection not answered by then counts as timed out
constexpr int64_t kStallMs = 1000;      // a SYN retransmission takes 1 s: that is a stall
constexpr int kFdsSpare = 64;           // stdio, epoll, the odd library descriptor
constexpr size_t kAnswerBytesMax = 64 * 1024;
constexpr int kEventsMax = 256;  // per epoll_wait
constexpr size_t kOpensPerPoll = 32;
constexpr int kPollWaitMs = 100;

struct Conn {
  int fd = -1;
  int64_t start_ns = 0, connected_ns = 0;
  bool connecting = true;
  std::string answer;
};

struct BurstStats {
  LatencyHistogram total, connect;
  OutcomeTable outcomes;
  int64_t served = 0, refused = 0, reset = 0, closed_early = 0, timed_out = 0, other = 0;
  int64_t stalled = 0, connect_stalled = 0;
  int64_t first_ns = INT64_MAX, last_ns = 0;
};

struct Target {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string request;
};

// True once `answer` holds a whole response (headers and Content-Length body).
bool complete(const std::string& answer) {
  const size_t end = answer.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  size_t length = 0;
  for (size_t at = answer.find('\n'); at != std::string::npos && at < end;
       at = answer.find('\n', at + 1)) {
    if (strncasecmp(answer.c_str() + at + 1, "content-length:", 15) == 0) {
      length = std::strtoull(answer.c_str() + at + 16, nullptr, 10);
    }
  }
  return answer.size() >= end + 4 + length;
}

void finish(BurstStats& st, Conn& c, int err, int64_t now) {
  ::close(c.fd);
  c.fd = -1;
  if (err == 0) {
    const int status = std::atoi(c.answer.c_str() + std::min<size_t>(9, c.answer.size()));
    st.outcomes.record(status, "", status == 200 ? Verdict::kOk : Verdict::kError);
    ++st.served;
    st.total.record((now - c.start_ns) / 1000);
    st.stalled += now - c.start_ns > kStallMs * 1'000'000;
  } else {
    const char* name = err == ENODATA ? "EOF_BEFORE_ANSWER" : strerrorname_np(err);
    st.outcomes.record(0, name != nullptr ? name : "errno", Verdict::kError);
    if (err == ECONNREFUSED)
      ++st.refused;
    else if (err == ECONNRESET || err == EPIPE)
      ++st.reset;
    else if (err == ETIMEDOUT)
      ++st.timed_out;
    else if (err == ENODATA)
      ++st.closed_early;  // our marker: EOF before a whole answer
    else
      ++st.other;
  }
  st.last_ns = std::max(st.last_ns, now);
}

}  // namespace

namespace {

void on_connected(BurstStats& st, Conn& c, int epoll_fd, int64_t now, const std::string& request) {
  c.connecting = false;
  c.connected_ns = now;
  st.connect.record((now - c.start_ns) / 1000);
  st.connect_stalled += now - c.start_ns > kStallMs * 1'000'000;
  const ssize_t sent = ::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL);
  if (sent != static_cast<ssize_t>(request.size())) {
    return finish(st, c, sent < 0 ? errno : EPIPE, now);  // a tiny request fits any buffer
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &c;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev) != 0) finish(st, c, errno, now);
}

void on_readable(BurstStats& st, Conn& c, int64_t now) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      c.answer.append(buf, static_cast<size_t>(n));
      if (complete(c.answer)) return finish(st, c, 0, now);
      if (c.answer.size() > kAnswerBytesMax) return finish(st, c, EMSGSIZE, now);
      continue;
    }
    if (n == 0) return finish(st, c, ENODATA, now);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) finish(st, c, errno, now);
    return;
  }
}

void on_event(BurstStats& st, Conn& c, uint32_t events, int epoll_fd, const std::string& request) {
  const int64_t now = now_ns();
  if (!c.connecting) return on_readable(st, c, now);
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) return finish(st, c, err, now);
  if ((events & EPOLLOUT) != 0) on_connected(st, c, epoll_fd, now, request);
}

// Starts one non-blocking connect; false when it failed at once (recorded).
bool open_one(BurstStats& st, Conn& c, const Target& t, int epoll_fd) {
  c.start_ns = now_ns();
  st.first_ns = std::min(st.first_ns, c.start_ns);
  c.fd = ::socket(t.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    finish(st, c, errno, now_ns());
    return false;
  }
  const int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&t.addr), t.addr_len) != 0 &&
      errno != EINPROGRESS) {
    finish(st, c, errno, now_ns());
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLOUT;  // fires at once if the connect already completed
  ev.data.ptr = &c;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
    finish(st, c, errno, now_ns());
    return false;
  }
  return true;
}

void burst_thread(const Target& t, std::latch& go, std::vector<Conn>& conns, BurstStats& st) {
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  go.arrive_and_wait();  // every thread starts connecting at the same moment
  size_t pending = 0;
  epoll_event events[kEventsMax];
  auto poll = [&](int timeout_ms) {
    const int n = epoll_wait(epoll_fd, events, kEventsMax, timeout_ms);
    for (int i = 0; i < n; ++i) {
      Conn& c = *static_cast<Conn*>(events[i].data.ptr);
      on_event(st, c, events[i].events, epoll_fd, t.request);
      if (c.fd < 0) --pending;
    }
  };
  for (size_t i = 0; i < conns.size(); ++i) {
    pending += open_one(st, conns[i], t, epoll_fd);
    // Take what is ready now and then, so an early connection's time is not
    // inflated by this thread still opening the later ones.
    if (i % kOpensPerPoll == kOpensPerPoll - 1) poll(0);
  }
  const int64_t deadline = st.first_ns + kTimeoutMs * 1'000'000;
  while (pending > 0 && now_ns() < deadline) poll(kPollWaitMs);
  for (auto& c : conns) {
    if (c.fd >= 0) finish(st, c, ETIMEDOUT, now_ns());
  }
  ::close(epoll_fd);
}

bool resolve(const std::string& url, Target& t, std::string& error) {
  std::string host;
  int port = 0;
  if (!split_url(url, host, port)) {
    error = "--url must look like http://host:port";
    return false;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    error = "cannot resolve " + host + ": " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&t.addr, found->ai_addr, found->ai_addrlen);
  t.addr_len = found->ai_addrlen;
  freeaddrinfo(found);
  t.request = "GET /healthz HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) +
              "\r\nAccept-Encoding: identity\r\n\r\n";
  return true;
}

// One descriptor per connection: raise the soft limit as far as needed.
bool raise_fd_limit(int64_t needed, std::string& error) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return true;
  if (lim.rlim_cur >= static_cast<rlim_t>(needed)) return true;
  if (lim.rlim_max < static_cast<rlim_t>(needed)) {
    error = "need " + std::to_string(needed) + " file descriptors, the hard limit is " +
            std::to_string(lim.rlim_max) + " (raise it with ulimit -Hn)";
    return false;
  }
  lim.rlim_cur = static_cast<rlim_t>(needed);
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    error = std::string("cannot raise RLIMIT_NOFILE: ") + std::strerror(errno);
    return false;
  }
  return true;
}

void merge(BurstStats& into, const BurstStats& s) {
  into.total.merge(s.total);
  into.connect.merge(s.connect);
  into.outcomes.merge(s.outcomes);
  into.served += s.served;
  into.refused += s.refused;
  into.reset += s.reset;
  into.closed_early += s.closed_early;
  into.timed_out += s.timed_out;
  into.other += s.other;
  into.stalled += s.stalled;
  into.connect_stalled += s.connect_stalled;
  into.first_ns = std::min(into.first_ns, s.first_ns);
  into.last_ns = std::max(into.last_ns, s.last_ns);
}

void fill_report(const BenchOptions& o, const BurstStats& st, Report& report) {
  const bool all_ok = st.served == o.connections && st.stalled == 0 &&
                      st.total.count() == static_cast<uint64_t>(o.connections);
  report.add("scenario", std::string("burst"));
  report.add("target", o.url);
  report.add("connections", o.connections);
  report.add("served", st.served);
  report.add("refused", st.refused);
  report.add("reset", st.reset);
  report.add("closed_before_answer", st.closed_early);
  report.add("timed_out", st.timed_out);
  report.add("other_errors", st.other);
  report.add("stalled_over_1s", st.stalled);
  report.add("connect_over_1s", st.connect_stalled);
  report.add("wall_ms", static_cast<double>(st.last_ns - st.first_ns) / 1e6);
  report.add("all_served_none_stalled", std::string(all_ok ? "yes" : "no"));
  report.set_outcomes(st.outcomes);
  report.add_latency("connect", st.connect);
  report.add_latency("latency", st.total);
}

}  // namespace

bool split_url(const std::string& url, std::string& host, int& port) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return false;
  std::string rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || rest.find('/') != std::string::npos) return false;
  host = rest.substr(0, colon);
  port = std::atoi(rest.c_str() + colon + 1);
  return port > 0 && port <= 65535;
}

bool run_burst(const BenchOptions& o, Report& report, std::string& error) {
  Target target;
  if (!resolve(o.url, target, error)) return false;
  if (!raise_fd_limit(o.connections + kFdsSpare, error)) return false;
  const int threads = static_cast<int>(std::min<int64_t>(kThreadsMax, o.connections));
  std::vector<std::vector<Conn>> conns(static_cast<size_t>(threads));
  for (int64_t i = 0; i < o.connections; ++i)
    conns[static_cast<size_t>(i % threads)].emplace_back();
  std::vector<BurstStats> stats(static_cast<size_t>(threads));
  std::latch go(threads);
  std::vector<std::thread> workers;
  for (size_t t = 0; t < conns.size(); ++t) {
    workers.emplace_back(burst_thread, std::cref(target), std::ref(go), std::ref(conns[t]),
                         std::ref(stats[t]));
  }
  for (auto& w : workers) w.join();
  BurstStats total;
  for (const auto& s : stats) merge(total, s);
  fill_report(o, total, report);
  return true;
}

}  // namespace reservoir::tools::bench
