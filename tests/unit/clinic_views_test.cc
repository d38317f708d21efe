// ClinicViews: given clinic events, then the clinic queries (SPEC §6.3).
#include <doctest/doctest.h>

#include <rocksdb/db.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "events/clinic_events.h"
#include "events/clinic_time.h"
#include "events/codec.h"
#include "events/engine_events.h"
#include "projections/clinic_views.h"
#include "support/sanitizers.h"
#include "support/temp_dir.h"

namespace {

using namespace reservoir;
using namespace reservoir::projections;
using reservoir::test::TempDir;
namespace ev = reservoir::events;
namespace ct = reservoir::clinic_time;

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kKst = 540;  // +09:00

// Unix ms of `date` (YYYY-MM-DD) at hh:mm UTC.
int64_t utc(const char* date, int64_t hh, int64_t mm = 0) {
  return *ct::parse_day(date) * ct::kDayMs + hh * kHourMs + mm * kMinuteMs;
}
int64_t day(const char* date) {
  return *ct::parse_day(date);
}

// Schedule ids are UUIDs (one length), named here by their last digit.
std::string sid(char c) {
  return std::string("00000000-0000-8000-8000-00000000000") + c;
}

ev::OccupiedResource res(int64_t start, int64_t end, const std::string& zone,
                         const std::string& doctor = "") {
  return ev::OccupiedResource{start, end, "g1", zone, doctor};
}

ev::ScheduleBody body(char id, const std::string& visitor, const std::string& reception,
                      std::vector<ev::OccupiedResource> resources, int64_t created_at) {
  ev::ScheduleBody b;
  b.schedule_id = sid(id);
  b.visitor_id = visitor;
  b.zone_id = reception;
  b.resources = std::move(resources);
  b.api = "v2";
  b.created_at = created_at;
  return b;
}

template <class E>
E as(const ev::ScheduleBody& b) {
  E e;
  static_cast<ev::ScheduleBody&>(e) = b;
  return e;
}

ev::ScheduleUpdated update(const ev::ScheduleBody& before, const std::string& reception,
                           std::vector<ev::OccupiedResource> resources) {
  ev::ScheduleUpdated e = as<ev::ScheduleUpdated>(before);
  e.zone_id = reception;
  e.resources = std::move(resources);
  e.previous_zone_id = before.zone_id;
  e.previous_resources = before.resources;
  return e;
}

// Envelopes with consecutive offsets; event i is written at kT0 + i s.
constexpr int64_t kT0 = 1'790'000'000'000;
struct Log {
  std::vector<EventEnvelope> envs;
  void add(const ev::ClinicEvent& e) { push(ev::ClinicCatalog::encode(e, time_of(envs.size()))); }
  void add_engine(const ev::EngineEvent& e) {
    push(ev::EngineCatalog::encode(e, time_of(envs.size())));
  }
  void push(EventEnvelope env) {
    env.offset = envs.size();
    envs.push_back(std::move(env));
  }
  static int64_t time_of(size_t offset) { return kT0 + static_cast<int64_t>(offset) * 1000; }
};

// The scenario every test starts from. Visitors v1, v2; zones zA (capacity
// 1), zB (unlimited); group g1 = {zA, zB}; the clinic at +09:00, so clinic
// day 12-24 is [12-23 15:00Z, 12-24 15:00Z).
//   S1 (v1): 12-23 15:00Z zA (doctor) + 15:30Z zB; updated: both in zA at
//            15:00Z (zones move, first start kept).
//   S2 (v1): 12-23 14:00Z zB (23:00 on clinic day 12-23); cancelled.
//   S3 (v2): 12-24 01:00Z zB.       S5 (v2): 12-23 14:59Z zB (the 23rd's last minute).
//   S4 (v1): 12-25 01:00Z zA; updated to 12-24 02:00Z zB (first start moves).
//   S0 (v2): 12-24 01:00Z zB, beside S3 (same start: scheduleId order).
struct Scenario {
  Log log;
  ev::ScheduleBody s1, s2, s4;
  ev::ScheduleBody s1_reserved;  // S1 before its update
  size_t s1_update_offset = 0;

  Scenario() {
    log.add(ev::ClinicConfigured{kKst});
    log.add(ev::VisitorRegistered{"v1", "Kim"});
    log.add(ev::VisitorRegistered{"v2", "Lee"});
    log.add(ev::ZoneCreated{"zA", "Laser", 1});
    log.add(ev::ZoneCreated{"zB", "Consult", 0});
    log.add(ev::ReservationGroupCreated{"g1", "Laser group", {"zA", "zB"}});
    const std::string doctor = R"({"id":"d1","name":"Park"})";
    s1 = body('1', "v1", "zB",
              {res(utc("2026-12-23", 15), utc("2026-12-23", 16), "zA", doctor),
               res(utc("2026-12-23", 15, 30), utc("2026-12-23", 16, 30), "zB")},
              Log::time_of(6));
    s1.extras = {{"reservationMemo", R"("first visit")"}};
    log.add(as<ev::ScheduleReserved>(s1));
    s1_reserved = s1;
    s2 = body('2', "v1", "zA", {res(utc("2026-12-23", 14), utc("2026-12-23", 14, 59), "zB")},
              Log::time_of(7));
    log.add(as<ev::ScheduleReserved>(s2));
    log.add(as<ev::ScheduleReserved>(body('3', "v2", "zB",
                                          {res(utc("2026-12-24", 1), utc("2026-12-24", 2), "zB")},
                                          Log::time_of(8))));
    s4 = body('4', "v1", "zA", {res(utc("2026-12-25", 1), utc("2026-12-25", 2), "zA")},
              Log::time_of(9));
    log.add(as<ev::ScheduleReserved>(s4));
    log.add_engine(ev::IdempotencyRecorded{"visitor:v1", "k1", 7, 200, "{}"});
    log.add(as<ev::ScheduleReserved>(
        body('5', "v2", "zB", {res(utc("2026-12-23", 14, 59), utc("2026-12-23", 15, 10), "zB")},
             Log::time_of(11))));
    ev::ScheduleUpdated u4 =
        update(s4, "zB", {res(utc("2026-12-24", 2), utc("2026-12-24", 3), "zB")});
    log.add(u4);
    s4 = u4;
    ev::ScheduleUpdated u1 =
        update(s1, "zA",
               {res(utc("2026-12-23", 15), utc("2026-12-23", 16), "zA", doctor),
                res(utc("2026-12-23", 15), utc("2026-12-23", 15, 45), "zA")});
    u1.extras = {{"reservationMemo", R"("moved")"}, {"sedationRequired", "true"}};
    s1_update_offset = log.envs.size();
    log.add(u1);
    s1 = u1;
    log.add(as<ev::ScheduleCancelled>(s2));
    log.add(as<ev::ScheduleReserved>(
        body('0', "v2", "zB", {res(utc("2026-12-24", 1), utc("2026-12-24", 1, 30), "zB")},
             Log::time_of(15))));
  }
};

struct Store {
  TempDir dir;
  std::unique_ptr<ClinicViews> views;
  Store() { reopen(); }
  void reopen() {
    views.reset();
    auto opened = ClinicViews::open(dir.path() + "/clinic");
    REQUIRE(opened.ok());
    views = std::move(*opened);
  }
  // Applies `envs` in batches of `size` events.
  void apply(const std::vector<EventEnvelope>& envs, size_t size) {
    for (size_t i = 0; i < envs.size(); i += size) {
      std::vector<EventEnvelope> batch(
          envs.begin() + static_cast<long>(i),
          envs.begin() + static_cast<long>(std::min(i + size, envs.size())));
      const Status s = views->apply_batch(batch);
      REQUIRE_MESSAGE(s.ok(), s.ToString());
    }
  }
  void bulk(const std::vector<EventEnvelope>& envs) {
    for (const auto& env : envs) {
      ClinicViews::Decoded d = ClinicViews::decode(env);
      REQUIRE(d.ok());
      const Status s = views->bulk_apply(env.offset, *d);
      REQUIRE_MESSAGE(s.ok(), s.ToString());
    }
    REQUIRE(views->finish_bulk().ok());
  }
};

std::vector<std::string> ids(const VisitorSchedulesPage& page) {
  std::vector<std::string> out;
  for (const auto& item : page.items) out.push_back(item.body.schedule_id);
  return out;
}

std::vector<std::pair<std::string, int64_t>> slots(const ZoneDayView& v) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& item : v.items) out.emplace_back(item.schedule_id, item.start_ms);
  return out;
}

TEST_CASE("clinic views: admin records, the offset and schedules") {
  Scenario sc;
  Store st;
  CHECK(st.views->utc_offset_min() == 0);
  st.apply(sc.log.envs, sc.log.envs.size());
  CHECK(st.views->checkpoint() == sc.log.envs.size());
  CHECK(st.views->utc_offset_min() == kKst);
  CHECK(st.views->visitor_exists("v1"));
  CHECK_FALSE(st.views->visitor_exists("v9"));
  auto za = st.views->zone("zA");
  REQUIRE(za);
  CHECK(za->name == "Laser");
  CHECK(za->capacity == 1);
  CHECK(st.views->zone("zB")->capacity == 0);
  CHECK_FALSE(st.views->zone("zC"));

  auto s1 = st.views->schedule(sid('1'));
  REQUIRE(s1);
  CHECK(s1->status == ClinicStatus::kReserved);
  CHECK(s1->body.zone_id == "zA");
  CHECK(s1->body.resources == sc.s1.resources);
  CHECK(s1->body.extras == sc.s1.extras);
  CHECK(s1->body.api == "v2");
  CHECK(s1->body.created_at == Log::time_of(6));
  CHECK(s1->updated_at == Log::time_of(sc.s1_update_offset));
  auto s2 = st.views->schedule(sid('2'));
  REQUIRE(s2);
  CHECK(s2->status == ClinicStatus::kCancelled);
  CHECK(s2->body.resources == sc.s2.resources);
  CHECK(s2->updated_at == Log::time_of(sc.s1_update_offset + 1));
  auto s3 = st.views->schedule(sid('3'));
  REQUIRE(s3);
  CHECK(s3->updated_at == s3->body.created_at);
  CHECK_FALSE(st.views->schedule(sid('9')));
}

TEST_CASE("clinic views: a visitor's schedules by first start, paged, from/to") {
  Scenario sc;
  Store st;
  st.apply(sc.log.envs, 4);
  const std::string s1 = sid('1'), s2 = sid('2'), s4 = sid('4');
  auto all = st.views->visitor_schedules("v1", std::nullopt, std::nullopt, 100, "");
  REQUIRE(all.ok());
  // S2 (14:00Z, cancelled), S1 (15:00Z), S4 (moved from the 25th to 12-24 02:00Z).
  CHECK(ids(*all) == std::vector<std::string>{s2, s1, s4});
  CHECK(all->next_cursor.empty());
  CHECK(all->items[0].status == ClinicStatus::kCancelled);

  SUBCASE("pages of one, with cursors") {
    std::vector<std::string> seen;
    std::string cursor;
    for (int page = 0; page < 3; ++page) {
      auto p = st.views->visitor_schedules("v1", std::nullopt, std::nullopt, 1, cursor);
      REQUIRE(p.ok());
      REQUIRE(p->items.size() == 1);
      seen.push_back(p->items[0].body.schedule_id);
      cursor = p->next_cursor;
      CHECK(cursor.empty() == (page == 2));
    }
    CHECK(seen == std::vector<std::string>{s2, s1, s4});
    auto two = st.views->visitor_schedules("v1", std::nullopt, std::nullopt, 2, "");
    REQUIRE(two.ok());
    CHECK(ids(*two) == std::vector<std::string>{s2, s1});
    auto rest = st.views->visitor_schedules("v1", std::nullopt, std::nullopt, 2, two->next_cursor);
    REQUIRE(rest.ok());
    CHECK(ids(*rest) == std::vector<std::string>{s4});
    CHECK(rest->next_cursor.empty());
  }
  SUBCASE("from is inclusive, to exclusive, on the first start") {
    const int64_t from = utc("2026-12-23", 15), to = utc("2026-12-24", 2);
    auto p = st.views->visitor_schedules("v1", from, std::nullopt, 100, "");
    REQUIRE(p.ok());
    CHECK(ids(*p) == std::vector<std::string>{s1, s4});
    p = st.views->visitor_schedules("v1", from, to, 100, "");
    REQUIRE(p.ok());
    CHECK(ids(*p) == std::vector<std::string>{s1});
    p = st.views->visitor_schedules("v1", std::nullopt, to, 1, "");
    REQUIRE(p.ok());
    CHECK(ids(*p) == std::vector<std::string>{s2});
    p = st.views->visitor_schedules("v1", std::nullopt, to, 1, p->next_cursor);
    REQUIRE(p.ok());
    CHECK(ids(*p) == std::vector<std::string>{s1});
    CHECK(p->next_cursor.empty());
    p = st.views->visitor_schedules("v1", to, from, 100, "");  // empty range
    REQUIRE(p.ok());
    CHECK(p->items.empty());
    // S4's old first start (the 25th) is no longer indexed.
    p = st.views->visitor_schedules("v1", utc("2026-12-25", 0), std::nullopt, 100, "");
    REQUIRE(p.ok());
    CHECK(p->items.empty());
  }
  SUBCASE("bad limits, bad cursors and unknown visitors") {
    using Code = Status::Code;
    auto code = [&](size_t limit, std::string_view cursor, const char* visitor = "v1") {
      return st.views->visitor_schedules(visitor, std::nullopt, std::nullopt, limit, cursor)
          .status()
          .code();
    };
    CHECK(code(0, "") == Code::kInvalidArgument);
    CHECK(code(ClinicViews::kPageItemsMax + 1, "") == Code::kInvalidArgument);
    CHECK(code(ClinicViews::kPageItemsMax, "") == Code::kOk);
    CHECK(code(1, "zz") == Code::kInvalidArgument);
    CHECK(code(1, "abc") == Code::kInvalidArgument);
    CHECK(code(1, "6e6f6e73656e7365") == Code::kInvalidArgument);  // hex of "nonsense"
    CHECK(code(1, "", "v9") == Code::kNotFound);
  }
  SUBCASE("v2's list") {
    auto p = st.views->visitor_schedules("v2", std::nullopt, std::nullopt, 100, "");
    REQUIRE(p.ok());
    CHECK(ids(*p) == std::vector<std::string>{sid('5'), sid('0'), sid('3')});
  }
}

TEST_CASE("clinic views: a zone's clinic day at +09:00, around midnight") {
  Scenario sc;
  Store st;
  st.apply(sc.log.envs, 3);
  using Slots = std::vector<std::pair<std::string, int64_t>>;
  // zA on 12-24 (KST): S1's two resources, both at 15:00Z of the 23rd, in index order.
  auto za = st.views->zone_day("zA", day("2026-12-24"));
  REQUIRE(za);
  CHECK(za->zone.capacity == 1);
  CHECK(za->day == day("2026-12-24"));
  CHECK(slots(*za) == Slots{{sid('1'), utc("2026-12-23", 15)}, {sid('1'), utc("2026-12-23", 15)}});
  CHECK(za->items[0].end_ms == utc("2026-12-23", 16));
  CHECK(za->items[1].end_ms == utc("2026-12-23", 15, 45));
  CHECK(za->items[0].doctor == R"({"id":"d1","name":"Park"})");
  CHECK(za->items[1].doctor.empty());
  CHECK(za->items[0].visitor_id == "v1");
  CHECK(za->items[0].group_id == "g1");
  // S4 left zA for zB; nothing of zA remains on the 25th.
  CHECK(st.views->zone_day("zA", day("2026-12-25"))->items.empty());
  // zB on 12-23 (KST): S5 at 14:59Z (23:59 KST); S2 was cancelled.
  auto zb23 = st.views->zone_day("zB", day("2026-12-23"));
  REQUIRE(zb23);
  CHECK(zb23->zone.capacity == 0);
  CHECK(slots(*zb23) == Slots{{sid('5'), utc("2026-12-23", 14, 59)}});
  // zB on 12-24: S1's old 15:30Z resource is gone (moved to zA); S0 and S3
  // share 01:00Z and sort by id; then S4 at 02:00Z.
  auto zb24 = st.views->zone_day("zB", day("2026-12-24"));
  REQUIRE(zb24);
  CHECK(slots(*zb24) == Slots{{sid('0'), utc("2026-12-24", 1)},
                              {sid('3'), utc("2026-12-24", 1)},
                              {sid('4'), utc("2026-12-24", 2)}});
  CHECK(zb24->items[0].visitor_id == "v2");
  CHECK_FALSE(st.views->zone_day("zC", day("2026-12-24")));
}

TEST_CASE("clinic views: the day follows the offset last recorded") {
  Scenario sc;
  Store st;
  sc.log.add(ev::ClinicConfigured{0});
  st.apply(sc.log.envs, sc.log.envs.size());
  CHECK(st.views->utc_offset_min() == 0);
  // At +00:00 the 23rd of zB holds S5 only (S2 is cancelled, S1 moved to zA),
  // and zA's 23rd holds both of S1's resources.
  auto zb = st.views->zone_day("zB", day("2026-12-23"));
  REQUIRE(zb);
  CHECK(zb->items.size() == 1);
  CHECK(st.views->zone_day("zA", day("2026-12-23"))->items.size() == 2);
  CHECK(st.views->zone_day("zA", day("2026-12-24"))->items.empty());
}

TEST_CASE("clinic views: batch splits and the bulk path store the same records") {
  Scenario sc;
  Store whole;
  whole.apply(sc.log.envs, sc.log.envs.size());
  const auto expected = whole.views->dump();
  REQUIRE_FALSE(expected.empty());
  for (size_t size : {size_t{1}, size_t{2}, size_t{3}, size_t{5}, size_t{7}}) {
    CAPTURE(size);
    Store split;
    split.apply(sc.log.envs, size);
    CHECK(split.views->dump() == expected);
  }
  for (size_t entries : {size_t{1}, size_t{3}, ClinicViews::kBulkEntriesMax}) {
    CAPTURE(entries);
    Store bulk;
    bulk.views->set_bulk_entries_max(entries);
    bulk.bulk(sc.log.envs);
    CHECK(bulk.views->checkpoint() == sc.log.envs.size());
    CHECK(bulk.views->dump() == expected);
  }
  // Live batches continue a bulk-loaded store.
  Store mixed;
  std::vector<EventEnvelope> head(sc.log.envs.begin(), sc.log.envs.begin() + 8);
  std::vector<EventEnvelope> tail(sc.log.envs.begin() + 8, sc.log.envs.end());
  mixed.bulk(head);
  mixed.apply(tail, 2);
  CHECK(mixed.views->dump() == expected);
}

TEST_CASE("clinic views: the checkpoint and the views survive reopening") {
  Scenario sc;
  Store st;
  CHECK(st.views->checkpoint() == 0);
  std::vector<EventEnvelope> head(sc.log.envs.begin(), sc.log.envs.begin() + 10);
  std::vector<EventEnvelope> tail(sc.log.envs.begin() + 10, sc.log.envs.end());
  st.apply(head, 4);
  CHECK(st.views->checkpoint() == 10);
  REQUIRE(st.views->flush().ok());
  st.reopen();
  CHECK(st.views->checkpoint() == 10);
  CHECK(st.views->schedule(sid('4')));
  CHECK(st.views->apply_batch(tail).ok());
  st.reopen();  // without a flush: closing flushes the memtables
  CHECK(st.views->checkpoint() == sc.log.envs.size());
  CHECK(st.views->zone_day("zB", day("2026-12-24"))->items.size() == 3);
}

TEST_CASE("clinic views: engine events only advance; other types and bad payloads fail") {
  Log log;
  log.add_engine(ev::IdempotencyRecorded{"#admin", "k", 1, 200, "{}"});
  ClinicViews::Decoded engine = ClinicViews::decode(log.envs[0]);
  REQUIRE(engine.ok());
  CHECK_FALSE(engine->has_value());

  EventEnvelope concert = log.envs[0];
  concert.type = "UserRegistered";  // a concert log opened as the clinic's
  CHECK(ClinicViews::decode(concert).status().code() == Status::Code::kCorruption);
  EventEnvelope garbled = ev::ClinicCatalog::encode(ev::VisitorRegistered{"v1", "Kim"}, kT0);
  garbled.payload = "\xff";
  CHECK(ClinicViews::decode(garbled).status().code() == Status::Code::kCorruption);

  Store st;
  st.apply(log.envs, 1);
  CHECK(st.views->checkpoint() == 1);
  CHECK(st.views->dump().size() == 1);  // the checkpoint only
}

TEST_CASE("clinic views: an event contradicting the views fails its whole batch") {
  Scenario sc;
  Store st;
  std::vector<EventEnvelope> head(sc.log.envs.begin(), sc.log.envs.begin() + 8);
  st.apply(head, head.size());
  const auto before = st.views->dump();
  auto fails = [&](const ev::ClinicEvent& bad) {
    Log tail;
    tail.envs = head;
    tail.add(ev::VisitorRegistered{"v3", "Park"});
    tail.add(bad);
    std::vector<EventEnvelope> batch(tail.envs.begin() + 8, tail.envs.end());
    const Status s = st.views->apply_batch(batch);
    CHECK(s.code() == Status::Code::kCorruption);
    CHECK(st.views->checkpoint() == 8);
    CHECK(st.views->dump() == before);
  };
  const ev::ScheduleBody& s1 = sc.s1_reserved;
  fails(as<ev::ScheduleReserved>(s1));                                         // reserved twice
  fails(as<ev::ScheduleCancelled>(body('9', "v1", "zA", s1.resources, kT0)));  // unknown
  ev::ScheduleUpdated forged = update(s1, "zA", sc.s1.resources);
  forged.previous_resources[0].end_ms += 1;  // previous* do not match the views
  fails(forged);
  forged = update(s1, "zA", sc.s1.resources);
  forged.previous_zone_id = "zA";
  fails(forged);
  ev::ScheduleBody other = s1;
  other.visitor_id = "v2";
  fails(as<ev::ScheduleCancelled>(other));  // another visitor's
  // A batch out of order is refused before anything is applied.
  CHECK(st.views->apply_batch({sc.log.envs[3]}).code() == Status::Code::kInvalidArgument);
  CHECK(st.views->bulk_apply(3, std::nullopt).code() == Status::Code::kInvalidArgument);
}

// The checkpoint record as the store writes it (clinic_views.cc).
struct CheckpointRec {
  int64_t next = 0;
  int64_t format = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("next", s.next);
    f("format", s.format);
  }
};

// Rewrites the stored checkpoint of the store at `path` (closed).
void put_checkpoint(const std::string& path, CheckpointRec rec) {
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::Open(rocksdb::Options(), path, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value;
  codec::encode(rec, value);
  REQUIRE(db->Put(rocksdb::WriteOptions(), "m/checkpoint", value).ok());
}

TEST_CASE("clinic views: an older store layout is dropped, a newer one refused") {
  Scenario sc;
  Store st;
  st.apply(sc.log.envs, sc.log.envs.size());
  const std::string path = st.dir.path() + "/clinic";
  st.views.reset();
  put_checkpoint(path, CheckpointRec{5, ClinicViews::kStoreFormat + 1});
  CHECK(ClinicViews::open(path).status().code() == Status::Code::kCorruption);
  put_checkpoint(path, CheckpointRec{5, ClinicViews::kStoreFormat - 1});
  st.reopen();
  CHECK(st.views->checkpoint() == 0);
  CHECK(st.views->dump().empty());
  st.apply(sc.log.envs, 5);  // re-applied from the log
  CHECK(st.views->checkpoint() == sc.log.envs.size());
}

// Each batch reserves a schedule of v1 (two resources in zB) and cancels
// the one before: a reader that saw half a batch would count zero or two
// RESERVED schedules.
TEST_CASE("clinic views: queries never see half a batch" *
          doctest::skip(reservoir::test::kThreadSanitizer)) {
  constexpr int kBatches = 60;
  Log log;
  log.add(ev::ClinicConfigured{0});
  log.add(ev::VisitorRegistered{"v1", "Kim"});
  log.add(ev::ZoneCreated{"zB", "Consult", 0});
  log.add(ev::ReservationGroupCreated{"g1", "Consult group", {"zB"}});
  auto nth = [](int i) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-8000-8000-%012d", i);
    const int64_t at = utc("2026-12-24", 0, i);
    ev::ScheduleBody b = body('0', "v1", "zB", {res(at, at + 1, "zB"), res(at, at + 2, "zB")}, 0);
    b.schedule_id = id;
    return b;
  };
  for (int i = 0; i < kBatches; ++i) {
    log.add(as<ev::ScheduleReserved>(nth(i)));
    if (i > 0) log.add(as<ev::ScheduleCancelled>(nth(i - 1)));
  }
  Store st;
  std::vector<EventEnvelope> admin(log.envs.begin(), log.envs.begin() + 5);
  st.apply(admin, admin.size());  // and the first reserve
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, reads{0};
  std::thread reader([&] {
    do {  // at least once, however fast the batches go
      auto zone = st.views->zone_day("zB", day("2026-12-24"));
      if (!zone || zone->items.size() != 2 ||
          zone->items[0].schedule_id != zone->items[1].schedule_id) {
        ++torn;
      }
      auto page = st.views->visitor_schedules("v1", std::nullopt, std::nullopt, 100, "");
      if (!page.ok() || std::count_if(page->items.begin(), page->items.end(), [](const auto& v) {
                          return v.status == ClinicStatus::kReserved;
                        }) != 1) {
        ++torn;
      }
      ++reads;
    } while (!done.load());
  });
  for (size_t i = 5; i < log.envs.size(); i += 2) {
    std::vector<EventEnvelope> batch(log.envs.begin() + static_cast<long>(i),
                                     log.envs.begin() + static_cast<long>(i + 2));
    REQUIRE(st.views->apply_batch(batch).ok());
  }
  done = true;
  reader.join();
  CHECK(torn.load() == 0);
  CHECK(reads.load() > 0);
  CHECK(st.views->zone_day("zB", day("2026-12-24"))->items[0].schedule_id ==
        nth(kBatches - 1).schedule_id);
}

}  // namespace
