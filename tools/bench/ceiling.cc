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

constexpr const char* kBody =
    "{\"result\":\"SUCCESS\",\"data\":{\"token\":\"ceiling-token\",\"tokenStatus\":\"ACTIVE\","
    "\"reservationId\":\"ceiling-reservation\",\"totalPrice\":1000,\"balance\":1000}}";

}  // namespace

// Exposes the listening socket, which httplib keeps protected, so the
// backlog can be raised after bind (Debian's build compiles in 5).
class CeilingServer::Impl : public httplib::Server {
 public:
  int listening_socket() const { return static_cast<int>(svr_sock_); }
};

CeilingServer::CeilingServer(int worker_threads) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  const auto threads = static_cast<size_t>(worker_threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(kKeepAliveRequestsMax);
  s.set_keep_alive_timeout(kKeepAliveTimeoutS);
  auto answer = [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kBody, "application/json");
  };
  s.Get(".*", answer);
  s.Post(".*", answer);
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
