// GET /metrics (SPEC §8): a real server under load from two threads
// (commands, queries, refusals), scraped during and after. Every family
// has HELP and TYPE, histograms are cumulative with +Inf == _count, the
// request histograms count exactly the requests made, and `promtool check
// metrics` accepts the text (required under CI=true; skipped with a
// message elsewhere when promtool is not installed).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>

#include "support/clinic_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace reservoir::test {
namespace {

// One scrape: every sample by its series text (`name{labels}`), and the
// families named by HELP and TYPE lines.
struct Scrape {
  std::string text;
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;  // family -> type
  std::set<std::string> helped;
  std::vector<std::string> order;  // series in order of appearance

  double at(const std::string& series) const {
    auto it = samples.find(series);
    return it == samples.end() ? -1 : it->second;
  }
  bool has(const std::string& series) const { return samples.count(series) != 0; }
};

Scrape parse(const std::string& text) {
  Scrape s;
  s.text = text;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      s.helped.insert(line.substr(7, line.find(' ', 7) - 7));
    } else if (line.rfind("# TYPE ", 0) == 0) {
      const size_t sp = line.find(' ', 7);
      s.types[line.substr(7, sp - 7)] = line.substr(sp + 1);
    } else if (!line.empty()) {
      const size_t sp = line.rfind(' ');
      s.samples[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
      s.order.push_back(line.substr(0, sp));
    }
  }
  return s;
}

Scrape scrape(int port) {
  Api api(port);
  const Reply r = api.get("/metrics");
  REQUIRE(r.status == 200);
  return parse(r.body);
}

// The family a sample belongs to: its name less a histogram suffix.
std::string family_of(const Scrape& s, const std::string& series) {
  const std::string name = series.substr(0, series.find('{'));
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string sfx = suffix;
    if (name.size() > sfx.size() && name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0) {
      const std::string base = name.substr(0, name.size() - sfx.size());
      if (s.types.count(base) && s.types.at(base) == "histogram") return base;
    }
  }
  return name;
}

// Every sample's family has HELP and TYPE; every counter ends in _total;
// every histogram series' buckets are cumulative and end in +Inf == _count.
void check_conventions(const Scrape& s) {
  for (const auto& series : s.order) {
    const std::string family = family_of(s, series);
    CHECK_MESSAGE(s.types.count(family), "no TYPE for " << series);
    CHECK_MESSAGE(s.helped.count(family), "no HELP for " << series);
    if (s.types.count(family) && s.types.at(family) == "counter") {
      CHECK_MESSAGE(family.size() > 6, family);
      CHECK_MESSAGE(family.compare(family.size() - 6, 6, "_total") == 0, family);
    }
  }
  // Buckets of one series share the labels before `le`; they appear in order.
  std::string series_key;
  double last = -1;
  for (const auto& series : s.order) {
    const size_t le = series.find("le=\"");
    if (series.find("_bucket") == std::string::npos || le == std::string::npos) continue;
    const std::string key = series.substr(0, le);
    if (key != series_key) {
      series_key = key;
      last = -1;
    }
    const double v = s.at(series);
    CHECK_MESSAGE(v >= last, "buckets not cumulative at " << series);
    last = v;
    if (series.find("le=\"+Inf\"") != std::string::npos) {
      std::string labels = key.substr(key.find('{') + 1);
      if (!labels.empty() && labels.back() == ',') labels.pop_back();
      const std::string base = key.substr(0, key.find("_bucket"));
      const std::string count = base + "_count" + (labels.empty() ? "" : "{" + labels + "}");
      CHECK_MESSAGE(s.at(count) == v, series << " != " << count);
    }
  }
}

bool under_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// `promtool check metrics` on `text`: "" when it passes, else its output.
// Required under CI=true; elsewhere skipped (with a message) without promtool.
void check_with_promtool(const std::string& text) {
  const bool have = std::system("command -v promtool >/dev/null 2>&1") == 0;
  if (!have) {
    if (under_ci()) {
      FAIL("promtool is not installed (Debian package `prometheus`; tools/install-deps.sh)");
    }
    MESSAGE(
        "promtool not installed: `promtool check metrics` skipped (apt-get install "
        "prometheus)");
    return;
  }
  TempDir dir;
  const std::string in = dir.path() + "/metrics.txt", out = dir.path() + "/promtool.out";
  {
    std::ofstream f(in, std::ios::binary);
    f << text;
  }
  const int rc = std::system(("promtool check metrics < " + in + " > " + out + " 2>&1").c_str());
  CHECK_MESSAGE(rc == 0, "promtool check metrics failed:\n" << read_file(out) << "\non:\n" << text);
}

constexpr int kThreads = 2;
constexpr int kRounds = 30;

std::string hist_count(const std::string& route, const std::string& kind,
                       const std::string& status_class) {
  return "reservoir_http_request_duration_seconds_count{route=\"" + route + "\",kind=\"" + kind +
         "\",status_class=\"" + status_class + "\"}";
}

// One engine family's series of a domain.
std::string of(const std::string& name, const std::string& domain) {
  return name + "{domain=\"" + domain + "\"}";
}

// Each round: a charge (command), a balance query, a refused status query.
void drive(int port, int thread, std::atomic<int>& failures) {
  Api api(port);
  static const char* kUsers[] = {"alice", "bob"};
  for (int i = 0; i < kRounds; ++i) {
    if (!api.charge(kUsers[thread], 100).ok()) failures.fetch_add(1);
    if (!api.balance(kUsers[thread]).ok()) failures.fetch_add(1);
    if (api.status("not-a-token").status != 401) failures.fetch_add(1);
  }
}

// How many `# TYPE name ` lines the text has (promtool: one per family).
int type_lines(const std::string& text, const std::string& name) {
  const std::string key = "# TYPE " + name + " ";
  int n = 0;
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) ++n;
  return n;
}

// Every "expr" string anywhere under `v` (Grafana keeps them in panels' targets).
void collect_exprs(const rapidjson::Value& v, std::vector<std::string>& out) {
  if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      if (std::string(it->name.GetString()) == "expr" && it->value.IsString()) {
        out.emplace_back(it->value.GetString());
      } else {
        collect_exprs(it->value, out);
      }
    }
  } else if (v.IsArray()) {
    for (const auto& e : v.GetArray()) collect_exprs(e, out);
  }
}

}  // namespace

TEST_CASE("metrics: /metrics follows Prometheus conventions under load and counts every request") {
  ServerProcess server;
  const int port = server.port();
  std::atomic<int> failures{0};
  std::vector<std::thread> load;
  for (int t = 0; t < kThreads; ++t) load.emplace_back(drive, port, t, std::ref(failures));
  const Scrape during = scrape(port);
  for (auto& t : load) t.join();
  REQUIRE(failures.load() == 0);
  check_conventions(during);
  check_with_promtool(during.text);

  const Scrape after = scrape(port);
  check_conventions(after);
  check_with_promtool(after.text);
  const double n = kThreads * kRounds;
  CHECK(after.at(hist_count("charge", "command", "2xx")) == n);
  CHECK(after.at(hist_count("balance", "query", "2xx")) == n);
  CHECK(after.at(hist_count("queue_status", "query", "4xx")) == n);
  CHECK(after.at("reservoir_refusals_total{code=\"INVALID_TOKEN\"}") == n);
  CHECK(after.at("reservoir_http_requests_total{route=\"charge\",kind=\"command\",code=\"200\"}") ==
        n);
  // The first scrape was answered before it was counted; the second counts it.
  CHECK(after.at(hist_count("metrics", "other", "2xx")) >= 1);
  CHECK(after.types.at("reservoir_http_request_duration_seconds") == "histogram");
  CHECK(after.at("reservoir_http_request_duration_seconds_sum{route=\"charge\",kind=\"command\","
                 "status_class=\"2xx\"}") > 0);

  // The writer: every charge went through a durable append.
  CHECK(after.at(of("reservoir_command_queue_depth", "concert")) >= 0);
  const double batches = after.at(of("reservoir_group_commit_batch_commands_count", "concert"));
  CHECK(batches >= 1);
  CHECK(after.at(of("reservoir_group_commit_batch_commands_sum", "concert")) >= n);  // + demo's
  CHECK(after.at(of("reservoir_log_sync_duration_seconds_count", "concert")) == batches);
  CHECK(after.at(of("reservoir_log_sync_duration_seconds_sum", "concert")) > 0);
  CHECK(after.types.at("reservoir_group_commit_batch_commands") == "histogram");
  CHECK(after.types.at("reservoir_log_sync_duration_seconds") == "histogram");
  CHECK(after.has(of("reservoir_kafka_commit_duration_seconds_count", "concert")) ==
        server.kafka());
  if (server.kafka()) {
    CHECK(after.at(of("reservoir_kafka_commit_duration_seconds_count", "concert")) >= 1);
  }

  // Projection lag in seconds, connections.
  CHECK(after.types.at("reservoir_projection_lag_seconds") == "histogram");
  CHECK(after.at(of("reservoir_projection_lag_seconds_count", "concert")) > 0);
  CHECK(after.has("reservoir_projection_lag_seconds_bucket{domain=\"concert\",le=\"0.05\"}"));
  CHECK(after.at(of("reservoir_projection_lag_events", "concert")) >= 0);
  CHECK(after.at("reservoir_connections_open") >= 1);  // the scrape's own
  CHECK(after.at("reservoir_connections_refused_total") == 0);
}

TEST_CASE("metrics: a connection refused beyond --http-connections-max is counted") {
  ServerProcess server(ServerOptions().with({"--http-connections-max", "1"}));
  Api first(server);
  REQUIRE(first.get("/healthz").ok());  // holds the one connection (keep-alive)
  Api second(server);
  const Reply refused = second.get("/healthz");
  CHECK(refused.status == 503);
  // The loop's own answer names itself like any other (SPEC §8).
  const std::string id = refused.header("X-Request-Id");
  CHECK(id.size() == 32);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  const Reply r = first.get("/metrics");
  REQUIRE(r.status == 200);
  const Scrape s = parse(r.body);
  CHECK(s.at("reservoir_connections_refused_total") == 1);
  CHECK(s.at("reservoir_connections_open") == 1);
  check_with_promtool(r.body);
}

TEST_CASE("metrics: --metrics off still serves the counters, without the observations") {
  ServerProcess server(ServerOptions().with({"--metrics", "off"}));
  Api api(server);
  REQUIRE(api.charge("alice", 100).ok());
  const Scrape s = scrape(server.port());
  CHECK(s.at("reservoir_http_requests_total{route=\"charge\",kind=\"command\",code=\"200\"}") == 1);
  CHECK(s.at(of("reservoir_group_commit_batch_commands_count", "concert")) == 0);
  CHECK(s.at(of("reservoir_log_sync_duration_seconds_count", "concert")) == 0);
  CHECK_FALSE(s.has(hist_count("charge", "command", "2xx")));
  check_conventions(s);
  check_with_promtool(s.text);
}

TEST_CASE("metrics: the clinic domain's writer and log have series of their own") {
  ServerProcess server;  // --demo serves clinic beside canonical
  ClinicApi clinic(server);
  const Scrape before = scrape(server.port());
  const double commands = before.at(of("reservoir_commands_total", "clinic"));
  const double syncs = before.at(of("reservoir_log_sync_duration_seconds_count", "clinic"));
  const double concert_commands = before.at(of("reservoir_commands_total", "concert"));
  REQUIRE(commands >= 0);  // the demo clinic went through the clinic writer
  const Reply r = clinic.reserve_v1("v1", at("10:00"), at("11:00"));
  REQUIRE_MESSAGE(r.ok(), r.text());
  const Scrape after = scrape(server.port());
  CHECK(after.at(of("reservoir_commands_total", "clinic")) == commands + 1);
  CHECK(after.at(of("reservoir_commands_total", "concert")) == concert_commands);
  CHECK(after.at(of("reservoir_log_sync_duration_seconds_count", "clinic")) >= syncs + 1);
  CHECK(after.at(of("reservoir_group_commit_batch_commands_count", "clinic")) >= 1);
  CHECK(after.at(of("reservoir_events_total", "clinic")) >= 1);
  CHECK(after.at(of("reservoir_log_end_offset", "clinic")) >= 1);
  CHECK(after.at(of("reservoir_command_queue_depth", "clinic")) >= 0);
  CHECK(after.at(of("reservoir_projection_offset", "clinic")) >= 0);
  CHECK(after.has("reservoir_projection_lag_seconds_count{domain=\"clinic\"}"));
  CHECK(after.at("reservoir_http_requests_total{route=\"cl_reserve_v1\",kind=\"command\","
                 "code=\"200\"}") == 1);
  // One family, one TYPE: the domains are samples of the same families.
  for (const char* family : {"reservoir_commands_total", "reservoir_log_sync_duration_seconds",
                             "reservoir_group_commit_batch_commands", "reservoir_projection_offset",
                             "reservoir_projection_lag_seconds"}) {
    CHECK_MESSAGE(type_lines(after.text, family) == 1, family);
  }
  check_conventions(after);
  check_with_promtool(after.text);
}

TEST_CASE("metrics: the Grafana dashboard reads only metric names a server serves") {
  std::ifstream file(std::string(RESERVOIR_SOURCE_DIR) + "/docs/grafana-dashboard.json");
  REQUIRE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  rapidjson::Document dashboard;
  dashboard.Parse(text.str().c_str());
  REQUIRE_FALSE(dashboard.HasParseError());
  std::vector<std::string> exprs;
  collect_exprs(dashboard, exprs);
  REQUIRE(exprs.size() >= 10);

  // Both domains, and every kind of request, so that every series exists.
  ServerProcess server;
  Api api(server);
  ClinicApi clinic(server);
  REQUIRE(api.charge("alice", 100).ok());
  REQUIRE(api.balance("alice").ok());
  REQUIRE(api.status("not-a-token").status == 401);
  REQUIRE(clinic.reserve_v1("v1", at("10:00"), at("11:00")).ok());
  const Scrape s = scrape(server.port());
  std::set<std::string> served;
  for (const auto& series : s.order) served.insert(series.substr(0, series.find('{')));

  const std::regex name("reservoir_[a-z0-9_]+");
  size_t names = 0;
  for (const std::string& expr : exprs) {
    for (std::sregex_iterator it(expr.begin(), expr.end(), name), end; it != end; ++it) {
      const std::string metric = it->str();
      ++names;
      // The Kafka commit histogram exists only on --log kafka (RESERVOIR_TEST_LOG=kafka).
      if (!server.kafka() && metric.rfind("reservoir_kafka_", 0) == 0) continue;
      CHECK_MESSAGE(served.count(metric) == 1, metric << " (in " << expr << ") is not served");
    }
  }
  CHECK(names >= exprs.size());
}

}  // namespace reservoir::test
