#include "api/http_connection.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

namespace reservoir::api {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// True when `sock` has `events` ready within `timeout_ms` (no error or hang-up).
bool wait_for(int sock, short events, int timeout_ms) {
  pollfd pfd{sock, events, 0};
  int n;
  do {
    n = ::poll(&pfd, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  return n > 0 && (pfd.revents & events) != 0 && (pfd.revents & (POLLERR | POLLNVAL)) == 0;
}

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

// The socket as httplib's Stream. Between begin_request() and the end of the
// request head it notes the names of header lines whose value is empty.
class HeadNotingStream final : public httplib::Stream {
 public:
  HeadNotingStream(int sock, const ConnectionLimits& limits)
      : sock_(sock), limits_(limits), buffer_(kBufferBytes) {}

  bool buffered() const { return offset_ < filled_; }
  void begin_request() {
    noting_ = true;
    lines_ = 0;
    line_.clear();
    empty_.clear();
  }
  // Puts back the empty headers httplib dropped (a name it kept with a value wins).
  void restore_empty_headers(httplib::Request& req) {
    for (const std::string& name : empty_) {
      if (!req.has_header(name.c_str())) req.headers.emplace(name, "");
    }
    noting_ = false;
  }

  bool is_readable() const override {
    return buffered() || wait_for(sock_, POLLIN, limits_.read_timeout_ms);
  }
  bool is_writable() const override { return wait_for(sock_, POLLOUT, limits_.write_timeout_ms); }
  ssize_t read(char* ptr, size_t size) override {
    const ssize_t n = read_raw(ptr, size);
    if (n > 0 && noting_) note(ptr, static_cast<size_t>(n));
    return n;
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    do {
      n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&a), &len) == 0) address_of(a, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&a), &len) == 0) address_of(a, ip, port);
  }
  socket_t socket() const override { return sock_; }

 private:
  static constexpr size_t kBufferBytes = 4096;
  static constexpr size_t kLineBytesMax = 8192;  // httplib's header line limit

  ssize_t read_raw(char* ptr, size_t size) {
    if (!buffered()) {
      if (!wait_for(sock_, POLLIN, limits_.read_timeout_ms)) return -1;
      if (size >= kBufferBytes) return recv_some(ptr, size);
      const ssize_t n = recv_some(buffer_.data(), kBufferBytes);
      if (n <= 0) return n;
      offset_ = 0;
      filled_ = static_cast<size_t>(n);
    }
    const size_t n = std::min(size, filled_ - offset_);
    std::memcpy(ptr, buffer_.data() + offset_, n);
    offset_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t recv_some(char* ptr, size_t size) const {
    ssize_t n;
    do {
      n = ::recv(sock_, ptr, size, 0);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  void note(const char* p, size_t n) {
    for (size_t i = 0; i < n && noting_; ++i) {
      if (p[i] != '\n') {
        if (line_.size() < kLineBytesMax) line_ += p[i];
        continue;
      }
      end_line();
      line_.clear();
    }
  }
  // A header line as httplib parses it: trailing blanks dropped, the name up
  // to the first ':', blanks after it skipped. The first line is the request line.
  void end_line() {
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    if (line_.empty()) {
      noting_ = false;  // the blank line that ends the head
      return;
    }
    if (lines_++ == 0) return;
    while (!line_.empty() && is_blank(line_.back())) line_.pop_back();
    const size_t colon = line_.find(':');
    if (colon == std::string::npos || colon == 0) return;
    if (std::all_of(line_.begin() + static_cast<std::ptrdiff_t>(colon) + 1, line_.end(),
                    is_blank)) {
      empty_.push_back(line_.substr(0, colon));
    }
  }

  int sock_;
  ConnectionLimits limits_;
  std::vector<char> buffer_;
  size_t offset_ = 0, filled_ = 0;
  bool noting_ = false;
  size_t lines_ = 0;
  std::string line_;
  std::vector<std::string> empty_;
};

// Waits for the next request's first byte, as httplib's keep_alive() does
// (in 10 ms steps, so that a stopping server is not held up by idle clients).
bool await_request(const HeadNotingStream& stream, int sock, int timeout_ms,
                   const std::atomic<int>& listening) {
  if (stream.buffered()) return true;
  constexpr int kStepMs = 10;
  for (int waited = 0; listening.load() != -1; waited += kStepMs) {
    pollfd pfd{sock, POLLIN, 0};
    const int n = ::poll(&pfd, 1, kStepMs);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
    if (waited >= timeout_ms) return false;
  }
  return false;
}

}  // namespace

bool serve_connection(int sock, const ConnectionLimits& limits, const std::atomic<int>& listening,
                      const ServeOne& serve_one) {
  HeadNotingStream stream(sock, limits);
  const std::function<void(httplib::Request&)> setup = [&stream](httplib::Request& req) {
    stream.restore_empty_headers(req);
  };
  bool ok = false;
  for (size_t left = limits.requests_max;
       left > 0 && await_request(stream, sock, limits.keep_alive_ms, listening); --left) {
    bool closed = false;
    stream.begin_request();
    ok = serve_one(stream, left == 1, closed, setup);
    if (!ok || closed) break;
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace reservoir::api
