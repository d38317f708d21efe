// ConnectionLoop: the connection scheduling under HttpServer (issue 16,
// "connection exhaustion"). cpp-httplib gives every connection a pool thread
// for its whole life, so a few hundred clients that trickle a request head a
// byte a second, or just stay open, held every thread and starved everyone
// else. Here a connection costs no thread while it is idle or while its
// request is still arriving:
// - one epoll thread reads every open connection into a buffer of its own
//   until a whole request is there: the head (up to `head_bytes_max`) and,
//   with a Content-Length up to `body_bytes_max`, the body. A request must
//   arrive within `request_timeout_ms` of its first byte (else 408 and
//   close); a connection with nothing to say is closed after
//   `idle_timeout_ms`; a head over its bound is answered 431 and closed;
// - a whole request goes to one of `worker_threads` workers, which runs the
//   caller's `serve` (httplib's process_request) over a Stream that reads
//   the buffer first, then the socket (waiting at most `read_timeout_ms` in
//   all: a chunked body, one over the bound, 100-continue), and writes the
//   answer within `write_timeout_ms`. The connection then goes back to the
//   epoll thread (keep-alive), or is closed;
// - at most `connections_max` connections are open: beyond it a new one is
//   answered `refusal` (a 503) at once and closed, without reading it.
//   Each of the loop's own answers (503, 408, 431) goes out with a new
//   random X-Request-Id header (inserted when sent; not on the normal path).
// - a whole POST, PUT, PATCH or DELETE whose body is buffered too (no chunks, no
//   100-continue, no Range) is first offered to `Inline::serve` on the
//   epoll thread itself, over a Stream that reads the buffer and collects
//   the answer: a command answered at once (400, 401, 503...) is written
//   from here, non-blocking (the rest on EPOLLOUT); one the writer took is
//   answered when the writer posts its Completion to this loop's queue
//   (one eventfd wake per batch), through `Inline::finish`. A request it
//   punts (not a command route) goes to a worker as above. This spares a
//   durable command two thread hand-offs (to a worker, and the worker's
//   wake-up by the writer). A pipelined request behind a command is not
//   read until the command's answer is written: answers keep their order.
//
// ConnectionLoops runs several such loops (each its own epoll thread and
// its share of the workers) under one listener and one `connections_max`,
// handing accepted connections out in turn: one epoll thread is a serial
// stage that a second core can share (docs/BENCHMARKS.md, "Where the gap
// is").
//
// Thread safety: adopt() from one thread (the accept loop); stop() once,
// from any thread, after the last adopt(). `serve` runs on the workers,
// several at once; `Inline`'s functions on the epoll threads, several at
// once when there are several loops.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/completion.h"

namespace httplib {
class Stream;
}  // namespace httplib

namespace reservoir::api {

struct ConnectionLimits {
  int worker_threads = 256;
  size_t connections_max = 10'000;
  int64_t request_timeout_ms = 10'000;  // first byte of a request to its last
  int64_t idle_timeout_ms = 5'000;      // keep-alive: no byte of a next request
  int64_t read_timeout_ms = 5'000;      // a worker waiting for bytes, per request
  int64_t write_timeout_ms = 5'000;     // a worker writing one answer
  size_t head_bytes_max = 16 * 1024;    // request line and headers
  size_t body_bytes_max = 64 * 1024;    // bodies buffered before a worker takes them
  size_t keep_alive_requests_max = 1'000'000;
  // The epoll thread is a serial stage once it serves commands itself.
  // Raised: SCHED_FIFO when permitted (events/os.h). Measured worse under
  // load (docs/BENCHMARKS.md, "Commands on the epoll thread"): a real-time
  // thread wakes for every event and serves fewer per wake.
  bool raise_poll_priority = false;
  // GET requests are offered to Inline::serve too (it may punt them): the
  // HTTP layer's inline queries (HttpConfig::inline_queries).
  bool inline_gets = false;
};

// Over every ConnectionLoop of the process (all listeners), for /metrics:
// connections open now, and connections refused beyond connections_max.
struct ConnectionTotals {
  uint64_t open = 0;
  uint64_t refused = 0;
};
ConnectionTotals connection_totals();

class ConnectionLoop {
 public:
  // Runs one request on `stream`: httplib's process_request. `head` is the
  // request's head as it arrived (request line to blank line), valid only
  // until the first read from `stream`. Returns false when the connection
  // cannot go on; sets connection_closed when the client asked for its close.
  using Serve = std::function<bool(httplib::Stream& stream, std::string_view head,
                                   bool close_connection, bool& connection_closed)>;
  // What Inline::serve made of a request.
  enum class Outcome {
    kAnswered,  // its answer is in the stream
    kDeferred,  // the writer took it: `done` is posted once it is answered
    kPunted,    // not run (nothing happened): a worker must serve it
  };
  // What Inline::serve records about a deferred request for Inline::finish;
  // the loop only keeps it with the connection.
  struct Note {
    int64_t start_ns = 0;    // when the request was taken up
    uint64_t tag = 0;        // the server's own
    std::string request_id;  // the answer's X-Request-Id
  };
  struct Inline {
    // As Serve, on the epoll thread over the buffered request; `buffered`
    // is what is buffered from the request's first byte (its head, its whole
    // body, perhaps more requests), valid only until the first read from
    // `stream`, which must read what the request takes of it. `note` is
    // handed back to finish() with a deferred answer, and a deferred
    // answer's placeholder written to `stream` says "Connection: close" when
    // the connection closes after it. Empty: no inline serving.
    std::function<Outcome(httplib::Stream& stream, std::string_view buffered, bool close_connection,
                          bool& connection_closed, Completion& done, Note& note)>
        serve;
    // The whole HTTP answer to a deferred command, into `out`; `close`:
    // it says Connection: close.
    std::function<void(Rendered&& answer, const Note& note, bool close, std::string& out)> finish;
  };
  struct Answers {
    std::string refusal;    // whole HTTP response bytes: beyond connections_max
    std::string timeout;    // request_timeout_ms passed
    std::string too_large;  // head over head_bytes_max
  };

  // Starts the epoll thread and the workers. connections_max bounds
  // `open_total`, the count of open connections this loop shares with the
  // other loops of its listener (ConnectionLoops), which outlives it.
  ConnectionLoop(ConnectionLimits limits, Serve serve, Answers answers, Inline in,
                 std::atomic<size_t>& open_total);
  ~ConnectionLoop();  // stop()
  ConnectionLoop(const ConnectionLoop&) = delete;
  ConnectionLoop& operator=(const ConnectionLoop&) = delete;

  // Takes an accepted socket (and its closing).
  void adopt(int fd);
  // Stops reading, lets the workers finish the requests they have and waits
  // for the writer's answers to the deferred ones (each answer then says
  // Connection: close), joins them and closes every connection. Idempotent.
  void stop();

  struct Conn;

 private:
  enum class Scan { kIncomplete, kComplete, kTooLarge };
  void run_poller();
  void on_readable(Conn& c, int64_t now_ms);
  void dispatch(Conn& c);
  bool inline_candidate(const Conn& c) const;
  void to_worker(Conn& c);
  void on_completions();
  bool write_out(Conn& c);
  bool after_answer(Conn& c);
  void end_answering(Conn& c);
  void sweep(int64_t now_ms);
  void run_worker();
  void serve_connection(Conn& c);
  void park(Conn& c, int64_t now_ms);
  Scan scan(const Conn& c) const;
  std::unique_ptr<Conn> take(Conn& c);  // out of conns_; null if not there
  void close_conn(Conn& c);
  void answer_and_close(Conn& c, const std::string& bytes);
  bool arm(Conn& c, int op, uint32_t events);
  void count_closed(size_t n);

  const ConnectionLimits limits_;
  const Serve serve_;
  const Answers answers_;
  const Inline inline_;
  CompletionQueue completions_;  // the writer's answers to deferred commands
  size_t answering_ = 0;         // epoll thread: connections in ConnState::kAnswering
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop() wakes the epoll thread
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_{0};      // this loop's connections
  std::atomic<size_t>& open_total_;  // its listener's: what connections_max bounds

  std::mutex conns_mu_;  // guards conns_ (adopt, close, sweep, stop)
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;

  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::deque<Conn*> jobs_;  // connections with a whole request, for the workers

  std::thread poller_;
  std::vector<std::thread> workers_;
};

// `loops` ConnectionLoops (at least one) behind one listener: each gets an
// equal share of limits.worker_threads (at least one), and every accepted
// connection goes to the next in turn; connections_max bounds them all.
class ConnectionLoops {
 public:
  ConnectionLoops(int loops, ConnectionLimits limits, const ConnectionLoop::Serve& serve,
                  const ConnectionLoop::Answers& answers, const ConnectionLoop::Inline& in = {});
  ~ConnectionLoops();  // stop()
  ConnectionLoops(const ConnectionLoops&) = delete;
  ConnectionLoops& operator=(const ConnectionLoops&) = delete;

  void adopt(int fd);  // ConnectionLoop::adopt, of the next loop
  void stop();         // ConnectionLoop::stop, of each

 private:
  std::atomic<size_t> open_{0};  // over every loop: what connections_max bounds
  std::vector<std::unique_ptr<ConnectionLoop>> loops_;
  size_t next_ = 0;  // the accept loop's thread only
};

}  // namespace reservoir::api
