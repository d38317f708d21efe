// The operator's log (SPEC §8, events/oplog.h): start with the effective
// configuration, stop, refused start, slow requests with their X-Request-Id;
// in both --log-format text and json. No secret ever reaches stderr: a
// server with an admin key and a clinic key serves requests carrying every
// kind of secret (right and wrong ones), each of them logged as a slow
// request (--slow-request-ms 0 logs every request), and its stderr is then
// searched for every secret.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "support/clinic_client.h"
#include "support/server_process.h"

namespace reservoir::test {
namespace {

const std::string kAdminKey = "adm-S3cret-6f1c2a";
const std::string kWrongAdminKey = "adm-Wrong-93be77";
const std::string kClinicKey = "cln-S3cret-0d44e1";
const std::string kWrongClinicKey = "cln-Wrong-5a7b20";
const std::string kGarbageToken = "tok-Garbage-77aa01";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The oplog lines of `stderr_text` with event `event`, in either format.
std::vector<std::string> events(const std::string& stderr_text, const std::string& event) {
  std::vector<std::string> out;
  for (const auto& line : lines_of(stderr_text)) {
    if (line.find("event=" + event + " ") != std::string::npos ||
        line.find("\"event\":\"" + event + "\"") != std::string::npos) {
      out.push_back(line);
    }
  }
  return out;
}

struct Secrets {
  std::vector<std::string> values;
};

// Requests carrying every kind of secret; returns those the server handed out.
Secrets exercise(const ServerProcess& server) {
  Secrets s{{kAdminKey, kWrongAdminKey, kClinicKey, kWrongClinicKey, kGarbageToken}};
  Api api(server);
  const Reply token = api.token("alice");
  REQUIRE(token.ok());
  const std::string live = str(token.data(), "token");
  REQUIRE(!live.empty());
  s.values.push_back(live);
  CHECK(api.status(live).ok());
  CHECK(api.status(kGarbageToken).status == 401);
  CHECK(api.hold(live, kSchedule1, {"A1"}).ok());
  CHECK(api.post("/api/v1/admin/users", R"({"userId":"zed","name":"Zed"})",
                 {{"Admin-Key", kAdminKey}})
            .status == 200);
  CHECK(api.post("/api/v1/admin/users", R"({"userId":"zoe","name":"Zoe"})",
                 {{"Admin-Key", kWrongAdminKey}})
            .status == 401);
  ClinicApi clinic(server);
  clinic.bearer(kClinicKey);
  CHECK(clinic.reserve_v1("v1", at("10:00"), at("11:00")).ok());
  clinic.bearer(kWrongClinicKey);
  CHECK(clinic.schedule("0123456789abcdef01234567").status == 401);
  return s;
}

ServerOptions secret_server(const std::string& format) {
  return ServerOptions().admin(kAdminKey).with(
      {"--clinic-api-key", kClinicKey, "--log-format", format, "--slow-request-ms", "0"});
}

void check_no_secret(const std::string& err, const Secrets& s) {
  for (const auto& secret : s.values) {
    CHECK_MESSAGE(err.find(secret) == std::string::npos, "secret '" << secret << "' in stderr:\n"
                                                                    << err);
  }
}

}  // namespace

TEST_CASE("oplog: no token, Admin-Key, clinic key or Authorization value reaches stderr") {
  for (const std::string format : {"text", "json"}) {
    CAPTURE(format);
    std::string err;
    Secrets secrets;
    {
      ServerProcess server(secret_server(format));
      secrets = exercise(server);
      CHECK(server.terminate() == 0);
      err = server.stderr_text();
    }
    check_no_secret(err, secrets);
    // Every request was logged (slow at 0 ms), and the start line says the keys are set.
    CHECK(events(err, "slow_request").size() >= 8);
    const auto start = events(err, "start");
    REQUIRE(start.size() == 1);
    if (format == "text") {
      CHECK(start[0].find(" admin-key=(set) ") != std::string::npos);
      CHECK(start[0].find(" clinic-api-key=(set) ") != std::string::npos);
      CHECK(start[0].find(" slow-request-ms=0") != std::string::npos);
    } else {
      CHECK(start[0].find("\"admin-key\":\"(set)\"") != std::string::npos);
      CHECK(start[0].find("\"clinic-api-key\":\"(set)\"") != std::string::npos);
    }
    CHECK(events(err, "stop").size() == 1);
  }
}

TEST_CASE("oplog: --log-format json writes one JSON object per event line") {
  ServerProcess server(ServerOptions().with({"--log-format", "json", "--slow-request-ms", "0"}));
  Api api(server);
  REQUIRE(api.get("/healthz", {{"X-Request-Id", "req-json-1"}}).ok());
  CHECK(server.terminate() == 0);
  const std::string err = server.stderr_text();
  int parsed = 0;
  for (const auto& line : lines_of(err)) {
    if (line.find("\"event\":") == std::string::npos) continue;
    rapidjson::Document d;
    d.Parse(line.c_str());
    REQUIRE_MESSAGE(!d.HasParseError(), line);
    REQUIRE(d.IsObject());
    CHECK(d.HasMember("ts"));
    CHECK(d.HasMember("level"));
    ++parsed;
  }
  CHECK(parsed >= 3);  // start, the slow request, stop
  const auto slow = events(err, "slow_request");
  REQUIRE(slow.size() == 1);
  CHECK(slow[0].find("\"request_id\":\"req-json-1\"") != std::string::npos);
  CHECK(slow[0].find("\"route\":\"healthz\"") != std::string::npos);
}

TEST_CASE("oplog: X-Request-Id is echoed when valid, else replaced, and logged") {
  ServerProcess server(ServerOptions().with({"--slow-request-ms", "0"}));
  Api api(server);
  const Reply echoed = api.get("/api/v1/concerts", {{"X-Request-Id", "abc-123_XYZ"}});
  CHECK(echoed.header("X-Request-Id") == "abc-123_XYZ");
  const Reply generated = api.get("/api/v1/concerts");
  const std::string id = generated.header("X-Request-Id");
  CHECK(id.size() == 32);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(api.get("/api/v1/concerts").header("X-Request-Id") != id);
  const std::string too_long(129, 'a');
  const Reply replaced = api.get("/api/v1/concerts", {{"X-Request-Id", too_long}});
  CHECK(replaced.header("X-Request-Id").size() == 32);
  const Reply blank = api.get("/api/v1/concerts", {{"X-Request-Id", "has space"}});
  CHECK(blank.header("X-Request-Id") != "has space");
  // Refusals and unknown routes carry it too.
  CHECK(!api.get("/api/v1/nowhere").header("X-Request-Id").empty());
  CHECK(server.terminate() == 0);
  const auto slow = events(server.stderr_text(), "slow_request");
  bool found = false;
  for (const auto& line : slow)
    found = found || line.find("request_id=abc-123_XYZ ") != std::string::npos;
  CHECK(found);
  bool generated_logged = false;
  for (const auto& line : slow)
    generated_logged = generated_logged || line.find(id) != std::string::npos;
  CHECK(generated_logged);
}

TEST_CASE("oplog: the connection loop's 431 carries a new X-Request-Id") {
  ServerProcess server(ServerOptions().no_demo());
  Api api(server);
  // A head over the loop's 16 KiB bound is answered before it is parsed.
  const Reply big = api.get("/healthz", {{"X-Padding", std::string(20 * 1024, 'a')}});
  CHECK(big.status == 431);
  const std::string id = big.header("X-Request-Id");
  CHECK(id.size() == 32);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
}

TEST_CASE("oplog: a refused start is one line with its reason") {
  ServerProcess holder(ServerOptions().no_demo());
  const RunResult r = run_reservoir({"serve", "--data", holder.data_dir(), "--port", "0"});
  CHECK(r.status == 1);
  const auto refused = events(r.err, "start_refused");
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].find("level=error") != std::string::npos);
  CHECK(refused[0].find("exit_code=1") != std::string::npos);
  const RunResult bad = run_reservoir({"serve", "--log-format", "yaml"});
  CHECK(bad.status == 2);
  CHECK(events(bad.err, "start_refused").size() == 1);
}

// Every line of `err` is one JSON object with ts, level and event; returns
// the events in order.
std::vector<std::string> json_events(const std::string& err) {
  std::vector<std::string> out;
  for (const auto& line : lines_of(err)) {
    rapidjson::Document d;
    d.Parse(line.c_str());
    CHECK_MESSAGE(!d.HasParseError(), "not JSON: " << line);
    if (d.HasParseError()) continue;
    CHECK_MESSAGE(d.IsObject(), line);
    if (!d.IsObject()) continue;
    for (const char* key : {"ts", "level", "event"}) {
      CHECK_MESSAGE((d.HasMember(key) && d[key].IsString()), key << " missing: " << line);
    }
    if (d.HasMember("event") && d["event"].IsString()) out.emplace_back(d["event"].GetString());
  }
  return out;
}

bool has(const std::vector<std::string>& events, const std::string& event) {
  return std::find(events.begin(), events.end(), event) != events.end();
}

TEST_CASE("oplog: under --log-format json every stderr line is JSON, from start to stop") {
  // The demo (both domains), the writer at nice 10 and the follower raised
  // (their thread_priority lines), a restart (replaying, snapshots).
  ServerProcess server(ServerOptions().with(
      {"--log-format", "json", "--slow-request-ms", "0", "--snapshot-every-events", "2"}));
  {
    Api api(server);
    REQUIRE(api.charge("alice", 100).ok());
    REQUIRE(api.balance("alice").ok());
    CHECK(api.status("not-a-token").status == 401);  // a refused request
    CHECK(api.get("/api/v1/nowhere").status == 404);
    ClinicApi clinic(server);
    REQUIRE(clinic.reserve_v1("v1", at("10:00"), at("11:00")).ok());
  }
  CHECK(server.terminate() == 0);  // SIGTERM
  std::string err = server.stderr_text();
  server.start();  // a stderr file of its own
  REQUIRE(Api(server).balance("alice").ok());
  CHECK(server.terminate() == 0);
  err += server.stderr_text();
  INFO("stderr:\n", err);
  const auto seen = json_events(err);
  for (const char* event : {"start", "replaying", "slow_request", "stopping", "stop"}) {
    CHECK_MESSAGE(has(seen, event), event);
  }
  CHECK((has(seen, "snapshot_restored") || has(seen, "snapshot_none")));
}

TEST_CASE("oplog: a refused start under --log-format json is JSON too") {
  ServerProcess holder(ServerOptions().no_demo());
  // The data directory is locked by `holder`: exit 1.
  const RunResult locked =
      run_reservoir({"serve", "--log-format", "json", "--data", holder.data_dir(), "--port", "0"});
  CHECK(locked.status == 1);
  CHECK(json_events(locked.err) == std::vector<std::string>{"start_refused"});
  CHECK(locked.err.find("\"exit_code\":\"1\"") != std::string::npos);
  // A flag combination that cannot run: exit 2, its reason in the line.
  const RunResult invalid =
      run_reservoir({"serve", "--log-format", "json", "--role", "replica", "--port", "0"});
  CHECK(invalid.status == 2);
  CHECK(json_events(invalid.err) == std::vector<std::string>{"start_refused"});
  CHECK(invalid.err.find("--role replica needs --log kafka") != std::string::npos);
}

TEST_CASE("oplog: librdkafka's own lines are JSON too when Kafka goes away") {
  // Given a writer and a replica on a Kafka mock, both --log-format json,
  auto mock = std::make_shared<KafkaMock>();
  const auto node = [&] { return ServerOptions().on_mock(mock).with({"--log-format", "json"}); };
  ServerProcess writer(node());
  ServerProcess replica(node().no_demo().with({"--role", "replica"}));
  // when the brokers go down, librdkafka logs the failed connections
  // (its `%3|…|FAIL|…` lines on stderr by default);
  mock->command("down");
  const auto logged = [](const ServerProcess& p) {
    return p.stderr_text().find("\"event\":\"kafka_client\"") != std::string::npos;
  };
  CHECK(eventually([&] { return logged(writer) && logged(replica); }, 20s));
  mock->command("up");
  CHECK(writer.terminate() == 0);
  CHECK(replica.terminate() == 0);
  // then they came through oplog: every stderr line is one JSON event.
  for (const ServerProcess* p : {&writer, &replica}) {
    const std::string err = p->stderr_text();
    INFO("stderr:\n", err);
    const auto seen = json_events(err);
    CHECK(has(seen, "kafka_client"));
    CHECK(err.find("%3|") == std::string::npos);
  }
}

}  // namespace reservoir::test
