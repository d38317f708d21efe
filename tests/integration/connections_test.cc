// Connection exhaustion (issue 16): idle, slow (a header byte a second) and
// never-closing clients must not starve working ones. Asserts answers and
// closures only; the latency beside 1,000 slow clients is the bench's
// (`reservoir bench --scenario slowloris`, docs/BENCHMARKS.md).
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/server_process.h"

namespace reservoir::test {
namespace {

constexpr int kSlowClients = 1000;
constexpr int kIdleClients = 100;
constexpr int kWorkingClients = 64;
constexpr int kChargesPerClient = 20;
// Client sockets the test needs besides the slow and idle ones.
constexpr rlim_t kFilesSpare = 512;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The open-file limit raised to the hard limit; how many slow clients fit.
int slow_clients_that_fit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
  getrlimit(RLIMIT_NOFILE, &r);
  const rlim_t room =
      r.rlim_cur > kFilesSpare + kIdleClients ? r.rlim_cur - kFilesSpare - kIdleClients : 0;
  return static_cast<int>(std::min<rlim_t>(kSlowClients, room));
}

// A bare blocking TCP connection to the server (-1 when it failed).
int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Waits up to `bound` for the server to answer and close `fd`: what it
// sent before the end of stream, or "" if it did not close in time.
std::string read_until_closed(int fd, Clock::duration bound) {
  std::string got;
  const auto until = Clock::now() + bound;
  while (Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return got.empty() ? std::string("(closed)") : got;
    got.append(buf, static_cast<size_t>(n));
  }
  return "";
}

// Slow clients: each sends one more byte of a request head every second
// and never finishes it (the head's end never comes).
class Trickle {
 public:
  Trickle(int port, int n) {
    for (int i = 0; i < n; ++i) {
      const int fd = connect_to(port);
      if (fd >= 0) fds_.push_back(fd);
    }
    thread_ = std::thread([this] { run(); });
  }
  ~Trickle() {
    stop_.store(true);
    thread_.join();
    for (int fd : fds_) ::close(fd);
  }
  size_t connected() const { return fds_.size(); }
  int rounds() const { return rounds_.load(); }

 private:
  void run() {
    static const std::string kHead = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    for (size_t k = 0; !stop_.load(); ++k) {
      const char byte = k < kHead.size() ? kHead[k] : 'a';
      for (int fd : fds_) ::send(fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      rounds_.fetch_add(1);
      for (int i = 0; i < 10 && !stop_.load(); ++i) std::this_thread::sleep_for(100ms);
    }
  }
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::atomic<int> rounds_{0};
  std::thread thread_;
};

TEST_CASE("connections: 1,000 slow and 100 idle clients do not starve 64 working ones") {
  const int slow = slow_clients_that_fit();
  REQUIRE(slow > 0);
  MESSAGE("slow clients: " << slow);
  ServerProcess server(ServerOptions().with(
      {"--http-connections-max", "5000", "--http-request-timeout", "60s", "--http-threads", "64"}));
  std::vector<int> idle;
  for (int i = 0; i < kIdleClients; ++i) idle.push_back(connect_to(server.port()));
  Trickle trickle(server.port(), slow);
  REQUIRE(trickle.connected() == static_cast<size_t>(slow));
  REQUIRE(eventually([&] { return trickle.rounds() >= 3; }, 10s));  // all begun, mid-head

  std::vector<std::vector<int>> statuses(kWorkingClients);
  std::vector<std::thread> working;
  for (int i = 0; i < kWorkingClients; ++i) {
    working.emplace_back([&, i] {
      Api api(server);
      for (int k = 0; k < kChargesPerClient; ++k) {
        statuses[static_cast<size_t>(i)].push_back(api.charge("alice", 1).status);
      }
    });
  }
  for (auto& t : working) t.join();
  int ok = 0;
  for (const auto& s : statuses) ok += static_cast<int>(std::count(s.begin(), s.end(), 200));
  CHECK(ok == kWorkingClients * kChargesPerClient);
  CHECK(Api(server).balance_of("alice") == 500000 + kWorkingClients * kChargesPerClient);
  CHECK(Api(server).get("/healthz").status == 200);
  CHECK(server.terminate() == 0);  // SIGTERM stops it with all those connections open
  for (int fd : idle) ::close(fd);
}

TEST_CASE("connections: beyond --http-connections-max a new connection gets 503 at once") {
  constexpr int kMax = 8;
  ServerProcess server(ServerOptions().with({"--http-connections-max", std::to_string(kMax)}));
  std::vector<std::unique_ptr<RawHttp>> held;
  const std::string health = RawHttp::request("GET", "/healthz", "", "");
  for (int i = 0; i < kMax; ++i) {
    held.push_back(std::make_unique<RawHttp>(server.port()));
    CHECK(held.back()->exchange(health).status == 200);  // open, and kept open
  }
  RawHttp extra(server.port());
  RawHttp::Response refused = extra.exchange(health);
  CHECK(refused.status == 503);
  CHECK(contains(refused.head, "Retry-After: 1"));
  CHECK(contains(refused.body, "\"result\":\"ERROR\""));
  CHECK(contains(refused.body, "OVERLOADED"));
  // The held ones are still served, and a slot freed is a slot again.
  CHECK(held.front()->exchange(health).status == 200);
  held.pop_back();
  CHECK(eventually([&] { return RawHttp(server.port()).exchange(health).status == 200; }));
}

TEST_CASE("connections: a slow request is cut at --http-request-timeout, an idle one later") {
  ServerProcess server(ServerOptions().with({"--http-request-timeout", "1s"}));
  const int slow = connect_to(server.port());
  const int idle = connect_to(server.port());
  REQUIRE(slow >= 0);
  REQUIRE(idle >= 0);
  std::atomic<bool> done{false};
  std::thread trickle([&] {
    const std::string head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaa";
    for (size_t k = 0; k < head.size() && !done.load(); ++k) {
      ::send(slow, &head[k], 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(200ms);
    }
  });
  const std::string answer = read_until_closed(slow, 20s);
  done.store(true);
  trickle.join();
  CHECK(answer.rfind("HTTP/1.1 408 ", 0) == 0);
  CHECK(contains(answer, "REQUEST_TIMEOUT"));
  CHECK(read_until_closed(idle, 20s) == "(closed)");  // after the 5 s keep-alive timeout
  ::close(slow);
  ::close(idle);
  CHECK(Api(server).get("/healthz").status == 200);
}

// With two epoll threads, connections alternate between them and one
// writer batch holds commands from both: each answer must reach the
// connection that asked, and no other.
TEST_CASE("connections: with --http-loops 2 each command's answer reaches its own connection") {
  constexpr int kClients = 16;
  constexpr int kRounds = 20;
  const std::string admin = "loops-admin";
  ServerProcess server(ServerOptions().admin(admin).with({"--http-loops", "2"}));
  std::vector<std::string> users;
  for (int i = 0; i < kClients; ++i) users.push_back("loop-user-" + std::to_string(i));
  Api setup(server);
  create_users(setup, admin, users);
  std::vector<std::vector<int64_t>> balances(kClients);
  std::vector<std::thread> clients;
  std::atomic<int> ready{0};
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      Api api(server);  // one keep-alive connection each: loops taken in turn
      ready.fetch_add(1);
      while (ready.load() < kClients) std::this_thread::yield();
      for (int k = 0; k < kRounds; ++k) {
        Reply r = api.charge(users[static_cast<size_t>(i)], i + 1);
        balances[static_cast<size_t>(i)].push_back(r.ok() ? num(r.data(), "balance") : -1);
      }
    });
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) {
    // Client i charges i + 1 each time: its k-th answer shows (k + 1) * (i + 1).
    std::vector<int64_t> expected;
    for (int k = 1; k <= kRounds; ++k) expected.push_back(int64_t{k} * (i + 1));
    CHECK_MESSAGE(balances[static_cast<size_t>(i)] == expected, "client " << i);
  }
}

TEST_CASE("connections: pipelined requests are all answered, in order") {
  ServerProcess server;
  const int fd = connect_to(server.port());
  REQUIRE(fd >= 0);
  const std::string two = RawHttp::request("GET", "/healthz", "", "") +
                          RawHttp::request("GET", "/api/v1/balance?userId=alice", "", "") +
                          RawHttp::request("GET", "/healthz", "", "Connection: close\r\n");
  REQUIRE(::send(fd, two.data(), two.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(two.size()));
  const std::string got = read_until_closed(fd, 20s);
  ::close(fd);
  const size_t first = got.find("\"UP\"");
  const size_t balance = got.find("500000");
  const size_t last = got.rfind("\"UP\"");
  CHECK(first != std::string::npos);
  CHECK(balance != std::string::npos);
  CHECK(first < balance);
  CHECK(balance < last);
}

}  // namespace
}  // namespace reservoir::test
