// Snapshots: state from a snapshot plus the log's tail equals state from a
// full replay, at many cut points of a randomized workload driven through
// concert::Module (compared as concert::encode_state bytes, which are
// canonical, and as the IdempotencyTable's entries after the writer
// snapshot's encode/decode round trip); Writer::recover() restores the newest
// usable snapshot and falls back past a damaged one; FileSnapshotStore keeps
// checksummed files (save/list/load, the newest two, truncation and bit flips
// are Corruption, a `.tmp` leftover is ignored).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "engine/concert/commands.h"
#include "engine/concert/decide.h"
#include "engine/concert/module.h"
#include "engine/concert/replies.h"
#include "engine/concert/snapshot.h"
#include "engine/idempotency.h"
#include "engine/snapshot_store.h"
#include "engine/writer.h"
#include "engine/writer_snapshot.h"
#include "events/concert_events.h"
#include "events/engine_events.h"
#include "events/os.h"
#include "support/given.h"
#include "support/memory_log.h"
#include "support/stderr_capture.h"
#include "support/temp_dir.h"

namespace {

using namespace reservoir;
namespace ev = reservoir::events;
using reservoir::test::MemoryLog;
using reservoir::test::TempDir;

constexpr int64_t kT0 = 1'800'000'000'000;
constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;

const concert::Limits kLimits{5 * kMinute, 10 * kMinute, 3, 3};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// --- the IdempotencyTable, comparable ------------------------------------------------------

using Entry = std::tuple<std::string, std::string, int64_t, int64_t, std::string, int64_t>;

std::vector<Entry> entries_of(const IdempotencyTable& t) {
  std::vector<Entry> out;
  for (const auto& [r, at] : t.entries()) {
    out.emplace_back(r.scope, r.key, r.fingerprint, r.status, r.body, at);
  }
  return out;
}

// --- a randomized workload, as the writer would log it -------------------------------------

// Drives concert::Module with random commands at a random, mostly slowly
// advancing clock (with jumps that expire holds and tokens, close a schedule,
// and age idempotency answers past their 25 h), logging every event the way
// the writer does: clock events, the command's events, then, for commands
// that carry an Idempotency-Key, the IdempotencyRecorded answer. A command
// whose key the table still remembers is answered from the table and logs
// nothing, as in the writer.
struct Workload {
  std::vector<EventEnvelope> log;  // offsets 0..n-1
  std::unique_ptr<concert::Module> module = std::make_unique<concert::Module>(kLimits);
  IdempotencyTable answers;
  int64_t last_now = 0;
  size_t remembered_replays = 0;  // commands answered from the table
};

Workload generate(uint64_t seed, int steps) {
  Workload w;
  concert::Module& m = *w.module;
  SeededRandom random(seed);
  std::mt19937_64 rng(seed * 7919 + 1);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  int64_t now = kT0;

  m.start(now, w.log);
  const std::vector<std::string> users = {"u0", "u1", "u2", "u3", "u4", "u5"};
  for (const auto& u : users) m.execute(concert::RegisterUser{u, "name " + u}, now, random, w.log);
  for (const auto& u : users) m.execute(concert::ChargeBalance{u, 200'000}, now, random, w.log);
  concert::CreateConcert cc{"c1", "Concert", {}};
  for (int s = 0; s < 3; ++s) {
    // s0 starts mid-run (later commands on it are SCHEDULE_CLOSED); the others do not.
    concert::ScheduleInput si{"s" + std::to_string(s), now + (s == 0 ? 30 : 1000) * kHour, {}};
    for (int n = 1; n <= 8; ++n) si.seats.push_back({"", n, 1000 * n});  // generated seat ids
    cc.schedules.push_back(si);
  }
  concert::Reply created = m.execute(cc, now, random, w.log);
  REQUIRE(std::holds_alternative<concert::ConcertReply>(created));
  std::vector<std::pair<std::string, std::vector<std::string>>> schedules;
  for (const auto& s : std::get<concert::ConcertReply>(created).created.schedules) {
    std::vector<std::string> ids;
    for (const auto& seat : s.seats) ids.push_back(seat.seat_id);
    schedules.emplace_back(s.schedule_id, ids);
  }

  std::map<std::string, std::string> token;
  std::map<std::string, std::vector<std::string>> mine;
  std::vector<std::string> all;
  auto some_reservation = [&](const std::string& user) -> std::string {
    const auto& own = mine[user];
    if (!own.empty() && pick(2) == 0) return own.back();
    if (!own.empty() && pick(4) != 0) return own[pick(own.size())];
    return all.empty() ? "nope" : all[pick(all.size())];
  };
  auto issue = [&](const std::string& user) {
    concert::Reply r = m.execute(concert::IssueToken{user}, now, random, w.log);
    if (auto* t = std::get_if<concert::TokenReply>(&r)) token[user] = t->token;
  };

  for (int step = 0; step < steps; ++step) {
    now += static_cast<int64_t>(rng() % 20'000);
    if (pick(40) == 0) now += static_cast<int64_t>(rng() % (3 * kHour));
    const std::string& user = users[pick(users.size())];
    concert::Command command;
    switch (pick(7)) {
      case 0:
        command = concert::ChargeBalance{user, static_cast<int64_t>(rng() % 30'000)};
        break;
      case 1:
        command = concert::IssueToken{user};
        break;
      case 2:
      case 3: {
        issue(user);
        const auto& [schedule, seats] = schedules[pick(schedules.size())];
        std::set<std::string> chosen;
        for (size_t i = 0, n = 1 + pick(3); i < n; ++i) chosen.insert(seats[pick(seats.size())]);
        command = concert::HoldSeats{token[user], std::nullopt, schedule,
                                     std::vector<std::string>(chosen.begin(), chosen.end())};
        break;
      }
      case 4:
      case 5:
        command = concert::PayReservation{token[user], std::nullopt, some_reservation(user)};
        break;
      case 6:
        issue(user);
        command = concert::CancelReservation{token[user], some_reservation(user)};
        break;
    }
    // Keys repeat every 300 commands: some are still remembered, some have aged out.
    const bool keyed = pick(3) != 0;
    const std::string key = "k" + std::to_string(step % 300);
    m.advance_clock(now, w.log);  // the writer runs the clock before the lookup
    if (keyed && w.answers.find(user, key) != nullptr) {
      ++w.remembered_replays;
      continue;
    }
    concert::Reply reply = m.execute(command, now, random, w.log);
    if (auto* r = std::get_if<concert::ReservationReply>(&reply)) {
      if (r->state == concert::ReservationState::kPendingPayment &&
          std::find(all.begin(), all.end(), r->reservation_id) == all.end()) {
        all.push_back(r->reservation_id);
        mine[user].push_back(r->reservation_id);
      }
    }
    if (keyed) {
      const auto* err = std::get_if<DomainError>(&reply);
      ev::IdempotencyRecorded rec{user, key, static_cast<int64_t>(rng() >> 1), err ? 409 : 200,
                                  "answer to step " + std::to_string(step)};
      w.answers.apply(rec, now);
      w.log.push_back(ev::EngineCatalog::encode(ev::EngineEvent(rec), now));
    }
  }
  for (size_t i = 0; i < w.log.size(); ++i) w.log[i].offset = i;
  w.last_now = now;
  return w;
}

// What the writer's recovery rebuilds: module state, remembered answers, clock.
struct Replayed {
  concert::Module module{kLimits};
  IdempotencyTable answers;
  int64_t last_now = 0;

  void apply(const EventEnvelope& env) {
    last_now = std::max(last_now, env.time_ms);
    if (ev::EngineCatalog::knows(env.type)) {
      auto e = ev::EngineCatalog::decode(env);
      REQUIRE(e.ok());
      answers.apply(std::get<ev::IdempotencyRecorded>(*e), env.time_ms);
    } else {
      Status s = module.apply(env);
      REQUIRE_MESSAGE(s.ok(), s.ToString());
    }
  }
  void apply(const std::vector<EventEnvelope>& log, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) apply(log[i]);
  }
  std::string state() const { return concert::encode_state(module.state()); }
};

size_t count_type(const std::vector<EventEnvelope>& log, const std::string& type) {
  return static_cast<size_t>(
      std::count_if(log.begin(), log.end(), [&](const auto& e) { return e.type == type; }));
}

// What encode_state leaves out because restore derives it: the deadline
// sets and seat indexes must come out alike too, or the clock and decide
// would behave differently after a restore.
void check_derived_alike(const concert::State& got, const concert::State& want) {
  CHECK(got.hold_deadlines.sorted() == want.hold_deadlines.sorted());
  CHECK(got.token_deadlines.sorted() == want.token_deadlines.sorted());
  REQUIRE(got.schedules.size() == want.schedules.size());
  for (Id id = 0; id < want.schedules.size(); ++id) {
    const std::string key(want.schedules.key(id));
    CAPTURE(key);
    REQUIRE(got.schedules.find(key) == id);
    const concert::Schedule& schedule = want.schedules[id];
    for (Id seat = 0; seat < schedule.seats.size(); ++seat) {
      CHECK(got.schedules[id].find_seat(schedule.seats[seat].seat_id) == seat);
    }
  }
  for (int64_t seq = 0; seq <= want.next_reservation_seq(); ++seq) {
    CHECK(got.find_reservation_seq(seq) == want.find_reservation_seq(seq));
  }
  REQUIRE(got.users.size() == want.users.size());
  for (Id u = 0; u < want.users.size(); ++u) {
    CHECK(got.users[u].reservations == want.users[u].reservations);
  }
  REQUIRE(got.tokens.id_end() == want.tokens.id_end());
  for (Id t = 0; t < want.tokens.id_end(); ++t) {
    REQUIRE(got.tokens.live(t) == want.tokens.live(t));
    if (!want.tokens.live(t)) continue;
    CHECK(got.find_token_id(want.tokens[t].token_id) ==
          want.find_token_id(want.tokens[t].token_id));
  }
  CHECK(got.sold_schedules.sorted() == want.sold_schedules.sorted());
  CHECK(concert::next_due_ms(got, kLimits) == concert::next_due_ms(want, kLimits));
}

// --- snapshot + tail == full replay ---------------------------------------------------------

TEST_CASE("snapshot: the randomized workload reaches every lifecycle") {
  const Workload w = generate(1, 1500);
  for (const char* t :
       {"SeatsHeld", "PaymentCompleted", "ReservationRefunded", "ReservationCancelled",
        "HoldExpired", "TokenActivated", "TokenExpired", "IdempotencyRecorded"}) {
    INFO("event type ", std::string(t));
    CHECK(count_type(w.log, t) >= 5);
  }
  CHECK(w.remembered_replays > 0);
  // Some answers aged out: fewer remain than were recorded.
  CHECK(w.answers.size() < count_type(w.log, "IdempotencyRecorded"));
  // The run spans more than the retention: tokens and reservations were
  // evicted and their ids reused, and s0's sold seats outlived their records.
  const concert::State& s = w.module->state();
  CHECK(s.tokens.size() < count_type(w.log, "TokenIssued"));
  CHECK(s.tokens.id_end() < count_type(w.log, "TokenIssued"));
  CHECK(s.reservations.size() < count_type(w.log, "SeatsHeld"));
  CHECK(s.reservations.id_end() < count_type(w.log, "SeatsHeld"));
  // s0's seats sold for good (paid, never refunded) outlive their records.
  std::set<std::string> sold;
  for (const auto& env : w.log) {
    if (!ev::ConcertCatalog::knows(env.type)) continue;
    auto e = ev::ConcertCatalog::decode(env);
    REQUIRE(e.ok());
    if (const auto* p = std::get_if<ev::PaymentCompleted>(&*e)) {
      if (p->schedule_id == "s0") sold.insert(p->reservation_id);
    } else if (const auto* f = std::get_if<ev::ReservationRefunded>(&*e)) {
      sold.erase(f->reservation_id);
    }
  }
  REQUIRE(w.last_now > kT0 + 30 * kHour + concert::kFinishedRetentionMs);
  size_t retired = 0;
  for (const auto& seat : s.schedules.at("s0").seats)
    retired += seat.holder == concert::kRetiredHolder;
  CHECK(retired >= sold.size());
  for (const auto& id : sold) CHECK(s.reservations.find(id) == kNoId);
}

TEST_CASE("snapshot: full replay rebuilds exactly the state the module decided") {
  for (uint64_t seed : {1, 2, 3}) {
    CAPTURE(seed);
    const Workload w = generate(seed, 1500);
    Replayed full;
    full.apply(w.log, 0, w.log.size());
    CHECK(full.state() == concert::encode_state(w.module->state()));
    check_derived_alike(full.module.state(), w.module->state());
    CHECK(entries_of(full.answers) == entries_of(w.answers));
    CHECK(full.last_now <= w.last_now);
  }
}

TEST_CASE("snapshot: encode_state is canonical: decode then encode gives the same bytes") {
  const Workload w = generate(4, 800);
  const std::string bytes = concert::encode_state(w.module->state());
  concert::State decoded;
  REQUIRE(concert::decode_state(bytes, decoded));
  CHECK(concert::encode_state(decoded) == bytes);
  concert::Module restored(kLimits);
  REQUIRE(restored.restore(w.module->snapshot()));
  CHECK(restored.snapshot() == bytes);
  CHECK(restored.next_due_ms() == w.module->next_due_ms());  // derived indexes rebuilt
}

TEST_CASE("snapshot: snapshot + tail equals full replay at many cut points") {
  for (uint64_t seed : {11, 12}) {
    CAPTURE(seed);
    const Workload w = generate(seed, 1200);
    const size_t n = w.log.size();
    Replayed full;
    full.apply(w.log, 0, n);
    const std::string want_state = full.state();
    const auto want_answers = entries_of(full.answers);

    std::set<size_t> cuts = {0, 1, 2, n / 2, n - 1, n};
    for (size_t k = 0; k < n; k += std::max<size_t>(1, n / 40)) cuts.insert(k);
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 20; ++i) cuts.insert(static_cast<size_t>(rng() % (n + 1)));

    Replayed prefix;  // advances from cut to cut
    size_t at = 0;
    for (size_t k : cuts) {
      CAPTURE(k);
      prefix.apply(w.log, at, k);
      at = k;
      const std::string bytes =
          encode_writer_snapshot(k, prefix.last_now, prefix.module.snapshot(), prefix.answers);
      WriterSnapshot snap;
      REQUIRE(decode_writer_snapshot(bytes, snap));
      CHECK(snap.offset == k);
      CHECK(snap.last_now == prefix.last_now);
      CHECK(entries_of(snap.answers) == entries_of(prefix.answers));  // the round trip

      Replayed resumed;
      REQUIRE(resumed.module.restore(snap.module));
      CHECK(resumed.state() == prefix.state());
      resumed.answers = std::move(snap.answers);
      resumed.last_now = snap.last_now;
      resumed.apply(w.log, k, n);

      CHECK(resumed.state() == want_state);
      check_derived_alike(resumed.module.state(), full.module.state());
      CHECK(entries_of(resumed.answers) == want_answers);
      CHECK(resumed.last_now == full.last_now);
      // The remembered answers behave alike too, not only list alike.
      for (const auto& [scope, key, fp, status, body, t] : want_answers) {
        const auto* e = resumed.answers.find(scope, key);
        REQUIRE(e != nullptr);
        CHECK(e->fingerprint == fp);
        CHECK(e->answer.body == body);
      }
    }
  }
}

TEST_CASE("snapshot: bytes that do not decode are refused") {
  const Workload w = generate(5, 300);
  const std::string bytes =
      encode_writer_snapshot(w.log.size(), w.last_now, w.module->snapshot(), w.answers);
  WriterSnapshot snap;
  CHECK_FALSE(decode_writer_snapshot(bytes.substr(0, bytes.size() / 2), snap));
  CHECK_FALSE(decode_writer_snapshot(bytes + "x", snap));
  CHECK_FALSE(decode_writer_snapshot("", snap));

  concert::Module m(kLimits);
  const std::string state = w.module->snapshot();
  CHECK_FALSE(m.restore(state.substr(0, state.size() - 1)));
  CHECK(m.snapshot() == concert::encode_state(concert::State()));  // left reset
  CHECK_FALSE(m.restore("garbage"));
  CHECK(m.restore(state));
  CHECK(m.snapshot() == state);
}

TEST_CASE("snapshot: every truncation and many bit flips of a state are refused or harmless") {
  const Workload w = generate(6, 150);
  const std::string state = w.module->snapshot();
  concert::Module m(kLimits);
  for (size_t n = 0; n < state.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(m.restore(std::string_view(state).substr(0, n)));
  }
  // A flipped bit may still decode (a balance changes), but must never
  // crash or leave references dangling: encoding the result works.
  std::mt19937_64 rng(5);
  for (int i = 0; i < 2000; ++i) {
    std::string bad = state;
    bad[rng() % bad.size()] ^= static_cast<char>(1 << (rng() % 8));
    if (m.restore(bad)) CHECK_FALSE(m.snapshot().empty());
  }
  CHECK(m.restore(state));
  CHECK(m.snapshot() == state);
}

// --- Writer::recover ------------------------------------------------------------------------

using test::StderrCapture;

Rendered render_any(const concert::Reply& reply) {
  if (const auto* e = std::get_if<DomainError>(&reply))
    return {409, std::string(error_name(e->code))};
  return {200, "OK"};
}

struct RecoveringWriter {
  explicit RecoveringWriter(SnapshotStore* store) {
    WriterConfig config;
    config.snapshots = store;
    config.snapshot_every_events = 0;  // no new snapshots: the test's stay as they are
    config.idle_wake_ms = 5;
    writer =
        std::make_unique<Writer<concert::Module>>(module, log, clock, random, &render_any, config);
  }
  ~RecoveringWriter() { writer->stop(); }

  MemoryLog log;
  concert::Module module{kLimits};
  ManualClock clock{kT0};
  SeededRandom random{99};
  std::unique_ptr<Writer<concert::Module>> writer;
};

TEST_CASE("snapshot: Writer::recover restores the newest snapshot, then replays the tail") {
  const Workload w = generate(21, 1000);
  const size_t n = w.log.size();
  Replayed full;
  full.apply(w.log, 0, n);

  TempDir dir;
  FileSnapshotStore store(dir.path() + "/snapshots");
  const size_t older = n / 3, newer = 2 * n / 3;
  for (size_t k : {older, newer}) {
    Replayed prefix;
    prefix.apply(w.log, 0, k);
    REQUIRE(store
                .save(k, encode_writer_snapshot(k, prefix.last_now, prefix.module.snapshot(),
                                                prefix.answers))
                .ok());
  }

  std::string expect_restored;
  SUBCASE("the newest is good") {
    expect_restored = std::to_string(newer);
  }
  SUBCASE("the newest is damaged: the older one is used") {
    char name[64];
    std::snprintf(name, sizeof name, "/snapshot-%020llu.snap",
                  static_cast<unsigned long long>(newer));
    const std::string path = dir.path() + "/snapshots" + name;
    std::string bytes = read_bytes(path);
    REQUIRE(bytes.size() > 40);
    bytes[bytes.size() / 2] ^= 0x10;
    write_bytes(path, bytes);
    expect_restored = std::to_string(older);
  }
  SUBCASE("every snapshot is damaged: the whole log is replayed") {
    for (const auto& entry : std::filesystem::directory_iterator(dir.path() + "/snapshots")) {
      std::filesystem::resize_file(entry.path(), 20);
    }
    expect_restored = "";
  }
  SUBCASE("a snapshot beyond the log's end (a log that lost its tail) is skipped") {
    REQUIRE(store.save(n + 5, "whatever").ok());  // the newest two: n + 5 and `newer`
    expect_restored = std::to_string(newer);
  }

  RecoveringWriter rw(&store);
  std::vector<EventEnvelope> copy = w.log;
  REQUIRE(rw.log.append(copy).ok());
  StderrCapture capture;
  const Status s = rw.writer->recover();
  const std::string err = capture.text();
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  INFO("stderr: ", err);
  if (expect_restored.empty()) {
    CHECK(err.find("event=snapshot_none") != std::string::npos);
  } else {
    CHECK(err.find("event=snapshot_restored writer=rsv-writer offset=" + expect_restored + "\n") !=
          std::string::npos);
  }
  CHECK(concert::encode_state(rw.module.state()) == full.state());
  CHECK(rw.writer->acknowledged_offset() == n);

  // The remembered answers came back too: a retry is answered from them.
  rw.writer->start();
  const auto remembered = entries_of(full.answers);
  REQUIRE_FALSE(remembered.empty());
  for (size_t i = 0; i < remembered.size(); i += std::max<size_t>(1, remembered.size() / 10)) {
    const auto& [scope, key, fp, status, body, t] = remembered[i];
    CAPTURE(key);
    const Rendered r =
        rw.writer->execute(concert::ChargeBalance{scope, 1}, IdempotencyRequest{key, fp});
    CHECK(r.status == status);
    CHECK(r.body == body);
  }
}

// A writer snapshot in concert state format 1 (records sorted by string
// id), written by the engine before format 2, covering the 15 events below.
// Its hex bytes were produced by that engine from exactly these events.
std::vector<ev::ConcertEvent> format1_events() {
  return {
      ev::LimitsConfigured{300000, 600000, 3, 3},
      ev::UserRegistered{"u1", "one"},
      ev::UserRegistered{"u2", "two"},
      ev::ConcertCreated{
          "c1",
          "v1",
          {{"s1", kT0 + 86400000, {{"a1", 1, 1000}, {"a2", 2, 2000}, {"a3", 3, 3000}}}}},
      ev::BalanceCharged{"u1", 10000, 10000, kT0},
      ev::TokenIssued{"t1", "u1", 1, kT0},
      ev::TokenActivated{"t1", "u1", 1, kT0, kT0 + 600000},
      ev::SeatsHeld{"r1", "u1", "c1", "s1", {{"a1", 1, 1000}}, 1000, kT0, kT0 + 300000},
      ev::PaymentCompleted{"p1", "r1", "u1", "s1", {{"a1", 1, 1000}}, 1000, kT0 + 1, 9000},
      ev::TokenExpired{"t1", "u1", "PAID", true, kT0 + 1},
      ev::TokenIssued{"t2", "u1", 2, kT0 + 2},
      ev::TokenActivated{"t2", "u1", 2, kT0 + 2, kT0 + 600002},
      ev::SeatsHeld{"r2", "u1", "c1", "s1", {{"a2", 2, 2000}}, 2000, kT0 + 3, kT0 + 300003},
      ev::TokenIssued{"t3", "u2", 3, kT0 + 4},
      ev::TokenActivated{"t3", "u2", 3, kT0 + 4, kT0 + 600004},
  };
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

const char* const kFormat1WriterSnapshot =
    "021e88c0e285e368c5010204c0cf24809f49060602027531027432d08c010102733104027532027433000001"
    "026331000102733102633180b095d8e3680302613102723102d00f02613202723204a01f0261330006f02e02"
    "0272310275310273310270310102613102d00fd00f80c0e285e368c08f8786e36882c0e285e3680202723202"
    "7531027331000102613204a01fa01f86c0e285e368c68f8786e368000003027431027531040282c0e285e368"
    "027432027531020484dfab86e368027433027532020688dfab86e36804080600";

TEST_CASE("snapshot: a format-1 state does not decode; recovery replays the whole log") {
  const std::string bytes = from_hex(kFormat1WriterSnapshot);
  WriterSnapshot snap;
  REQUIRE(decode_writer_snapshot(bytes, snap));  // the writer's envelope did not change
  CHECK(snap.offset == 15);
  concert::Module m(kLimits);
  CHECK_FALSE(m.restore(snap.module));
  CHECK(m.snapshot() == concert::encode_state(concert::State()));  // left reset

  std::vector<EventEnvelope> log;
  for (const auto& e : format1_events()) log.push_back(ev::ConcertCatalog::encode(e, kT0));
  Replayed full;
  full.apply(log, 0, log.size());

  TempDir dir;
  FileSnapshotStore store(dir.path() + "/snapshots");
  REQUIRE(store.save(15, bytes).ok());
  RecoveringWriter rw(&store);
  REQUIRE(rw.log.append(log).ok());
  StderrCapture capture;
  const Status s = rw.writer->recover();
  const std::string err = capture.text();
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  INFO("stderr: ", err);
  CHECK(err.find(
            "event=snapshot_unusable writer=rsv-writer offset=15 reason=\"it does not decode\"") !=
        std::string::npos);
  CHECK(err.find("event=snapshot_none") != std::string::npos);
  CHECK(concert::encode_state(rw.module.state()) == full.state());
  const concert::State& st = rw.module.state();
  CHECK(st.users.at("u1").balance == 9000);
  CHECK(st.reservations.at("r1").state == concert::ReservationState::kConfirmed);
  CHECK(st.payment_id(st.reservations.at("r1")) == "p1");
  CHECK(st.hold_deadlines.size() == 1);
  CHECK(st.token_deadlines.size() == 2);
}

// --- FileSnapshotStore ----------------------------------------------------------------------

std::string snapshot_path(const std::string& dir, uint64_t offset) {
  char name[64];
  std::snprintf(name, sizeof name, "/snapshot-%020llu.snap",
                static_cast<unsigned long long>(offset));
  return dir + name;
}

std::string payload(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 31);
  return s;
}

TEST_CASE("snapshot store: save, list and load round trip") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/snaps";  // created by the first save
  FileSnapshotStore store(dir);
  CHECK(store.list().empty());
  CHECK_FALSE(store.load(7).ok());

  const std::string big = payload(300'000, 'a');
  REQUIRE(store.save(7, big).ok());
  REQUIRE(store.save(12, "").ok());  // an empty state is a state too
  CHECK(store.list() == std::vector<uint64_t>{12, 7});
  auto loaded = store.load(7);
  REQUIRE(loaded.ok());
  CHECK(*loaded == big);
  auto empty = store.load(12);
  REQUIRE(empty.ok());
  CHECK(empty->empty());

  // Another store on the same directory (a restarted process) sees the same.
  FileSnapshotStore again(dir);
  CHECK(again.list() == std::vector<uint64_t>{12, 7});
  CHECK(*again.load(7) == big);
}

TEST_CASE("snapshot store: keeps only the newest two") {
  TempDir tmp;
  FileSnapshotStore store(tmp.path());
  for (uint64_t offset : {100, 200, 300, 400}) {
    REQUIRE(store.save(offset, "state at " + std::to_string(offset)).ok());
  }
  CHECK(store.list() == std::vector<uint64_t>{400, 300});
  CHECK(*store.load(400) == "state at 400");
  CHECK(*store.load(300) == "state at 300");
  CHECK_FALSE(store.load(200).ok());
  CHECK_FALSE(std::filesystem::exists(snapshot_path(tmp.path(), 100)));
  CHECK_FALSE(std::filesystem::exists(snapshot_path(tmp.path(), 200)));
}

TEST_CASE("snapshot store: a truncated file is Corruption") {
  TempDir tmp;
  FileSnapshotStore store(tmp.path());
  const std::string body = payload(1000, 'x');
  REQUIRE(store.save(5, body).ok());
  const std::string path = snapshot_path(tmp.path(), 5);
  const std::string whole = read_bytes(path);
  REQUIRE(whole.size() > body.size());
  for (size_t keep : {size_t{0}, size_t{1}, size_t{16}, size_t{31}, size_t{32}, size_t{33},
                      whole.size() / 2, whole.size() - 1}) {
    CAPTURE(keep);
    write_bytes(path, whole.substr(0, keep));
    auto r = store.load(5);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kCorruption);
  }
  write_bytes(path, whole + "extra");  // trailing bytes are not a snapshot either
  CHECK(store.load(5).status().code() == Status::Code::kCorruption);
  write_bytes(path, whole);
  CHECK(*store.load(5) == body);
}

TEST_CASE("snapshot store: a flipped bit anywhere that matters is Corruption") {
  TempDir tmp;
  FileSnapshotStore store(tmp.path());
  const std::string body = payload(200, 'q');
  REQUIRE(store.save(9, body).ok());
  const std::string path = snapshot_path(tmp.path(), 9);
  const std::string whole = read_bytes(path);
  REQUIRE(whole.size() == 32 + body.size());  // the documented header, then the body
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i >= 28 && i < 32) continue;  // header padding: carries nothing
    CAPTURE(i);
    for (int bit : {0, 7}) {
      std::string flipped = whole;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      write_bytes(path, flipped);
      auto r = store.load(9);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == Status::Code::kCorruption);
    }
  }
}

TEST_CASE("snapshot store: a file renamed to another offset is Corruption") {
  TempDir tmp;
  FileSnapshotStore store(tmp.path());
  REQUIRE(store.save(9, "nine").ok());
  std::filesystem::rename(snapshot_path(tmp.path(), 9), snapshot_path(tmp.path(), 10));
  CHECK(store.list() == std::vector<uint64_t>{10});
  CHECK(store.load(10).status().code() == Status::Code::kCorruption);
}

TEST_CASE("snapshot store: a .tmp leftover of a crashed save is ignored") {
  TempDir tmp;
  FileSnapshotStore store(tmp.path());
  REQUIRE(store.save(50, "fifty").ok());
  // A save of offset 80 that died before its rename: a partial temp file.
  write_bytes(snapshot_path(tmp.path(), 80) + ".tmp", "RSNP half-written");
  write_bytes(tmp.path() + "/unrelated.txt", "not a snapshot");
  CHECK(store.list() == std::vector<uint64_t>{50});
  CHECK(*store.load(50) == "fifty");
  // Saving that offset again replaces the leftover with a whole snapshot.
  REQUIRE(store.save(80, "eighty").ok());
  CHECK(store.list() == std::vector<uint64_t>{80, 50});
  CHECK(*store.load(80) == "eighty");
  CHECK_FALSE(std::filesystem::exists(snapshot_path(tmp.path(), 80) + ".tmp"));
}

// A writer snapshot in concert state format 2 (before SPEC §5.1's fields),
// written by the engine at commit aef5b41 from format1_events() above, each
// encoded at kT0: the same 15 events, so the same offset.
const char* const kFormat2WriterSnapshot =
    "021e80c0e285e368a10104c0cf24809f49060604080601026331010273310180b095d8e3680302613102d00f"
    "0102613204a01f0202613306f02e0002027531d08c01020101040275320003000302743101020282c0e285e3"
    "6802743201010484dfab86e36802743302010688dfab86e3680002027231010101d00f80c0e285e368c08f87"
    "86e36882c0e285e368010270310100027232010100a01f86c0e285e368c68f8786e3680000010100";

TEST_CASE("snapshot: a format-2 state does not decode; recovery replays the whole log") {
  const std::string bytes = from_hex(kFormat2WriterSnapshot);
  WriterSnapshot snap;
  REQUIRE(decode_writer_snapshot(bytes, snap));  // the writer's envelope did not change
  CHECK(snap.offset == 15);
  concert::Module m(kLimits);
  CHECK_FALSE(m.restore(snap.module));
  CHECK(m.snapshot() == concert::encode_state(concert::State()));  // left reset

  std::vector<EventEnvelope> log;
  for (const auto& e : format1_events()) log.push_back(ev::ConcertCatalog::encode(e, kT0));
  Replayed full;
  full.apply(log, 0, log.size());

  TempDir dir;
  FileSnapshotStore store(dir.path() + "/snapshots");
  REQUIRE(store.save(15, bytes).ok());
  RecoveringWriter rw(&store);
  REQUIRE(rw.log.append(log).ok());
  StderrCapture capture;
  const Status s = rw.writer->recover();
  const std::string err = capture.text();
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  INFO("stderr: ", err);
  CHECK(err.find(
            "event=snapshot_unusable writer=rsv-writer offset=15 reason=\"it does not decode\"") !=
        std::string::npos);
  CHECK(err.find("event=snapshot_none") != std::string::npos);
  CHECK(concert::encode_state(rw.module.state()) == full.state());
  const concert::State& st = rw.module.state();
  CHECK(st.concerts.at("c1").title == "v1");
  CHECK(st.reservations.at("r2").seq == 2);
  CHECK(st.reservations.at("r1").payment_seq == 1);
}

// A log whose first part version-1 engines wrote (no opening times,
// tokenIds or numbers in the payloads), and whose rest the current engine
// decided on top of it.
struct MixedLog {
  std::vector<EventEnvelope> log;
  size_t v1_events = 0;
  concert::Module module{kLimits};
};

MixedLog mixed_log() {
  MixedLog m;
  const std::vector<std::pair<ev::ConcertEvent, int64_t>> old = {
      {ev::LimitsConfigured{kLimits.hold_ttl_ms, kLimits.token_ttl_ms, kLimits.active_tokens_max,
                            kLimits.seats_per_user_max},
       kT0},
      {ev::UserRegistered{"u1", "one"}, kT0},
      {ev::UserRegistered{"u2", "two"}, kT0},
      {ev::ConcertCreated{
           "c1",
           "Old show",
           {{"s1", kT0 + 24 * kHour, {{"a1", 1, 1000}, {"a2", 2, 2000}, {"a3", 3, 3000}}}}},
       kT0 + 5},
      {ev::BalanceCharged{"u1", 10000, 10000, kT0 + 6}, kT0 + 6},
      {ev::TokenIssued{"t1", "u1", 1, kT0 + 7}, kT0 + 7},
      {ev::TokenActivated{"t1", "u1", 1, kT0 + 7, kT0 + 7 + kLimits.token_ttl_ms}, kT0 + 7},
      {ev::SeatsHeld{
           "r1", "u1", "c1", "s1", {{"a1", 1, 1000}}, 1000, kT0 + 8, kT0 + 8 + kLimits.hold_ttl_ms},
       kT0 + 8},
      {ev::PaymentCompleted{"p1", "r1", "u1", "s1", {{"a1", 1, 1000}}, 1000, kT0 + 9, 9000},
       kT0 + 9},
      {ev::TokenExpired{"t1", "u1", "PAID", true, kT0 + 9}, kT0 + 9},
      {ev::TokenIssued{"t2", "u2", 2, kT0 + 10}, kT0 + 10},
      {ev::TokenActivated{"t2", "u2", 2, kT0 + 10, kT0 + 10 + kLimits.token_ttl_ms}, kT0 + 10},
      {ev::SeatsHeld{"r2",
                     "u2",
                     "c1",
                     "s1",
                     {{"a2", 2, 2000}},
                     2000,
                     kT0 + 11,
                     kT0 + 11 + kLimits.hold_ttl_ms},
       kT0 + 11},
  };
  for (const auto& [e, at] : old) {
    m.log.push_back(test::v1_envelope(e, at));
    const Status s = m.module.apply(m.log.back());
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  m.v1_events = m.log.size();
  SeededRandom random(3);
  const int64_t now = kT0 + kMinute;
  const auto token = m.module.execute(concert::IssueToken{"u1"}, now, random, m.log);
  REQUIRE(std::holds_alternative<concert::TokenReply>(token));
  const std::string t = std::get<concert::TokenReply>(token).token;
  const auto held =
      m.module.execute(concert::HoldSeats{t, std::nullopt, "s1", {"a3"}}, now, random, m.log);
  REQUIRE(std::holds_alternative<concert::ReservationReply>(held));
  const auto paid = m.module.execute(
      concert::PayReservation{t, std::nullopt,
                              std::get<concert::ReservationReply>(held).reservation_id},
      now + 1, random, m.log);
  REQUIRE(std::holds_alternative<concert::PaymentReply>(paid));
  for (size_t i = 0; i < m.log.size(); ++i) m.log[i].offset = i;
  return m;
}

// What SPEC §5.1 derives for the version-1 part, and numbers the current
// engine went on with.
void check_mixed_values(const concert::State& s) {
  CHECK(s.schedules.at("s1").opens_at == kT0 + 5);  // the ConcertCreated's time
  CHECK(s.concerts.at("c1").title == "Old show");
  const Id t1 = s.find_token("t1");
  CHECK(s.tokens[t1].token_id == ev::TokenIssued::legacy_token_id("t1"));
  CHECK(s.find_token_id(s.tokens[t1].token_id) == t1);
  CHECK(s.tokens[t1].issued_at == kT0 + 7);
  CHECK(s.reservations.at("r1").seq == 1);
  CHECK(s.reservations.at("r1").payment_seq == 1);
  CHECK(s.reservations.at("r2").seq == 2);
  CHECK(s.find_reservation_seq(2) == s.reservations.find("r2"));
  REQUIRE(s.reservations.size() == 3);
  const concert::Reservation& r3 = s.reservations[2];
  CHECK(r3.seq == 3);
  CHECK(r3.payment_seq == 2);
  CHECK(s.users.at("u1").reservations == std::vector<Id>{0, 2});
}

TEST_CASE("snapshot: version-1 events load with derived values, alike after replay and restore") {
  MixedLog m = mixed_log();
  REQUIRE(m.log[3].version == 1);
  // The current engine's events carry the numbers it went on with.
  bool saw_hold = false, saw_payment = false;
  for (size_t i = m.v1_events; i < m.log.size(); ++i) {
    auto e = ev::ConcertCatalog::decode(m.log[i]);
    REQUIRE(e.ok());
    if (const auto* h = std::get_if<ev::SeatsHeld>(&*e)) {
      CHECK(h->seq == 3);
      saw_hold = true;
    }
    if (const auto* p = std::get_if<ev::PaymentCompleted>(&*e)) {
      CHECK(p->seq == 2);
      CHECK(p->reservation_seq == 3);
      saw_payment = true;
    }
  }
  CHECK(saw_hold);
  CHECK(saw_payment);
  check_mixed_values(m.module.state());

  Replayed full;
  full.apply(m.log, 0, m.log.size());
  CHECK(full.state() == concert::encode_state(m.module.state()));
  check_mixed_values(full.module.state());

  for (size_t cut : {m.v1_events - 3, m.v1_events, m.log.size()}) {
    CAPTURE(cut);
    Replayed prefix;
    prefix.apply(m.log, 0, cut);
    concert::Module restored(kLimits);
    REQUIRE(restored.restore(prefix.module.snapshot()));
    for (size_t i = cut; i < m.log.size(); ++i) REQUIRE(restored.apply(m.log[i]).ok());
    CHECK(restored.snapshot() == full.state());
    check_mixed_values(restored.state());
    check_derived_alike(restored.state(), full.module.state());
  }
}

}  // namespace
