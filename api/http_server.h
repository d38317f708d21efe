// HttpServer: cpp-httplib in front of Service, configured for load
// (SPEC §4). httplib parses, routes and writes; the connections are
// scheduled by a ConnectionLoop (connections.h) instead of httplib's
// thread-per-connection pool, so idle, slow and never-closing clients hold
// no worker thread (issue 16): a request reaches a worker only once it has
// arrived whole, slow ones are cut at `request_timeout_ms` (408), and
// beyond `connections_max` open connections a new one is answered 503 at
// once. A command route whose handler blocks only on the writer
// (RouteSpec::inline_command) runs on the loop's epoll thread, and its
// answer is written there once the writer posts it (no worker thread is
// involved): the same bytes a worker writes, its X-Request-Id and
// Reservoir-Offset included, counted and timed (metrics, slow-request log)
// from the moment the request was taken up, like any other (`inline_commands`
// false: every request goes to a worker). A query route runs there too
// (`inline_queries`) unless it would wait for the views (read-your-writes,
// Reservoir-Min-Offset): then a worker serves it anew (InlineQuery,
// service.h), so no wait ever stalls the loop. Keep-alive without the 5-request
// cap, TCP_NODELAY, and a listen backlog re-set to `listen_backlog` because Debian's build compiles
// in 5, which a burst of connects overflows. Every answer httplib makes itself (413, a malformed
// request line) is rendered in the error envelope. A GET with a body (seed 000 sends its queue
// token so) has the body read and passed on, which httplib itself does not do. A header sent with
// an empty value reaches the Service as present and empty, where httplib would drop it; a
// Content-Type is the Service's to judge (415), never httplib's (which would parse form and
// multipart bodies itself). One HttpServer is one listener: it serves the dialects of its Router
// (dialect.h); several may share one Service.
//
// Thread safety: listen() blocks the caller; stop() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "api/connections.h"
#include "api/service.h"

namespace httplib {
struct Request;
struct Response;
class Stream;
}  // namespace httplib

namespace reservoir::api {

struct PlainRequest;  // plain_http.h

struct HttpConfig {
  std::string host = "127.0.0.1";
  int port = 8080;           // 0: any free port (see bound_port())
  int worker_threads = 256;  // requests being served at once (not connections)
  int listen_backlog = 8192;
  // Open connections; beyond, a new one is answered 503 (Retry-After: 1)
  // and closed. SPEC §4's burst opens 5,000 at once.
  size_t connections_max = 10'000;
  int64_t request_timeout_ms = 10'000;  // a request's first byte to its last (then 408)
  int keep_alive_timeout_s = 5;         // an idle connection is closed after this
  int64_t read_timeout_ms = 5'000;      // a worker reading a body it was not given whole
  int64_t write_timeout_ms = 5'000;     // a worker writing one answer
  size_t head_bytes_max = 16 * 1024;    // request line and headers (then 431)
  size_t keep_alive_requests_max = 1'000'000;
  // A request answered in this or more is logged (events/oplog.h); 0: every one.
  int64_t slow_request_ms = 500;
  bool inline_commands = true;  // false: every command is served by a worker
  // Query routes on the epoll thread too, when the views need no wait
  // (InlineQuery, service.h); false: every GET is served by a worker.
  bool inline_queries = true;
  bool raise_poll_priority = false;  // ConnectionLimits::raise_poll_priority
  // Epoll threads (ConnectionLoops), each with its share of the connections
  // and of worker_threads.
  int event_loops = 2;
};

class HttpServer {
 public:
  // Serves `router`'s dialects (which must outlive it); without one, canonical alone.
  HttpServer(Service& service, HttpConfig config, const Router* router = nullptr);
  ~HttpServer();

  // Binds the port; false with a message when it cannot.
  bool bind(std::string* error);
  int bound_port() const { return port_; }
  // Serves until stop(); returns false if the accept loop failed. Returns
  // at once if stop() came first.
  bool serve();
  // Makes serve() return, whenever it is called: before serve() starts, while
  // it starts, or while it runs. (httplib's own stop() is lost while its
  // accept loop is starting: a SIGTERM right after start-up left the server
  // running for good.)
  void stop();

 private:
  class Impl;
  void handle(const httplib::Request& req, httplib::Response& res);
  bool runs_inline(const httplib::Request& req) const;
  void finish_deferred(Rendered&& rendered, const ConnectionLoop::Note& note, bool close,
                       std::string& out);
  static Request to_request(const httplib::Request& req);
  static Request to_request(const PlainRequest& p,
                            const std::multimap<std::string, std::string>& params);
  ConnectionLoop::Outcome serve_plain(const PlainRequest& p, httplib::Stream& stream,
                                      bool close_connection, bool& connection_closed,
                                      Completion& done, ConnectionLoop::Note& note);
  std::unique_ptr<Impl> impl_;
  Answer answer(const Request& req) const;
  void finish_request(std::string_view method, uint32_t route, int status, int64_t start_ns,
                      const std::string& request_id);
  Service& service_;
  const Router* router_;
  HttpConfig config_;
  const std::string keep_alive_;  // the Keep-Alive header's value
  int port_ = 0;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> serving_{false};  // inside serve()
};

}  // namespace reservoir::api
