// `reservoir serve --log kafka` against `reservoir kafka-mock` (always on
// Kafka, whatever RESERVOIR_TEST_LOG says): restart and catch-up, replay and
// rebuild from Kafka, an aborted transaction, a broker down and up, fencing,
// and the kafka-mock subcommand itself. (The other integration tests run on
// Kafka too under ctest's integration_kafka.)
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "events/envelope_codec.h"
#include "support/server_process.h"

namespace reservoir::test {
namespace {

const std::string kAdmin = "kafka-admin";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// `timeout` is --kafka-timeout: the fault tests bound their 503s with 1s; the
// others keep the default, so a loaded machine (CI) does not time out their
// reads at start-up.
ServerOptions on_kafka(std::shared_ptr<KafkaMock> mock = std::make_shared<KafkaMock>(),
                       const std::string& timeout = "5s") {
  return ServerOptions().on_mock(std::move(mock)).admin(kAdmin).with({"--kafka-timeout", timeout});
}

std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The number of events replay prints (text format: one line each).
size_t replayed_events(const ServerProcess& server) {
  RunResult r = run_reservoir(cat({"replay", "--domain", "concert"}, server.log_flags()));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  return static_cast<size_t>(std::count(r.out.begin(), r.out.end(), '\n'));
}

void verify_ok(const ServerProcess& server) {
  RunResult v = run_reservoir(cat({"replay", "--verify"}, server.log_flags()));
  CHECK_MESSAGE(v.status == 0, v.out, v.err);
  CHECK(contains(v.out, "verify: OK"));
}

TEST_CASE("kafka: kafka-mock prints its address first and answers its commands") {
  RunResult help = run_reservoir({"kafka-mock", "--help"});
  CHECK(help.status == 0);
  CHECK(contains(help.out, "--brokers"));
  CHECK(run_reservoir({"kafka-mock", "--brokers", "0"}).status == 2);
  KafkaMock mock(3);
  CHECK(std::count(mock.bootstrap().begin(), mock.bootstrap().end(), ',') == 2);
  mock.command("down 2");
  mock.command("up 2");
  mock.command("topic another");
}

TEST_CASE("kafka: serve --log kafka needs brokers; a second serve on the --data is refused") {
  TempDir dir;
  RunResult no_brokers =
      run_reservoir({"serve", "--data", dir.path() + "/d", "--port", "0", "--log", "kafka"});
  CHECK(no_brokers.status == 2);
  CHECK(contains(no_brokers.err, "--kafka-brokers"));
  RunResult unreachable =
      run_reservoir({"serve", "--data", dir.path() + "/d", "--port", "0", "--log", "kafka",
                     "--kafka-brokers", "127.0.0.1:1", "--kafka-timeout", "1s"},
                    30s);
  CHECK(unreachable.status == 1);
  CHECK(contains(unreachable.err, "cannot open the event log"));
}

TEST_CASE("kafka: state and projections survive restarts; a fresh --data catches up from Kafka") {
  auto mock = std::make_shared<KafkaMock>();
  ServerProcess server(on_kafka(mock));
  std::string rid, token;
  int64_t alice_balance = 0;
  {
    Api api(server);
    token = api.active_token("alice");
    rid = api.hold_ok(token, kSchedule1, {"A1", "A2"});
    REQUIRE(api.charge("bob", 777, "bob-1").ok());
  }
  REQUIRE(server.terminate() == 0);
  server.start();
  {
    Api api(server);
    CHECK(api.seat_status(kSchedule1, "A1") == "HELD");
    CHECK(api.balance_of("bob") == 500777);
    // The idempotent answer came back from Kafka too.
    CHECK(api.charge("bob", 777, "bob-1").ok());
    CHECK(api.balance_of("bob") == 500777);
    REQUIRE(api.pay(token, rid).ok());
    alice_balance = api.balance_of("alice");
  }
  server.kill9();
  // Another engine on a new --data (no projections, no snapshots) rebuilds
  // everything from the topic.
  ServerProcess other(on_kafka(mock).no_demo());
  Api api(other);
  CHECK(api.seat_status(kSchedule1, "A1") == "SOLD");
  CHECK(api.balance_of("alice") == alice_balance);
  CHECK(api.balance_of("bob") == 500777);
  CHECK(replayed_events(other) > 0);
  verify_ok(other);
}

// A new user's first try: the mock started with its defaults, the server on
// a topic of their choosing (and its `-clinic` topic), neither pre-created.
TEST_CASE("kafka: serve --kafka-topic orders works on a default kafka-mock; restart and replay") {
  auto mock = std::make_shared<KafkaMock>();
  const std::vector<std::string> topic = {"--kafka-topic", "orders"};
  ServerProcess server(on_kafka(mock).with(topic));
  std::string rid, token;
  {
    Api api(server);
    token = api.active_token("alice");
    rid = api.hold_ok(token, kSchedule1, {"A1"});
    REQUIRE(api.charge("bob", 5, "bob-1").ok());
  }
  CHECK(contains(server.stderr_text(), "event=kafka_topic_created topic=orders "));
  CHECK(contains(server.stderr_text(), "event=kafka_topic_created topic=orders-clinic "));
  REQUIRE(server.terminate() == 0);
  server.start();  // the topics exist now
  {
    Api api(server);
    CHECK(api.seat_status(kSchedule1, "A1") == "HELD");
    CHECK(api.balance_of("bob") == 500005);
    REQUIRE(api.pay(token, rid).ok());
  }
  RunResult replay =
      run_reservoir(cat(cat({"replay", "--domain", "concert"}, server.log_flags()), topic));
  REQUIRE_MESSAGE(replay.status == 0, replay.err);
  CHECK(contains(replay.out, "BalanceCharged"));
  RunResult verify = run_reservoir(cat(cat({"replay", "--verify"}, server.log_flags()), topic));
  CHECK_MESSAGE(verify.status == 0, verify.out, verify.err);
  // The default topic was never written.
  RunResult other = run_reservoir(cat({"replay", "--domain", "concert"}, server.log_flags()));
  CHECK(other.out.empty());
}

TEST_CASE("kafka: replay and rebuild read the log from Kafka") {
  ServerProcess server(on_kafka());
  {
    Api api(server);
    REQUIRE(api.charge("carol", 5, "c-1").ok());
  }
  const size_t events = replayed_events(server);  // next to the running server
  CHECK(events > 5);
  RunResult json = run_reservoir(
      cat({"replay", "--domain", "concert", "--format", "json", "--from", "1", "--to", "2"},
          server.log_flags()));
  REQUIRE(json.status == 0);
  CHECK(std::count(json.out.begin(), json.out.end(), '\n') == 2);
  CHECK(contains(json.out, "{\"offset\":1,"));
  verify_ok(server);
  RunResult refused =
      run_reservoir(cat({"rebuild", "--data", server.data_dir()}, server.log_flags()));
  CHECK(refused.status == 1);
  REQUIRE(server.terminate() == 0);
  RunResult rebuilt =
      run_reservoir(cat({"rebuild", "--data", server.data_dir()}, server.log_flags()), 60s);
  REQUIRE_MESSAGE(rebuilt.status == 0, rebuilt.err);
  CHECK(contains(rebuilt.err, "(" + std::to_string(events) + " events)"));
  server.start();
  Api api(server);
  CHECK(api.balance_of("carol") == 500005);
}

TEST_CASE("kafka: an aborted transaction answers 503 and leaves state equal to the log") {
  ServerProcess server(on_kafka());
  Api api(server);
  REQUIRE(api.charge("alice", 10).ok());
  server.mock().command("abort");  // the next EndTxn fails: the transaction aborts
  Reply lost = api.charge("alice", 1000, "lost-1");
  CHECK(lost.status == 503);
  CHECK(lost.code() == "UNAVAILABLE");
  // The engine rebuilt its state from the log: the aborted charge is nowhere.
  Reply next;
  CHECK(eventually([&] { return (next = api.charge("alice", 1)).ok(); }, 10s));
  CHECK(api.balance_of("alice") == 500011);
  // Its key was never answered, so it runs now, once.
  REQUIRE(api.charge("alice", 1000, "lost-1").ok());
  CHECK(api.charge("alice", 1000, "lost-1").body == api.charge("alice", 1000, "lost-1").body);
  CHECK(api.balance_of("alice") == 501011);
  verify_ok(server);
  REQUIRE(server.terminate() == 0);
  server.start();
  CHECK(Api(server).balance_of("alice") == 501011);
}

// ------------------------------------------- an independent consumer ---

// Runs a shell command; its stdout (binary), or nullopt when it failed.
std::optional<std::string> output_of(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  return ::pclose(p) == 0 ? std::optional<std::string>(out) : std::nullopt;
}

uint64_t little_endian(std::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = bytes.size(); i-- > 0;) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

// Decodes kcat's `-J` output (one JSON object a message; header values and
// the payload are JSON strings of the raw bytes) as docs/KAFKA.md tells a
// consumer to: the header `reservoir` (u64 first event offset, u32 count, u64
// batch end, little-endian) places each message's events; a message
// re-using event offsets replaces what came from there on (a retry after an
// abort); a void message (count 0, no payload) drops everything from its
// first offset on. The event types, in event-offset order.
std::vector<std::string> decode_kcat(const std::string& out, size_t* dropped) {
  std::vector<std::string> types;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    rapidjson::Document m;
    m.Parse(line.data(), line.size());
    REQUIRE_MESSAGE(!m.HasParseError(), line);
    const rapidjson::Value& headers = m["headers"];
    // [name, value, ...]: `reservoir` first, then `reservoir-epoch` (docs/KAFKA.md).
    REQUIRE((headers.Size() >= 2 && std::string(headers[0].GetString()) == "reservoir"));
    const std::string_view h(headers[1].GetString(), headers[1].GetStringLength());
    REQUIRE(h.size() == 20);
    const uint64_t first = little_endian(h.substr(0, 8)), count = little_endian(h.substr(8, 4));
    REQUIRE(first <= types.size());
    *dropped += types.size() - first;
    types.resize(first);  // a retry or a void replaces what came from there on
    const rapidjson::Value& payload = m["payload"];
    const std::string_view value =
        payload.IsString() ? std::string_view(payload.GetString(), payload.GetStringLength()) : "";
    std::vector<EventEnvelope> events;
    REQUIRE(envelope_codec::decode(value, count, first, 0, UINT64_MAX, &events));
    for (const auto& e : events) types.push_back(e.type);
  }
  return types;
}

// The event types `replay --format json` prints, in order.
std::vector<std::string> replayed_types(const ServerProcess& server) {
  RunResult r =
      run_reservoir(cat({"replay", "--domain", "concert", "--format", "json"}, server.log_flags()));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  std::vector<std::string> types;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    const size_t at = line.find("\"type\":\"") + 8;
    types.push_back(line.substr(at, line.find('"', at) - at));
  }
  return types;
}

TEST_CASE("kafka: kcat reads the topic with read_committed and decodes the committed events") {
  REQUIRE_MESSAGE(output_of("command -v kcat >/dev/null").has_value(),
                  "kcat is not installed: apt-get install kcat (tools/install-deps.sh does)");
  ServerProcess server(on_kafka());
  {
    Api api(server);
    REQUIRE(api.charge("alice", 10).ok());
    server.mock().command("abort");  // the next EndTxn fails: the transaction aborts
    CHECK(api.charge("alice", 1000).status == 503);
    Reply next;
    CHECK(eventually([&] { return (next = api.charge("alice", 1)).ok(); }, 10s));
    const std::string token = api.active_token("bob");
    api.hold_ok(token, kSchedule1, {"A1", "A2"});
  }
  const std::optional<std::string> out =
      output_of("kcat -b '" + server.mock().bootstrap() +
                "' -X isolation.level=read_committed -C -t reservoir-events -o beginning -e -q -J");
  REQUIRE(out.has_value());
  size_t dropped = 0;
  const std::vector<std::string> types = decode_kcat(*out, &dropped);
  CHECK(types == replayed_types(server));  // exactly the committed events, in order
  CHECK(std::count(types.begin(), types.end(), "SeatsHeld") == 1);
  // librdkafka 2.0.2's mock shows the aborted charge even to read_committed
  // (a real broker hides it): the headers are what leave it out.
  CHECK(dropped >= 1);
}

TEST_CASE("kafka: broker down answers 503 within the bound; the engine recovers when it returns") {
  ServerProcess server(on_kafka(std::make_shared<KafkaMock>(), "1s"));
  Api api(server);
  REQUIRE(api.charge("bob", 1).ok());
  server.mock().command("down");
  const auto t0 = Clock::now();
  Reply r = api.charge("bob", 100);
  const auto took = Clock::now() - t0;
  CHECK(r.status == 503);
  // --kafka-timeout 1s: one append and one recovery attempt, about 1 s each
  // (the bound leaves room for a loaded machine).
  CHECK(took < 5s);
  const auto t1 = Clock::now();
  CHECK(api.charge("bob", 100).status == 503);
  CHECK(Clock::now() - t1 < 5s);
  CHECK(contains(api.get("/metrics").body, "reservoir_log_recovering{domain=\"concert\"} 1"));
  server.mock().command("up");
  CHECK(eventually([&] { return api.charge("bob", 10).ok(); }, 20s));
  CHECK(contains(api.get("/metrics").body, "reservoir_log_recovering{domain=\"concert\"} 0"));
  // Whatever committed is in the state: the balance equals the log's charges.
  verify_ok(server);
  const int64_t balance = api.balance_of("bob");
  CHECK((balance == 500011 || balance == 500111 || balance == 500211));
  REQUIRE(server.terminate() == 0);
  server.start();
  CHECK(Api(server).balance_of("bob") == balance);
}

TEST_CASE("kafka: a slow broker answers 503 in time; a commit that completes later is kept") {
  ServerProcess server(on_kafka(std::make_shared<KafkaMock>(), "1s"));
  Api api(server);
  REQUIRE(api.charge("carol", 1).ok());
  server.mock().command("rtt -1 2500");  // every answer 2.5 s late: over --kafka-timeout 1s
  const auto t0 = Clock::now();
  Reply slow = api.charge("alice", 100, "slow-1");
  CHECK(slow.status == 503);
  CHECK(Clock::now() - t0 < 5s);
  server.mock().command("rtt -1 0");
  CHECK(eventually([&] { return api.charge("alice", 1).ok(); }, 20s));
  // The late commit may have completed: then the charge is in the log, and a
  // retry with its key returns the answer the log holds instead of charging
  // again; if it was aborted, the retry charges once. Either way: once.
  Reply retry = api.charge("alice", 100, "slow-1");
  REQUIRE(retry.ok());
  CHECK(api.charge("alice", 100, "slow-1").body == retry.body);
  CHECK(api.balance_of("alice") == 500101);
  verify_ok(server);
}

TEST_CASE("kafka: a fenced engine stops taking commands and exits 1 naming the transactional.id") {
  ServerProcess server(on_kafka(std::make_shared<KafkaMock>(), "1s"));
  {
    Api api(server);
    REQUIRE(api.charge("carol", 1).ok());
    server.mock().command("fence");  // what a second engine's InitProducerId does on a real cluster
    Reply r = api.charge("carol", 2);
    CHECK(r.status == 503);
  }
  auto status = server.wait_exit(20s);
  REQUIRE(status.has_value());
  CHECK(*status == 1);
  const std::string err = server.stderr_text();
  CHECK_MESSAGE(
      contains(err, "fenced by another engine with transactional.id reservoir-events-writer"), err);
}

}  // namespace
}  // namespace reservoir::test
