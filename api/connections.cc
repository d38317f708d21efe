#include "api/connections.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string_view>

#include "api/http_names.h"
#include "api/request_id.h"
#include "events/oplog.h"
#include "events/os.h"

namespace reservoir::api {

namespace {

constexpr size_t kRecvChunkBytes = 16 * 1024;
constexpr int kEventsPerWait = 256;
// Deadlines are checked this often: a slow client is cut within its
// timeout plus this.
constexpr int64_t kSweepIntervalMs = 100;
// A refused or timed-out connection: what the client already sent is read
// (up to this) before the close, so the close is a FIN, not a reset that
// could destroy the answer.
constexpr size_t kDrainBytesMax = 64 * 1024;
// How long the epoll thread sleeps between looks at a connection a worker
// is still parking.
constexpr std::chrono::microseconds kParkWait{20};

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Who may touch a connection: the epoll thread while it is parked (armed in
// epoll, or being read) or answering (its command is with the writer, or
// its answer is being written), one worker while it is busy.
enum class ConnState : uint8_t { kParked, kBusy, kAnswering };

// The epoll data of the loop's own descriptors (connections are Conn*).
void* const kWakeTag = nullptr;
int completions_tag_storage = 0;
void* const kCompletionsTag = &completions_tag_storage;

void address_of(const sockaddr_storage& a, std::string& ip, int& port) {
  char host[INET6_ADDRSTRLEN] = {0};
  if (a.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  }
  ip = host;
}

// Reads (and drops) what has already arrived, without waiting.
void drain(int fd) {
  char sink[4096];
  for (size_t drained = 0; drained < kDrainBytesMax;) {
    const ssize_t n = ::recv(fd, sink, sizeof sink, MSG_DONTWAIT);
    if (n <= 0) return;
    drained += static_cast<size_t>(n);
  }
}

// Best effort, without waiting: the answer fits the socket's send buffer.
// The loop's own answers (503, 408, 431) go out before any request is
// parsed: each gets a new random X-Request-Id after its status line, as a
// worker's answer would (SPEC §8), so a client's report of one names it.
// Only these paths pay for the copy; the normal path never comes here.
std::string with_request_id(const std::string& bytes) {
  const size_t eol = bytes.find("\r\n");
  if (eol == std::string::npos) return bytes;
  std::string out;
  out.reserve(bytes.size() + 48);
  out.append(bytes, 0, eol + 2).append("X-Request-Id: ").append(new_request_id()).append("\r\n");
  return out.append(bytes, eol + 2);
}

void send_answer_and_close(int fd, const std::string& canned) {
  const std::string bytes = with_request_id(canned);
  drain(fd);
  [[maybe_unused]] const ssize_t n =
      ::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  drain(fd);
  ::close(fd);
}

std::string_view trimmed(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r'))
    v.remove_suffix(1);
  return v;
}

// What a head says about its body: the bytes to wait for, or nothing to
// wait for (no body, or one a worker must read itself: chunked, after a
// 100 Continue, or a Content-Length httplib will judge). `whole`: once
// `wait_bytes` are there, the request needs no more reading (and asks for
// no Range, which httplib would apply to the answer): it may be served on
// the epoll thread.
struct BodyPlan {
  size_t wait_bytes = 0;
  bool whole = false;
};

BodyPlan body_plan(std::string_view head, size_t body_bytes_max) {
  std::optional<std::string_view> length;
  bool range = false;
  for (size_t at = head.find("\r\n"); at != std::string_view::npos && at + 2 < head.size();) {
    const size_t next = head.find("\r\n", at + 2);
    const std::string_view line = head.substr(at + 2, next - at - 2);
    at = next;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    if (header_name_is(name, "transfer-encoding") || header_name_is(name, "expect")) return {};
    if (header_name_is(name, "range")) range = true;
    if (!length && header_name_is(name, "content-length")) length = trimmed(line.substr(colon + 1));
  }
  if (!length) return {0, !range};
  if (length->empty() || length->size() > 18) return {};
  size_t bytes = 0;
  for (char c : *length) {
    if (c < '0' || c > '9') return {};
    bytes = bytes * 10 + static_cast<size_t>(c - '0');
  }
  if (bytes > body_bytes_max) return {};
  return {bytes, !range};
}

// Process-wide totals (connection_totals()); relaxed: only counted.
std::atomic<int64_t> g_open{0};
std::atomic<uint64_t> g_refused{0};

void count_open(int64_t delta) {
  g_open.fetch_add(delta, std::memory_order_relaxed);
}

}  // namespace

ConnectionTotals connection_totals() {
  const int64_t open = g_open.load(std::memory_order_relaxed);
  return {open > 0 ? static_cast<uint64_t>(open) : 0, g_refused.load(std::memory_order_relaxed)};
}

// A deferred command's completion, and whose it is.
struct ConnCompletion : Completion {
  ConnectionLoop::Conn* conn = nullptr;
};

struct ConnectionLoop::Conn {
  int fd = -1;
  std::string buf;      // bytes read and not yet consumed by a request
  size_t consumed = 0;  // of buf, by the request a worker is serving
  std::atomic<ConnState> state{ConnState::kParked};
  int64_t deadline_ms = 0;       // parked: closed when it passes
  bool request_started = false;  // parked with part of a request buffered
  bool peer_closed = false;      // read end of stream after a whole request
  size_t requests = 0;
  std::string remote_ip, local_ip;
  int remote_port = 0, local_port = 0;
  // Answering on the epoll thread (ConnState::kAnswering):
  std::string out;  // the answer's bytes not yet written, from out_sent
  size_t out_sent = 0;
  ConnCompletion done;        // a deferred command's answer, from the writer
  ConnectionLoop::Note note;  // Inline::serve's, for Inline::finish
  bool close_header = false;  // the deferred answer says Connection: close
  bool close_after = false;   // closed once the answer is written
};

namespace {

// The head of the request buffered at `c.consumed`, through its blank line
// (scan() found it whole before a worker is given the request).
std::string_view head_of(const ConnectionLoop::Conn& c) {
  std::string_view data(c.buf);
  data.remove_prefix(c.consumed);
  const size_t end = data.find("\r\n\r\n");
  return end == std::string_view::npos ? data : data.substr(0, end + 4);
}

// What httplib's two views of a connection share: its addresses and
// socket, and reads from the bytes buffered at `c.consumed`.
class BufferedStream : public httplib::Stream {
 public:
  explicit BufferedStream(ConnectionLoop::Conn& c) : c_(c) {}
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.remote_ip;
    port = c_.remote_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.local_ip;
    port = c_.local_port;
  }
  socket_t socket() const override { return c_.fd; }

 protected:
  ssize_t from_buffer(char* ptr, size_t size) {
    const size_t n = std::min(size, c_.buf.size() - c_.consumed);
    std::memcpy(ptr, c_.buf.data() + c_.consumed, n);
    c_.consumed += n;
    return static_cast<ssize_t>(n);
  }

  ConnectionLoop::Conn& c_;
};

// httplib's view of a connection during one request: the buffered bytes,
// then the socket (non-blocking), within the request's read and write
// deadlines.
class ConnStream final : public BufferedStream {
 public:
  ConnStream(ConnectionLoop::Conn& c, const ConnectionLimits& limits)
      : BufferedStream(c),
        limits_(limits),
        read_deadline_ms_(steady_ms() + limits.read_timeout_ms) {}

  bool is_readable() const override {
    return c_.consumed < c_.buf.size() || wait(POLLIN, read_deadline_ms_);
  }
  bool is_writable() const override { return wait(POLLOUT, write_deadline_ms()); }

  ssize_t read(char* ptr, size_t size) override {
    if (c_.consumed < c_.buf.size()) return from_buffer(ptr, size);
    c_.buf.clear();
    c_.consumed = 0;
    while (wait(POLLIN, read_deadline_ms_)) {
      const bool direct = size >= kRecvChunkBytes;  // a body: no copy
      if (!direct) c_.buf.resize(kRecvChunkBytes);
      const ssize_t n =
          ::recv(c_.fd, direct ? ptr : c_.buf.data(), direct ? size : c_.buf.size(), 0);
      if (!direct) c_.buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
      if (n > 0) return direct ? n : from_buffer(ptr, size);
      if (n == 0) return 0;
      if (errno != EAGAIN && errno != EINTR) return -1;
    }
    return -1;
  }

  ssize_t write(const char* ptr, size_t size) override {
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::send(c_.fd, ptr + done, size - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return -1;
      } else if (!wait(POLLOUT, write_deadline_ms())) {
        return -1;
      }
    }
    return static_cast<ssize_t>(size);
  }

 private:
  // The write deadline runs from the answer's first write.
  int64_t write_deadline_ms() const {
    if (write_deadline_ms_ == 0) write_deadline_ms_ = steady_ms() + limits_.write_timeout_ms;
    return write_deadline_ms_;
  }
  bool wait(short events, int64_t deadline_ms) const {
    for (;;) {
      const int64_t left_ms = deadline_ms - steady_ms();
      if (left_ms <= 0) return false;
      pollfd p{c_.fd, events, 0};
      const int n = ::poll(&p, 1, static_cast<int>(left_ms));
      if (n > 0) return true;
      if (n == 0 || errno != EINTR) return false;
    }
  }

  const ConnectionLimits& limits_;
  const int64_t read_deadline_ms_;
  mutable int64_t write_deadline_ms_ = 0;
};

// httplib's view of a connection during a request served on the epoll
// thread: the buffered request (whole: nothing more is read, the end of the
// buffer is the end of the stream) and the answer collected in `c.out`.
class CaptureStream final : public BufferedStream {
 public:
  explicit CaptureStream(ConnectionLoop::Conn& c) : BufferedStream(c) {}

  bool is_readable() const override { return c_.consumed < c_.buf.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override { return from_buffer(ptr, size); }
  ssize_t write(const char* ptr, size_t size) override {
    c_.out.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
};

}  // namespace

ConnectionLoop::ConnectionLoop(ConnectionLimits limits, Serve serve, Answers answers, Inline in,
                               std::atomic<size_t>& open_total)
    : limits_(limits),
      serve_(std::move(serve)),
      answers_(std::move(answers)),
      inline_(std::move(in)),
      open_total_(open_total) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event wake{};
  wake.events = EPOLLIN;
  wake.data.ptr = kWakeTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake);
  epoll_event done{};
  done.events = EPOLLIN;
  done.data.ptr = kCompletionsTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, completions_.fd(), &done);
  poller_ = std::thread([this] { run_poller(); });
  for (int i = 0; i < limits_.worker_threads; ++i) workers_.emplace_back([this] { run_worker(); });
}

ConnectionLoop::~ConnectionLoop() {
  stop();
}

void ConnectionLoop::adopt(int fd) {
  if (stopping_.load() || open_total_.load() >= limits_.connections_max) {
    if (!stopping_.load()) g_refused.fetch_add(1, std::memory_order_relaxed);
    send_answer_and_close(fd, answers_.refusal);
    return;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  int yes = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  auto owned = std::make_unique<Conn>();
  Conn& c = *owned;
  c.fd = fd;
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    address_of(a, c.remote_ip, c.remote_port);
  }
  len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    address_of(a, c.local_ip, c.local_port);
  }
  c.deadline_ms = steady_ms() + limits_.idle_timeout_ms;
  c.done.queue = &completions_;
  c.done.conn = &c;
  c.state.store(ConnState::kParked, std::memory_order_release);  // publishes the above
  open_.fetch_add(1);
  open_total_.fetch_add(1);
  count_open(1);
  {
    std::lock_guard lock(conns_mu_);
    conns_.emplace(&c, std::move(owned));
  }
  if (!arm(c, EPOLL_CTL_ADD, EPOLLIN)) close_conn(c);
}

// `events`: EPOLLIN (a parked connection) or EPOLLOUT (an answer to finish).
bool ConnectionLoop::arm(Conn& c, int op, uint32_t events) {
  epoll_event e{};
  // Not EPOLLRDHUP with EPOLLOUT: a half-closed peer that reads nothing
  // would report it at every wait until the write deadline (a busy loop).
  e.events = events | EPOLLONESHOT | ((events & EPOLLIN) != 0 ? uint32_t{EPOLLRDHUP} : 0u);
  e.data.ptr = &c;
  return ::epoll_ctl(epoll_fd_, op, c.fd, &e) == 0;
}

void ConnectionLoop::run_poller() {
  name_this_thread("rsv-http-poll");
  if (limits_.raise_poll_priority) {
    const std::string got = raise_this_thread_priority();
    oplog::log_event(oplog::Level::kInfo, "thread_priority",
                     {{"thread", "rsv-http-poll"}, {"priority", got}});
  }
  epoll_event events[kEventsPerWait];
  int64_t next_sweep_ms = steady_ms() + kSweepIntervalMs;
  // A stopping loop still finishes the answers it owes (stop()).
  while (!stopping_.load() || answering_ > 0) {
    const int64_t wait_ms = std::max<int64_t>(0, next_sweep_ms - steady_ms());
    const int n = ::epoll_wait(epoll_fd_, events, kEventsPerWait, static_cast<int>(wait_ms));
    const int64_t now_ms = steady_ms();
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == kWakeTag) {  // stop()'s wake-up: read, or it would wake every wait
        uint64_t count = 0;
        [[maybe_unused]] const ssize_t got = ::read(wake_fd_, &count, sizeof count);
        continue;
      }
      if (tag == kCompletionsTag) {
        on_completions();
        continue;
      }
      auto* c = static_cast<Conn*>(tag);
      // A worker re-arms a connection before it lets go of it (park()):
      // the event may come first, for a moment. Sleeping, not yielding: a
      // real-time thread's yield never lets that worker run on this core.
      while (c->state.load(std::memory_order_acquire) == ConnState::kBusy) {
        std::this_thread::sleep_for(kParkWait);
      }
      if (c->state.load(std::memory_order_relaxed) == ConnState::kAnswering) {
        if (write_out(*c) && after_answer(*c)) dispatch(*c);
      } else if (!stopping_.load()) {
        on_readable(*c, now_ms);
      }
    }
    if (now_ms >= next_sweep_ms) {
      sweep(now_ms);
      next_sweep_ms = now_ms + kSweepIntervalMs;
    }
  }
}

// Reads what has arrived; hands a whole request to the workers.
void ConnectionLoop::on_readable(Conn& c, int64_t now_ms) {
  const size_t cap = limits_.head_bytes_max + limits_.body_bytes_max;
  bool eof = false;
  char chunk[kRecvChunkBytes];
  while (c.buf.size() <= cap) {
    const ssize_t n = ::recv(c.fd, chunk, sizeof chunk, 0);
    if (n > 0) {
      c.buf.append(chunk, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof chunk) break;  // drained: spares a recv
      continue;
    }
    if (n == 0) {
      eof = true;
    } else if (errno == EINTR) {
      continue;
    } else if (errno != EAGAIN) {
      close_conn(c);
      return;
    }
    break;
  }
  if (!c.request_started && !c.buf.empty()) {
    c.request_started = true;
    c.deadline_ms = now_ms + limits_.request_timeout_ms;
  }
  switch (scan(c)) {
    case Scan::kComplete:
      c.peer_closed = eof;
      dispatch(c);
      return;
    case Scan::kTooLarge:
      answer_and_close(c, answers_.too_large);
      return;
    case Scan::kIncomplete:
      if (eof || !arm(c, EPOLL_CTL_MOD, EPOLLIN)) close_conn(c);
      return;
  }
}

void ConnectionLoop::to_worker(Conn& c) {
  c.state.store(ConnState::kBusy, std::memory_order_relaxed);  // the queue's lock publishes
  {
    std::lock_guard lock(jobs_mu_);
    jobs_.push_back(&c);
  }
  jobs_cv_.notify_one();
}

bool ConnectionLoop::inline_candidate(const Conn& c) const {
  std::string_view data(c.buf);
  data.remove_prefix(c.consumed);
  const bool command = data.starts_with("POST ") || data.starts_with("DELETE ") ||
                       data.starts_with("PATCH ") || data.starts_with("PUT ");
  if (!command && !(limits_.inline_gets && data.starts_with("GET "))) return false;
  const size_t end = data.find("\r\n\r\n");
  return end != std::string_view::npos &&
         body_plan(data.substr(0, end + 2), limits_.body_bytes_max).whole;
}

// A whole request is buffered at c.consumed (0): serves it here when
// Inline::serve will, else on a worker; then the next buffered one, while
// answers are written at once.
void ConnectionLoop::dispatch(Conn& c) {
  for (;;) {
    if (!inline_.serve || stopping_.load() || !inline_candidate(c)) return to_worker(c);
    ++c.requests;
    const bool last = c.peer_closed || c.requests >= limits_.keep_alive_requests_max;
    bool closed = false;
    Outcome outcome;
    {
      CaptureStream stream(c);
      outcome = inline_.serve(stream, std::string_view(c.buf).substr(c.consumed), last, closed,
                              c.done, c.note);
    }
    if (outcome == Outcome::kPunted) {
      --c.requests;
      c.consumed = 0;
      c.out.clear();
      return to_worker(c);
    }
    c.buf.erase(0, c.consumed);
    c.consumed = 0;
    c.close_after = closed || last;
    c.state.store(ConnState::kAnswering, std::memory_order_relaxed);  // this thread's alone
    c.deadline_ms = 0;  // none while the writer owes the answer; write_out() sets one
    ++answering_;
    if (outcome == Outcome::kDeferred) {
      // httplib wrote a placeholder answer; only its Connection header counts.
      c.close_header = c.out.find("\r\nConnection: close\r\n") != std::string::npos;
      c.out.clear();
      return;  // on_completions() goes on
    }
    if (!write_out(c) || !after_answer(c)) return;
  }
}

// The writer's answers to deferred commands: each written, then its
// connection goes on.
void ConnectionLoop::on_completions() {
  // take_all() is newest first: the oldest answers go out first.
  Completion* oldest = nullptr;
  for (Completion* done = completions_.take_all(); done != nullptr;) {
    Completion* next = done->next;
    done->next = oldest;
    oldest = done;
    done = next;
  }
  for (Completion* done = oldest; done != nullptr;) {
    Completion* next = done->next;
    Conn& c = *static_cast<ConnCompletion*>(done)->conn;
    const bool close = c.close_header || stopping_.load();
    c.close_after = c.close_after || close;
    inline_.finish(std::move(c.done.answer), c.note, close, c.out);
    c.done.answer = {};
    if (write_out(c) && after_answer(c)) dispatch(c);
    done = next;
  }
}

// Writes c.out without waiting. True once all is written; false when the
// rest waits for EPOLLOUT (within write_timeout_ms), or the connection is closed.
bool ConnectionLoop::write_out(Conn& c) {
  while (c.out_sent < c.out.size()) {
    const ssize_t n =
        ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      if (c.deadline_ms == 0) c.deadline_ms = steady_ms() + limits_.write_timeout_ms;
      if (arm(c, EPOLL_CTL_MOD, EPOLLOUT)) return false;
      end_answering(c);
      close_conn(c);
      return false;
    } else {
      end_answering(c);
      close_conn(c);
      return false;
    }
  }
  c.out.clear();
  c.out_sent = 0;
  return true;
}

void ConnectionLoop::end_answering(Conn& c) {
  c.deadline_ms = 0;
  --answering_;
  // Parked, for the moment it takes to park, close or dispatch it (all on this thread).
  c.state.store(ConnState::kParked, std::memory_order_relaxed);
}

// After an answer is written: closes the connection, parks it, or (true)
// has a whole next request buffered to dispatch.
bool ConnectionLoop::after_answer(Conn& c) {
  end_answering(c);
  if (c.close_after || stopping_.load()) {
    close_conn(c);
    return false;
  }
  c.request_started = !c.buf.empty();
  switch (scan(c)) {
    case Scan::kComplete:
      return true;
    case Scan::kTooLarge:
      answer_and_close(c, answers_.too_large);
      return false;
    case Scan::kIncomplete:
      park(c, steady_ms());
      return false;
  }
  return false;
}

ConnectionLoop::Scan ConnectionLoop::scan(const Conn& c) const {
  std::string_view data(c.buf);
  data.remove_prefix(c.consumed);
  const size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return data.size() > limits_.head_bytes_max ? Scan::kTooLarge : Scan::kIncomplete;
  }
  const size_t head_bytes = end + 4;
  if (head_bytes > limits_.head_bytes_max) return Scan::kTooLarge;
  const BodyPlan plan = body_plan(data.substr(0, end + 2), limits_.body_bytes_max);
  return data.size() >= head_bytes + plan.wait_bytes ? Scan::kComplete : Scan::kIncomplete;
}

// Closes parked connections past their deadline: 408 to one that began a
// request, silence to an idle one.
void ConnectionLoop::sweep(int64_t now_ms) {
  std::vector<Conn*> expired;
  {
    std::lock_guard lock(conns_mu_);
    for (const auto& [c, owned] : conns_) {
      const ConnState state = c->state.load(std::memory_order_acquire);
      // An answer being written (EPOLLOUT) has a deadline; one the writer
      // owes has none: it always comes.
      const bool writing = state == ConnState::kAnswering && c->deadline_ms != 0;
      if (state != ConnState::kParked && !writing) continue;
      if (c->deadline_ms <= now_ms) expired.push_back(c);
    }
  }
  // Only this thread moves a parked or answering connection on, so they are
  // as they were.
  for (Conn* c : expired) {
    if (c->state.load(std::memory_order_relaxed) == ConnState::kAnswering) {
      end_answering(*c);
      close_conn(*c);
    } else if (c->request_started) {
      answer_and_close(*c, answers_.timeout);
    } else {
      close_conn(*c);
    }
  }
}

void ConnectionLoop::run_worker() {
  name_this_thread("rsv-http-work");
  for (;;) {
    Conn* c = nullptr;
    {
      std::unique_lock lock(jobs_mu_);
      jobs_cv_.wait(lock, [this] { return !jobs_.empty() || stopping_.load(); });
      if (jobs_.empty()) return;  // stopping, and every whole request answered
      c = jobs_.front();
      jobs_.pop_front();
    }
    serve_connection(*c);
  }
}

// Serves the buffered request, and the next ones while whole ones are
// buffered (pipelining); then parks or closes the connection.
void ConnectionLoop::serve_connection(Conn& c) {
  for (;;) {
    ++c.requests;
    const bool last =
        c.peer_closed || c.requests >= limits_.keep_alive_requests_max || stopping_.load();
    bool closed = false;
    bool ok = false;
    {
      ConnStream stream(c, limits_);
      ok = serve_(stream, head_of(c), last, closed);
    }
    c.buf.erase(0, c.consumed);
    c.consumed = 0;
    if (!ok || closed || last || stopping_.load()) {  // stop() closes what is parked anyway
      close_conn(c);
      return;
    }
    c.request_started = !c.buf.empty();
    switch (scan(c)) {
      case Scan::kComplete:
        continue;
      case Scan::kTooLarge:
        answer_and_close(c, answers_.too_large);
        return;
      case Scan::kIncomplete:
        park(c, steady_ms());
        return;
    }
  }
}

// Gives a connection back to the epoll thread. It is armed first and
// marked parked last: the epoll thread waits for the mark (run_poller).
void ConnectionLoop::park(Conn& c, int64_t now_ms) {
  if (c.buf.empty() && c.buf.capacity() > kRecvChunkBytes) std::string().swap(c.buf);
  c.deadline_ms =
      now_ms + (c.request_started ? limits_.request_timeout_ms : limits_.idle_timeout_ms);
  if (!arm(c, EPOLL_CTL_MOD, EPOLLIN)) {
    close_conn(c);
    return;
  }
  c.state.store(ConnState::kParked, std::memory_order_release);
}

std::unique_ptr<ConnectionLoop::Conn> ConnectionLoop::take(Conn& c) {
  std::lock_guard lock(conns_mu_);
  auto it = conns_.find(&c);
  if (it == conns_.end()) return nullptr;
  std::unique_ptr<Conn> owned = std::move(it->second);
  conns_.erase(it);
  return owned;
}

void ConnectionLoop::close_conn(Conn& c) {
  if (std::unique_ptr<Conn> owned = take(c)) {
    ::close(owned->fd);  // also takes it out of the epoll set
    count_closed(1);
  }
}

void ConnectionLoop::answer_and_close(Conn& c, const std::string& bytes) {
  if (std::unique_ptr<Conn> owned = take(c)) {
    send_answer_and_close(owned->fd, bytes);
    count_closed(1);
  }
}

void ConnectionLoop::stop() {
  if (stopping_.exchange(true)) return;
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
  { std::lock_guard lock(jobs_mu_); }  // a worker between its check and its wait sees the flag
  jobs_cv_.notify_all();
  if (poller_.joinable()) poller_.join();
  for (auto& w : workers_) w.join();
  workers_.clear();
  std::lock_guard lock(conns_mu_);
  for (auto& [c, owned] : conns_) ::close(c->fd);
  conns_.clear();
  count_closed(open_.load());
  ::close(epoll_fd_);
  ::close(wake_fd_);
}

void ConnectionLoop::count_closed(size_t n) {
  open_.fetch_sub(n);
  open_total_.fetch_sub(n);
  count_open(-static_cast<int64_t>(n));
}

ConnectionLoops::ConnectionLoops(int loops, ConnectionLimits limits,
                                 const ConnectionLoop::Serve& serve,
                                 const ConnectionLoop::Answers& answers,
                                 const ConnectionLoop::Inline& in) {
  assert(loops >= 1);
  limits.worker_threads = std::max(1, (limits.worker_threads + loops - 1) / loops);
  for (int i = 0; i < loops; ++i) {
    loops_.push_back(std::make_unique<ConnectionLoop>(limits, serve, answers, in, open_));
  }
}

ConnectionLoops::~ConnectionLoops() {
  stop();
}

void ConnectionLoops::adopt(int fd) {
  loops_[next_]->adopt(fd);
  next_ = (next_ + 1) % loops_.size();
}

void ConnectionLoops::stop() {
  for (auto& loop : loops_) loop->stop();
}

}  // namespace reservoir::api
