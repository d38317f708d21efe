// QueryCache on its own (hits, windows, the bound), then the Service's
// queries through it: given commands (events applied), the answer changes at
// once and equals what an uncached Service renders. Last, the HttpServer in
// front of such a Service: how it stops.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/http_server.h"
#include "api/query_cache.h"
#include "api/render.h"
#include "api/service.h"
#include "engine/concert/module.h"
#include "events/os.h"
#include "projections/follower.h"
#include "projections/views.h"
#include "support/memory_log.h"
#include "support/sanitizers.h"
#include "support/temp_dir.h"

namespace {

using namespace reservoir;
using reservoir::api::QueryCache;
using reservoir::test::TempDir;

constexpr int64_t kT0 = 1'800'000'000'000;                 // 2027-01-15T08:00:00Z
constexpr const char* kStartsAt = "2027-01-16T08:00:00Z";  // kT0 + 1 day
constexpr int64_t kDayMs = 24 * 3600 * 1000;

using reservoir::test::kThreadSanitizer;

QueryCache::Stamp stamp(size_t stripe, uint64_t version) {
  QueryCache::Stamp s;
  s.stripe = stripe;
  s.version = version;
  return s;
}

TEST_CASE("query cache: a hit needs the same stripe and version, and a time in the window") {
  QueryCache cache;
  cache.store("k", stamp(3, 7), "body");
  auto hit = cache.find("k", 3, 7, kT0);
  REQUIRE(hit);
  CHECK(*hit == "body");
  CHECK_FALSE(cache.find("k", 3, 8, kT0));  // the part changed since
  CHECK_FALSE(cache.find("k", 4, 7, kT0));
  CHECK_FALSE(cache.find("other", 3, 7, kT0));

  QueryCache::Stamp windowed = stamp(1, 1);
  windowed.valid_from_ms = kT0;
  windowed.valid_until_ms = kT0 + 10;
  cache.store("w", windowed, "timed");
  CHECK(cache.find("w", 1, 1, kT0));
  CHECK(cache.find("w", 1, 1, kT0 + 9));
  CHECK_FALSE(cache.find("w", 1, 1, kT0 + 10));
  CHECK_FALSE(cache.find("w", 1, 1, kT0 - 1));

  const QueryCache::Stats st = cache.stats();
  CHECK(st.hits == 3);
  CHECK(st.misses == 5);
  CHECK(st.entries == 2);
}

TEST_CASE("query cache: split_at keeps the window on now's side of each change") {
  QueryCache::Stamp s = stamp(1, 1);
  s.split_at(kT0 - 50, kT0);  // changed already: valid from then
  s.split_at(kT0 - 80, kT0);  // an earlier change does not widen it
  s.split_at(kT0 + 30, kT0);  // changes later: valid until then
  s.split_at(kT0 + 90, kT0);
  CHECK(s.valid_from_ms == kT0 - 50);
  CHECK(s.valid_until_ms == kT0 + 30);
  s.split_at(kT0, kT0);  // a change at now has happened ("now >= change")
  CHECK(s.valid_from_ms == kT0);
  QueryCache cache;
  cache.store("k", s, "b");
  CHECK(cache.find("k", 1, 1, kT0 + 29));
  CHECK_FALSE(cache.find("k", 1, 1, kT0 + 30));
  CHECK_FALSE(cache.find("k", 1, 1, kT0 - 1));
}

TEST_CASE("query cache: a newer answer is never replaced by an older one") {
  QueryCache cache;
  cache.store("k", stamp(3, 8), "new");
  cache.store("k", stamp(3, 7), "old");  // a reader that loaded version 7 finishes late
  CHECK_FALSE(cache.find("k", 3, 7, kT0));
  REQUIRE(cache.find("k", 3, 8, kT0));
  CHECK(*cache.find("k", 3, 8, kT0) == "new");
  cache.store("k", stamp(3, 9), "newer");
  CHECK(*cache.find("k", 3, 9, kT0) == "newer");
  CHECK(cache.stats().entries == 1);
}

TEST_CASE("query cache: the byte bound holds, least recently used go first") {
  constexpr size_t kBodyBytes = 100;
  constexpr size_t kPerShard = 4;  // entries that fit one shard
  const size_t entry_bytes = 4 + kBodyBytes + QueryCache::kEntryOverheadBytes;  // "kNNN"
  const size_t bytes_max = QueryCache::kShards * kPerShard * entry_bytes;
  QueryCache cache(bytes_max);
  for (int i = 0; i < 1000; ++i) {
    cache.store("k" + std::to_string(100 + i), stamp(0, 0), std::string(kBodyBytes, 'x'));
    // k100 is used all along, so it stays.
    CHECK(cache.find("k100", 0, 0, kT0));
    REQUIRE(cache.stats().bytes <= bytes_max);
  }
  const QueryCache::Stats st = cache.stats();
  CHECK(st.entries <= QueryCache::kShards * kPerShard);
  CHECK(st.entries > 0);
  CHECK(cache.find("k1099", 0, 0, kT0));       // the newest is kept
  CHECK_FALSE(cache.find("k101", 0, 0, kT0));  // an old unused one is gone

  // A body larger than a shard's share is not kept at all.
  cache.store("huge", stamp(0, 0), std::string(bytes_max, 'x'));
  CHECK_FALSE(cache.find("huge", 0, 0, kT0));
  CHECK(cache.stats().bytes <= bytes_max);
}

// ---- the Service's queries through the cache --------------------------------

api::ServiceConfig service_config(size_t cache_bytes) {
  api::ServiceConfig c;
  c.admin_key = "k";
  c.query_cache_bytes = cache_bytes;
  return c;
}

// A whole Service over a MemoryLog: writer, projections and follower, with a
// ManualClock at kT0. `plain` is a second Service on the same state whose
// cache keeps nothing: what every query would answer without the cache.
struct Api {
  Api() {
    auto v = projections::Projections::open(dir.path());
    REQUIRE(v.ok());
    views = std::move(*v);
    REQUIRE(writer.recover().ok());
    writer.start();
    follower = std::make_unique<projections::Follower>(log, *views);
    follower->start();
    service = std::make_unique<api::Service>(writer, *views, *follower, clock,
                                             service_config(QueryCache::kBytesDefault));
    plain = std::make_unique<api::Service>(writer, *views, *follower, clock, service_config(0));
  }
  ~Api() {
    writer.stop();
    follower->stop();
  }

  api::Answer call(api::Service& s, const char* method, const std::string& path,
                   const std::string& body = "", const std::string& token = "") {
    api::Request r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.params = &params;
    if (!body.empty()) r.content_type = "application/json";
    if (!token.empty()) r.queue_token = token;
    r.admin_key = "k";
    return s.handle(r);
  }
  api::Answer post(const std::string& path, const std::string& body,
                   const std::string& token = "") {
    api::Answer r = call(*service, "POST", path, body, token);
    INFO(path << " -> " << r.text());
    REQUIRE(r.status == 200);
    return r;
  }
  // GETs through the cache; checks the answer is the uncached one, byte for byte.
  std::string get(const std::string& path, std::multimap<std::string, std::string> query = {}) {
    params = std::move(query);
    const api::Answer cached = call(*service, "GET", path);
    const api::Answer fresh = call(*plain, "GET", path);
    CHECK(cached == fresh);
    return std::string(cached.text());
  }
  uint64_t hits() const { return metric("reservoir_query_cache_hits_total "); }
  uint64_t metric(const std::string& name) const {
    const std::string m = service->metrics();
    const size_t at = m.find("\n" + name);
    REQUIRE(at != std::string::npos);
    return std::stoull(m.substr(at + 1 + name.size()));
  }

  TempDir dir;
  test::MemoryLog log;
  ManualClock clock{kT0};
  SeededRandom random{7};
  concert::Module module{concert::Limits{}};
  api::ConcertWriter writer{module, log, clock, random, &api::render_reply, WriterConfig{}};
  std::unique_ptr<projections::Projections> views;
  std::unique_ptr<projections::Follower> follower;
  std::unique_ptr<api::Service> service;
  std::unique_ptr<api::Service> plain;
  std::multimap<std::string, std::string> params;
};

// Concert `id` with one schedule `id`-s of `seats` seats a1, a2, ... (price 100).
std::string concert_body(const std::string& id, int seats = 2) {
  std::string list;
  for (int n = 1; n <= seats; ++n) {
    if (n > 1) list += ",";
    list += R"({"seatId":"a)" + std::to_string(n) + R"(","number":)" + std::to_string(n) +
            R"(,"price":100})";
  }
  return R"({"concertId":")" + id + R"(","title":"Show","schedules":[{"concertScheduleId":")" + id +
         R"(-s","startsAt":")" + kStartsAt + R"(","seats":[)" + list + "]}]}";
}

size_t held_seats(std::string_view body) {
  size_t n = 0;
  for (size_t at = body.find(R"("HELD")"); at != std::string::npos;
       at = body.find(R"("HELD")", at + 1)) {
    ++n;
  }
  return n;
}

// The value of "token" in a token answer.
std::string token_of(std::string_view body) {
  const std::string key = R"("token":")";
  const size_t at = body.find(key);
  REQUIRE(at != std::string::npos);
  return std::string(
      body.substr(at + key.size(), body.find('"', at + key.size()) - at - key.size()));
}

TEST_CASE("service: cached query answers follow every applied change at once") {
  Api api;
  api.post("/api/v1/admin/users", R"({"userId":"u1"})");
  api.post("/api/v1/admin/concerts", concert_body("c1"));
  const std::string seats_path = "/api/v1/concerts/c1/schedules/c1-s/seats";
  const std::string schedules_path = "/api/v1/concerts/c1/schedules";

  const std::string seats0 = api.get(seats_path);
  CHECK(seats0.find("HELD") == std::string::npos);
  const uint64_t hits0 = api.hits();
  CHECK(api.get(seats_path) == seats0);  // served again, from the cache
  CHECK(api.hits() == hits0 + 1);
  const std::string schedules0 = api.get(schedules_path);
  CHECK(schedules0.find(R"("availableSeats":2)") != std::string::npos);
  const std::string balance0 = api.get("/api/v1/balance", {{"userId", "u1"}});
  const std::string concerts0 = api.get("/api/v1/concerts");

  SUBCASE("a hold shows in the seats and the schedules list of the next query") {
    const std::string token =
        token_of(api.post("/api/v1/queue/token", R"({"userId":"u1"})").text());
    api.post("/api/v1/reservations", R"({"concertScheduleId":"c1-s","seatId":"a1"})", token);
    const std::string seats1 = api.get(seats_path);
    CHECK(seats1 != seats0);
    CHECK(seats1.find(R"({"seatId":"a1","number":1,"price":100,"status":"HELD"})") !=
          std::string::npos);
    CHECK(api.get(schedules_path).find(R"("availableSeats":1)") != std::string::npos);
    CHECK(api.get("/api/v1/balance", {{"userId", "u1"}}) == balance0);
  }
  SUBCASE("a charge shows in the next balance answer") {
    api.post("/api/v1/balance/charge", R"({"userId":"u1","amount":500})");
    CHECK(api.get("/api/v1/balance", {{"userId", "u1"}}) ==
          R"({"result":"SUCCESS","data":{"userId":"u1","balance":500}})");
    CHECK(api.get(seats_path) == seats0);
  }
  SUBCASE("a new concert shows in the next concert list") {
    api.post("/api/v1/admin/concerts", concert_body("c2"));
    const std::string concerts1 = api.get("/api/v1/concerts");
    CHECK(concerts1 != concerts0);
    CHECK(concerts1.find(R"("concertId":"c2")") != std::string::npos);
  }
  SUBCASE("a schedule enters the AVAILABLE list when it opens, cached or not") {
    const std::multimap<std::string, std::string> available{{"status", "AVAILABLE"}};
    // c2 opens an hour from now; c1 is open.
    std::string body = concert_body("c2");
    body.replace(body.find(R"("startsAt")"), 0, R"("reservationOpensAt":"2027-01-15T09:00:00Z",)");
    api.post("/api/v1/admin/concerts", body);
    const std::string c2 = "/api/v1/concerts/c2/schedules";
    CHECK(api.get(c2).find(R"("reservationOpensAt":"2027-01-15T09:00:00.000Z")") !=
          std::string::npos);
    CHECK(api.get(c2, available) == R"({"result":"SUCCESS","data":[]})");
    CHECK(api.get(c2, available) == R"({"result":"SUCCESS","data":[]})");  // cached
    api.clock.advance_ms(3600 * 1000 - 1);
    CHECK(api.get(c2, available) == R"({"result":"SUCCESS","data":[]})");
    api.clock.advance_ms(1);  // it opens now
    CHECK(api.get(c2, available).find("c2-s") != std::string::npos);
    api.clock.set_ms(kT0);  // a clock stepped back hides it again
    CHECK(api.get(c2, available) == R"({"result":"SUCCESS","data":[]})");
    // Omitted, the opening is the creation time.
    CHECK(api.get(schedules_path).find(R"("reservationOpensAt":"2027-01-15T08:00:00.000Z")") !=
          std::string::npos);
  }
  SUBCASE("a schedule that has started leaves the AVAILABLE list, cached or not") {
    const std::multimap<std::string, std::string> available{{"status", "AVAILABLE"}};
    CHECK(api.get(schedules_path, available).find("c1-s") != std::string::npos);
    CHECK(api.get(schedules_path, available).find("c1-s") != std::string::npos);
    api.clock.advance_ms(kDayMs);  // the schedule starts now
    CHECK(api.get(schedules_path, available) == R"({"result":"SUCCESS","data":[]})");
    api.clock.set_ms(kT0);  // a clock stepped back shows it again
    CHECK(api.get(schedules_path, available).find("c1-s") != std::string::npos);
  }
}

TEST_CASE("service: concurrent readers never see a cached answer go back in time" *
          doctest::skip(kThreadSanitizer)) {
  constexpr int kUsers = 4, kHoldsPerUser = 2, kReaders = 3;
  Api api;
  api.post("/api/v1/admin/concerts", concert_body("c1", kUsers * kHoldsPerUser));
  std::vector<std::string> tokens;
  for (int u = 0; u < kUsers; ++u) {
    const std::string user = "u" + std::to_string(u);
    api.post("/api/v1/admin/users", R"({"userId":")" + user + R"("})");
    tokens.push_back(
        token_of(api.post("/api/v1/queue/token", R"({"userId":")" + user + R"("})").text()));
  }
  const std::string seats_path = "/api/v1/concerts/c1/schedules/c1-s/seats";
  std::atomic<bool> done{false};
  std::atomic<int> went_back{0}, failed{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      api::Request req;
      req.method = "GET";
      req.path = seats_path;
      size_t seen = 0;
      while (!done.load()) {
        const api::Answer out = api.service->handle(req);
        if (out.status != 200) failed.fetch_add(1);
        const size_t held = held_seats(out.text());
        if (held < seen) went_back.fetch_add(1);
        seen = held;
      }
    });
  }
  size_t holds = 0;
  for (int i = 0; i < kHoldsPerUser; ++i) {
    for (int u = 0; u < kUsers; ++u) {
      const std::string seat = "a" + std::to_string(++holds);
      api.post("/api/v1/reservations", R"({"concertScheduleId":"c1-s","seatId":")" + seat + R"("})",
               tokens[u]);
      // Acknowledged, so the next query shows it, whatever the readers cached.
      CHECK(held_seats(api.get(seats_path)) == holds);
    }
  }
  done.store(true);
  for (auto& t : readers) t.join();
  CHECK(went_back.load() == 0);
  CHECK(failed.load() == 0);
}

TEST_CASE("service: errors are not cached, and the cache stays within its bound") {
  Api api;
  CHECK(api.call(*api.service, "GET", "/api/v1/concerts/c1/schedules").status == 404);
  api.post("/api/v1/admin/concerts", concert_body("c1"));
  CHECK(api.get("/api/v1/concerts/c1/schedules").find("c1-s") != std::string::npos);
  CHECK(api.metric("reservoir_query_cache_bytes ") <= QueryCache::kBytesDefault);
  // The uncached Service keeps nothing.
  CHECK(api.plain->metrics().find("reservoir_query_cache_bytes 0\n") != std::string::npos);
}

// httplib drops a stop() that comes before (or while) its accept loop
// starts: a SIGTERM just after start-up once left `serve` running for good.
TEST_CASE("HttpServer: stop() before serve() makes serve() return at once; so does one during it") {
  Api a;
  api::HttpConfig config;
  config.port = 0;
  config.worker_threads = 4;
  {
    api::HttpServer http(*a.service, config);
    std::string error;
    REQUIRE_MESSAGE(http.bind(&error), error);
    http.stop();
    auto served = std::async(std::launch::async, [&] { return http.serve(); });
    REQUIRE(served.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(served.get());
  }
  api::HttpServer http(*a.service, config);
  std::string error;
  REQUIRE_MESSAGE(http.bind(&error), error);
  auto served = std::async(std::launch::async, [&] { return http.serve(); });
  http.stop();  // wherever serve() is by now
  REQUIRE(served.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(served.get());
}

}  // namespace
