// Commands served on the HTTP epoll thread (api/connections.h, "inline"):
// over a Service whose MemoryLog can hold an append, a raw-socket client
// checks that a command's answer leaves only after its append returned,
// that answers keep the order of pipelined requests, that overload is
// answered at once, that a stopping server answers what it took, and that
// every answer's bytes equal those of the worker path (inline_commands off):
// status line, headers (X-Request-Id, Reservoir-Offset, Retry-After...) and
// body, in every dialect, on the writer and on a query replica; and that a
// deferred answer is counted and timed in /metrics and the slow-request log.
// Queries run there too (HttpConfig::inline_queries) with the bytes of the
// worker path, and one that must wait for the views goes to a worker.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api/clinic_backend.h"
#include "api/clinic_render.h"
#include "api/http_server.h"
#include "api/render.h"
#include "api/service.h"
#include "engine/clinic/module.h"
#include "engine/concert/module.h"
#include "events/os.h"
#include "projections/clinic_views.h"
#include "projections/follower.h"
#include "projections/views.h"
#include "support/memory_log.h"
#include "support/stderr_capture.h"
#include "support/temp_dir.h"

namespace {

using namespace reservoir;
using std::chrono::milliseconds;

constexpr int64_t kT0 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z
constexpr int kPatienceMs = 5'000;
constexpr int kQuietMs = 100;  // "no byte arrives" is checked this long

// Writer, projections, follower and Service over a MemoryLog.
struct Engine {
  explicit Engine(size_t queue_commands_max = WriterConfig{}.queue_commands_max)
      : writer(module, log, clock, random, &api::render_reply, config(queue_commands_max)) {
    auto v = projections::Projections::open(dir.path());
    REQUIRE(v.ok());
    views = std::move(*v);
    REQUIRE(writer.recover().ok());
    writer.start();
    follower = std::make_unique<projections::Follower>(log, *views);
    follower->start();
    api::ServiceConfig sc;
    sc.admin_key = "k";
    service = std::make_unique<api::Service>(writer, *views, *follower, clock, sc);
    add_clinic();
  }
  ~Engine() {
    log.open_gate();
    writer.stop();
    clinic_writer.stop();
    follower->stop();
    clinic_follower->stop();
  }
  // The clinic domain beside the concert one, as serve links it.
  void add_clinic() {
    auto cv = projections::ClinicViews::open(dir.path() + "/clinic");
    REQUIRE(cv.ok());
    clinic_views = std::move(*cv);
    REQUIRE(clinic_writer.recover().ok());
    clinic_writer.start();
    clinic_follower = std::make_unique<projections::Follower>(clinic_log, *clinic_views);
    clinic_follower->start();
    service->link(api::Domain::kClinic,
                  api::DomainLink{[this] { return clinic_writer.acknowledged_offset(); },
                                  clinic_follower.get()});
    backend = api::ClinicBackend{&clinic_writer, clinic_views.get(), std::nullopt, "k", 540};
    service->set_clinic(&backend);
  }
  static WriterConfig config(size_t queue_commands_max) {
    WriterConfig c;
    c.queue_commands_max = queue_commands_max;
    return c;
  }
  test::TempDir dir;
  test::MemoryLog log;
  ManualClock clock{kT0};
  SeededRandom random{7};
  concert::Module module{concert::Limits{}};
  api::ConcertWriter writer;
  std::unique_ptr<projections::Projections> views;
  std::unique_ptr<projections::Follower> follower;
  std::unique_ptr<api::Service> service;
  test::MemoryLog clinic_log;
  clinic::Module clinic_module{clinic::Module::Config{540}};
  api::ClinicWriter clinic_writer{
      clinic_module, clinic_log, clock, random, &api::render_clinic_reply, WriterConfig{}};
  std::unique_ptr<projections::ClinicViews> clinic_views;
  std::unique_ptr<projections::Follower> clinic_follower;
  api::ClinicBackend backend;
};

// A query replica of an Engine's concert log: its own views and follower,
// a Service without a writer (SPEC §7).
struct Replica {
  Replica(Engine& e, std::optional<std::string> writer_url) {
    auto v = projections::Projections::open(dir.path());
    REQUIRE(v.ok());
    views = std::move(*v);
    follower = std::make_unique<projections::Follower>(e.log, *views);
    follower->start();
    api::ServiceConfig sc;
    sc.admin_key = "k";
    sc.writer_url = std::move(writer_url);
    service = std::make_unique<api::Service>(*views, *follower, e.clock, sc);
  }
  ~Replica() { follower->stop(); }
  test::TempDir dir;
  std::unique_ptr<projections::Projections> views;
  std::unique_ptr<projections::Follower> follower;
  std::unique_ptr<api::Service> service;
};

// An HttpServer on a free port, serving on a thread of its own.
struct Server {
  // `router`: the listener's dialects (nullptr: canonical).
  Server(api::Service& service, bool inline_commands, const api::Router* router = nullptr,
         int64_t slow_request_ms = 500) {
    api::HttpConfig c;
    c.port = 0;
    c.worker_threads = 4;
    c.inline_commands = inline_commands;
    c.slow_request_ms = slow_request_ms;
    http = std::make_unique<api::HttpServer>(service, c, router);
    std::string error;
    REQUIRE_MESSAGE(http->bind(&error), error);
    served = std::async(std::launch::async, [this] { return http->serve(); });
  }
  ~Server() { stop(); }
  void stop() {
    if (!http) return;
    http->stop();
    served.wait();
    http.reset();
  }
  int port() const { return http->bound_port(); }
  std::unique_ptr<api::HttpServer> http;
  std::future<bool> served;
};

// One keep-alive connection, written and read raw.
class Client {
 public:
  // `receive_buffer`: SO_RCVBUF in bytes (0: the system's).
  explicit Client(int port, int receive_buffer = 0) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (receive_buffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~Client() { ::close(fd_); }
  // From any thread (no doctest assertion): true when all was sent;
  // `progress` counts the bytes sent so far.
  bool send_all(const std::string& bytes, std::atomic<size_t>& progress) {
    while (progress < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + progress, bytes.size() - progress, MSG_NOSIGNAL);
      if (n <= 0) return false;
      progress += static_cast<size_t>(n);
    }
    return true;
  }
  void send(const std::string& bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }
  // Whatever arrives within `ms` (appended to what was read before).
  bool wait_bytes(int ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return false;
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    in_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  // The next whole answer (head and body), or "" within the patience.
  std::string answer() {
    const auto deadline = std::chrono::steady_clock::now() + milliseconds(kPatienceMs);
    for (;;) {
      const size_t end = in_.find("\r\n\r\n");
      if (end != std::string::npos) {
        const size_t at = in_.find("Content-Length: ");
        const size_t length = std::stoul(in_.substr(at + 16));
        if (in_.size() >= end + 4 + length) {
          std::string one = in_.substr(0, end + 4 + length);
          in_.erase(0, one.size());
          return one;
        }
      }
      if (closed_ || std::chrono::steady_clock::now() > deadline) return "";
      wait_bytes(kQuietMs);
    }
  }
  bool nothing_arrives() { return !wait_bytes(kQuietMs) && in_.empty(); }
  bool closed() {
    while (!closed_ && wait_bytes(kPatienceMs)) {
    }
    return closed_;
  }

 private:
  int fd_;
  std::string in_;
  bool closed_ = false;
};

std::string post(const std::string& path, const std::string& body,
                 const std::string& extra_headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: t\r\nAdmin-Key: k\r\n" + extra_headers +
         "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}
std::string charge(const std::string& user, int amount, const std::string& extra = "") {
  return post("/api/v1/balance/charge",
              R"({"userId":")" + user + R"(","amount":)" + std::to_string(amount) + "}", extra);
}
std::string add_user(const std::string& user) {
  return post("/api/v1/admin/users", R"({"userId":")" + user + R"("})");
}

// `request` with `X-Request-Id: id` after its request line.
std::string with_id(const std::string& request, const std::string& id) {
  std::string out = request;
  out.insert(out.find("\r\n") + 2, "X-Request-Id: " + id + "\r\n");
  return out;
}

// The value of header `name` in an answer's head ("" when absent).
std::string header_of(const std::string& answer, const std::string& name) {
  const size_t at = answer.find("\r\n" + name + ": ");
  if (at == std::string::npos || at > answer.find("\r\n\r\n")) return "";
  const size_t from = at + 4 + name.size();
  return answer.substr(from, answer.find("\r\n", from) - from);
}

// Sends `request` (given an X-Request-Id) to the inline server, then to the
// worker server: the answers, which must be the same bytes.
std::pair<std::string, std::string> both_ways(int inline_port, int workers_port,
                                              const std::string& request) {
  Client a(inline_port), b(workers_port);
  a.send(request);
  std::string from_inline = a.answer();
  b.send(request);
  return {std::move(from_inline), b.answer()};
}

std::string wrong_admin_key(std::string request) {
  return request.replace(request.find("Admin-Key: k\r\n"), 14, "Admin-Key: wrong\r\n");
}

int status_of(const std::string& answer) {
  return answer.size() > 12 ? std::stoi(answer.substr(9, 3)) : 0;
}

// The writer's queue holds one command (the one behind a held append).
bool eventually_queued(Engine& e) {
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(kPatienceMs);
  while (e.writer.stats().queue_depth != 1) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

void given_users(int port, std::initializer_list<const char*> users) {
  Client c(port);
  for (const char* u : users) {
    c.send(add_user(u));
    REQUIRE(status_of(c.answer()) == 200);
  }
}

TEST_CASE("inline commands: no byte of a command's answer leaves before its append returned") {
  Engine e;
  Server s(*e.service, true);
  given_users(s.port(), {"u1"});
  Client c(s.port());
  e.log.close_gate();
  c.send(charge("u1", 5));
  REQUIRE(e.log.wait_blocked_appends(1, milliseconds(kPatienceMs)));
  CHECK(c.nothing_arrives());
  e.log.open_gate();
  const std::string a = c.answer();
  CHECK(status_of(a) == 200);
  CHECK(a.find(R"("balance":5)") != std::string::npos);
  CHECK(e.log.envelopes().size() >= 2);  // the user, then the charge: both stored
}

TEST_CASE("inline commands: pipelined requests are answered in order, the next after the first") {
  Engine e;
  Server s(*e.service, true);
  given_users(s.port(), {"u1"});
  Client c(s.port());
  e.log.close_gate();
  // A command, a query behind it (read-your-writes: it must see the
  // charge), another command, in one write.
  c.send(charge("u1", 5) + "GET /api/v1/balance?userId=u1 HTTP/1.1\r\nHost: t\r\n\r\n" +
         charge("u1", 7));
  REQUIRE(e.log.wait_blocked_appends(1, milliseconds(kPatienceMs)));
  CHECK(c.nothing_arrives());
  e.log.open_gate();
  const std::string first = c.answer(), second = c.answer(), third = c.answer();
  CHECK(first.find(R"("balance":5)") != std::string::npos);
  CHECK(second.find(R"("balance":5)") != std::string::npos);
  CHECK(third.find(R"("balance":12)") != std::string::npos);
}

// A client that pipelines thousands of commands and reads nothing until
// its sending stalls or ends: every answer comes, in order. (On loopback
// the answers fit the socket buffers here, so this does not reach the
// EPOLLOUT wait; the bytes of that path are those of write_out's loop.)
TEST_CASE("inline commands: a client that pipelines and reads late gets every answer, in order") {
  constexpr int kCharges = 10'000;
  constexpr int kSmallBuffer = 4096;
  Engine e;
  Server s(*e.service, true);
  given_users(s.port(), {"u1"});
  Client c(s.port(), kSmallBuffer);
  std::string all;
  for (int i = 0; i < kCharges; ++i) all += charge("u1", 1);
  bool sent = false;
  std::atomic<size_t> progress{0};
  std::thread sender([&] { sent = c.send_all(all, progress); });
  for (size_t seen = SIZE_MAX; progress != seen && progress < all.size();) {
    seen = progress;
    std::this_thread::sleep_for(milliseconds(kQuietMs));
  }
  for (int i = 1; i <= kCharges; ++i) {
    const std::string a = c.answer();
    if (status_of(a) != 200) {
      FAIL_CHECK("answer " << i << ": " << a);
      break;
    }
    if (a.find(R"("balance":)" + std::to_string(i) + "}") == std::string::npos) {
      FAIL_CHECK("answer " << i << " out of order: " << a);
      break;
    }
  }
  sender.join();
  CHECK(sent);
}

TEST_CASE("inline commands: a full writer queue is answered 503 at once, the others later") {
  Engine e(1);
  Server s(*e.service, true);
  given_users(s.port(), {"u1", "u2", "u3"});
  Client held(s.port()), queued(s.port()), shed(s.port());
  e.log.close_gate();
  held.send(charge("u1", 1));
  REQUIRE(e.log.wait_blocked_appends(1, milliseconds(kPatienceMs)));
  queued.send(charge("u2", 1));
  REQUIRE(eventually_queued(e));
  shed.send(charge("u3", 1));
  const std::string refused = shed.answer();
  CHECK(status_of(refused) == 503);
  CHECK(refused.find("\r\nRetry-After: 1\r\n") != std::string::npos);
  CHECK(refused.find("OVERLOADED") != std::string::npos);
  CHECK(held.nothing_arrives());
  e.log.open_gate();
  CHECK(status_of(held.answer()) == 200);
  CHECK(status_of(queued.answer()) == 200);
}

TEST_CASE("inline commands: a stopping server answers the commands it took, then closes") {
  Engine e;
  auto s = std::make_unique<Server>(*e.service, true);
  given_users(s->port(), {"u1", "u2", "u3"});
  std::vector<std::unique_ptr<Client>> clients;
  e.log.close_gate();
  for (const char* u : {"u1", "u2", "u3"}) {
    clients.push_back(std::make_unique<Client>(s->port()));
    clients.back()->send(charge(u, 1));
  }
  REQUIRE(e.log.wait_blocked_appends(1, milliseconds(kPatienceMs)));
  std::this_thread::sleep_for(milliseconds(kQuietMs));  // the other two reach the queue
  auto stopped = std::async(std::launch::async, [&] { s->stop(); });
  CHECK(stopped.wait_for(milliseconds(kQuietMs)) == std::future_status::timeout);
  e.log.open_gate();
  REQUIRE(stopped.wait_for(milliseconds(kPatienceMs)) == std::future_status::ready);
  for (auto& c : clients) {
    const std::string a = c->answer();
    CHECK(status_of(a) == 200);
    CHECK(c->closed());
  }
}

// Each request goes to the inline server, then the same to the worker
// server (one engine): replays (Idempotency-Key) and refusals are the same
// answer, so the bytes must be too.
TEST_CASE("inline commands: every answer has the bytes of the worker path") {
  Engine e;
  Server fast(*e.service, true), slow(*e.service, false);
  given_users(fast.port(), {"u1"});
  const std::vector<std::string> requests = {
      charge("u1", 5, "Idempotency-Key: k1\r\n"),
      charge("u1", 5, "Idempotency-Key: k1\r\nConnection: close\r\n"),
      post("/api/v1/admin/users", R"({"userId":"u2"})", "Idempotency-Key: k2\r\n"),
      charge("nobody", 5),                                            // 404 from the writer
      charge("u1", 0),                                                // 400 before it
      charge("u1", 5, "Idempotency-Key: \r\n"),                       // 400: an empty key
      charge("u1", 5, "Idempotency-Key: k1\r\n").replace(5, 0, "x"),  // 404 route
      "DELETE /api/v1/reservations/r1 HTTP/1.1\r\nHost: t\r\nQueue-Token: no\r\n\r\n",
      "POST /api/v1/balance/charge HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
      "Content-Length: 2\r\n\r\n{}",  // 415
      "POST /api/v1/balance/charge HTTP/1.0\r\nHost: t\r\nContent-Type: application/json\r\n"
      "Idempotency-Key: k1\r\nContent-Length: 26\r\n\r\n{\"userId\":\"u1\",\"amount\":5}",
  };
  int n = 0;
  for (const std::string& r : requests) {
    const auto [from_fast, from_slow] =
        both_ways(fast.port(), slow.port(), with_id(r, "req-" + std::to_string(++n)));
    INFO(r);
    CHECK(!from_fast.empty());
    CHECK(header_of(from_fast, "X-Request-Id") == "req-" + std::to_string(n));
    CHECK(from_fast == from_slow);
  }
  // A failed append: 503 from the writer, with Retry-After.
  std::string failed[2];
  for (int i = 0; i < 2; ++i) {
    Client c(i == 0 ? fast.port() : slow.port());
    e.log.fail_next_append();
    c.send(charge("u1", 1, "X-Request-Id: failed\r\n"));
    failed[i] = c.answer();
  }
  CHECK(status_of(failed[0]) == 503);
  CHECK(failed[0] == failed[1]);
}

// A deferred answer carries what a worker's does: the client's
// X-Request-Id (or a new one), the writer's acknowledged offset once the
// command is durable, and the same status, content type and body.
TEST_CASE("inline commands: a deferred answer has the worker path's X-Request-Id and offset") {
  Engine e;
  Server fast(*e.service, true), slow(*e.service, false);
  given_users(fast.port(), {"u1"});
  Client c(fast.port());
  c.send(charge("u1", 5, "Idempotency-Key: c1\r\nX-Request-Id: abc-123\r\n"));
  const std::string a = c.answer();
  CHECK(status_of(a) == 200);
  CHECK(header_of(a, "X-Request-Id") == "abc-123");
  CHECK(header_of(a, "Reservoir-Offset") == std::to_string(e.log.end_offset()));
  CHECK(header_of(a, "Content-Type") == "application/json");
  CHECK(a.find(R"("balance":5)") != std::string::npos);
  // The replay on a worker: the same bytes.
  const auto [again, replayed] =
      both_ways(fast.port(), slow.port(),
                charge("u1", 5, "Idempotency-Key: c1\r\nX-Request-Id: abc-123\r\n"));
  CHECK(again == a);
  CHECK(replayed == a);
  // No X-Request-Id, or an invalid one: a new one (32 hex digits) on each
  // path; the answers differ only there.
  for (const std::string extra : {"", "X-Request-Id: has space\r\n"}) {
    const auto [x, y] =
        both_ways(fast.port(), slow.port(), charge("u1", 5, "Idempotency-Key: c1\r\n" + extra));
    const std::string id_x = header_of(x, "X-Request-Id"), id_y = header_of(y, "X-Request-Id");
    CHECK(id_x.size() == 32);
    CHECK(id_x.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(id_x != id_y);
    std::string masked = y;
    masked.replace(masked.find(id_y), id_y.size(), id_x);
    CHECK(x == masked);
  }
}

// Each dialect's commands, deferred on the epoll thread, against the same
// on a worker: the first request decides (or refuses) the command, the
// second replays it by its Idempotency-Key (or is refused alike).
TEST_CASE("inline commands: every dialect's command answers have the bytes of the worker path") {
  Engine e;
  const api::Router ce{{api::find_dialect("concert-events")}};
  const api::Router qt{{api::find_dialect("queue-tokens"), api::find_dialect("canonical")}};
  const api::Router clinic{{api::find_dialect("clinic")}};
  Server fast_ce(*e.service, true, &ce), slow_ce(*e.service, false, &ce);
  Server fast_qt(*e.service, true, &qt), slow_qt(*e.service, false, &qt);
  Server fast_cl(*e.service, true, &clinic), slow_cl(*e.service, false, &clinic);
  given_users(fast_qt.port(), {"u1"});  // canonical's admin route, on the queue-tokens listener
  auto patch = [](const std::string& path, const std::string& body, const std::string& extra) {
    return "PATCH " + path + " HTTP/1.1\r\nHost: t\r\n" + extra +
           "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
  };
  struct Case {
    const Server& fast;
    const Server& slow;
    std::string request;
    int status;
  };
  const std::vector<Case> cases = {
      {fast_ce, slow_ce,
       patch("/api/v1/users/u1/wallet/charge", R"({"amount":10})", "Idempotency-Key: ce1\r\n"),
       200},
      {fast_ce, slow_ce, patch("/api/v1/users/nobody/wallet/charge", R"({"amount":10})", ""), 404},
      {fast_ce, slow_ce, patch("/api/v1/users/u1/wallet/charge", R"({"amount":-1})", ""), 400},
      {fast_qt, slow_qt,
       post("/v1/balance/users/u1/recharge", R"({"amount":5})", "Idempotency-Key: qt1\r\n"), 200},
      {fast_qt, slow_qt, post("/v1/balance/users/nobody/recharge", R"({"amount":5})"), 0},
      {fast_qt, slow_qt, post("/v1/queue-tokens/users/u1", "{}", "Idempotency-Key: qt2\r\n"), 0},
      {fast_cl, slow_cl,
       post("/schedule/open/v1/admin/visitors", R"({"name":"Lee"})", "Idempotency-Key: cl1\r\n"),
       200},
      {fast_cl, slow_cl,
       wrong_admin_key(post("/schedule/open/v1/admin/visitors", R"({"name":"Lee"})")), 401},
  };
  int n = 0;
  const uint64_t clinic_before = e.clinic_log.end_offset();
  for (const Case& c : cases) {
    const std::string id = "dialect-" + std::to_string(++n);
    const auto [from_fast, from_slow] =
        both_ways(c.fast.port(), c.slow.port(), with_id(c.request, id));
    INFO(c.request);
    if (c.status != 0) CHECK(status_of(from_fast) == c.status);
    CHECK(header_of(from_fast, "X-Request-Id") == id);
    CHECK(!header_of(from_fast, "Reservoir-Offset").empty());
    CHECK(from_fast == from_slow);
  }
  // The clinic's answers carry the clinic writer's offset.
  CHECK(e.clinic_log.end_offset() > clinic_before);
}

// On a query replica, a command is refused before its handler runs,
// whichever path serves it: 421 NOT_WRITER, or 307 to --writer-url.
TEST_CASE("inline commands: a replica refuses commands as the worker path does") {
  Engine e;
  for (const std::optional<std::string>& url :
       {std::optional<std::string>(), std::optional<std::string>("http://writer:8080")}) {
    Replica r(e, url);
    Server fast(*r.service, true), slow(*r.service, false);
    const uint64_t decided = e.writer.stats().commands;
    const auto [from_fast, from_slow] =
        both_ways(fast.port(), slow.port(), with_id(charge("u1", 5), "replica-1"));
    CHECK(status_of(from_fast) == (url ? 307 : 421));
    CHECK(header_of(from_fast, "X-Request-Id") == "replica-1");
    CHECK(header_of(from_fast, "Location") == (url ? *url + "/api/v1/balance/charge" : ""));
    CHECK(from_fast == from_slow);
    CHECK(e.writer.stats().commands == decided);  // nothing reached the writer
  }
}

using test::StderrCapture;

// The line of /metrics that starts with `prefix` ("" when none does).
std::string metrics_line(int port, const std::string& prefix) {
  Client c(port);
  c.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
  const std::string all = c.answer();
  const size_t at = all.find("\n" + prefix);
  if (at == std::string::npos) return "";
  return all.substr(at + 1, all.find('\n', at + 1) - at - 1);
}

TEST_CASE("inline commands: a deferred answer is counted, timed and logged as a worker's") {
  Engine e;
  // slow_request_ms 0: every request is logged as slow, with its id.
  Server s(*e.service, true, nullptr, 0);
  given_users(s.port(), {"u1"});
  StderrCapture log;
  Client c(s.port());
  for (int i = 0; i < 3; ++i) {
    c.send(charge("u1", 1, "X-Request-Id: timed-" + std::to_string(i) + "\r\n"));
    CHECK(status_of(c.answer()) == 200);
  }
  c.send(charge("nobody", 1, "X-Request-Id: timed-404\r\n"));
  CHECK(status_of(c.answer()) == 404);
  const std::string lines = log.text();
  for (const char* id : {"timed-0", "timed-1", "timed-2", "timed-404"}) {
    INFO(lines);
    CHECK(lines.find(std::string("event=slow_request request_id=") + id +
                     " method=POST "
                     "route=charge") != std::string::npos);
  }
  CHECK(
      metrics_line(s.port(),
                   R"(reservoir_http_requests_total{route="charge",kind="command",code="200"})") ==
      R"(reservoir_http_requests_total{route="charge",kind="command",code="200"} 3)");
  CHECK(
      metrics_line(s.port(),
                   R"(reservoir_http_requests_total{route="charge",kind="command",code="404"})") ==
      R"(reservoir_http_requests_total{route="charge",kind="command",code="404"} 1)");
  CHECK(
      metrics_line(
          s.port(),
          R"(reservoir_http_request_duration_seconds_count{route="charge",kind="command",status_class="2xx"})") ==
      R"(reservoir_http_request_duration_seconds_count{route="charge",kind="command",status_class="2xx"} 3)");
}

std::string get(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra_headers + "\r\n";
}

TEST_CASE("inline queries: every answer has the bytes of the worker path") {
  Engine e;
  Server fast(*e.service, true), slow(*e.service, false);
  given_users(fast.port(), {"u1"});
  {
    Client c(fast.port());
    c.send(charge("u1", 7));
    REQUIRE(status_of(c.answer()) == 200);
  }
  const std::vector<std::string> requests = {
      get("/api/v1/balance?userId=u1"),
      get("/api/v1/balance?userId=nobody"),  // 404
      get("/api/v1/concerts"),
      get("/api/v1/concerts/c9/schedules"),                  // 404
      get("/api/v1/queue/status", "Queue-Token: nope\r\n"),  // 401
      get("/api/v1/balance?userId=u1", "Reservoir-Min-Offset: 1\r\n"),
      get("/api/v1/balance?userId=u1", "Reservoir-Min-Offset: x\r\n"),  // 400
      get("/api/v1/balance?userId=u1", "Connection: close\r\n"),
  };
  int n = 0;
  for (const std::string& r : requests) {
    const auto [from_fast, from_slow] =
        both_ways(fast.port(), slow.port(), with_id(r, "q-" + std::to_string(++n)));
    INFO(r);
    CHECK(!from_fast.empty());
    CHECK(header_of(from_fast, "X-Request-Id") == "q-" + std::to_string(n));
    CHECK(header_of(from_fast, "Reservoir-Applied") == std::to_string(e.log.end_offset()));
    CHECK(from_fast == from_slow);
  }
  CHECK(metrics_line(fast.port(),
                     R"(reservoir_http_requests_total{route="balance",kind="query",code="200"})") ==
        R"(reservoir_http_requests_total{route="balance",kind="query",code="200"} 6)");
}

// On a replica, a query asking for an offset its views have not applied
// would wait up to min_offset_wait_ms: it is served by a worker, and the
// epoll thread goes on answering the other connections meanwhile.
TEST_CASE("inline queries: a query that must wait for the views waits on a worker, not the loop") {
  Engine e;
  given_users(Server(*e.service, true).port(), {"u1"});
  Replica r(e, std::nullopt);
  Server replica(*r.service, true);
  const uint64_t next = e.log.end_offset() + 1;
  REQUIRE(r.follower->wait_applied(next - 1, milliseconds(kPatienceMs)));
  Client waiting(replica.port()), other(replica.port());
  waiting.send(
      get("/api/v1/balance?userId=u1", "Reservoir-Min-Offset: " + std::to_string(next) + "\r\n"));
  CHECK(waiting.nothing_arrives());
  other.send(get("/api/v1/balance?userId=u1"));
  const std::string now = other.answer();
  CHECK(status_of(now) == 200);  // answered while the first one waits
  CHECK(header_of(now, "Reservoir-Applied") == std::to_string(next - 1));
  CHECK(waiting.nothing_arrives());
  {
    Server writer(*e.service, true);
    Client c(writer.port());
    c.send(charge("u1", 3));
    REQUIRE(status_of(c.answer()) == 200);
  }
  const std::string later = waiting.answer();
  CHECK(status_of(later) == 200);
  CHECK(std::stoull(header_of(later, "Reservoir-Applied")) >= next);
  CHECK(later.find(R"("balance":3)") != std::string::npos);
  // Counted once, though the epoll thread looked at it first.
  CHECK(metrics_line(replica.port(),
                     R"(reservoir_http_requests_total{route="balance",kind="query",code="200"})") ==
        R"(reservoir_http_requests_total{route="balance",kind="query",code="200"} 2)");
}

}  // namespace
