// CeilingServer: the HTTP ceiling of SPEC §4. A trivial cpp-httplib server,
// in process, tuned exactly like api/http_server.cc (a worker pool as large
// as the connections, keep-alive without the 5-request cap, TCP_NODELAY, the
// listen backlog raised after bind) that answers every request with one fixed
// small JSON body. The body carries every field the flows read (an ACTIVE
// token, a reservation id, a price), so any scenario's request stream runs
// against it unchanged: what the same load generator gets from it is the
// most HTTP alone allows on this machine, and a server's rate over it is the
// ratio SPEC §4 sets targets for. With a dialect, the body carries the same
// fields in that dialect's shape, so its flows run against it unchanged too.
//
// Thread safety: start() and stop() from one thread; serves on its own.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "tools/bench/dialect.h"

namespace reservoir::tools::bench {

class CeilingServer {
 public:
  explicit CeilingServer(int worker_threads, Dialect dialect = Dialect::kCanonical);
  ~CeilingServer();

  // Binds 127.0.0.1 on a free port and serves; false with `error`.
  bool start(std::string& error);
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace reservoir::tools::bench
