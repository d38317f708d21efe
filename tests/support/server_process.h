// A real `reservoir serve` for integration tests, and the client side of
// its HTTP API.
//
// Contract:
// - ServerProcess owns a fresh temp directory (removed on destruction): the
//   server's --data lives in DIR/data, its stdout/stderr in DIR/*.log.
//   start() fork/execs RESERVOIR_BIN `serve --data DIR/data --port 0
//   [--demo] [--admin-key K] [flags...]` and waits (bounded, 20 s) for the
//   "listening on http://HOST:PORT" line (one per listener: --port's, then one
//   per --api-port flag; listeners() and port_of(dialect) read them); if the
//   server exits first or the bound passes, the test fails with the server's
//   stderr. terminate() sends
//   SIGTERM and returns the exit status (128+signal if killed; -1 if it did
//   not exit within 30 s, after which it is SIGKILLed); kill9() SIGKILLs.
//   restart() starts again on the same data dir (a new port). The destructor
//   stops a running server (SIGTERM) and prints its stderr tail when it did
//   not exit 0 (sanitizer reports end up there).
// - run_reservoir(args) runs the binary to completion (bounded) and returns
//   its exit status, stdout and stderr.
// - Api is one keep-alive connection (httplib::Client, with timeouts) plus
//   helpers for the routes of SPEC §2. Every call returns a Reply: status
//   (0 when no HTTP answer came), body, headers and the parsed JSON. Api
//   never asserts, so it is safe on worker threads; the REQUIRE-ing helpers
//   (active_token, balance_of, ...) are for the test's main thread only.
// - shape_errors(value, spec) lists how a JSON object differs from a field
//   spec (names and types, exactly); "" when it matches.
// - RawHttp is a bare TCP connection for checks httplib's client would hide
//   (it reconnects silently): does the server keep the connection open, does
//   it read a body that arrives in a later segment?
// - eventually(pred, bound) polls pred until true or the bound passes.
// - Backends: a ServerProcess runs on the embedded log, or, when the
//   environment has RESERVOIR_TEST_LOG=kafka (ctest's integration_kafka) or
//   its options say so, on Kafka: it then starts a KafkaMock (`reservoir
//   kafka-mock`, a child process) of its own, unless given one to share, and
//   passes `--log kafka --kafka-brokers ADDR`. log_flags() are the flags that
//   point replay and rebuild at the same log. KafkaMock::command() drives the
//   mock's fault commands (down, up, fence, ...) and waits for their answer.
//
// Thread safety: ServerProcess and the REQUIRE-ing helpers from the test
// thread; one Api per thread.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "support/temp_dir.h"

#ifndef RESERVOIR_BIN
#error "RESERVOIR_BIN must name the reservoir executable"
#endif

namespace reservoir::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline constexpr auto kStartBound = 20s;
inline constexpr auto kExitBound = 30s;

// ---------------------------------------------------------------- files ---

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string tail(const std::string& s, size_t n = 4000) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

// ------------------------------------------------------------- processes ---

namespace detail {

// SIGPIPE would kill the test binary when a server dies mid-write.
inline void ignore_sigpipe() {
  static const bool once = [] {
    ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)once;
}

// Only async-signal-safe calls between fork and exec. `in`: the child's
// stdin (-1: /dev/null).
[[noreturn]] inline void exec_child(const std::vector<char*>& argv, const char* out,
                                    const char* err, int in = -1) {
  ::signal(SIGPIPE, SIG_DFL);          // ignored dispositions survive exec
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // a crashed test leaves no server or mock behind
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  const int o = ::open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int e = ::open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int n = in >= 0 ? in : ::open("/dev/null", O_RDONLY);
  if (o < 0 || e < 0 || n < 0) ::_exit(126);
  ::dup2(n, 0);
  ::dup2(o, 1);
  ::dup2(e, 2);
  ::syscall(SYS_close_range, 3U, ~0U, 0U);  // no test sockets leak into the server
  ::execv(argv[0], argv.data());
  static constexpr char kMessage[] = "server_process.h: cannot exec " RESERVOIR_BIN "\n";
  [[maybe_unused]] const ssize_t w = ::write(2, kMessage, sizeof kMessage - 1);
  ::_exit(127);
}

inline pid_t spawn(const std::vector<std::string>& args, const std::string& out,
                   const std::string& err, int in = -1) {
  ignore_sigpipe();
  std::vector<std::string> all = {RESERVOIR_BIN};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) exec_child(argv, out.c_str(), err.c_str(), in);
  return pid;
}

inline int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Waits for `pid` at most `bound`; nullopt if it is still running.
inline std::optional<int> wait_exit(pid_t pid, Clock::duration bound) {
  const auto deadline = Clock::now() + bound;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return decode_status(status);
    if (r < 0) return -1;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

// Stops `pid` with `sig`, then SIGKILL if it outlives the bound (-1).
inline int stop(pid_t pid, int sig) {
  ::kill(pid, sig);
  if (auto st = wait_exit(pid, kExitBound)) return *st;
  ::kill(pid, SIGKILL);
  wait_exit(pid, kExitBound);
  return -1;
}

}  // namespace detail

// Polls `pred` every 20 ms until it holds or `bound` passes.
template <class Pred>
bool eventually(Pred pred, Clock::duration bound = 5s) {
  const auto deadline = Clock::now() + bound;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

struct RunResult {
  int status = -1;  // exit code; 128+signal; -1 when it had to be killed
  std::string out, err;
};

// Runs `reservoir args...` to completion (bounded).
inline RunResult run_reservoir(const std::vector<std::string>& args,
                               Clock::duration bound = kStartBound) {
  TempDir dir;
  const std::string out = dir.path() + "/stdout.log", err = dir.path() + "/stderr.log";
  const pid_t pid = detail::spawn(args, out, err);
  RunResult r;
  if (pid < 0) return r;
  if (auto st = detail::wait_exit(pid, bound)) {
    r.status = *st;
  } else {
    detail::stop(pid, SIGKILL);
  }
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

// ------------------------------------------------------------ kafka-mock ---

// `reservoir kafka-mock` as a child process: its bootstrap address, and its
// fault commands on stdin (answered on its stdout).
class KafkaMock {
 public:
  explicit KafkaMock(int brokers = 1) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    pid_ = detail::spawn({"kafka-mock", "--brokers", std::to_string(brokers)}, out_path(),
                         err_path(), fds[0]);
    ::close(fds[0]);
    stdin_ = fds[1];
    REQUIRE_MESSAGE(pid_ > 0, "fork failed");
    const bool up = eventually([&] { return lines() >= 1 || detail::wait_exit(pid_, 0s); }, 20s);
    REQUIRE_MESSAGE((up && lines() >= 1), "kafka-mock printed no address; stderr:\n"
                                              << tail(read_file(err_path())));
    const std::string out = read_file(out_path());
    bootstrap_ = out.substr(0, out.find('\n'));
  }
  ~KafkaMock() {
    ::close(stdin_);
    if (pid_ > 0) detail::stop(pid_, SIGTERM);
  }
  KafkaMock(const KafkaMock&) = delete;
  KafkaMock& operator=(const KafkaMock&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }

  // Sends one command ("down 1", "up", "fence", ...) and waits for its answer.
  void command(const std::string& line) {
    const std::string text = line + "\n";
    REQUIRE(::write(stdin_, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ++commands_;
    REQUIRE_MESSAGE(eventually([&] { return lines() >= 1 + commands_; }, 10s),
                    "kafka-mock did not answer '" << line << "'");
    const std::string out = read_file(out_path());
    const size_t last = out.rfind('\n', out.size() - 2);
    const std::string answer = out.substr(last + 1);
    REQUIRE_MESSAGE(answer.rfind("ok ", 0) == 0, "kafka-mock: " << answer);
  }

 private:
  std::string out_path() const { return dir_.path() + "/mock.out"; }
  std::string err_path() const { return dir_.path() + "/mock.err"; }
  size_t lines() const {
    const std::string out = read_file(out_path());
    return static_cast<size_t>(std::count(out.begin(), out.end(), '\n'));
  }

  TempDir dir_;
  pid_t pid_ = -1;
  int stdin_ = -1;
  size_t commands_ = 0;
  std::string bootstrap_;
};

enum class Backend { kEmbedded, kKafka };

// The backend of this test run: RESERVOIR_TEST_LOG=kafka or embedded.
inline Backend test_backend() {
  const char* env = std::getenv("RESERVOIR_TEST_LOG");
  return env != nullptr && std::string(env) == "kafka" ? Backend::kKafka : Backend::kEmbedded;
}

struct ServerOptions {
  bool demo = true;
  Backend backend = test_backend();
  std::shared_ptr<KafkaMock> kafka;  // kKafka: the cluster to use (none: a new one)
  std::string admin_key;             // empty: no --admin-key
  std::vector<std::string> flags;    // e.g. {"--hold-ttl", "1s"}

  ServerOptions& no_demo() {
    demo = false;
    return *this;
  }
  ServerOptions& admin(std::string key) {
    admin_key = std::move(key);
    return *this;
  }
  ServerOptions& on(Backend b) {
    backend = b;
    return *this;
  }
  ServerOptions& on_mock(std::shared_ptr<KafkaMock> mock) {
    backend = Backend::kKafka;
    kafka = std::move(mock);
    return *this;
  }
  ServerOptions& with(std::vector<std::string> more) {
    flags.insert(flags.end(), more.begin(), more.end());
    return *this;
  }
  // The dialects served on --port (`--api LIST`, comma-separated).
  ServerOptions& api(const std::string& list) { return with({"--api", list}); }
  // One more listener for `dialect` (`--api-port DIALECT=PORT`; 0: any free port).
  ServerOptions& api_port(const std::string& dialect, int port = 0) {
    return with({"--api-port", dialect + "=" + std::to_string(port)});
  }
};

// One "reservoir: listening on http://HOST:PORT (DIALECTS; data DIR)" line.
// `dialects` is empty for a line without them ("(data DIR)").
struct Listener {
  int port = 0;
  std::vector<std::string> dialects;

  bool serves(const std::string& dialect) const {
    return std::find(dialects.begin(), dialects.end(), dialect) != dialects.end();
  }
};

class ServerProcess {
 public:
  explicit ServerProcess(ServerOptions options = {}) : options_(std::move(options)) {
    if (options_.backend == Backend::kKafka && !options_.kafka) {
      options_.kafka = std::make_shared<KafkaMock>();
    }
    start();
  }
  ~ServerProcess() {
    if (pid_ <= 0) return;
    const int st = terminate();
    if (st != 0 || std::getenv("RESERVOIR_TEST_VERBOSE")) {
      std::cerr << "reservoir server exited with status " << st << "; stderr tail:\n"
                << tail(stderr_text()) << "\n";
    }
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  void start() {
    REQUIRE_MESSAGE(pid_ <= 0, "the server is already running");
    ++starts_;
    pid_ = detail::spawn(args(), stdout_path(), stderr_path());
    REQUIRE_MESSAGE(pid_ > 0, "fork failed");
    listeners_ = wait_listening();
    port_ = listeners_.front().port;
  }
  int terminate() { return stop_with(SIGTERM); }
  int kill9() { return stop_with(SIGKILL); }
  void restart() {
    if (pid_ > 0) terminate();
    start();
  }

  // Waits (bounded) for the server to exit on its own; its status, or
  // nullopt if it still runs.
  std::optional<int> wait_exit(Clock::duration bound) {
    if (pid_ <= 0) return std::nullopt;
    auto st = detail::wait_exit(pid_, bound);
    if (st) pid_ = -1;
    return st;
  }

  bool running() const { return pid_ > 0; }
  bool kafka() const { return options_.backend == Backend::kKafka; }
  KafkaMock& mock() const {
    REQUIRE(options_.kafka);
    return *options_.kafka;
  }
  // The flags that point replay and rebuild at this server's log.
  std::vector<std::string> log_flags() const {
    if (!kafka()) return {};
    return {"--kafka-brokers", options_.kafka->bootstrap()};
  }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // Every listener of the running server, --port's first (refreshed by start()).
  const std::vector<Listener>& listeners() const { return listeners_; }
  // The port of the first listener serving `dialect` (REQUIREs one).
  int port_of(const std::string& dialect) const {
    for (const auto& l : listeners_) {
      if (l.serves(dialect)) return l.port;
    }
    FAIL("no listener serves " << dialect << "; stdout:\n" << stdout_text());
    return 0;
  }
  std::string data_dir() const { return dir_.path() + "/data"; }
  std::string stdout_text() const { return read_file(stdout_path()); }
  std::string stderr_text() const { return read_file(stderr_path()); }

  std::unique_ptr<httplib::Client> client() const;

 private:
  std::vector<std::string> args() const {
    std::vector<std::string> a = {"serve", "--data", data_dir(), "--port", "0"};
    if (kafka()) {
      a.insert(a.end(), {"--log", "kafka", "--kafka-brokers", options_.kafka->bootstrap()});
    }
    if (options_.demo) a.push_back("--demo");
    if (!options_.admin_key.empty()) {
      a.push_back("--admin-key");
      a.push_back(options_.admin_key);
    }
    a.insert(a.end(), options_.flags.begin(), options_.flags.end());
    return a;
  }
  std::string stdout_path() const {
    return dir_.path() + "/stdout." + std::to_string(starts_) + ".log";
  }
  std::string stderr_path() const {
    return dir_.path() + "/stderr." + std::to_string(starts_) + ".log";
  }

  // The listener of one "reservoir: listening on http://HOST:PORT (DIALECTS; data
  // DIR)" line starting at `at`, or nullopt while the line is incomplete.
  static std::optional<Listener> listener_at(const std::string& out, size_t at) {
    const std::string kLine = "listening on http://";
    const size_t eol = out.find('\n', at);
    if (eol == std::string::npos) return std::nullopt;
    const std::string line = out.substr(at + kLine.size(), eol - at - kLine.size());
    const size_t colon = line.find(':');
    const size_t end = line.find_first_not_of("0123456789", colon + 1);
    if (colon == std::string::npos || end == std::string::npos || end == colon + 1) {
      return std::nullopt;
    }
    Listener l;
    l.port = std::stoi(line.substr(colon + 1, end - colon - 1));
    const size_t open = line.find('(', end), semi = line.find(';', end);
    if (open != std::string::npos && semi != std::string::npos && open < semi) {
      std::stringstream names(line.substr(open + 1, semi - open - 1));
      for (std::string name; std::getline(names, name, ',');) l.dialects.push_back(name);
    }
    return l;
  }
  // Every complete listening line of `out`, in order.
  static std::vector<Listener> listening_lines(const std::string& out) {
    std::vector<Listener> all;
    for (size_t at = out.find("listening on http://"); at != std::string::npos;
         at = out.find("listening on http://", at + 1)) {
      if (auto l = listener_at(out, at); l && l->port > 0) all.push_back(*l);
    }
    return all;
  }
  // One line for --port and one per --api-port.
  size_t expected_listeners() const {
    const auto a = args();
    return 1 + static_cast<size_t>(std::count_if(a.begin(), a.end(), [](const std::string& s) {
             return s == "--api-port" || s.rfind("--api-port=", 0) == 0;
           }));
  }
  std::vector<Listener> wait_listening() {
    const auto deadline = Clock::now() + kStartBound;
    const size_t expected = expected_listeners();
    for (;;) {
      if (auto all = listening_lines(stdout_text()); all.size() >= expected) return all;
      if (auto st = detail::wait_exit(pid_, 0s)) {
        pid_ = -1;
        FAIL("reservoir serve exited with status " << *st << " before listening; stderr:\n"
                                                   << tail(stderr_text()));
      }
      if (Clock::now() >= deadline) {
        detail::stop(pid_, SIGKILL);
        pid_ = -1;
        FAIL("reservoir serve printed no listening line within 20 s; stderr:\n"
             << tail(stderr_text()));
      }
      std::this_thread::sleep_for(5ms);
    }
  }
  int stop_with(int sig) {
    if (pid_ <= 0) return -1;
    const int st = detail::stop(pid_, sig);
    pid_ = -1;
    return st;
  }

  ServerOptions options_;
  TempDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::vector<Listener> listeners_;
  int starts_ = 0;
};

inline std::unique_ptr<httplib::Client> make_client(int port) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(5, 0);
  c->set_read_timeout(30, 0);
  c->set_write_timeout(30, 0);
  return c;
}

inline std::unique_ptr<httplib::Client> ServerProcess::client() const {
  return make_client(port_);
}

// ------------------------------------------------------------------ JSON ---

inline std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

inline const rapidjson::Value* member(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(key);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

// "" when missing or not a string.
inline std::string str(const rapidjson::Value& v, const char* key) {
  const auto* m = member(v, key);
  return m && m->IsString() ? std::string(m->GetString(), m->GetStringLength()) : "";
}

// INT64_MIN when missing or not an integer.
inline int64_t num(const rapidjson::Value& v, const char* key) {
  const auto* m = member(v, key);
  return m && m->IsInt64() ? m->GetInt64() : INT64_MIN;
}

inline bool is_null(const rapidjson::Value& v, const char* key) {
  const auto* m = member(v, key);
  return m && m->IsNull();
}

enum class J {
  kString,
  kInt,
  kTime,
  kDate,
  kArray,
  kObject,
  kNull,
  kIntOrNull,
  kStringOrNull,
  kTimeOrNull
};

// Does `s` start with `pattern`, where '#' stands for a digit?
inline bool starts_like(std::string_view s, std::string_view pattern) {
  if (s.size() < pattern.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const bool digit = s[i] >= '0' && s[i] <= '9';
    if (pattern[i] == '#' ? !digit : s[i] != pattern[i]) return false;
  }
  return true;
}

// yyyy-mm-ddThh:mm:ss[.f{1,3}]Z
inline bool is_time(std::string_view s) {
  constexpr std::string_view kWhole = "####-##-##T##:##:##";
  if (!starts_like(s, kWhole)) return false;
  s.remove_prefix(kWhole.size());
  if (starts_like(s, ".#")) {
    size_t digits = s.find_first_not_of("0123456789", 1);
    if (digits == std::string_view::npos || digits > 4) return false;
    s.remove_prefix(digits);
  }
  return s == "Z";
}

inline bool is_time(const rapidjson::Value& v) {
  return v.IsString() && is_time(std::string_view(v.GetString(), v.GetStringLength()));
}

inline bool has_type(const rapidjson::Value& v, J type) {
  switch (type) {
    case J::kString:
      return v.IsString();
    case J::kInt:
      return v.IsInt64();
    case J::kTime:
      return is_time(v);
    case J::kDate:
      return v.IsString() && v.GetStringLength() == 10 && starts_like(v.GetString(), "####-##-##");
    case J::kArray:
      return v.IsArray();
    case J::kObject:
      return v.IsObject();
    case J::kNull:
      return v.IsNull();
    case J::kIntOrNull:
      return v.IsNull() || v.IsInt64();
    case J::kStringOrNull:
      return v.IsNull() || v.IsString();
    case J::kTimeOrNull:
      return v.IsNull() || is_time(v);
  }
  return false;
}

using Shape = std::vector<std::pair<const char*, J>>;

// How `v` differs from `shape` (exactly these fields, of these types).
inline std::string shape_errors(const rapidjson::Value& v, const Shape& shape) {
  if (!v.IsObject()) return "not an object: " + to_json(v);
  std::string errors;
  for (const auto& [name, type] : shape) {
    const auto* m = member(v, name);
    if (!m)
      errors += std::string("missing '") + name + "'; ";
    else if (!has_type(*m, type))
      errors += std::string("bad type of '") + name + "'; ";
  }
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    bool known = false;
    for (const auto& f : shape) known = known || it->name.GetString() == std::string(f.first);
    if (!known) errors += std::string("unexpected '") + it->name.GetString() + "'; ";
  }
  return errors.empty() ? "" : errors + "in " + to_json(v);
}

// The shapes of SPEC §2.
inline const Shape kTokenShape = {{"token", J::kString},
                                  {"tokenStatus", J::kString},
                                  {"position", J::kIntOrNull},
                                  {"estimatedWaitSeconds", J::kIntOrNull},
                                  {"expiresAt", J::kTimeOrNull}};
inline const Shape kReservationShape = {
    {"reservationId", J::kString}, {"userId", J::kString},  {"concertScheduleId", J::kString},
    {"seats", J::kArray},          {"totalPrice", J::kInt}, {"status", J::kString},
    {"createdAt", J::kTime},       {"expiresAt", J::kTime}, {"paidAt", J::kTimeOrNull}};
inline const Shape kReservedSeatShape = {
    {"seatId", J::kString}, {"number", J::kInt}, {"price", J::kInt}};
inline const Shape kPaymentShape = {{"paymentId", J::kString}, {"reservationId", J::kString},
                                    {"amount", J::kInt},       {"status", J::kString},
                                    {"paidAt", J::kTime},      {"balance", J::kInt}};
inline const Shape kPaymentItemShape = {{"paymentId", J::kString},
                                        {"reservationId", J::kString},
                                        {"amount", J::kInt},
                                        {"status", J::kString},
                                        {"paidAt", J::kTime}};
inline const Shape kBalanceShape = {{"userId", J::kString}, {"balance", J::kInt}};
inline const Shape kPageShape = {{"items", J::kArray}, {"nextCursor", J::kStringOrNull}};

// ----------------------------------------------------------------- HTTP ---

struct Reply {
  int status = 0;  // 0: no HTTP answer (connection failed or dropped)
  std::string body;
  httplib::Headers headers;
  rapidjson::Document json;

  bool ok() const { return status == 200; }
  // data of a success envelope (a Null value otherwise).
  const rapidjson::Value& data() const {
    static const rapidjson::Value kNull;
    const auto* d = member(json, "data");
    return d && str(json, "result") == "SUCCESS" ? *d : kNull;
  }
  // error.code of an error envelope ("" otherwise).
  std::string code() const {
    const auto* e = member(json, "error");
    return e && str(json, "result") == "ERROR" ? str(*e, "code") : "";
  }
  std::string message() const {
    const auto* e = member(json, "error");
    return e ? str(*e, "message") : "";
  }
  std::string header(const char* name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  // "status body", for assertion messages.
  std::string text() const { return std::to_string(status) + " " + body; }
};

inline std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

inline std::string seats_json(const std::vector<std::string>& seats) {
  std::string out = "[";
  for (const auto& s : seats) out += (out.size() > 1 ? "," : "") + quoted(s);
  return out + "]";
}

inline const std::string kConcert = "demo-concert";
inline const std::string kSchedule1 = "demo-schedule-1";
inline const std::string kSchedule2 = "demo-schedule-2";

class Api {
 public:
  explicit Api(int port) : client_(make_client(port)) {}
  explicit Api(const ServerProcess& server) : Api(server.port()) {}

  httplib::Client& http() { return *client_; }

  Reply send(const std::string& method, const std::string& path, const std::string& body = "",
             httplib::Headers headers = {},
             std::optional<std::string> content_type = "application/json") {
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.body = body;
    req.headers = std::move(headers);
    if (content_type && (method == "POST" || method == "PUT" || method == "PATCH")) {
      req.headers.emplace("Content-Type", *content_type);
    }
    return to_reply(client_->send(req));
  }
  Reply get(const std::string& path, httplib::Headers headers = {}) {
    return send("GET", path, "", std::move(headers));
  }
  Reply post(const std::string& path, const std::string& body, httplib::Headers headers = {}) {
    return send("POST", path, body, std::move(headers));
  }
  Reply del(const std::string& path, httplib::Headers headers = {}) {
    return send("DELETE", path, "", std::move(headers));
  }

  // --- the routes of SPEC §2 ---
  Reply token(const std::string& user) {
    return post("/api/v1/queue/token", "{\"userId\":" + quoted(user) + "}");
  }
  Reply status(const std::string& token) {
    return get("/api/v1/queue/status", {{"Queue-Token", token}});
  }
  Reply seats(const std::string& schedule, const std::string& concert = kConcert) {
    return get("/api/v1/concerts/" + concert + "/schedules/" + schedule + "/seats");
  }
  Reply hold(const std::string& token, const std::string& schedule,
             const std::vector<std::string>& seats, const std::string& key = "") {
    return post(
        "/api/v1/reservations",
        "{\"concertScheduleId\":" + quoted(schedule) + ",\"seatIds\":" + seats_json(seats) + "}",
        with_key({{"Queue-Token", token}}, key));
  }
  Reply pay(const std::string& token, const std::string& reservation, const std::string& key = "") {
    return post("/api/v1/payments", "{\"reservationId\":" + quoted(reservation) + "}",
                with_key({{"Queue-Token", token}}, key));
  }
  Reply reservation(const std::string& token, const std::string& id) {
    return get("/api/v1/reservations/" + id, {{"Queue-Token", token}});
  }
  Reply cancel(const std::string& token, const std::string& id, const std::string& key = "") {
    return del("/api/v1/reservations/" + id, with_key({{"Queue-Token", token}}, key));
  }
  Reply charge(const std::string& user, int64_t amount, const std::string& key = "") {
    return post("/api/v1/balance/charge",
                "{\"userId\":" + quoted(user) + ",\"amount\":" + std::to_string(amount) + "}",
                with_key({}, key));
  }
  Reply balance(const std::string& user) { return get("/api/v1/balance?userId=" + user); }
  Reply payments(const std::string& user, const std::string& query = "") {
    return get("/api/v1/users/" + user + "/payments" + query);
  }
  Reply reservations(const std::string& user, const std::string& query = "") {
    return get("/api/v1/users/" + user + "/reservations" + query);
  }
  Reply admin_user(const std::string& admin_key, const std::string& user) {
    return post("/api/v1/admin/users", "{\"userId\":" + quoted(user) + "}",
                {{"Admin-Key", admin_key}});
  }
  Reply admin_concert(const std::string& admin_key, const std::string& body) {
    return post("/api/v1/admin/concerts", body, {{"Admin-Key", admin_key}});
  }

  // --- REQUIRE-ing helpers (test thread only) ---
  std::string active_token(const std::string& user) {
    Reply r = token(user);
    REQUIRE_MESSAGE(r.ok(), r.text());
    REQUIRE_MESSAGE(str(r.data(), "tokenStatus") == "ACTIVE", r.text());
    return str(r.data(), "token");
  }
  int64_t balance_of(const std::string& user) {
    Reply r = balance(user);
    REQUIRE_MESSAGE(r.ok(), r.text());
    return num(r.data(), "balance");
  }
  // AVAILABLE / HELD / SOLD, or "" when the seat is not listed.
  std::string seat_status(const std::string& schedule, const std::string& seat) {
    Reply r = seats(schedule);
    REQUIRE_MESSAGE(r.ok(), r.text());
    for (const auto& s : r.data().GetArray()) {
      if (str(s, "seatId") == seat) return str(s, "status");
    }
    return "";
  }
  // Holds `seats` and returns the reservation id.
  std::string hold_ok(const std::string& token, const std::string& schedule,
                      const std::vector<std::string>& seats) {
    Reply r = hold(token, schedule, seats);
    REQUIRE_MESSAGE(r.ok(), r.text());
    return str(r.data(), "reservationId");
  }

 private:
  static httplib::Headers with_key(httplib::Headers h, const std::string& key) {
    if (!key.empty()) h.emplace("Idempotency-Key", key);
    return h;
  }
  static Reply to_reply(const httplib::Result& res) {
    Reply r;
    if (!res) return r;
    r.status = res->status;
    r.body = res->body;
    r.headers = res->headers;
    r.json.Parse(r.body.c_str());
    if (r.json.HasParseError()) r.json.SetNull();
    return r;
  }

  std::unique_ptr<httplib::Client> client_;
};

// Registers `users` through the admin API (the server needs --admin-key).
inline void create_users(Api& api, const std::string& admin_key,
                         const std::vector<std::string>& users) {
  for (const auto& u : users) {
    Reply r = api.admin_user(admin_key, u);
    REQUIRE_MESSAGE(r.ok(), r.text());
  }
}

// ------------------------------------------------------------- raw TCP ---

// One TCP connection speaking HTTP/1.1 by hand: exchange() writes a request
// and reads one response (Content-Length framed); status 0 when the server
// closed the connection or sent garbage.
class RawHttp {
 public:
  explicit RawHttp(int port) {
    detail::ignore_sigpipe();
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawHttp() { ::close(fd_); }
  RawHttp(const RawHttp&) = delete;
  RawHttp& operator=(const RawHttp&) = delete;

  struct Response {
    int status = 0;
    std::string head, body;
  };

  Response exchange(const std::string& request) {
    if (!connected_ || !write_all(request)) return {};
    return read_response();
  }
  // Writes `head`, pauses so that `body` arrives in a later TCP segment,
  // writes `body`, then reads one response.
  Response exchange_split(const std::string& head, const std::string& body) {
    if (!connected_ || !write_all(head)) return {};
    std::this_thread::sleep_for(50ms);
    if (!write_all(body)) return {};
    return read_response();
  }

  static std::string request(
      const std::string& method, const std::string& path, const std::string& body = "",
      const std::string& extra_headers = "Content-Type: application/json\r\n") {
    std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers;
    if (!body.empty() || method == "POST") {
      r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    return r + "\r\n" + body;
  }

 private:
  bool write_all(const std::string& s) {
    size_t done = 0;
    while (done < s.size()) {
      const ssize_t n = ::send(fd_, s.data() + done, s.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  bool fill() {
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
    return true;
  }
  Response read_response() {
    size_t end;
    while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return {};
    }
    Response r;
    r.head = pending_.substr(0, end);
    pending_.erase(0, end + 4);
    if (!starts_like(r.head, "HTTP/1.1 ###")) return {};
    const int status = std::stoi(r.head.substr(9, 3));
    const size_t length = content_length(r.head);
    while (pending_.size() < length) {
      if (!fill()) return {};
    }
    r.body = pending_.substr(0, length);
    pending_.erase(0, length);
    r.status = status;
    return r;
  }

  static size_t content_length(const std::string& head) {
    std::string lower = head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string kName = "\r\ncontent-length:";
    const size_t at = lower.find(kName);
    if (at == std::string::npos) return 0;
    return std::stoul(lower.substr(at + kName.size()));  // stoul skips the spaces
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;
};

}  // namespace reservoir::test
