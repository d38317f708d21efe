// httplib_reading: how httplib 0.11 itself reads a buffered request, to
// compare with api/plain_http.h's own reading (tests/unit/plain_http_test.cc,
// tests/fuzz/fuzz_plain_request.cc). A Server with one catch-all handler
// runs its protected process_request over an in-memory stream; a request
// without Content-Length or Transfer-Encoding is taken before httplib reads
// a body, as http_server.cc's pre-routing handler does.
//
// Thread safety: one ReadingServer per thread.
#pragma once

#include <httplib.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "api/plain_http.h"

namespace reservoir::test {

// httplib's view of a buffered request: reads `in`, collects the answer.
class MemoryStream final : public httplib::Stream {
 public:
  explicit MemoryStream(std::string in) : in_(std::move(in)) {}
  bool is_readable() const override { return at_ < in_.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, in_.size() - at_);
    std::copy_n(in_.data() + at_, n, ptr);
    at_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char*, size_t size) override { return static_cast<ssize_t>(size); }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 1;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 2;
  }
  socket_t socket() const override { return 0; }
  size_t consumed() const { return at_; }

 private:
  std::string in_;
  size_t at_ = 0;
};

struct HttplibReading {
  bool handled = false;  // a handler saw the request
  httplib::Request req;
  size_t consumed = 0;  // bytes read off the stream
  bool closed = false;  // process_request's connection_closed
};

class ReadingServer : public httplib::Server {
 public:
  static constexpr size_t kBodyBytesMax = 64 * 1024;

  ReadingServer() {
    set_payload_max_length(kBodyBytesMax);
    set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
        return HandlerResponse::Unhandled;
      }
      record(req, res);
      return HandlerResponse::Handled;
    });
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      record(req, res);
    };
    Get(".*", handler);
    Post(".*", handler);
    Put(".*", handler);
    Patch(".*", handler);
    Delete(".*", handler);
  }

  HttplibReading read(const std::string& bytes) {
    reading_ = HttplibReading{};
    MemoryStream stream(bytes);
    bool closed = false;
    process_request(stream, false, closed, nullptr);
    reading_.consumed = stream.consumed();
    reading_.closed = closed;
    return reading_;
  }

  // "" when httplib reads `bytes` as `p` says, else what differs first.
  std::string mismatch(const std::string& bytes, const api::PlainRequest& p) {
    const HttplibReading h = read(bytes);
    if (!h.handled) return "httplib did not take the request";
    if (h.req.method != p.method) return "method " + h.req.method;
    if (h.req.target != p.target) return "target " + h.req.target;
    if (h.req.path != p.path) return "path " + h.req.path;
    if (h.req.body != p.body) return "body " + h.req.body;
    if (h.consumed != p.bytes) return "consumed " + std::to_string(h.consumed);
    if (h.closed != p.close) return "connection closed";
    std::multimap<std::string, std::string> params;
    if (!p.query.empty()) api::plain_query_params(p.query, params);
    if (h.req.params != params) return "params";
    for (const auto& [name, lower] : kNames) {
      const std::optional<std::string_view> mine = p.header(lower);
      if (h.req.has_header(name) != mine.has_value()) return std::string("has header ") + name;
      if (mine && h.req.get_header_value(name) != *mine) return std::string("header ") + name;
    }
    return "";
  }

 private:
  // Headers the handlers read (http_server.cc), and a few they do not.
  static constexpr std::array<std::pair<const char*, std::string_view>, 13> kNames = {{
      {"Content-Type", "content-type"},
      {"Queue-Token", "queue-token"},
      {"User-Token", "user-token"},
      {"Token-Id", "token-id"},
      {"Idempotency-Key", "idempotency-key"},
      {"Admin-Key", "admin-key"},
      {"Authorization", "authorization"},
      {"X-Request-Id", "x-request-id"},
      {"Connection", "connection"},
      {"Host", "host"},
      {"Content-Length", "content-length"},
      {"Reservoir-Min-Offset", "reservoir-min-offset"},
      {"Accept", "accept"},
  }};

  void record(const httplib::Request& req, httplib::Response& res) {
    reading_.handled = true;
    reading_.req = req;
    res.status = 200;
  }
  HttplibReading reading_;
};

}  // namespace reservoir::test
