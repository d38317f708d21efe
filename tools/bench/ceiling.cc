#include "tools/bench/ceiling.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace reservoir::tools::bench {
namespace {

constexpr int kListenBacklog = 8192;  // as api/http_server.h
constexpr size_t kKeepAliveRequestsMax = 1'000'000;
constexpr int kKeepAliveTimeoutS = 5;
constexpr int kStartWaitMs = 5000;

constexpr const char* kCanonicalBody =
    "{\"result\":\"SUCCESS\",\"data\":{\"token\":\"ceiling-token\",\"tokenStatus\":\"ACTIVE\","
    "\"reservationId\":\"ceiling-reservation\",\"totalPrice\":1000,\"balance\":1000}}";
// The same fields in the dialects' shapes (SPEC §5.3, §5.4): a token the
// flows take as ACTIVE, a reservation's sequence number, a price.
constexpr const char* kConcertEventsBody =
    "{\"data\":{\"token\":\"ceiling-token\",\"estimatedWaitingTime\":0,\"id\":1,"
    "\"totalAmount\":1000,\"balance\":1000}}";
constexpr const char* kQueueTokensBody =
    "{\"tokenId\":1,\"createdAt\":\"2026-01-01T00:00:00\",\"expiredAt\":\"2026-01-01T00:10:00\","
    "\"reservationId\":1,\"totalPrice\":1000,\"currentAmount\":1000}";

const char* body_of(Dialect d) {
  switch (d) {
    case Dialect::kConcertEvents:
      return kConcertEventsBody;
    case Dialect::kQueueTokens:
      return kQueueTokensBody;
    case Dialect::kCanonical:
      break;
  }
  return kCanonicalBody;
}

}  // namespace

// Exposes the listening socket, which httplib keeps protected, so the
// backlog can be raised after bind (Debian's build compiles in 5).
class CeilingServer::Impl : public httplib::Server {
 public:
  int listening_socket() const { return static_cast<int>(svr_sock_); }
};

CeilingServer::CeilingServer(int worker_threads, Dialect dialect)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  const auto threads = static_cast<size_t>(worker_threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(kKeepAliveRequestsMax);
  s.set_keep_alive_timeout(kKeepAliveTimeoutS);
  auto answer = [body = body_of(dialect)](const httplib::Request&, httplib::Response& res) {
    res.set_content(body, "application/json");
  };
  s.Get(".*", answer);
  s.Post(".*", answer);
  s.Patch(".*", answer);
  s.Delete(".*", answer);
}

CeilingServer::~CeilingServer() {
  stop();
}

bool CeilingServer::start(std::string& error) {
  port_ = impl_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) {
    error = std::string("ceiling: cannot bind: ") + std::strerror(errno);
    return false;
  }
  if (::listen(impl_->listening_socket(), kListenBacklog) != 0) {
    error = std::string("ceiling: cannot raise the listen backlog: ") + std::strerror(errno);
    return false;
  }
  thread_ = std::thread([this] { impl_->listen_after_bind(); });
  for (int waited = 0; !impl_->is_running(); ++waited) {
    if (waited >= kStartWaitMs) {
      error = "ceiling: the server did not start";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

void CeilingServer::stop() {
  if (!thread_.joinable()) return;
  impl_->stop();
  thread_.join();
}

}  // namespace reservoir::tools::bench
