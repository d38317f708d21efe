// HttpServer: cpp-httplib in front of Service, configured for load
// (SPEC §4): a worker pool as large as the connections served (httplib
// keeps one keep-alive connection per pool thread), keep-alive without the
// 5-request cap, TCP_NODELAY, and a listen backlog re-set to
// `listen_backlog` because Debian's build compiles in 5, which a burst of
// connects overflows. Every answer httplib makes itself (413, a malformed
// request line) is rendered in the error envelope. A GET with a body (seed
// 000 sends its queue token so) has the body read and passed on, which
// httplib itself does not do. A header sent with an empty value reaches
// the Service as present and empty (http_connection.h), where httplib
// would drop it. One HttpServer is one
// listener: it serves the dialects of its Router (dialect.h); several may
// share one Service.
//
// Thread safety: listen() blocks the caller; stop() from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "api/service.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace reservoir::api {

struct HttpConfig {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see bound_port())
  int worker_threads = 256;
  int listen_backlog = 8192;
  int keep_alive_timeout_s = 5;
  size_t keep_alive_requests_max = 1'000'000;
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
  static Request to_request(const httplib::Request& req);
  std::unique_ptr<Impl> impl_;
  Answer answer(const Request& req) const;
  Service& service_;
  const Router* router_;
  HttpConfig config_;
  int port_ = 0;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> serving_{false};  // inside serve()
};

}  // namespace reservoir::api
