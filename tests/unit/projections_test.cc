// Projections and Follower: given events, then views.
#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "events/codec.h"
#include "events/concert_events.h"
#include "events/engine_events.h"
#include "events/event_log.h"
#include "projections/follower.h"
#include "projections/views.h"
#include "support/given.h"
#include "support/sanitizers.h"
#include "support/temp_dir.h"

extern char** environ;

namespace {

using namespace reservoir;
using namespace reservoir::projections;
using reservoir::test::TempDir;
namespace ev = reservoir::events;
using std::chrono::milliseconds;

constexpr int64_t kT0 = 1'700'000'000'000;  // event time of every test event
using reservoir::test::kThreadSanitizer;

constexpr const char* kCrashDirEnv = "RESERVOIR_PROJECTIONS_CRASH_DIR";

// Builds envelopes with consecutive offsets, as the log would assign them.
class Feed {
 public:
  explicit Feed(uint64_t next = 0) : next_(next) {}
  // Token events name their token in clear here, as given.h's do: added,
  // they carry its hash, as the engine writes them.
  Feed& add(const ev::ConcertEvent& e) {
    return push(ev::ConcertCatalog::encode(test::with_hashed_token(e), kT0));
  }
  Feed& add_engine(const ev::EngineEvent& e) { return push(ev::EngineCatalog::encode(e, kT0)); }
  Feed& push(EventEnvelope env) {
    env.offset = next_++;
    batch_.push_back(std::move(env));
    return *this;
  }
  // The events added since the last take().
  std::vector<EventEnvelope> take() { return std::exchange(batch_, {}); }
  uint64_t next() const { return next_; }

 private:
  uint64_t next_;
  std::vector<EventEnvelope> batch_;
};

// ---- version-1 events (SPEC §5.1: logs written before the amendments) ----

// The envelope a version-1 writer made of `e` at time `time_ms` (given.h).
EventEnvelope v1_envelope(const ev::ConcertEvent& e, int64_t time_ms = kT0) {
  return test::v1_envelope(e, time_ms);
}

// ---- event factories ----

ev::ConcertEvent user(const std::string& id, const std::string& name) {
  return ev::UserRegistered{id, name};
}
ev::ConcertEvent charge(const std::string& user_id, int64_t amount, int64_t after) {
  return ev::BalanceCharged{user_id, amount, after, kT0};
}
// c1 "Show": s0 at 1000 (seats numbered 2, 10, 1, 10), sB and sA both at
// 2000 (one seat each); c0 "Other" has no schedules.
std::vector<ev::ConcertEvent> catalog() {
  ev::ConcertCreated c1{"c1", "Show", {}};
  c1.schedules.push_back(
      ev::ScheduleSpec{"s0", 1000, {{"z", 2, 100}, {"b", 10, 400}, {"m", 1, 300}, {"a", 10, 200}}});
  c1.schedules.push_back(ev::ScheduleSpec{"sB", 2000, {{"x", 1, 50}}});
  c1.schedules.push_back(ev::ScheduleSpec{"sA", 2000, {{"y", 1, 60}}});
  return {c1, ev::ConcertCreated{"c0", "Other", {}}};
}
ev::SeatsHeld hold(const std::string& rid, const std::string& uid, std::vector<ev::SeatRef> seats) {
  ev::SeatsHeld e;
  e.reservation_id = rid;
  e.user_id = uid;
  e.concert_id = "c1";
  e.schedule_id = "s0";
  for (const auto& s : seats) e.total_price += s.price;
  e.seats = std::move(seats);
  e.created_at = kT0;
  e.expires_at = kT0 + 300'000;
  return e;
}
template <class E>
E released(const ev::SeatsHeld& h, int64_t at) {
  E e;
  e.reservation_id = h.reservation_id;
  e.user_id = h.user_id;
  e.schedule_id = h.schedule_id;
  e.seats = h.seats;
  e.released_at = at;
  return e;
}
ev::PaymentCompleted pay(const std::string& pid, const ev::SeatsHeld& h, int64_t after) {
  return ev::PaymentCompleted{pid,     h.reservation_id, h.user_id,  h.schedule_id,
                              h.seats, h.total_price,    kT0 + 1000, after};
}
ev::ReservationRefunded refund(const std::string& pid, const ev::SeatsHeld& h, int64_t after) {
  return ev::ReservationRefunded{h.reservation_id, pid,           h.user_id,  h.schedule_id,
                                 h.seats,          h.total_price, kT0 + 2000, after};
}
ev::TokenActivated activate(const std::string& token, int64_t seq) {
  return ev::TokenActivated{token, "u1", seq, kT0 + 10, kT0 + 600'010};
}

const ev::SeatRef kSeatZ{"z", 2, 100};
const ev::SeatRef kSeatM{"m", 1, 300};
const ev::SeatRef kSeatA{"a", 10, 200};

// A store in a temp dir, with the users u1, u2 and the catalog applied.
struct Store {
  TempDir dir;
  std::unique_ptr<Projections> views;
  Feed feed;

  Store() {
    reopen();
    feed.add(user("u1", "Alice")).add(user("u2", "Bob"));
    for (const auto& e : catalog()) feed.add(e);
    apply();
  }
  void reopen() {
    views.reset();
    auto r = Projections::open(dir.path());
    REQUIRE(r.ok());
    views = std::move(*r);
  }
  void apply() {
    const Status s = views->apply_batch(feed.take());
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  SeatStatus seat_status(const std::string& schedule, const std::string& seat_id) {
    const auto seats = views->seats(schedule);
    REQUIRE(seats);
    for (const auto& s : *seats) {
      if (s.seat_id == seat_id) return s.status;
    }
    FAIL("no seat " << seat_id);
    return SeatStatus::kAvailable;
  }
  int64_t available(const std::string& schedule) {
    return views->schedule(schedule).value().available_seats;
  }
};

TEST_CASE("projections: users and balances") {
  Store st;
  auto u = st.views->user("u1");
  REQUIRE(u);
  CHECK(u->user_id == "u1");
  CHECK(u->name == "Alice");
  CHECK(u->balance == 0);
  CHECK_FALSE(st.views->user("nobody"));

  st.feed.add(charge("u1", 500, 500)).add(charge("u1", 700, 1200));  // one key, twice in a batch
  st.apply();
  CHECK(st.views->user("u1")->balance == 1200);
  CHECK(st.views->user("u1")->name == "Alice");
  CHECK(st.views->user("u2")->balance == 0);
}

TEST_CASE("projections: a batch bumps the versions of the view parts it changes") {
  Store st;
  const ViewVersions& v = st.views->versions();
  const size_t catalog = ViewVersions::stripe(ViewScope::kCatalog, "");
  const size_t concert = ViewVersions::stripe(ViewScope::kConcert, "c1");
  const size_t schedule = ViewVersions::stripe(ViewScope::kSchedule, "s0");
  const size_t other_schedule = ViewVersions::stripe(ViewScope::kSchedule, "sA");
  const size_t user1 = ViewVersions::stripe(ViewScope::kUser, "u1");
  const size_t user2 = ViewVersions::stripe(ViewScope::kUser, "u2");
  // The parts of this test must not share a counter, or "unchanged" means nothing.
  std::vector<size_t> all{catalog, concert, schedule, other_schedule, user1, user2};
  std::sort(all.begin(), all.end());
  REQUIRE(std::adjacent_find(all.begin(), all.end()) == all.end());
  auto snapshot = [&] {
    std::vector<uint64_t> out;
    for (size_t s : {catalog, concert, schedule, other_schedule, user1, user2})
      out.push_back(v.version(s));
    return out;
  };
  // The set-up's users and catalog were bumped already, and no write is under
  // way between batches (even versions).
  for (size_t s : {catalog, concert, schedule, user1, user2}) {
    CHECK(v.version(s) > 0);
    CHECK(ViewVersions::steady(v.version(s)));
  }

  auto before = snapshot();
  st.feed.add(charge("u1", 500, 500));
  st.apply();
  auto after = snapshot();
  CHECK(after[4] > before[4]);  // u1's balance changed
  after[4] = before[4];
  CHECK(after == before);  // nothing else did

  // A hold changes the schedule's seats and the concert's schedules list
  // (availableSeats); a payment changes the seats and the payer's balance.
  const ev::SeatsHeld h = hold("r1", "u2", {kSeatZ});
  before = snapshot();
  st.feed.add(h);
  st.apply();
  after = snapshot();
  CHECK(after[1] > before[1]);
  CHECK(after[2] > before[2]);
  CHECK(after[0] == before[0]);
  CHECK(after[3] == before[3]);
  CHECK(after[4] == before[4]);
  CHECK(after[5] == before[5]);

  before = snapshot();
  st.feed.add(pay("p1", h, 0));
  st.apply();
  after = snapshot();
  CHECK(after[2] > before[2]);
  CHECK(after[5] > before[5]);
  CHECK(after[0] == before[0]);
  CHECK(after[4] == before[4]);

  // A new concert changes the concert list.
  before = snapshot();
  st.feed.add(ev::ConcertCreated{"c9", "New", {}});
  st.apply();
  CHECK(snapshot()[0] > before[0]);
}

TEST_CASE("projections: catalog, schedule order and seat order") {
  Store st;
  const auto concerts = st.views->concerts();
  REQUIRE(concerts.size() == 2);
  CHECK(concerts[0].concert_id == "c0");
  CHECK(concerts[0].schedule_count == 0);
  CHECK(concerts[1].concert_id == "c1");
  CHECK(concerts[1].title == "Show");
  CHECK(concerts[1].schedule_count == 3);

  const auto none = st.views->schedules("c0");
  REQUIRE(none);
  CHECK(none->empty());
  CHECK_FALSE(st.views->schedules("c9"));

  const auto sch = st.views->schedules("c1");
  REQUIRE(sch);
  REQUIRE(sch->size() == 3);  // startsAt, then id
  CHECK((*sch)[0].schedule_id == "s0");
  CHECK((*sch)[1].schedule_id == "sA");
  CHECK((*sch)[2].schedule_id == "sB");
  CHECK((*sch)[0].concert_id == "c1");
  CHECK((*sch)[0].starts_at == 1000);
  CHECK((*sch)[0].total_seats == 4);
  CHECK((*sch)[0].available_seats == 4);
  CHECK((*sch)[2].starts_at == 2000);

  const auto one = st.views->schedule("sA");
  REQUIRE(one);
  CHECK(one->concert_id == "c1");
  CHECK(one->total_seats == 1);
  CHECK_FALSE(st.views->schedule("nope"));

  const auto seats = st.views->seats("s0");
  REQUIRE(seats);
  REQUIRE(seats->size() == 4);  // number (numerically, not as text), then seat id
  CHECK((*seats)[0].seat_id == "m");
  CHECK((*seats)[0].number == 1);
  CHECK((*seats)[0].price == 300);
  CHECK((*seats)[1].seat_id == "z");
  CHECK((*seats)[2].seat_id == "a");
  CHECK((*seats)[2].number == 10);
  CHECK((*seats)[3].seat_id == "b");
  for (const auto& s : *seats) CHECK(s.status == SeatStatus::kAvailable);
  CHECK_FALSE(st.views->seats("nope"));
}

TEST_CASE("projections: token lifecycle and queue position") {
  Store st;
  CHECK(st.views->admitted_seq() == 0);
  CHECK_FALSE(st.views->token("t1"));
  st.feed.add(ev::TokenIssued{"t1", "u1", 1, kT0})
      .add(ev::TokenIssued{"t2", "u2", 2, kT0 + 1})
      .add(ev::TokenIssued{"t3", "u2", 3, kT0 + 2});
  st.apply();
  auto t3 = st.views->token("t3");
  REQUIRE(t3);
  CHECK(t3->token == "t3");  // as presented
  CHECK(t3->token_hash == test::hashed("t3"));
  CHECK(t3->user_id == "u2");
  CHECK(t3->status == TokenStatus::kWaiting);
  CHECK(t3->seq == 3);
  CHECK(t3->issued_at == kT0 + 2);
  CHECK(t3->activated_at == 0);
  CHECK(t3->expires_at == 0);
  CHECK(t3->seq - st.views->admitted_seq() == 3);

  st.feed.add(activate("t2", 2)).add(activate("t1", 1));  // admitted_seq keeps the max
  st.apply();
  auto t1 = st.views->token("t1");
  CHECK(t1->status == TokenStatus::kActive);
  CHECK(t1->activated_at == kT0 + 10);
  CHECK(t1->expires_at == kT0 + 600'010);
  CHECK(t1->issued_at == kT0);
  CHECK(st.views->admitted_seq() == 2);
  CHECK(st.views->token("t3")->seq - st.views->admitted_seq() == 1);

  st.feed.add(ev::TokenExpired{"t1", "u1", "PAID", true, kT0 + 99});
  st.apply();
  t1 = st.views->token("t1");
  CHECK(t1->status == TokenStatus::kExpired);
  CHECK(t1->expires_at == kT0 + 99);
  CHECK(t1->activated_at == kT0 + 10);
}

TEST_CASE("projections: hold, pay and refund") {
  Store st;
  const ev::SeatsHeld h = hold("r1", "u1", {kSeatZ, kSeatA});
  st.feed.add(charge("u1", 1000, 1000)).add(h);
  st.apply();
  CHECK(st.seat_status("s0", "z") == SeatStatus::kHeld);
  CHECK(st.seat_status("s0", "a") == SeatStatus::kHeld);
  CHECK(st.seat_status("s0", "m") == SeatStatus::kAvailable);
  CHECK(st.available("s0") == 2);
  CHECK(st.views->schedules("c1")->front().available_seats == 2);
  auto r = st.views->reservation("r1");
  REQUIRE(r);
  CHECK(r->reservation_id == "r1");
  CHECK(r->user_id == "u1");
  CHECK(r->schedule_id == "s0");
  REQUIRE(r->seats.size() == 2);
  CHECK(r->seats[1].seat_id == "a");
  CHECK(r->seats[1].number == 10);
  CHECK(r->seats[1].price == 200);
  CHECK(r->total_price == 300);
  CHECK(r->status == ReservationStatus::kPendingPayment);
  CHECK(r->created_at == kT0);
  CHECK(r->expires_at == kT0 + 300'000);
  CHECK(r->paid_at == 0);
  auto mine = st.views->user_reservations("u1", 20, "");
  REQUIRE(mine.ok());
  REQUIRE(mine->items.size() == 1);
  CHECK(mine->items[0].reservation_id == "r1");
  CHECK(st.views->user_reservations("u2", 20, "")->items.empty());

  st.feed.add(pay("p1", h, 700));
  st.apply();
  CHECK(st.seat_status("s0", "z") == SeatStatus::kSold);
  CHECK(st.available("s0") == 2);
  r = st.views->reservation("r1");
  CHECK(r->status == ReservationStatus::kConfirmed);
  CHECK(r->paid_at == kT0 + 1000);
  CHECK(st.views->user("u1")->balance == 700);
  auto pays = st.views->user_payments("u1", 20, "");
  REQUIRE(pays.ok());
  REQUIRE(pays->items.size() == 1);
  CHECK(pays->items[0].payment_id == "p1");
  CHECK(pays->items[0].reservation_id == "r1");
  CHECK(pays->items[0].amount == 300);
  CHECK(pays->items[0].status == PaymentStatus::kCompleted);
  CHECK(pays->items[0].paid_at == kT0 + 1000);

  st.feed.add(refund("p1", h, 1000));
  st.apply();
  CHECK(st.seat_status("s0", "z") == SeatStatus::kAvailable);
  CHECK(st.seat_status("s0", "a") == SeatStatus::kAvailable);
  CHECK(st.available("s0") == 4);
  r = st.views->reservation("r1");
  CHECK(r->status == ReservationStatus::kRefunded);
  CHECK(r->paid_at == kT0 + 1000);
  CHECK(st.views->user("u1")->balance == 1000);
  pays = st.views->user_payments("u1", 20, "");
  REQUIRE(pays->items.size() == 1);
  CHECK(pays->items[0].status == PaymentStatus::kRefunded);
  CHECK_FALSE(st.views->reservation("r9"));
}

TEST_CASE("projections: a version-1 envelope decodes as version 1 and upgrades") {
  // The helper itself: a v1 payload is shorter, and decodes with derived fields.
  ev::SeatsHeld h;
  h.reservation_id = "r";
  const EventEnvelope env = v1_envelope(h);
  CHECK(env.payload.size() < ev::ConcertCatalog::encode(h, kT0).payload.size());
  auto d = decode_for_views(env);
  REQUIRE(d.ok());
  REQUIRE(d->has_value());
  CHECK(std::get<ev::SeatsHeld>(**d).seq == 0);
  auto t = decode_for_views(v1_envelope(ev::TokenIssued{"tok", "u1", 1, kT0}));
  REQUIRE(t.ok());
  CHECK(std::get<ev::TokenIssued>(**t).token_id == ev::TokenIssued::legacy_token_id("tok"));
}

TEST_CASE("projections: tokens by tokenId, and each user's live or newest token") {
  Store st;
  CHECK_FALSE(st.views->user_token("u1"));
  CHECK_FALSE(st.views->token_by_id(77));
  st.feed.add(ev::TokenIssued{"t1", "u1", 1, kT0, 77}).add(ev::TokenIssued{"t2", "u2", 2, kT0, 88});
  st.apply();
  auto by_id = st.views->token_by_id(77);
  REQUIRE(by_id);
  CHECK(by_id->token_hash == test::hashed("t1"));
  CHECK(by_id->user_id == "u1");
  CHECK(by_id->token_id == 77);
  CHECK(st.views->token("t2")->token_id == 88);
  CHECK_FALSE(st.views->token_by_id(78));
  CHECK_FALSE(st.views->token_by_id(0));
  CHECK_FALSE(st.views->token_by_id(-77));
  REQUIRE(st.views->user_token("u1"));
  CHECK(st.views->user_token("u1")->token_hash == test::hashed("t1"));
  CHECK(st.views->user_token("u2")->token_hash == test::hashed("t2"));
  CHECK_FALSE(st.views->user_token("nobody"));

  // Expired, the token is still the user's newest; a new one replaces it.
  st.feed.add(ev::TokenExpired{"t1", "u1", "TTL", false, kT0 + 5});
  st.apply();
  CHECK(st.views->user_token("u1")->token_hash == test::hashed("t1"));
  CHECK(st.views->user_token("u1")->status == TokenStatus::kExpired);
  st.feed.add(ev::TokenIssued{"t3", "u1", 3, kT0 + 6, 99});
  st.apply();
  CHECK(st.views->user_token("u1")->token_hash == test::hashed("t3"));
  CHECK(st.views->user_token("u1")->status == TokenStatus::kWaiting);
  CHECK(st.views->token_by_id(77)->status == TokenStatus::kExpired);

  // A version-1 TokenIssued has the tokenId its upgrade derives.
  st.feed.push(v1_envelope(ev::TokenIssued{"t4", "u2", 4, kT0 + 7}));
  st.apply();
  const int64_t legacy = ev::TokenIssued::legacy_token_id("t4");
  REQUIRE(st.views->token_by_id(legacy));
  CHECK(st.views->token_by_id(legacy)->token_hash == test::hashed("t4"));
  CHECK(st.views->token("t4")->token_id == legacy);
  CHECK(st.views->user_token("u2")->token_hash == test::hashed("t4"));
}

TEST_CASE("projections: schedules keep their opening time; one concert by id") {
  Store st;
  ev::ConcertCreated c{"c2", "Drop", {}};
  c.schedules.push_back(ev::ScheduleSpec{"d1", 9000, {{"x", 1, 5}}, 4000});
  st.feed.add(c);
  // Written before the amendment: opens when it was created (its event's time).
  ev::ConcertCreated old{"c3", "Old", {}};
  old.schedules.push_back(ev::ScheduleSpec{"o1", 9000, {{"x", 1, 5}}, 0});
  st.feed.push(v1_envelope(old, 3000));
  st.apply();
  CHECK(st.views->schedule("d1")->opens_at == 4000);
  REQUIRE(st.views->schedules("c2"));
  CHECK(st.views->schedules("c2")->front().opens_at == 4000);
  CHECK(st.views->schedule("o1")->opens_at == 3000);
  CHECK(st.views->schedules("c3")->front().opens_at == 3000);

  auto one = st.views->concert("c2");
  REQUIRE(one);
  CHECK(one->concert_id == "c2");
  CHECK(one->title == "Drop");
  CHECK(one->schedule_count == 1);
  CHECK(st.views->concert("c1")->schedule_count == 3);
  CHECK(st.views->concert("c0")->schedule_count == 0);
  CHECK_FALSE(st.views->concert("c9"));
}

TEST_CASE("projections: sequence numbers, counted for version-1 events as in log order") {
  Store st;
  const ev::SeatsHeld h1 = hold("r1", "u1", {kSeatZ});
  const ev::SeatsHeld h2 = hold("r2", "u2", {kSeatM});
  st.feed.add(charge("u2", 1000, 1000)).push(v1_envelope(h1)).push(v1_envelope(h2));
  st.apply();
  st.feed.push(v1_envelope(pay("p1", h2, 700)));  // another batch: the counts persist
  st.apply();
  REQUIRE(st.views->reservation("r1"));
  CHECK(st.views->reservation("r1")->seq == 1);
  CHECK(st.views->reservation("r2")->seq == 2);
  CHECK(st.views->reservation("r2")->concert_id == "c1");
  auto pays = st.views->user_payments("u2", 20, "");
  REQUIRE(pays.ok());
  REQUIRE(pays->items.size() == 1);
  CHECK(pays->items[0].seq == 1);
  CHECK(pays->items[0].reservation_seq == 2);  // taken from its reservation

  // Version-2 events carry their numbers; a reopened store goes on counting.
  st.reopen();
  ev::SeatsHeld h3 = hold("r3", "u1", {kSeatA});
  h3.seq = 3;
  ev::PaymentCompleted p2 = pay("p2", h3, 0);
  p2.seq = 2;
  p2.reservation_seq = 3;
  st.feed.add(charge("u1", 200, 200)).add(h3).add(p2);
  const ev::SeatsHeld h4 = hold("r4", "u2", {kSeatZ});  // r1 still holds z: a v1 tail
  st.feed.add(released<ev::HoldExpired>(h1, kT0 + 1)).push(v1_envelope(h4));
  st.apply();
  CHECK(st.views->reservation("r3")->seq == 3);
  CHECK(st.views->reservation("r4")->seq == 4);
  for (int64_t seq = 1; seq <= 4; ++seq) {
    CAPTURE(seq);
    REQUIRE(st.views->reservation_by_seq(seq));
    CHECK(st.views->reservation_by_seq(seq)->reservation_id == "r" + std::to_string(seq));
    CHECK(st.views->reservation_by_seq(seq)->seq == seq);
  }
  CHECK(st.views->reservation_by_seq(1)->status == ReservationStatus::kExpired);
  CHECK_FALSE(st.views->reservation_by_seq(5));
  CHECK_FALSE(st.views->reservation_by_seq(0));
  auto mine = st.views->user_payments("u1", 20, "");
  REQUIRE(mine->items.size() == 1);
  CHECK(mine->items[0].seq == 2);
  CHECK(mine->items[0].reservation_seq == 3);

  // A refund keeps the payment's numbers.
  st.feed.add(refund("p1", h2, 1000));
  st.apply();
  pays = st.views->user_payments("u2", 20, "");
  CHECK(pays->items[0].status == PaymentStatus::kRefunded);
  CHECK(pays->items[0].seq == 1);
  CHECK(pays->items[0].reservation_seq == 2);
  CHECK(st.views->user_reservations("u2", 20, "")->items[1].seq == 2);
}

TEST_CASE("projections: a sequence number that goes back contradicts the views") {
  Store st;
  ev::SeatsHeld h1 = hold("r1", "u1", {kSeatZ});
  h1.seq = 2;
  ev::SeatsHeld h2 = hold("r2", "u1", {kSeatM});
  h2.seq = 2;
  st.feed.add(h1);
  st.apply();
  st.feed.add(h2);
  const Status s = st.views->apply_batch(st.feed.take());
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK_FALSE(st.views->reservation("r2"));
}

TEST_CASE("projections: hold expiry and cancellation") {
  Store st;
  const ev::SeatsHeld h1 = hold("r1", "u1", {kSeatZ});
  const ev::SeatsHeld h2 = hold("r2", "u2", {kSeatM, kSeatA});
  st.feed.add(h1).add(h2);
  st.apply();
  CHECK(st.available("s0") == 1);

  st.feed.add(released<ev::HoldExpired>(h1, kT0 + 300'000));
  st.apply();
  CHECK(st.views->reservation("r1")->status == ReservationStatus::kExpired);
  CHECK(st.seat_status("s0", "z") == SeatStatus::kAvailable);
  CHECK(st.available("s0") == 2);

  st.feed.add(released<ev::ReservationCancelled>(h2, kT0 + 5));
  st.apply();
  CHECK(st.views->reservation("r2")->status == ReservationStatus::kCancelled);
  CHECK(st.seat_status("s0", "m") == SeatStatus::kAvailable);
  CHECK(st.seat_status("s0", "a") == SeatStatus::kAvailable);
  CHECK(st.available("s0") == 4);
}

TEST_CASE("projections: events of one batch see each other's writes") {
  Store st;
  const ev::SeatsHeld h1 = hold("r1", "u1", {kSeatZ});
  const ev::SeatsHeld h2 = hold("r2", "u1", {kSeatZ});  // the same seat, once r1 expired
  const ev::SeatsHeld h3 = hold("r3", "u2", {kSeatM});
  st.feed.add(charge("u1", 100, 100))
      .add(h1)
      .add(released<ev::HoldExpired>(h1, kT0 + 1))
      .add(h2)
      .add(pay("p2", h2, 0))
      .add(charge("u1", 5, 5))
      .add(h3);
  st.apply();
  CHECK(st.views->reservation("r1")->status == ReservationStatus::kExpired);
  CHECK(st.views->reservation("r2")->status == ReservationStatus::kConfirmed);
  CHECK(st.views->reservation("r3")->status == ReservationStatus::kPendingPayment);
  CHECK(st.seat_status("s0", "z") == SeatStatus::kSold);
  CHECK(st.seat_status("s0", "m") == SeatStatus::kHeld);
  CHECK(st.available("s0") == 2);
  CHECK(st.views->user("u1")->balance == 5);
  CHECK(st.views->user_reservations("u1", 20, "")->items.size() == 2);
}

TEST_CASE("projections: paging newest first with cursors") {
  Store st;
  // Five holds of u1 on seats of sA/sB alternately would need more seats:
  // hold and release s0's seat z five times instead.
  int64_t balance = 0;
  for (int i = 1; i <= 5; ++i) {
    const ev::SeatsHeld h = hold("r" + std::to_string(i), "u1", {kSeatZ});
    balance += 1000;
    st.feed.add(charge("u1", 1000, balance))
        .add(h)
        .add(pay("p" + std::to_string(i), h, balance - 100));
    st.feed.add(refund("p" + std::to_string(i), h, balance));
  }
  st.apply();

  auto p1 = st.views->user_reservations("u1", 2, "");
  REQUIRE(p1.ok());
  REQUIRE(p1->items.size() == 2);
  CHECK(p1->items[0].reservation_id == "r5");
  CHECK(p1->items[1].reservation_id == "r4");
  REQUIRE(p1->next_cursor);
  auto p2 = st.views->user_reservations("u1", 2, *p1->next_cursor);
  REQUIRE(p2.ok());
  REQUIRE(p2->items.size() == 2);
  CHECK(p2->items[0].reservation_id == "r3");
  CHECK(p2->items[1].reservation_id == "r2");
  auto p3 = st.views->user_reservations("u1", 2, *p2->next_cursor);
  REQUIRE(p3.ok());
  REQUIRE(p3->items.size() == 1);
  CHECK(p3->items[0].reservation_id == "r1");
  CHECK_FALSE(p3->next_cursor);

  auto all = st.views->user_reservations("u1", 5, "");  // exactly all: nothing follows
  CHECK(all->items.size() == 5);
  CHECK_FALSE(all->next_cursor);
  auto empty = st.views->user_reservations("u2", 20, "");
  REQUIRE(empty.ok());
  CHECK(empty->items.empty());
  CHECK_FALSE(empty->next_cursor);

  auto q1 = st.views->user_payments("u1", 3, "");
  REQUIRE(q1.ok());
  REQUIRE(q1->items.size() == 3);
  CHECK(q1->items[0].payment_id == "p5");
  CHECK(q1->items[2].payment_id == "p3");
  CHECK(q1->items[0].status == PaymentStatus::kRefunded);
  auto q2 = st.views->user_payments("u1", 3, *q1->next_cursor);
  REQUIRE(q2->items.size() == 2);
  CHECK(q2->items[1].payment_id == "p1");
  CHECK_FALSE(q2->next_cursor);

  for (const std::string bad : {"xyz", "ZZZZZZZZZZZZZZZZ", "00000000000000000", "r5"}) {
    CAPTURE(bad);
    CHECK(st.views->user_reservations("u1", 2, bad).status().code() ==
          Status::Code::kInvalidArgument);
    CHECK(st.views->user_payments("u1", 2, bad).status().code() == Status::Code::kInvalidArgument);
  }
  CHECK(st.views->user_reservations("u1", 0, "").status().code() == Status::Code::kInvalidArgument);
  CHECK(st.views->user_payments("nobody", 2, "").status().code() == Status::Code::kNotFound);
  CHECK(st.views->user_reservations("nobody", 2, "").status().code() == Status::Code::kNotFound);
}

TEST_CASE("projections: checkpoint advances with each batch and survives reopening") {
  Store st;
  const uint64_t base = st.feed.next();
  CHECK(st.views->checkpoint() == base);
  st.feed.add(charge("u1", 10, 10)).add(charge("u2", 20, 20));
  st.apply();
  CHECK(st.views->checkpoint() == base + 2);
  REQUIRE(st.views->apply_batch({}).ok());
  CHECK(st.views->checkpoint() == base + 2);

  SUBCASE("after flush") {
    REQUIRE(st.views->flush().ok());
  }
  SUBCASE("after a plain close") {}
  st.reopen();
  CHECK(st.views->checkpoint() == base + 2);
  CHECK(st.views->user("u2")->balance == 20);
  CHECK(st.views->seats("s0")->size() == 4);

  // A batch that does not start at the checkpoint is refused, whole.
  Feed stale(base);
  stale.add(charge("u1", 1, 11));
  CHECK(st.views->apply_batch(stale.take()).code() == Status::Code::kInvalidArgument);
  Feed gap(base + 2);
  gap.add(charge("u1", 1, 11));
  auto batch = gap.take();
  batch.push_back(batch.back());  // offsets base+2, base+2
  CHECK(st.views->apply_batch(batch).code() == Status::Code::kInvalidArgument);
  CHECK(st.views->checkpoint() == base + 2);
  CHECK(st.views->user("u1")->balance == 10);
}

TEST_CASE("projections: a store of the layout before SPEC 5.1 is dropped and re-applied") {
  Store st;
  const uint64_t next = st.feed.next();
  REQUIRE(st.views->checkpoint() == next);
  st.views.reset();
  {
    // What a format-1 store holds at m/checkpoint: the next offset alone.
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::Options(), st.dir.path(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string v1;
    codec::put_value(v1, static_cast<int64_t>(next));
    REQUIRE(db->Put(rocksdb::WriteOptions(), "m/checkpoint", v1).ok());
  }
  st.reopen();
  CHECK(st.views->checkpoint() == 0);
  CHECK_FALSE(st.views->user("u1"));
  CHECK(st.views->concerts().empty());
  // The follower re-applies from offset 0: the same events give the same views.
  Feed again;
  again.add(user("u1", "Alice"));
  REQUIRE(st.views->apply_batch(again.take()).ok());
  CHECK(st.views->user("u1")->name == "Alice");
  st.reopen();  // now of the current layout: kept
  CHECK(st.views->checkpoint() == 1);
}

// The checkpoint record's fields (views.cc), to write one of any format.
struct StoredCheckpoint {
  int64_t next = 0;
  int64_t format = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("next", s.next);
    f("format", s.format, 2);
  }
};

// A store written by a newer program is refused, not dropped: this program
// cannot read it and must not destroy what the newer one wrote.
TEST_CASE("projections: a store of a newer layout is refused") {
  Store st;
  const uint64_t next = st.feed.next();
  st.views.reset();
  {
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::Options(), st.dir.path(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string value;
    codec::encode(StoredCheckpoint{static_cast<int64_t>(next), 1000}, value);
    REQUIRE(db->Put(rocksdb::WriteOptions(), "m/checkpoint", value).ok());
  }
  auto refused = Projections::open(st.dir.path());
  CHECK(refused.status().code() == Status::Code::kCorruption);
  CHECK(refused.status().message().find("newer than this program's") != std::string::npos);
}

TEST_CASE("projections: a bad event fails the whole batch") {
  Store st;
  const uint64_t base = st.feed.next();
  EventEnvelope bad = ev::ConcertCatalog::encode(user("u3", "Carol"), kT0);

  SUBCASE("undecodable payload") {
    bad.payload.push_back('\x7f');
  }
  SUBCASE("unknown version") {
    bad.version = 99;
  }
  SUBCASE("an event the views contradict") {
    bad = ev::ConcertCatalog::encode(hold("r1", "u1", {{"ghost", 7, 1}}), kT0);
  }
  st.feed.add(charge("u1", 10, 10)).add(user("u4", "Dan")).push(bad);
  const Status s = st.views->apply_batch(st.feed.take());
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(st.views->checkpoint() == base);
  CHECK(st.views->user("u1")->balance == 0);
  CHECK_FALSE(st.views->user("u4"));
  CHECK_FALSE(st.views->reservation("r1"));
  CHECK(st.available("s0") == 4);

  // Nothing of the failed batch lingers in memory either: redone without
  // the bad event, each write happens once.
  Feed redo(base);
  redo.add(charge("u1", 10, 10)).add(user("u4", "Dan")).add(hold("r1", "u1", {kSeatZ}));
  REQUIRE(st.views->apply_batch(redo.take()).ok());
  CHECK(st.views->user("u1")->balance == 10);
  CHECK(st.available("s0") == 3);
  CHECK(st.views->user_reservations("u1", 20, "")->items.size() == 1);
}

TEST_CASE("projections: many writes (past the in-memory recent writes)") {
  Store st;
  // More seats than the two generations (2 x 2^15) of recent writes kept in
  // memory hold: some of the held seats are read back from the store.
  constexpr int kSeats = 70'000;
  ev::ConcertCreated big{"big", "Big", {}};
  big.schedules.push_back(ev::ScheduleSpec{"sbig", 5000, {}});
  for (int n = 1; n <= kSeats; ++n) {
    big.schedules[0].seats.push_back({"seat" + std::to_string(n), n, n});
  }
  st.feed.add(big);
  st.apply();
  const std::vector<ev::SeatRef> picks = {
      {"seat1", 1, 1}, {"seat35000", 35'000, 35'000}, {"seat70000", kSeats, kSeats}};
  ev::SeatsHeld h = hold("rbig", "u1", picks);
  h.concert_id = "big";
  h.schedule_id = "sbig";
  st.feed.add(h);
  st.apply();
  const auto seats = st.views->seats("sbig");
  REQUIRE(seats);
  REQUIRE(seats->size() == kSeats);
  int held = 0;
  for (const auto& s : *seats) held += s.status == SeatStatus::kHeld ? 1 : 0;
  CHECK(held == 3);
  CHECK((*seats)[0].status == SeatStatus::kHeld);
  CHECK((*seats)[34'999].status == SeatStatus::kHeld);
  CHECK(seats->back().status == SeatStatus::kHeld);
  CHECK(seats->back().number == kSeats);
  CHECK(st.available("sbig") == kSeats - 3);
}

TEST_CASE("projections: read-modify-writes stay right across turnovers of the recent writes") {
  Store st;
  // Each round holds seat z and cancels it in two batches: 7 writes, 3 of
  // them read-modify-writes (the schedule's count, the seat, the
  // reservation). 12,000 rounds pass 2 x 2^15 writes more than twice, so
  // the recent writes turn over, mid-round too, many times.
  constexpr int kRounds = 12'000;
  for (int i = 0; i < kRounds; ++i) {
    const ev::SeatsHeld h = hold("rr" + std::to_string(i), "u1", {kSeatZ});
    st.feed.add(h);
    st.apply();
    st.feed.add(released<ev::ReservationCancelled>(h, kT0 + i));
    st.apply();
  }
  CHECK(st.available("s0") == 4);
  CHECK(st.seat_status("s0", "z") == SeatStatus::kAvailable);
  CHECK(st.views->reservation("rr0")->status == ReservationStatus::kCancelled);
  CHECK(st.views->reservation("rr" + std::to_string(kRounds - 1))->status ==
        ReservationStatus::kCancelled);
  // Reopened, apply reads the store alone, and finds the same.
  st.reopen();
  st.feed.add(hold("rr-last", "u2", {kSeatZ, kSeatM}));
  st.apply();
  CHECK(st.available("s0") == 2);
  CHECK(st.seat_status("s0", "z") == SeatStatus::kHeld);
}

// A valid stream over many users, seats and tokens: holds that are paid
// and refunded, cancelled or expired, and tokens issued, activated, expired.
// Every other cycle's token, hold and payment are version-1 events (no
// tokenId, no sequence numbers), the others version 2 with their numbers.
std::vector<EventEnvelope> busy_stream(int cycles) {
  Feed feed;
  const int kUsers = 7;
  ev::ConcertCreated big{"cb", "Busy", {}};
  big.schedules.push_back(ev::ScheduleSpec{"sb", 3000, {}, 1500});
  // Seats 1..40 come back free after each cycle; paid seats that stay sold
  // are 41.. (one each).
  for (int n = 1; n <= 40 + cycles; ++n) {
    big.schedules[0].seats.push_back({"q" + std::to_string(n), n, n});
  }
  for (int u = 0; u < kUsers; ++u) feed.add(user("b" + std::to_string(u), "U"));
  feed.add(big);
  std::vector<int64_t> balance(kUsers, 0);
  int64_t payments = 0;
  for (int i = 0; i < cycles; ++i) {
    const int u = i % kUsers;
    const bool v1 = i % 2 == 1;
    const std::string uid = "b" + std::to_string(u);
    const std::string token = "tok" + std::to_string(i);
    auto add = [&](const ev::ConcertEvent& e) { v1 ? feed.push(v1_envelope(e)) : feed.add(e); };
    add(ev::TokenIssued{token, uid, i + 1, kT0 + i, v1 ? 0 : 7919 * (i + 1)});
    feed.add(ev::TokenActivated{token, uid, i + 1, kT0 + i, kT0 + i + 600'000});
    feed.add(charge(uid, 1000, balance[u] += 1000));
    const bool keeps = i % 6 == 5;  // paid, never refunded
    const int n = keeps ? 41 + i : 1 + (i * 7) % 40;
    ev::SeatsHeld h = hold("rb" + std::to_string(i), uid, {{"q" + std::to_string(n), n, n}});
    h.concert_id = "cb";
    h.schedule_id = "sb";
    h.seq = v1 ? 0 : i + 1;
    add(h);
    if (i % 3 == 0) {
      feed.add(released<ev::HoldExpired>(h, kT0 + 400'000));
    } else if (i % 3 == 1) {
      feed.add(released<ev::ReservationCancelled>(h, kT0 + 5));
    } else {
      ev::PaymentCompleted p = pay("pb" + std::to_string(i), h, balance[u] -= h.total_price);
      ++payments;
      if (!v1) {
        p.seq = payments;
        p.reservation_seq = h.seq;
      }
      add(p);
      if (!keeps) feed.add(refund("pb" + std::to_string(i), h, balance[u] += h.total_price));
    }
    feed.add(ev::TokenExpired{token, uid, "TTL", true, kT0 + i + 600'000});
    feed.add_engine(ev::IdempotencyRecorded{uid, "k" + std::to_string(i), 1, 200, "{}"});
  }
  return feed.take();
}

// Applies `events` to a fresh store with apply_batch (batches of 7, as a
// follower might see them) and to another with a bulk load spilling every
// `bulk_entries_max` records; both must hold the same records.
// Returns how many records the stores hold.
size_t check_bulk_equals_batches(const std::vector<EventEnvelope>& events,
                                 size_t bulk_entries_max) {
  TempDir a_dir, b_dir;
  auto a = Projections::open(a_dir.path());
  auto b = Projections::open(b_dir.path());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  for (size_t i = 0; i < events.size(); i += 7) {
    const auto end = events.begin() + static_cast<ptrdiff_t>(std::min(events.size(), i + 7));
    const Status s = (*a)->apply_batch(std::vector<EventEnvelope>(events.begin() + i, end));
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  (*b)->set_bulk_entries_max(bulk_entries_max);
  for (const auto& env : events) {
    auto decoded = decode_for_views(env);
    REQUIRE(decoded.ok());
    const Status s = (*b)->bulk_apply(env.offset, *decoded);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  REQUIRE((*b)->finish_bulk().ok());
  CHECK((*b)->checkpoint() == events.size());
  const auto want = (*a)->dump();
  const auto got = (*b)->dump();
  CHECK(want.size() > 300);
  // Every kind of record is there (the indexes of SPEC §5.1's numbers too).
  for (const std::string prefix : {"c/", "cs/", "m/", "n/", "q/", "r/", "rs/", "s/", "st/", "t/",
                                   "ti/", "u/", "up/", "ur/", "ut/"}) {
    CAPTURE(prefix);
    CHECK(std::any_of(want.begin(), want.end(),
                      [&](const auto& kv) { return kv.first.starts_with(prefix); }));
  }
  REQUIRE(got.size() == want.size());
  size_t differ = 0;
  for (size_t i = 0; i < want.size(); ++i) differ += got[i] == want[i] ? 0 : 1;
  CHECK(differ == 0);
  // The bulk-loaded store reopens at its checkpoint and takes batches.
  b->reset();
  auto again = Projections::open(b_dir.path());
  REQUIRE(again.ok());
  CHECK((*again)->checkpoint() == events.size());
  Feed more(events.size());
  more.add(user("late", "Late"));
  CHECK((*again)->apply_batch(more.take()).ok());
  CHECK((*again)->user("late").has_value());
  return want.size();
}

// Not under TSan: after an ingest RocksDB's background threads (not
// TSan-instrumented) compact the files the test's reads use, which TSan
// reports as races inside RocksDB.
TEST_CASE("projections: a bulk load (spilling often) stores exactly what batch apply does" *
          doctest::skip(kThreadSanitizer)) {
  check_bulk_equals_batches(busy_stream(300), 50);  // dozens of spills, keys rewritten across them
}

TEST_CASE("projections: a large bulk load (two SST files a spill) equals batch apply" *
          doctest::skip(kThreadSanitizer)) {
  // Past 2^16 records a spill sorts and writes two halves on two threads.
  CHECK(check_bulk_equals_batches(busy_stream(16'000), Projections::kBulkEntriesMax) > 65'536);
}

TEST_CASE("projections: a bulk load refuses an offset out of order") {
  TempDir dir;
  auto views = Projections::open(dir.path());
  REQUIRE(views.ok());
  CHECK((*views)->bulk_apply(0, ViewEvent(user("u", "U"))).ok());
  CHECK((*views)->bulk_apply(2, ViewEvent(user("v", "V"))).code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE("projections: engine events (and limits) only advance the checkpoint") {
  Store st;
  const uint64_t base = st.feed.next();
  st.feed.add_engine(ev::IdempotencyRecorded{"u1", "k1", 42, 200, "{\"result\":\"SUCCESS\"}"})
      .add(charge("u1", 10, 10))
      .add_engine(ev::IdempotencyRecorded{"u1", "k2", 43, 409, "{}"});
  st.apply();
  CHECK(st.views->checkpoint() == base + 3);
  CHECK(st.views->user("u1")->balance == 10);

  st.feed.add_engine(ev::IdempotencyRecorded{"u2", "k3", 44, 200, "{}"});
  st.apply();
  CHECK(st.views->checkpoint() == base + 4);

  // Domain events no view shows advance it the same way.
  st.feed.add(ev::LimitsConfigured{300'000, 600'000, 1000, 4});
  st.apply();
  CHECK(st.views->checkpoint() == base + 5);
  CHECK(st.views->user("u1")->balance == 10);
}

// ---- crash without flush: the store keeps a prefix of batches ----

// Runs only as the child of the test below: applies, flushes, applies more,
// then dies without closing the store (no destructors, no flush at exit).
TEST_CASE("projections: crash child" * doctest::skip(std::getenv(kCrashDirEnv) == nullptr)) {
  const char* dir = std::getenv(kCrashDirEnv);
  auto r = Projections::open(dir);
  if (!r.ok()) _exit(3);
  Feed feed;
  feed.add(user("u1", "Alice")).add(user("u2", "Bob"));
  if (!(*r)->apply_batch(feed.take()).ok() || !(*r)->flush().ok()) _exit(4);
  feed.add(charge("u1", 10, 10)).add(charge("u2", 20, 20));
  if (!(*r)->apply_batch(feed.take()).ok()) _exit(5);
  _exit(0);
}

TEST_CASE("projections: after a crash the store holds a prefix with its checkpoint") {
  TempDir dir;
  setenv(kCrashDirEnv, dir.path().c_str(), 1);
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  std::string filter = "--test-case=projections: crash child";
  char* argv[] = {const_cast<char*>(self.c_str()), filter.data(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, environ);
  unsetenv(kCrashDirEnv);
  REQUIRE(rc == 0);
  int wstatus = 0;
  REQUIRE(waitpid(pid, &wstatus, 0) == pid);
  REQUIRE(WIFEXITED(wstatus));
  REQUIRE(WEXITSTATUS(wstatus) == 0);

  auto r = Projections::open(dir.path());
  REQUIRE(r.ok());
  Projections& views = **r;
  const uint64_t cp = views.checkpoint();
  // The flushed batch survives; the unflushed one is either wholly there
  // or wholly gone, and the checkpoint says which.
  REQUIRE((cp == 2 || cp == 4));
  CHECK(views.user("u2").has_value());
  CHECK(views.user("u2")->balance == (cp == 4 ? 20 : 0));
  CHECK(views.user("u1")->balance == (cp == 4 ? 10 : 0));
  if (cp == 2) {  // re-applying from the checkpoint restores the rest
    Feed feed(2);
    feed.add(charge("u1", 10, 10)).add(charge("u2", 20, 20));
    REQUIRE(views.apply_batch(feed.take()).ok());
  }
  CHECK(views.checkpoint() == 4);
  CHECK(views.user("u2")->balance == 20);
}

// ---- Follower ----

// An in-memory EventLog: enough of the contract for the follower.
class FakeLog final : public EventLog {
 public:
  Status append(std::vector<EventEnvelope>& batch) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& e : batch) {
        e.offset = events_.size();
        events_.push_back(e);
      }
    }
    cv_.notify_all();
    return Status::OK();
  }
  uint64_t end_offset() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return events_.size();
  }
  Status read(uint64_t from, size_t max_events, std::vector<EventEnvelope>* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint64_t i = from; i < events_.size() && i - from < max_events; ++i) {
      out->push_back(events_[i]);
    }
    return Status::OK();
  }
  uint64_t wait_beyond(uint64_t offset, milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return closed_ || events_.size() > offset; });
    return events_.size();
  }
  void close_waiters() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<EventEnvelope> events_;
  bool closed_ = false;
};

std::vector<EventEnvelope> envelopes(const std::vector<ev::ConcertEvent>& events) {
  std::vector<EventEnvelope> out;
  for (const auto& e : events) out.push_back(ev::ConcertCatalog::encode(e, kT0));
  return out;
}

struct FollowerSetup {
  TempDir dir;
  FakeLog log;
  std::unique_ptr<Projections> views;
  FollowerSetup() {
    auto r = Projections::open(dir.path());
    REQUIRE(r.ok());
    views = std::move(*r);
  }
  void append(const std::vector<ev::ConcertEvent>& events) {
    auto batch = envelopes(events);
    REQUIRE(log.append(batch).ok());
  }
};

TEST_CASE("follower: applies appended batches and wakes waiters") {
  FollowerSetup f;
  Follower follower(f.log, *f.views);
  follower.start();
  CHECK(follower.applied() == 0);
  CHECK_FALSE(follower.wait_applied(1, milliseconds(30)));  // nothing in the log yet

  f.append({user("u1", "Alice"), charge("u1", 10, 10)});
  REQUIRE(follower.wait_applied(2, milliseconds(5000)));
  CHECK(follower.applied() >= 2);
  CHECK(f.views->user("u1")->balance == 10);

  // A waiter blocked before the append is woken by it.
  std::thread appender([&] {
    std::this_thread::sleep_for(milliseconds(20));
    f.append({charge("u1", 5, 15)});
  });
  CHECK(follower.wait_applied(3, milliseconds(5000)));
  appender.join();
  CHECK(f.views->user("u1")->balance == 15);
  CHECK_FALSE(follower.wait_applied(4, milliseconds(30)));
  CHECK(follower.error().ok());

  // stop() applies what the log holds at the time of the call.
  f.append({charge("u1", 1, 16), user("u2", "Bob")});
  follower.stop();
  CHECK(follower.applied() == 5);
  CHECK(f.views->checkpoint() == 5);
  CHECK(f.views->user("u1")->balance == 16);
  CHECK(f.views->user("u2").has_value());
}

TEST_CASE("lag histogram: bounds are inclusive; a clock step back counts as no lag") {
  using H = LagHistogram;
  CHECK(H::bucket_of(0) == 0);
  CHECK(H::bucket_of(1) == 0);
  CHECK(H::bucket_of(2) == 1);
  CHECK(H::bucket_of(50) == 5);
  CHECK(H::bucket_of(51) == 6);
  CHECK(H::bucket_of(5000) == H::kBoundsMs.size() - 1);
  CHECK(H::bucket_of(5001) == H::kBuckets - 1);
  H h;
  h.record(-3, 2);
  h.record(51, 1);
  const H::Counts c = h.counts();
  CHECK(c.per_bucket[0] == 2);
  CHECK(c.per_bucket[6] == 1);
  CHECK(c.events == 3);
  CHECK(c.sum_ms == 51);
}

TEST_CASE("follower: counts each applied event's lag from its decision time") {
  FollowerSetup f;
  ManualClock clock(kT0 + 37);
  std::vector<EventEnvelope> batch = {ev::ConcertCatalog::encode(user("u1", "Alice"), kT0),
                                      ev::ConcertCatalog::encode(charge("u1", 10, 10), kT0),
                                      ev::ConcertCatalog::encode(charge("u1", 5, 15), kT0 + 30)};
  REQUIRE(f.log.append(batch).ok());
  Follower follower(f.log, *f.views, Follower::Options{&clock, false});
  follower.start();
  follower.stop();  // applies what the log holds
  REQUIRE(follower.applied() == 3);
  const LagHistogram::Counts c = follower.lag().counts();
  CHECK(c.events == 3);
  CHECK(c.per_bucket[LagHistogram::bucket_of(37)] == 2);
  CHECK(c.per_bucket[LagHistogram::bucket_of(7)] == 1);
  CHECK(c.sum_ms == 37 + 37 + 7);

  // Without a clock nothing is counted.
  FollowerSetup g;
  REQUIRE(g.log.append(batch).ok());
  Follower plain(g.log, *g.views);
  plain.start();
  plain.stop();
  CHECK(plain.applied() == 3);
  CHECK(plain.lag().counts().events == 0);
}

TEST_CASE("follower: queries never see half a batch" * doctest::skip(kThreadSanitizer)) {
  FollowerSetup f;
  f.append({user("u1", "Alice")});
  std::vector<EventEnvelope> setup;
  for (const auto& e : catalog()) setup.push_back(ev::ConcertCatalog::encode(e, kT0));
  REQUIRE(f.log.append(setup).ok());
  Follower follower(f.log, *f.views);
  follower.start();
  constexpr int kRounds = 200;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!done.load()) {
      const auto seats = f.views->seats("s0");
      if (!seats) continue;  // the catalog is not applied yet
      int held = 0;
      for (const auto& s : *seats) held += s.status == SeatStatus::kHeld ? 1 : 0;
      if (held != 0 && held != 2) torn.fetch_add(1);
    }
  });
  for (int i = 0; i < kRounds; ++i) {  // each batch holds two seats, the next frees both
    const ev::SeatsHeld h = hold("r" + std::to_string(i), "u1", {kSeatZ, kSeatM});
    f.append({h});
    f.append({released<ev::HoldExpired>(h, kT0)});
  }
  REQUIRE(follower.wait_applied(f.log.end_offset(), milliseconds(10000)));
  done.store(true);
  reader.join();
  follower.stop();
  CHECK(torn.load() == 0);
  CHECK(f.views->schedule("s0")->available_seats == 4);
}

TEST_CASE("follower: resumes from the checkpoint") {
  FollowerSetup f;
  f.append({user("u1", "Alice"), charge("u1", 10, 10)});
  std::vector<EventEnvelope> first;
  REQUIRE(f.log.read(0, 2, &first).ok());
  REQUIRE(f.views->apply_batch(first).ok());
  f.append({charge("u1", 5, 15)});

  Follower follower(f.log, *f.views);
  CHECK(follower.applied() == 2);
  follower.start();
  REQUIRE(follower.wait_applied(3, milliseconds(5000)));
  CHECK(f.views->user("u1")->balance == 15);  // the first two were not applied twice
  f.log.close_waiters();                      // shutdown order of a server
  follower.stop();
  CHECK(follower.error().ok());
}

TEST_CASE("follower: stops applying on corruption") {
  FollowerSetup f;
  Follower follower(f.log, *f.views);
  follower.start();
  auto batch = envelopes({user("u1", "Alice")});
  batch[0].payload.push_back('\x7f');
  REQUIRE(f.log.append(batch).ok());
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(5000);
  while (follower.error().ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  CHECK(follower.error().code() == Status::Code::kCorruption);
  f.append({user("u2", "Bob")});
  CHECK_FALSE(follower.wait_applied(1, milliseconds(50)));
  CHECK(follower.applied() == 0);
  follower.stop();  // returns at once: the thread has already ended
  CHECK_FALSE(f.views->user("u2"));
}

}  // namespace
