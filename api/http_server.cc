#include "api/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "api/render.h"

namespace reservoir::api {

// Exposes the listening socket, which httplib keeps protected, so the
// backlog can be raised after bind.
class HttpServer::Impl : public httplib::Server {
 public:
  int listening_socket() const { return static_cast<int>(svr_sock_); }
};

namespace {

std::optional<std::string_view> header(const httplib::Request& req, const char* name) {
  auto it = req.headers.find(name);  // httplib's header map is case-insensitive
  if (it == req.headers.end()) return std::nullopt;
  return std::string_view(it->second);
}

void send(httplib::Response& res, const Rendered& r, bool prometheus = false) {
  res.status = r.status;
  res.set_content(r.body, prometheus ? "text/plain; version=0.0.4" : "application/json");
  if (r.status == 503) res.set_header("Retry-After", "1");
}

std::string error_message(int status) {
  switch (status) {
    case 413: return "the body is larger than 64 KiB";
    case 414: return "the request URI is too long";
    default: return "the request could not be parsed";
  }
}

// Answers httplib produced itself (413, a bad request line) get the envelope.
httplib::Server::HandlerResponse render_library_error(const httplib::Request&,
                                                      httplib::Response& res) {
  if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
  ErrorCode code = ErrorCode::INVALID_REQUEST;
  if (res.status == 413) code = ErrorCode::PAYLOAD_TOO_LARGE;
  if (res.status >= 500) code = ErrorCode::INTERNAL;
  const int status = res.status;
  send(res, render_error(code, error_message(status)));
  res.status = status;
  return httplib::Server::HandlerResponse::Handled;
}

}  // namespace

HttpServer::HttpServer(Service& service, HttpConfig config)
    : impl_(std::make_unique<Impl>()), service_(service), config_(std::move(config)) {
  Impl& s = *impl_;
  const int threads = config_.worker_threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(config_.keep_alive_requests_max);
  s.set_keep_alive_timeout(config_.keep_alive_timeout_s);
  s.set_payload_max_length(kBodyBytesMax);
  // A request without a body is answered before httplib's own routing and
  // body reading (which refuses a PUT without Content-Length with a bare 400);
  // requests with a body are answered once httplib has read it.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    handle(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
  s.Get(".*", handler);
  s.Post(".*", handler);
  s.Put(".*", handler);
  s.Patch(".*", handler);
  s.Delete(".*", handler);
  s.set_error_handler(httplib::Server::HandlerWithResponse(render_library_error));
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send(res, render_error(ErrorCode::INTERNAL, "internal error"));
  });
}

HttpServer::~HttpServer() = default;

void HttpServer::handle(const httplib::Request& req, httplib::Response& res) {
  Request r;
  r.method = req.method;
  r.path = req.path;
  r.body = req.body;
  r.params = &req.params;
  r.content_type = header(req, "Content-Type");
  r.queue_token = header(req, "Queue-Token");
  r.idempotency_key = header(req, "Idempotency-Key");
  r.admin_key = header(req, "Admin-Key");
  send(res, service_.handle(r), req.path == "/metrics");
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

bool HttpServer::serve() { return impl_->listen_after_bind(); }

void HttpServer::stop() { impl_->stop(); }

}  // namespace reservoir::api
