// serve_connection: the keep-alive loop of one accepted socket, run in place
// of httplib's own (HttpServer overrides Server::process_and_close_socket),
// through a Stream that sees the request's raw header lines.
//
// Why: httplib 0.11 (Debian 12) drops a header line whose value is empty or
// blank, so `Idempotency-Key:` read as no key at all, where SPEC §2 makes it
// a malformed key (400 in every dialect). The stream notes each such header
// while httplib reads the request head, and puts it back with an empty value
// before httplib routes the request (its setup_request hook).
//
// Otherwise it is httplib's loop: at most `requests_max` requests, each
// waited for up to `keep_alive_ms` (given up early once `listening` is -1,
// i.e. the server stops), read and write timeouts per call, reads buffered
// (httplib reads header lines byte by byte). The socket is closed on return.
// Thread safety: one connection, one thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>

namespace httplib {
struct Request;
class Stream;
}  // namespace httplib

namespace reservoir::api {

struct ConnectionLimits {
  size_t requests_max = 5;
  int keep_alive_ms = 5000;
  int read_timeout_ms = 5000;
  int write_timeout_ms = 5000;
};

// httplib's Server::process_request(stream, close_connection,
// connection_closed, setup_request): reads, routes and answers one request.
using ServeOne = std::function<bool(httplib::Stream&, bool, bool&,
                                    const std::function<void(httplib::Request&)>&)>;

// Serves requests on `sock` until it closes, fails or the server stops; the
// last result of `serve_one`.
bool serve_connection(int sock, const ConnectionLimits& limits, const std::atomic<int>& listening,
                      const ServeOne& serve_one);

}  // namespace reservoir::api
