#include "api/http_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "api/connections.h"
#include "api/plain_http.h"
#include "api/render.h"
#include "api/request_id.h"
#include "events/histogram.h"
#include "events/oplog.h"

namespace reservoir::api {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// The names of the header lines of `head` (a request head: request line,
// header lines, blank line) whose value is empty or blank, which httplib
// 0.11 (Debian 12) drops while it reads them: `Idempotency-Key:` would read
// as no key at all, where SPEC §2 makes it a malformed key (400 in every
// dialect). A line is read as httplib reads it: trailing blanks dropped,
// the name up to the first ':', blanks after it skipped.
std::vector<std::string> empty_header_names(std::string_view head) {
  std::vector<std::string> names;
  bool request_line = true;
  while (!head.empty()) {
    const size_t eol = head.find('\n');
    std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the blank line that ends the head
    if (std::exchange(request_line, false)) continue;
    while (!line.empty() && is_blank(line.back())) line.remove_suffix(1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    if (std::all_of(line.begin() + static_cast<std::ptrdiff_t>(colon) + 1, line.end(), is_blank)) {
      names.emplace_back(line.substr(0, colon));
    }
  }
  return names;
}

// A request served on the epoll thread (ConnectionLoop::Inline): set
// around httplib's process_request, read by HttpServer::handle.
struct InlineCall {
  DeferredAnswer deferred;
  ConnectionLoop::Note* note = nullptr;  // filled in when deferred
  bool punted = false;                   // not an inline command route: nothing was run
};
thread_local InlineCall* t_inline = nullptr;

}  // namespace

// httplib's server with its connections handed to a ConnectionLoop:
// httplib's accept loop stays (with its stop() and its handling of EMFILE),
// but each accepted socket goes to the loop instead of a pool thread, and
// the loop runs httplib's process_request once a request is whole; the
// empty headers httplib drops are put back (empty_header_names) before it
// routes the request. Exposes the listening socket, which httplib keeps
// protected, so the backlog can be raised after bind.
class HttpServer::Impl : public httplib::Server {
 public:
  int listening_socket() const { return static_cast<int>(svr_sock_); }
  // `head` is read before the stream is (ConnectionLoop::Serve).
  bool serve_request(httplib::Stream& stream, std::string_view head, bool close_connection,
                     bool& connection_closed) {
    const std::vector<std::string> empty = empty_header_names(head);
    if (empty.empty()) return process_request(stream, close_connection, connection_closed, nullptr);
    // httplib's setup_request hook: after the head is read, before routing.
    // A name httplib kept with a value (a second line of it) wins.
    return process_request(stream, close_connection, connection_closed,
                           [&empty](httplib::Request& req) {
                             for (const std::string& name : empty) {
                               if (!req.has_header(name.c_str())) req.headers.emplace(name, "");
                             }
                           });
  }
  // The same on the epoll thread, where a command route's writer call
  // becomes a submit with `done` (HttpServer::handle).
  ConnectionLoop::Outcome serve_inline(httplib::Stream& stream, std::string_view head,
                                       bool close_connection, bool& connection_closed,
                                       Completion& done, ConnectionLoop::Note& note) {
    InlineCall call;
    call.deferred.completion = &done;
    call.note = &note;
    t_inline = &call;
    const bool ok = serve_request(stream, head, close_connection, connection_closed);
    t_inline = nullptr;
    if (call.punted) return ConnectionLoop::Outcome::kPunted;
    if (!ok) connection_closed = true;
    if (!call.deferred.deferred) return ConnectionLoop::Outcome::kAnswered;
    return ConnectionLoop::Outcome::kDeferred;
  }
  ConnectionLoops* loops = nullptr;  // set and used on the accept loop's thread

 private:
  // httplib's accept loop calls this for every accepted socket (through
  // LoopQueue::enqueue, inline).
  bool process_and_close_socket(socket_t sock) override {
    loops->adopt(static_cast<int>(sock));
    return true;
  }
};

namespace {

// Set by the pre-routing handler for each request: it is a GET with a body,
// which httplib then reads as a PATCH. httplib runs a request's pre-routing
// handler, body read and handler on one thread, one request at a time.
thread_local bool t_get_with_body = false;

// The request's Content-Type, taken out of httplib's view by the
// pre-routing handler (same thread, same request): httplib parses a
// multipart/form-data body itself (a bare 400 when it fails, and the body
// left unread on the connection), caps form bodies at 8 KiB (413) and merges
// form fields into the query parameters. Whether a body is JSON is the
// Service's decision (415), whatever the body holds.
thread_local std::optional<std::string> t_content_type;

// The value of each header named in `lower_names` (lower case), the first
// one where a name repeats, as httplib's find() gives it.
template <size_t N>
std::array<std::optional<std::string_view>, N> find_headers(
    const httplib::Request& req, const std::array<std::string_view, N>& lower_names) {
  std::array<std::optional<std::string_view>, N> found;
  for (const auto& [name, value] : req.headers) {
    for (size_t i = 0; i < N; ++i) {
      if (!found[i] && header_name_is(name, lower_names[i])) found[i] = value;
    }
  }
  return found;
}

// SPEC §7's headers of a route answer: its offsets, and a replica's redirect.
void write_role_headers(const Answer& a, httplib::Response& res) {
  if (a.offset) res.set_header("Reservoir-Offset", std::to_string(*a.offset));
  if (a.applied) res.set_header("Reservoir-Applied", std::to_string(*a.applied));
  if (!a.location.empty()) res.set_header("Location", a.location);
}

// X-Request-Id (SPEC §8): the client's when it is 1..128 visible ASCII
// characters, else a new random one (never derived from a secret), so a
// log line about a request names it as the client and the answer do.
constexpr size_t kRequestIdBytesMax = 128;

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > kRequestIdBytesMax) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string request_id_of(const httplib::Request& req) {
  static constexpr std::array<std::string_view, 1> kName = {"x-request-id"};
  const auto [id] = find_headers(req, kName);
  return id && valid_request_id(*id) ? std::string(*id) : new_request_id();
}

// Moves the body into the response (set_content would copy it; a seats
// answer is ~32 KB); a body shared with the query cache is written from
// where it is, through a content provider that keeps it alive.
void send(httplib::Response& res, Answer&& a, bool prometheus = false) {
  res.status = a.status;
  write_role_headers(a, res);
  const char* type = prometheus       ? kPrometheusContentType
                     : a.content_type ? a.content_type
                                      : "application/json";
  if (a.content_type != nullptr) {
    // The console's files: nothing from elsewhere, ever (SPEC §8).
    res.set_header("Content-Security-Policy", kConsoleContentSecurityPolicy);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Cache-Control", "no-cache");
  }
  if (a.shared) {
    const size_t bytes = a.shared->size();
    res.set_content_provider(
        bytes, type,
        [body = std::move(a.shared)](size_t offset, size_t length, httplib::DataSink& sink) {
          return sink.write(body->data() + offset, length);
        });
  } else {
    res.body = std::move(a.body);
    res.set_header("Content-Type", type);
  }
  if (a.status == 503) res.set_header("Retry-After", "1");
}

// A deferred command's DeferredNote and method in one word for the
// connection loop (ConnectionLoop::Note::tag): route | domain << 32 | method << 40.
constexpr std::array<std::string_view, 4> kCommandMethods = {"POST", "PUT", "PATCH", "DELETE"};

uint64_t pack_note(const DeferredNote& note, std::string_view method) {
  uint64_t m = 0;
  while (m + 1 < kCommandMethods.size() && kCommandMethods[m] != method) ++m;
  return uint64_t{note.counter} | uint64_t{static_cast<uint8_t>(note.domain)} << 32 | m << 40;
}

DeferredNote unpack_note(uint64_t tag, std::string_view& method) {
  method = kCommandMethods[(tag >> 40) & 3];
  return DeferredNote{static_cast<uint32_t>(tag), static_cast<Domain>((tag >> 32) & 0xff)};
}

std::string error_message(int status) {
  switch (status) {
    case 413:
      return "the body is larger than 64 KiB";
    case 414:
      return "the request URI is too long";
    default:
      return "the request could not be parsed";
  }
}

// httplib reads a body only for POST, PUT, PATCH and DELETE; for any other
// method the body's bytes would be parsed as the next request on the
// connection (request smuggling).
bool has_unread_body(const httplib::Request& req, std::optional<std::string_view> transfer_encoding,
                     std::optional<std::string_view> content_length) {
  const bool reads_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
                          req.method == "DELETE";
  if (reads_body) return false;
  if (transfer_encoding) return true;
  return content_length && *content_length != "0";
}

std::string peer_text(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = {0};
  int port = 0;
  if (a.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

// The socket `req` arrived on. httplib does not expose it, so it is found by
// its peer address (a rare path: only requests with a body httplib will not read).
int find_socket(const httplib::Request& req) {
  const std::string peer = req.remote_addr + ":" + std::to_string(req.remote_port);
  int found = -1;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (dirent* entry = readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (fd > 2 && getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
        peer_text(addr) == peer) {
      found = fd;
    }
  }
  closedir(dir);
  return found;
}

// Answers on the socket itself and closes it gracefully (a lingering
// close): the answer, then FIN, then whatever the client still sends is
// read and dropped for up to `kLingerMs`, so the close sends no RST that
// could destroy the answer. httplib's own later write then fails and it
// drops the connection; the unread body is never parsed as a request.
constexpr int kLingerMs = 1000;
constexpr size_t kLingerBytesMax = size_t{1} << 20;

void answer_and_close(const httplib::Request& req, const Answer& r) {
  const int fd = find_socket(req);
  if (fd < 0) return;
  std::string out =
      "HTTP/1.1 " + std::to_string(r.status) + (r.status == 200 ? " OK" : " Error") +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(r.text().size()) +
      "\r\nX-Request-Id: " + request_id_of(req) + "\r\nConnection: close\r\n\r\n";
  out += r.text();
  for (size_t done = 0; done < out.size();) {
    const ssize_t n = ::send(fd, out.data() + done, out.size() - done, MSG_NOSIGNAL);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  char sink[4096];
  size_t drained = 0;
  pollfd pfd{fd, POLLIN, 0};
  while (drained<kLingerBytesMax&& ::poll(&pfd, 1, kLingerMs)> 0) {
    const ssize_t n = ::recv(fd, sink, sizeof sink, 0);
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_RD);
}

// Answers httplib produced itself (413, a bad request line) get the
// envelope of the dialect owning the path (`router` may be null: canonical).
httplib::Server::HandlerResponse render_library_error(const Router* router,
                                                      const httplib::Request& req,
                                                      httplib::Response& res) {
  if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
  ErrorCode code = ErrorCode::INVALID_REQUEST;
  if (res.status == 404) code = ErrorCode::NOT_FOUND;
  if (res.status == 405) code = ErrorCode::METHOD_NOT_ALLOWED;
  if (res.status == 413) code = ErrorCode::PAYLOAD_TOO_LARGE;
  if (res.status >= 500) code = ErrorCode::INTERNAL;
  const int status = res.status;
  const std::string message = error_message(status);
  send(res, router != nullptr
                ? render_dialect_error(*router->match(req.method, req.path).dialect, code, message)
                : render_error(code, message));
  res.status = status;
  res.set_header("X-Request-Id", request_id_of(req));
  return httplib::Server::HandlerResponse::Handled;
}

// An exception out of a handler: 500 in the route's own words.
Rendered internal_fault(const Router* router, std::string_view method, std::string_view path) {
  if (router == nullptr) return render_error(ErrorCode::INTERNAL, "internal error");
  const Router::Match m = router->match(method, path);
  return render_dialect_error(*m.dialect, ErrorCode::INTERNAL, "internal error",
                              m.route != nullptr ? m.route->errors : std::span<const ErrorRow>{});
}

// The task queue httplib's accept loop hands each accepted socket to: it
// runs the hand-over inline (the socket goes to the loop, no thread is
// held), and its shutdown, which httplib calls once the accept loop ends,
// stops the loop.
class LoopQueue : public httplib::TaskQueue {
 public:
  template <class... Args>
  explicit LoopQueue(Args&&... args) : loops(std::forward<Args>(args)...) {}
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override { loops.stop(); }
  ConnectionLoops loops;
};

// A whole HTTP/1.1 answer, for the loop to write without httplib.
std::string raw_answer(const Rendered& r, const char* reason) {
  std::string out =
      "HTTP/1.1 " + std::to_string(r.status) + " " + reason +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(r.body.size()) +
      "\r\n";
  if (r.status == 503) out += "Retry-After: 1\r\n";
  return out + "Connection: close\r\n\r\n" + r.body;
}

// The loop's own answers; the refusal in the listener's first dialect's
// words, like its other 503s (the path is not read).
ConnectionLoop::Answers loop_answers(const Router* router, const HttpConfig& c) {
  const std::string busy = "too many open connections; retry shortly";
  ConnectionLoop::Answers a;
  a.refusal = raw_answer(router != nullptr ? render_dialect_error(*router->dialects().front(),
                                                                  ErrorCode::OVERLOADED, busy)
                                           : render_error(ErrorCode::OVERLOADED, busy),
                         "Service Unavailable");
  a.timeout = raw_answer(render_error_envelope(408, "REQUEST_TIMEOUT",
                                               "the request did not arrive within " +
                                                   std::to_string(c.request_timeout_ms) + " ms"),
                         "Request Timeout");
  a.too_large =
      raw_answer(render_error_envelope(431, "REQUEST_HEADER_FIELDS_TOO_LARGE",
                                       "the request head is larger than " +
                                           std::to_string(c.head_bytes_max / 1024) + " KiB"),
                 "Request Header Fields Too Large");
  return a;
}

ConnectionLimits loop_limits(const HttpConfig& c) {
  ConnectionLimits l;
  l.worker_threads = c.worker_threads;
  l.connections_max = c.connections_max;
  l.request_timeout_ms = c.request_timeout_ms;
  l.idle_timeout_ms = int64_t{c.keep_alive_timeout_s} * 1000;
  l.read_timeout_ms = c.read_timeout_ms;
  l.write_timeout_ms = c.write_timeout_ms;
  l.head_bytes_max = c.head_bytes_max;
  l.body_bytes_max = kBodyBytesMax;
  l.keep_alive_requests_max = c.keep_alive_requests_max;
  l.raise_poll_priority = c.raise_poll_priority;
  l.inline_gets = c.inline_commands && c.inline_queries;
  return l;
}

// What a deferred answer's placeholder says when its connection closes
// after it (ConnectionLoop::Inline::serve).
constexpr std::string_view kClosePlaceholder = "\r\nConnection: close\r\n";

// Reads `bytes` off the stream: the request the loop's buffer holds.
void skip(httplib::Stream& stream, size_t bytes) {
  char sink[1024];
  while (bytes > 0) {
    const ssize_t n = stream.read(sink, std::min(bytes, sizeof sink));
    if (n <= 0) return;
    bytes -= static_cast<size_t>(n);
  }
}

}  // namespace

HttpServer::HttpServer(Service& service, HttpConfig config, const Router* router)
    : impl_(std::make_unique<Impl>()),
      service_(service),
      router_(router),
      config_(std::move(config)),
      keep_alive_("timeout=" + std::to_string(config_.keep_alive_timeout_s) +
                  ", max=" + std::to_string(config_.keep_alive_requests_max)) {
  Impl& s = *impl_;
  s.new_task_queue = [this] {
    ConnectionLoop::Inline in;
    if (config_.inline_commands) {
      in.serve = [this](httplib::Stream& stream, std::string_view buffered, bool close,
                        bool& closed, Completion& done, ConnectionLoop::Note& note) {
        if (const auto plain = parse_plain_request(buffered, kBodyBytesMax)) {
          return serve_plain(*plain, stream, close, closed, done, note);
        }
        const size_t end = buffered.find("\r\n\r\n");
        const std::string_view head =
            end == std::string_view::npos ? buffered : buffered.substr(0, end + 4);
        return impl_->serve_inline(stream, head, close, closed, done, note);
      };
      in.finish = [this](Rendered&& answer, const ConnectionLoop::Note& note, bool close,
                         std::string& out) {
        finish_deferred(std::move(answer), note, close, out);
      };
    }
    auto* queue = new LoopQueue(
        config_.event_loops, loop_limits(config_),
        [impl = impl_.get()](httplib::Stream& stream, std::string_view head, bool close,
                             bool& closed) {
          return impl->serve_request(stream, head, close, closed);
        },
        loop_answers(router_, config_), std::move(in));
    impl_->loops = &queue->loops;
    return queue;
  };
  s.set_tcp_nodelay(true);
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT lets a second socket
  // bind a port in use, and a port that cannot be bound must be refused
  // (SPEC §5.1: exit 1 naming it), whichever listener asked for it.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // The loop enforces both; httplib only writes them in its Keep-Alive header.
  s.set_keep_alive_max_count(config_.keep_alive_requests_max);
  s.set_keep_alive_timeout(config_.keep_alive_timeout_s);
  s.set_payload_max_length(kBodyBytesMax);
  // A request without a body is answered before httplib's own routing and
  // body reading (which refuses a PUT without Content-Length with a bare 400);
  // requests with a body are answered once httplib has read it.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // Answers go out uncompressed: Debian's cpp-httplib compresses JSON with
    // brotli or gzip whenever the client allows it (browsers always do),
    // which costs more CPU per answer than serving it on 2 cores, for
    // answers that are mostly small. httplib has no server-side switch; it
    // decides from this request header when it writes the answer. (The
    // request object is httplib's own, not const: only the handler's view is.)
    static constexpr std::array<std::string_view, 4> kNames = {
        "accept-encoding", "transfer-encoding", "content-length", "content-type"};
    const auto [accept_encoding, transfer_encoding, content_length, content_type] =
        find_headers(req, kNames);
    t_content_type = content_type ? std::optional<std::string>(*content_type) : std::nullopt;
    if (content_type) const_cast<httplib::Request&>(req).headers.erase("Content-Type");
    if (accept_encoding) const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
    t_get_with_body =
        req.method == "GET" && (transfer_encoding || (content_length && *content_length != "0"));
    if (t_get_with_body) {
      // Seed 000 sends its queue token in the body of a GET (SPEC §5.1), and
      // httplib reads no body for a GET: as a PATCH it reads it whole, and
      // handle() restores the method.
      const_cast<httplib::Request&>(req).method = "PATCH";
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (has_unread_body(req, transfer_encoding, content_length)) {
      // Answer it, then read nothing more from that connection.
      answer_and_close(req, answer(to_request(req)));
      res.status = 400;
      return httplib::Server::HandlerResponse::Handled;
    }
    if (content_length || transfer_encoding) return httplib::Server::HandlerResponse::Unhandled;
    handle(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
  s.Get(".*", handler);
  s.Post(".*", handler);
  s.Put(".*", handler);
  s.Patch(".*", handler);
  s.Delete(".*", handler);
  s.Options(".*", handler);
  s.set_error_handler(httplib::Server::HandlerWithResponse(
      [router](const httplib::Request& req, httplib::Response& res) {
        return render_library_error(router, req, res);
      }));
  s.set_exception_handler(
      [router](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        const std::string id = request_id_of(req);
        oplog::log_event(oplog::Level::kError, "fault",
                         {{"kind", "internal_error"}, {"request_id", id}, {"method", req.method}});
        send(res, internal_fault(router, req.method, req.path));
        res.set_header("X-Request-Id", id);
      });
}

HttpServer::~HttpServer() = default;

Request HttpServer::to_request(const httplib::Request& req) {
  Request r;
  r.method = req.method;
  r.path = req.path;
  r.body = req.body;
  r.params = &req.params;
  static constexpr std::array<std::string_view, 7> kNames = {
      "queue-token", "idempotency-key", "admin-key",           "user-token",
      "token-id",    "authorization",   "reservoir-min-offset"};
  const auto [queue_token, idempotency_key, admin_key, user_token, token_id, authorization,
              min_offset] = find_headers(req, kNames);
  r.min_offset = min_offset;
  r.target = req.target;
  if (t_content_type) r.content_type = *t_content_type;
  r.queue_token = queue_token;
  r.user_token = user_token;
  r.token_id = token_id;
  r.idempotency_key = idempotency_key;
  r.admin_key = admin_key;
  r.authorization = authorization;
  return r;
}

Request HttpServer::to_request(const PlainRequest& p,
                               const std::multimap<std::string, std::string>& params) {
  Request r;
  r.method = p.method;
  r.path = p.path;
  r.body = p.body;
  r.params = &params;
  r.target = p.target;
  r.content_type = p.header("content-type");
  r.queue_token = p.header("queue-token");
  r.user_token = p.header("user-token");
  r.token_id = p.header("token-id");
  r.idempotency_key = p.header("idempotency-key");
  r.admin_key = p.header("admin-key");
  r.authorization = p.header("authorization");
  r.min_offset = p.header("reservoir-min-offset");
  return r;
}

Answer HttpServer::answer(const Request& req) const {
  return router_ != nullptr ? service_.handle(req, *router_) : service_.handle(req);
}

// A request parse_plain_request took, on the epoll thread: what handle()
// does with httplib's reading of it, from our own (plain_http.h).
ConnectionLoop::Outcome HttpServer::serve_plain(const PlainRequest& p, httplib::Stream& stream,
                                                bool close_connection, bool& connection_closed,
                                                Completion& done, ConnectionLoop::Note& note) {
  const int64_t start_ns = metrics_now_ns();
  const Router& router = router_ != nullptr ? *router_ : service_.canonical_router();
  const Router::Match m = router.match(p.method, p.path);
  const bool query = p.method == "GET";
  if (m.kind != Router::Kind::kRoute ||
      !(query ? config_.inline_queries : m.route->inline_command)) {
    return ConnectionLoop::Outcome::kPunted;
  }
  std::multimap<std::string, std::string> params;
  if (!p.query.empty()) plain_query_params(p.query, params);
  const Request r = to_request(p, params);
  const std::optional<std::string_view> client_id = p.header("x-request-id");
  std::string request_id =
      client_id && valid_request_id(*client_id) ? std::string(*client_id) : new_request_id();
  Answer a;
  DeferredAnswer deferred;
  deferred.completion = &done;
  InlineQuery punt;
  try {
    if (query) {
      InlineQuery::Scope scope(punt);
      a = answer(r);
    } else {
      DeferredAnswer::Scope scope(deferred);
      a = answer(r);
    }
  } catch (const std::exception&) {
    // Once the writer took the command, its answer (posted to `done`) is the answer.
    if (!deferred.deferred) a = internal_fault(router_, p.method, p.path);
    oplog::log_event(oplog::Level::kError, "fault",
                     {{"kind", "internal_error"},
                      {"request_id", request_id},
                      {"method", std::string(p.method)}});
  }
  if (punt.punted) return ConnectionLoop::Outcome::kPunted;
  skip(stream, p.bytes);
  connection_closed = p.close;
  const bool close = close_connection || p.close;
  if (deferred.deferred) {
    note.start_ns = start_ns;
    note.tag = pack_note(deferred.note, p.method);
    note.request_id = std::move(request_id);
    if (close) stream.write(kClosePlaceholder.data(), kClosePlaceholder.size());
    return ConnectionLoop::Outcome::kDeferred;
  }
  thread_local std::string head;
  head.clear();
  write_plain_head(a, PlainAnswerHead{request_id, close, keep_alive_, p.path == "/metrics"}, head);
  stream.write(head.data(), head.size());
  stream.write(a.text().data(), a.text().size());  // a seat map's 32 KB copied once
  finish_request(p.method, a.route, a.status, start_ns, request_id);
  return ConnectionLoop::Outcome::kAnswered;
}

void HttpServer::handle(const httplib::Request& req, httplib::Response& res) {
  // Read even with metrics off: the slow-request log needs it.
  const int64_t start_ns = metrics_now_ns();
  InlineCall* call = t_inline;
  if (call != nullptr && !runs_inline(req)) {
    // On the epoll thread, a route that may block elsewhere: a worker
    // serves the request from the start, untouched.
    call->punted = true;
    res.status = 200;  // httplib's answer is dropped
    return;
  }
  std::string request_id = request_id_of(req);
  Request r = to_request(req);
  if (t_get_with_body) r.method = "GET";
  Answer a;
  if (call == nullptr) {
    a = answer(r);
  } else if (r.method == "GET") {
    InlineQuery query;
    {
      InlineQuery::Scope scope(query);
      a = answer(r);
    }
    if (query.punted) {
      // The views are behind what it must show: a worker serves it anew and waits.
      call->punted = true;
      res.status = 200;  // httplib's answer is dropped
      return;
    }
  } else {
    DeferredAnswer::Scope scope(call->deferred);
    a = answer(r);
  }
  const std::string_view method = t_get_with_body ? std::string_view("GET") : req.method;
  if (call != nullptr && call->deferred.deferred) {
    // The writer took the command: its answer is written when posted
    // (finish_deferred), timed from here.
    call->note->start_ns = start_ns;
    call->note->tag = pack_note(call->deferred.note, method);
    call->note->request_id = std::move(request_id);
    res.status = 200;  // a placeholder: only its Connection header is read
    return;
  }
  const uint32_t route = a.route;
  const int status = a.status;
  send(res, std::move(a), req.path == "/metrics");
  res.set_header("X-Request-Id", request_id);
  finish_request(method, route, status, start_ns, request_id);
}

// On the epoll thread: a command route that blocks on nothing but its
// writer (RouteSpec::inline_command), and with inline_queries a query route
// (it punts when it would wait for the views).
bool HttpServer::runs_inline(const httplib::Request& req) const {
  const Router& router = router_ != nullptr ? *router_ : service_.canonical_router();
  const std::string_view method = t_get_with_body ? std::string_view("GET") : req.method;
  const Router::Match m = router.match(method, req.path);
  if (m.kind != Router::Kind::kRoute) return false;
  if (method == "GET") return config_.inline_queries;
  return m.route->inline_command;
}

// The request's duration into the metrics; a log line when it was slow or
// answered an internal error (the route's template is logged, never the
// path or a header).
void HttpServer::finish_request(std::string_view method, uint32_t route, int status,
                                int64_t start_ns, const std::string& request_id) {
  const int64_t took_ns = metrics_now_ns() - start_ns;
  if (metrics_on()) service_.observe_request(route, status, took_ns);
  const bool slow = took_ns >= config_.slow_request_ms * 1'000'000;
  if (!slow && status != 500) return;
  const std::string ms = scaled_decimal(took_ns / 1000, 3);  // µs precision
  const std::string code = std::to_string(status);
  oplog::log_event(status == 500 ? oplog::Level::kError : oplog::Level::kWarn,
                   status == 500 ? "fault" : "slow_request",
                   {{"request_id", request_id},
                    {"method", std::string(method)},
                    {"route", Router::counter_name(route)},
                    {"status", code},
                    {"duration_ms", ms}});
}

// A deferred command's answer, once the writer posted it: completed by the
// service (counted, Reservoir-Offset), written as httplib writes the same
// answer on a worker, then timed and logged as handle() does.
void HttpServer::finish_deferred(Rendered&& rendered, const ConnectionLoop::Note& note, bool close,
                                 std::string& out) {
  std::string_view method;
  const DeferredNote deferred = unpack_note(note.tag, method);
  const Answer a = service_.finish_deferred(deferred, std::move(rendered));
  write_plain_answer(a, PlainAnswerHead{note.request_id, close, keep_alive_, false}, out);
  finish_request(method, a.route, a.status, note.start_ns, note.request_id);
}

bool HttpServer::bind(std::string* error) {
  if (config_.port == 0) {
    port_ = impl_->bind_to_any_port(config_.host);
  } else {
    port_ = impl_->bind_to_port(config_.host, config_.port) ? config_.port : -1;
  }
  if (port_ <= 0) {
    *error = "cannot listen on " + config_.host + ":" + std::to_string(config_.port) + ": " +
             std::strerror(errno);
    return false;
  }
  // listen(2) again on the bound socket only raises the backlog.
  if (::listen(impl_->listening_socket(), config_.listen_backlog) != 0) {
    *error = std::string("cannot raise the listen backlog: ") + std::strerror(errno);
    return false;
  }
  return true;
}

bool HttpServer::serve() {
  serving_.store(true);
  const bool ok = stop_requested_.load() || impl_->listen_after_bind();
  serving_.store(false);
  return ok;
}

// Both flags are seq_cst: either serve() sees the request and never starts,
// or this sees serve() under way and waits until httplib can be stopped.
void HttpServer::stop() {
  stop_requested_.store(true);
  constexpr auto kPoll = std::chrono::milliseconds(1);
  while (serving_.load() && !impl_->is_running()) std::this_thread::sleep_for(kPoll);
  impl_->stop();
}

}  // namespace reservoir::api
