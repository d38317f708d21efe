// The operators' console (SPEC §8, api/console.h) on a real server: the
// page and its built-in files, the admin key on every data route, and the
// event browser's paging and filters over the log while the server writes
// it (on the embedded log, and on Kafka under integration_kafka). The page
// itself is driven in a real browser by tests/browser/console_test.mjs.
#include <filesystem>
#include <set>

#include "support/server_process.h"

namespace reservoir::test {
namespace {

const std::string kKey = "console-admin-key";

#define CHECK_ERROR(reply, status_code, error_code)              \
  do {                                                           \
    const Reply& r_ = (reply);                                   \
    CHECK_MESSAGE(r_.status == (status_code), r_.text());        \
    CHECK_MESSAGE(r_.code() == (error_code), r_.text());         \
    CHECK_MESSAGE(str(r_.json, "result") == "ERROR", r_.text()); \
  } while (0)

httplib::Headers with_key(const std::string& key = kKey) {
  return {{"Admin-Key", key}};
}

// One page of /admin/events (REQUIREs a 200).
struct Page {
  std::vector<int64_t> offsets;
  std::vector<std::string> types;
  std::vector<const rapidjson::Value*> data;
  int64_t next = 0, end = 0;
  Reply reply;
};

Page events_page(Api& api, const std::string& query) {
  Page p;
  p.reply = api.get("/admin/events?" + query, with_key());
  REQUIRE_MESSAGE(p.reply.ok(), p.reply.text());
  const rapidjson::Value& d = p.reply.data();
  for (const auto& e : d["events"].GetArray()) {
    p.offsets.push_back(num(e, "offset"));
    p.types.push_back(str(e, "type"));
    p.data.push_back(member(e, "data"));
  }
  p.next = num(d, "next");
  p.end = num(d, "end");
  return p;
}

TEST_CASE("console: every route answers 403 ADMIN_DISABLED without --admin-key") {
  ServerProcess server;
  Api api(server);
  for (const char* path : {"/console", "/console/console.js", "/admin/events",
                           "/admin/waiting-room", "/admin/clinic/zones/z/day?date=2030-01-01"}) {
    CAPTURE(path);
    CHECK_ERROR(api.get(path, with_key()), 403, "ADMIN_DISABLED");
  }
}

TEST_CASE("console: the page is built in; its data routes refuse a missing or wrong key") {
  ServerProcess server(ServerOptions().admin(kKey));
  Api api(server);
  // The page holds no data: a browser's navigation cannot carry the key.
  Reply page = api.get("/console");
  REQUIRE_MESSAGE(page.status == 200, page.text());
  CHECK(page.header("Content-Type").starts_with("text/html"));
  CHECK(page.header("Content-Security-Policy").find("default-src 'self'") != std::string::npos);
  CHECK(page.body.find("/console/console.js") != std::string::npos);
  Reply script = api.get("/console/console.js");
  CHECK(script.status == 200);
  CHECK(script.header("Content-Type").starts_with("text/javascript"));
  CHECK(script.body.find("Admin-Key") != std::string::npos);
  CHECK(api.get("/console/console.css").header("Content-Type").starts_with("text/css"));
  CHECK_ERROR(api.get("/console/nothing.js"), 404, "NOT_FOUND");
  for (const char* path : {"/admin/events", "/admin/waiting-room"}) {
    CAPTURE(path);
    CHECK_ERROR(api.get(path), 401, "ADMIN_KEY_REQUIRED");
    CHECK_ERROR(api.get(path, with_key("wrong")), 401, "ADMIN_KEY_REQUIRED");
    CHECK_ERROR(api.get(path, with_key(kKey + "x")), 401, "ADMIN_KEY_REQUIRED");
    CHECK(api.get(path, with_key()).ok());
  }
  // The console's own polling is counted under one route of its own.
  CHECK(api.get("/metrics").body.find("route=\"console\"") != std::string::npos);
}

TEST_CASE("console: the event browser pages through the log") {
  // Without the clinic domain: its log cannot be browsed.
  ServerProcess server(ServerOptions().admin(kKey).api("canonical"));
  Api api(server);
  const std::string token = api.active_token("alice");
  api.hold_ok(token, kSchedule1, {"A1"});
  const Page all = events_page(api, "limit=500");
  REQUIRE(all.offsets.size() > 8);
  CHECK(all.next == all.end);
  CHECK(static_cast<int64_t>(all.offsets.size()) == all.end);  // the demo log is < 500 events
  // Pages of 7 from 0, each starting at the last one's `next`, give the same events.
  std::vector<int64_t> paged;
  for (int64_t from = 0; from < all.end;) {
    const Page p = events_page(api, "limit=7&from=" + std::to_string(from));
    REQUIRE(!p.offsets.empty());
    CHECK(p.offsets.size() <= 7);
    CHECK(p.offsets.front() == from);
    paged.insert(paged.end(), p.offsets.begin(), p.offsets.end());
    CHECK(p.next == p.offsets.back() + 1);
    from = p.next;
  }
  CHECK(paged == all.offsets);
  const Page past = events_page(api, "from=" + std::to_string(all.end + 100));
  CHECK(past.offsets.empty());
  CHECK(past.end == all.end);
  // Bounded limit, and malformed parameters, in the canonical envelope.
  CHECK_ERROR(api.get("/admin/events?limit=0", with_key()), 400, "INVALID_REQUEST");
  CHECK_ERROR(api.get("/admin/events?limit=501", with_key()), 400, "INVALID_REQUEST");
  CHECK_ERROR(api.get("/admin/events?from=-1", with_key()), 400, "INVALID_REQUEST");
  CHECK_ERROR(api.get("/admin/events?from=x", with_key()), 400, "INVALID_REQUEST");
  CHECK_ERROR(api.get("/admin/events?domain=hotel", with_key()), 400, "INVALID_REQUEST");
  CHECK_ERROR(api.get("/admin/events?domain=clinic", with_key()), 404, "NOT_FOUND");
  CHECK(events_page(api, "limit=500").offsets.size() == all.offsets.size());
}

TEST_CASE("console: the event browser's filters, and no secret in what it shows") {
  ServerProcess server(ServerOptions().admin(kKey));
  Api api(server);
  const std::string token = api.active_token("alice");
  const std::string held = api.hold_ok(token, kSchedule1, {"A1", "A2"});
  const std::string other = api.hold_ok(api.active_token("bob"), kSchedule2, {"B1"});

  const Page by_reservation = events_page(api, "limit=500&reservation=" + held);
  REQUIRE(!by_reservation.offsets.empty());
  CHECK(std::find(by_reservation.types.begin(), by_reservation.types.end(), "SeatsHeld") !=
        by_reservation.types.end());
  for (const auto* d : by_reservation.data) CHECK(str(*d, "reservationId") == held);

  const Page by_user = events_page(api, "limit=500&user=bob");
  REQUIRE(!by_user.offsets.empty());
  std::set<std::string> bob_types(by_user.types.begin(), by_user.types.end());
  CHECK(bob_types.count("TokenIssued") == 1);
  CHECK(bob_types.count("SeatsHeld") == 1);
  for (const auto* d : by_user.data) {
    CHECK((str(*d, "userId") == "bob" || str(*d, "scope") == "bob"));
  }

  const Page by_type = events_page(api, "limit=500&type=SeatsHeld");
  CHECK(by_type.offsets.size() == 2);
  for (const auto& t : by_type.types) CHECK(t == "SeatsHeld");

  const Page by_schedule = events_page(api, "limit=500&type=SeatsHeld&schedule=" + kSchedule2);
  REQUIRE(by_schedule.offsets.size() == 1);
  CHECK(str(*by_schedule.data[0], "reservationId") == other);

  // A filter nothing matches examines the whole (short) log and says so.
  const Page none = events_page(api, "visitor=nobody");
  CHECK(none.offsets.empty());
  CHECK(none.next == none.end);

  // Tokens appear as hashes only; their seals are not shown either.
  const Page all = events_page(api, "limit=500");
  CHECK(all.reply.body.find(token) == std::string::npos);
  CHECK(all.reply.body.find("tokenSeal") == std::string::npos);
  CHECK(all.reply.body.find("tokenHash") != std::string::npos);
}

TEST_CASE("console: one request examines at most 10,000 events; `next` goes on from there") {
  // A log longer than one request's scan, written by gen-log (embedded).
  ServerProcess server(ServerOptions().on(Backend::kEmbedded).no_demo().admin(kKey));
  const std::string data = server.data_dir();
  REQUIRE(server.terminate() == 0);
  std::filesystem::remove_all(data);
  RunResult gen = run_reservoir({"gen-log", "--data", data, "--events", "25000"}, 60s);
  REQUIRE_MESSAGE(gen.status == 0, gen.err);
  server.start();
  Api api(server);
  // A filter nothing matches: each page is empty and moves 10,000 on.
  std::vector<int64_t> nexts;
  int64_t end = 0;
  for (int64_t from = 0; nexts.size() < 10;) {
    const Page p = events_page(api, "visitor=nobody&from=" + std::to_string(from));
    CHECK(p.offsets.empty());
    end = p.end;
    nexts.push_back(p.next);
    if (p.next == p.end) break;
    from = p.next;
  }
  REQUIRE(end >= 25000);
  REQUIRE(nexts.size() >= 3);
  CHECK(nexts[0] == 10000);
  CHECK(nexts[1] == 20000);
  CHECK(nexts.back() == end);
  // A filter that matches: the page ends at `limit`, `next` right after it.
  const Page users = events_page(api, "type=UserRegistered&limit=5");
  REQUIRE(users.offsets.size() == 5);
  CHECK(users.next == users.offsets.back() + 1);
}

TEST_CASE("console: the waiting room counts WAITING tokens") {
  ServerProcess server(ServerOptions().admin(kKey).with({"--active-tokens", "1"}));
  Api api(server);
  auto waiting = [&] {
    Reply r = api.get("/admin/waiting-room", with_key());
    REQUIRE_MESSAGE(r.ok(), r.text());
    return num(r.data(), "waiting");
  };
  CHECK(waiting() == 0);
  api.active_token("alice");
  CHECK(waiting() == 0);
  for (const char* user : {"bob", "carol"}) {
    Reply r = api.token(user);
    REQUIRE_MESSAGE(r.ok(), r.text());
    CHECK(str(r.data(), "tokenStatus") == "WAITING");
  }
  CHECK(eventually([&] { return waiting() == 2; }));
}

TEST_CASE("console: a clinic zone's day through the admin key") {
  ServerProcess server(ServerOptions().admin(kKey).api("canonical,clinic"));
  Api api(server);
  Reply day = api.get("/admin/clinic/zones/zone-consult/day?date=2030-01-02", with_key());
  REQUIRE_MESSAGE(day.ok(), day.text());
  CHECK(str(day.data(), "zoneId") == "zone-consult");
  CHECK(str(day.data(), "date") == "2030-01-02");
  CHECK(day.data()["items"].IsArray());
  CHECK_ERROR(api.get("/admin/clinic/zones/zone-consult/day?date=2030-13-02", with_key()), 400,
              "INVALID_REQUEST");
  CHECK_ERROR(api.get("/admin/clinic/zones/nowhere/day?date=2030-01-02", with_key()), 404,
              "NOT_FOUND");
  CHECK_ERROR(api.get("/admin/clinic/zones/zone-consult/day?date=2030-01-02"), 401,
              "ADMIN_KEY_REQUIRED");
  const Page clinic = events_page(api, "domain=clinic&limit=500&type=ZoneCreated");
  CHECK(clinic.offsets.size() == 3);
  Reply room = api.get("/admin/waiting-room", with_key());
  CHECK(room.data()["clinicServed"].GetBool());
}

}  // namespace
}  // namespace reservoir::test
