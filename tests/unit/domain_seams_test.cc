// The seams a second domain plugs into (docs/CLINIC-DESIGN.md (a)): the
// writer's and follower's thread names, the Service's per-domain
// read-your-writes link, the split body checks, and the shared RocksDB key
// helpers.
#include <doctest/doctest.h>

#include <dirent.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "api/dialect.h"
#include "api/render.h"
#include "api/service.h"
#include "engine/concert/module.h"
#include "events/os.h"
#include "projections/follower.h"
#include "projections/keys.h"
#include "projections/views.h"
#include "support/memory_log.h"
#include "support/temp_dir.h"

namespace reservoir {
namespace {

constexpr int64_t kT0 = 1'800'000'000'000;

// The names of this process's threads (/proc/self/task/*/comm).
std::set<std::string> thread_names() {
  std::set<std::string> names;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return names;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + entry->d_name + "/comm");
    std::string name;
    if (std::getline(comm, name)) names.insert(name);
  }
  closedir(dir);
  return names;
}

// A concert engine on a MemoryLog, its views and follower, and a Service.
struct Engine {
  explicit Engine(WriterConfig wc = {}, projections::FollowerOptions fo = {})
      : writer(module, log, clock, random, &api::render_reply, wc) {
    auto v = projections::Projections::open(dir.path());
    REQUIRE(v.ok());
    views = std::move(*v);
    REQUIRE(writer.recover().ok());
    writer.start();
    follower = std::make_unique<projections::Follower>(log, *views, fo);
    follower->start();
    api::ServiceConfig config;
    config.read_wait_ms = 20;
    service = std::make_unique<api::Service>(writer, *views, *follower, clock, config);
  }
  ~Engine() {
    writer.stop();
    follower->stop();
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
};

Rendered plain_envelope(int status, std::string_view code, std::string_view message) {
  return Rendered{status, std::string(code) + ": " + std::string(message)};
}

const api::RouteSpec kRoute{"GET", "/t", "t", nullptr};

api::Dialect dialect_of(api::Domain domain) {
  return api::Dialect{"seam-test", "/t/", {}, {}, {}, &plain_envelope, domain};
}

TEST_CASE("writer and follower threads carry their configured names") {
  WriterConfig wc;
  wc.thread_name = "rsv-seam-wr";
  projections::FollowerOptions fo;
  fo.thread_name = "rsv-seam-fol";
  Engine e(wc, fo);
  // Each thread names itself as it starts running: wait for both.
  auto names = thread_names();
  for (int i = 0; i < 200 && (names.count("rsv-seam-wr") == 0 || names.count("rsv-seam-fol") == 0);
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    names = thread_names();
  }
  CHECK(names.count("rsv-seam-wr") == 1);
  CHECK(names.count("rsv-seam-fol") == 1);
  CHECK(names.count("rsv-writer") == 0);
}

TEST_CASE("the default thread names are today's") {
  CHECK(WriterConfig{}.thread_name == "rsv-writer");
  CHECK(WriterConfig{}.snapshot_thread_name == "rsv-snapshot");
  CHECK(projections::FollowerOptions{}.thread_name == "rsv-follower");
}

TEST_CASE("every dialect belongs to its domain: the concert ones, and clinic") {
  for (const api::Dialect* d : api::all_dialects()) {
    CAPTURE(d->name);
    CHECK(d->domain == (d->name == "clinic" ? api::Domain::kClinic : api::Domain::kConcert));
  }
}

TEST_CASE("await_writes waits on the link of the call's domain") {
  Engine e;
  api::Request req;
  const api::Dialect concert = dialect_of(api::Domain::kConcert);
  const api::Dialect clinic = dialect_of(api::Domain::kClinic);
  const api::Call concert_call{*e.service, req, concert, kRoute, {}};
  const api::Call clinic_call{*e.service, req, clinic, kRoute, {}};
  CHECK_FALSE(e.service->await_writes(concert_call).has_value());

  auto unlinked = e.service->await_writes(clinic_call);
  REQUIRE(unlinked.has_value());
  CHECK(unlinked->status == 503);

  uint64_t acked = 0;
  e.service->link(api::Domain::kClinic, api::DomainLink{[&] { return acked; }, e.follower.get()});
  CHECK_FALSE(e.service->await_writes(clinic_call).has_value());
  acked = 1'000;  // beyond what the follower will ever apply here
  auto behind = e.service->await_writes(clinic_call);
  REQUIRE(behind.has_value());
  CHECK(behind->status == 503);
  CHECK(behind->body == "UNAVAILABLE: projections are catching up; retry shortly");
  CHECK_FALSE(e.service->await_writes(concert_call).has_value());  // concert's own link
}

TEST_CASE("check_body_limits answers 413 and 415; parse_body answers 400") {
  Engine e;
  const api::Dialect d = dialect_of(api::Domain::kClinic);
  api::Request req;
  const api::Call call{*e.service, req, d, kRoute, {}};
  const std::string big(api::kBodyBytesMax + 1, ' ');
  req.body = big;
  req.content_type = "application/json";
  REQUIRE(e.service->check_body_limits(call).has_value());
  CHECK(e.service->check_body_limits(call)->status == 413);
  req.body = "{}";
  req.content_type = "text/plain";
  REQUIRE(e.service->check_body_limits(call).has_value());
  CHECK(e.service->check_body_limits(call)->status == 415);
  req.content_type = "application/json; charset=utf-8";
  CHECK_FALSE(e.service->check_body_limits(call).has_value());

  rapidjson::Document doc;
  CHECK_FALSE(e.service->parse_body(call, doc).has_value());
  req.body = "[1]";
  auto bad = e.service->parse_body(call, doc);
  REQUIRE(bad.has_value());
  CHECK(bad->status == 400);
  // read_body is the two in order: the limits first.
  req.content_type = "text/plain";
  CHECK(e.service->read_body(call, doc)->status == 415);
}

TEST_CASE("key helpers: ordered hex sorts as the numbers; prefix_end bounds a prefix") {
  using namespace projections::keys;
  CHECK(ordered_hex(-1) < ordered_hex(0));
  CHECK(ordered_hex(0) < ordered_hex(1));
  CHECK(ordered_hex(INT64_MIN) < ordered_hex(INT64_MAX));
  CHECK(ordered_hex(0).size() == kHexChars);
  CHECK(hex64(255) == "00000000000000ff");
  CHECK(parse_hex64(hex64(0x0123456789abcdefULL)) == 0x0123456789abcdefULL);
  CHECK_FALSE(parse_hex64("00ff").has_value());
  CHECK_FALSE(parse_hex64("00000000000000FF").has_value());
  CHECK(prefix_end("st/s1/") == "st/s10");
  CHECK(cat({"a/", "b", "/c"}) == "a/b/c");
}

}  // namespace
}  // namespace reservoir
