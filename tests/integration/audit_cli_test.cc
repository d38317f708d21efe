// The audit and recovery tools of SPEC §3 against the real binary:
// - `replay`: JSON lines and their shape, --from/--to (inclusive), --user,
//   --reservation, running next to a live server; `--verify` exits 0 on a
//   log the server wrote, 1 naming the offset and invariant of a forged
//   violation (appended with EmbeddedLog after the server stopped), 2 naming
//   the offset of a corrupted record;
// - `rebuild`: refused while a server holds --data; afterwards the rebuilt
//   store answers a fixed list of queries byte for byte as the old one did;
//   a kill -9 midway leaves the old store in use;
// - snapshots: a restart restores the newest snapshot and replays the tail
//   into the same state a full replay gives (and falls back past a damaged
//   snapshot); kill -9 while snapshots are being written never breaks a
//   restart, and the log still verifies.
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "events/concert_events.h"
#include "events/embedded_log.h"
#include "events/envelope.h"
#include "events/secrets.h"
#include "support/server_process.h"

namespace reservoir::test {
namespace {

// These tests read and forge the embedded log's file and snapshots, so they
// run on the embedded log whatever RESERVOIR_TEST_LOG says; the Kafka side
// of replay and rebuild is in kafka_test.cc.
ServerOptions embedded() {
  return ServerOptions().on(Backend::kEmbedded);
}

namespace ev = reservoir::events;
namespace fs = std::filesystem;

const std::string kAdmin = "audit-admin";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// ------------------------------------------------------------ the CLI ---

RunResult replay(const std::string& data, const std::vector<std::string>& more = {}) {
  std::vector<std::string> args = {"replay", "--data", data};
  args.insert(args.end(), more.begin(), more.end());
  return run_reservoir(args);
}

RunResult verify(const std::string& data) {
  return replay(data, {"--verify"});
}

std::vector<std::string> violation_lines(const std::string& out) {
  std::vector<std::string> v;
  for (const auto& line : lines_of(out)) {
    if (line.rfind("VIOLATION ", 0) == 0) v.push_back(line);
  }
  return v;
}

// `replay --verify` failed with exactly one violation: at `offset`, of an
// event of `type`, against `invariant`.
void check_one_violation(const RunResult& r, uint64_t offset, const std::string& type,
                         int invariant) {
  INFO("replay --verify stdout:\n", r.out, "\nstderr:\n", r.err);
  CHECK(r.status == 1);
  const auto v = violation_lines(r.out);
  REQUIRE(v.size() == 1);
  const std::string want = "VIOLATION offset " + std::to_string(offset) + " " + type +
                           ": invariant " + std::to_string(invariant) + ": ";
  CHECK(v[0].rfind(want, 0) == 0);
  CHECK(contains(r.out, "verify: FAILED"));
}

// Every line of `replay --format json`, parsed (REQUIRE: each one parses).
std::vector<rapidjson::Document> json_lines(const std::string& out) {
  std::vector<rapidjson::Document> docs;
  for (const auto& line : lines_of(out)) {
    rapidjson::Document d;
    d.Parse(line.c_str());
    REQUIRE_MESSAGE(!d.HasParseError(), "not JSON: ", line);
    docs.push_back(std::move(d));
  }
  return docs;
}

std::vector<int64_t> offsets_of(const std::vector<rapidjson::Document>& docs) {
  std::vector<int64_t> offsets;
  for (const auto& d : docs) offsets.push_back(num(d, "offset"));
  return offsets;
}

std::vector<int64_t> range(int64_t from, int64_t to) {  // inclusive
  std::vector<int64_t> v;
  for (int64_t i = from; i <= to; ++i) v.push_back(i);
  return v;
}

// ------------------------------------------------------ the log itself ---

std::unique_ptr<EmbeddedLog> open_log(const std::string& data, EmbeddedLog::Mode mode) {
  auto log = EmbeddedLog::open(data + "/log", mode);
  REQUIRE_MESSAGE(log.ok(), log.status().ToString());
  return std::move(*log);
}

std::vector<EventEnvelope> read_log(const std::string& data) {
  auto log = open_log(data, EmbeddedLog::Mode::kReadOnly);
  std::vector<EventEnvelope> all;
  while (all.size() < log->end_offset()) {
    const size_t before = all.size();
    Status s = log->read(all.size(), 4096, &all);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    REQUIRE(all.size() > before);
  }
  return all;
}

uint64_t log_end(const std::string& data) {
  return open_log(data, EmbeddedLog::Mode::kReadOnly)->end_offset();
}

ev::SeatsHeld held_event(const std::vector<EventEnvelope>& log, const std::string& reservation) {
  for (const auto& env : log) {
    if (env.type != ev::SeatsHeld::kType) continue;
    auto e = ev::ConcertCatalog::decode(env);
    REQUIRE(e.ok());
    const auto& held = std::get<ev::SeatsHeld>(*e);
    if (held.reservation_id == reservation) return held;
  }
  FAIL("no SeatsHeld for ", reservation);
  return {};
}

// Appends one envelope to a stopped server's log; returns its offset.
uint64_t append_raw(const std::string& data, const EventEnvelope& env) {
  auto log = open_log(data, EmbeddedLog::Mode::kReadWrite);
  std::vector<EventEnvelope> batch = {env};
  Status s = log->append(batch);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return batch[0].offset;
}

// Appends one forged event to a stopped server's log; returns its offset.
uint64_t append_forged(const std::string& data, const ev::ConcertEvent& event, int64_t time_ms) {
  return append_raw(data, ev::ConcertCatalog::encode(event, time_ms));
}

// The records of events.log (format in events/embedded_log.h; a server's
// log ends in a zero tail).
struct Record {
  uint64_t pos = 0;
  uint32_t body_bytes = 0;
  uint32_t count = 0;
  uint64_t first_offset = 0;
};

std::vector<Record> records_of(const std::string& file) {
  std::vector<Record> records;
  for (uint64_t pos = 0; pos + EmbeddedLog::kHeaderBytes <= file.size();) {
    Record r;
    r.pos = pos;
    uint32_t magic = 0;
    std::memcpy(&magic, &file[pos], 4);
    if (file.find_first_not_of('\0', pos) >= pos + EmbeddedLog::kHeaderBytes) break;  // zeros
    REQUIRE(magic == EmbeddedLog::kRecordMagic);
    std::memcpy(&r.body_bytes, &file[pos + 8], 4);
    std::memcpy(&r.count, &file[pos + 12], 4);
    std::memcpy(&r.first_offset, &file[pos + 16], 8);
    records.push_back(r);
    pos += EmbeddedLog::kHeaderBytes + r.body_bytes;
  }
  return records;
}

void flip_byte(const std::string& path, uint64_t pos) {
  std::string bytes = read_file(path);
  REQUIRE(pos < bytes.size());
  bytes[pos] = static_cast<char>(bytes[pos] ^ 0x5a);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// ----------------------------------------------------------- snapshots ---

// Offsets of the complete snapshot files, newest first.
std::vector<uint64_t> snapshot_offsets(const std::string& data) {
  std::vector<uint64_t> offsets;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(data + "/snapshots", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("snapshot-", 0) == 0 && name.size() > 14 &&
        name.substr(name.size() - 5) == ".snap") {
      offsets.push_back(std::stoull(name.substr(9, name.size() - 14)));
    }
  }
  std::sort(offsets.rbegin(), offsets.rend());
  return offsets;
}

std::string snapshot_file(const std::string& data, uint64_t offset) {
  char name[64];
  std::snprintf(name, sizeof name, "/snapshot-%020llu.snap",
                static_cast<unsigned long long>(offset));
  return data + "/snapshots" + name;
}

// Replaces a stopped server's data directory with a copy of `from`.
void replace_data(ServerProcess& server, const std::string& from) {
  REQUIRE_FALSE(server.running());
  fs::remove_all(server.data_dir());
  fs::copy(from, server.data_dir(), fs::copy_options::recursive);
}

// ------------------------------------------------------------ workload ---

// A seeded random mix of holds, payments, cancels, refunds and charges (some
// with Idempotency-Keys, some retried) across several users, through the
// API. Remembers every reservation and its owner.
class Booker {
 public:
  Booker(Api& api, uint32_t seed, std::vector<std::string> users)
      : users(std::move(users)), api_(api), rng_(seed) {}

  void run(int steps) {
    for (int i = 0; i < steps; ++i) step();
  }

  // Leaves every user with a live token (the last thing the workload does).
  void final_tokens() {
    for (const auto& u : users) tokens[u] = token(u);
  }

  std::vector<std::string> users;
  std::vector<std::string> reservations;      // in creation order
  std::map<std::string, std::string> owner;   // reservation -> user
  std::map<std::string, std::string> tokens;  // user -> live token (final_tokens)
  std::map<std::string, int> outcomes;        // "<kind> <status>" -> count

 private:
  size_t pick(size_t n) { return static_cast<size_t>(rng_() % n); }

  std::string token(const std::string& user) {
    Reply r = api_.token(user);
    REQUIRE_MESSAGE(r.ok(), r.text());
    return str(r.data(), "token");
  }
  std::string own_reservation(const std::string& user) {
    std::vector<std::string> own;
    for (const auto& id : reservations) {
      if (owner[id] == user) own.push_back(id);
    }
    if (own.empty()) return "";
    return pick(2) == 0 ? own.back() : own[pick(own.size())];
  }
  void note(const std::string& kind, const Reply& r) {
    CHECK_MESSAGE((r.status == 200 || r.status == 409), kind, ": ", r.text());
    ++outcomes[kind + " " + std::to_string(r.status)];
  }

  void step() {
    const std::string user = users[pick(users.size())];
    switch (pick(9)) {
      case 0:
      case 1: {
        const std::string key = "charge-" + std::to_string(++keys_);
        const int64_t amount = 1 + static_cast<int64_t>(rng_() % 300'000);
        Reply first = api_.charge(user, amount, pick(2) == 0 ? key : "");
        note("charge", first);
        if (pick(4) == 0) {  // a retry with the same key gets the first answer
          Reply again = api_.charge(user, amount, key);
          note("charge", again);
        }
        break;
      }
      case 2:
      case 3:
      case 4: {
        const std::string schedule = pick(2) == 0 ? kSchedule1 : kSchedule2;
        std::set<std::string> seats;
        for (size_t i = 0, n = 1 + pick(2); i < n; ++i) {
          seats.insert(std::string(1, static_cast<char>('A' + pick(5))) +
                       std::to_string(1 + pick(10)));
        }
        Reply r = api_.hold(token(user), schedule, {seats.begin(), seats.end()});
        note("hold", r);
        if (r.ok()) {
          const std::string id = str(r.data(), "reservationId");
          reservations.push_back(id);
          owner[id] = user;
        }
        break;
      }
      case 5:
      case 6: {
        const std::string id = own_reservation(user);
        if (id.empty()) break;
        note("pay",
             api_.pay(token(user), id, pick(2) == 0 ? "pay-" + std::to_string(++keys_) : ""));
        break;
      }
      case 7:
      case 8: {
        const std::string id = own_reservation(user);
        if (id.empty()) break;
        note("cancel", api_.cancel(token(user), id));
        break;
      }
    }
  }

  Api& api_;
  std::mt19937 rng_;
  int keys_ = 0;
};

// ------------------------------------------------------------- answers ---

// (what was asked, "status body" of the answer), in asking order.
using Answers = std::vector<std::pair<std::string, std::string>>;

void ask(Answers& a, const std::string& what, const Reply& r) {
  CHECK_MESSAGE(r.status != 0, what, ": no answer");
  a.emplace_back(what, r.text());
}

// Every page of a list, as answered.
void ask_pages(Api& api, Answers& a, const std::string& path, int limit, int max_pages) {
  std::string cursor;
  for (int page = 0; page < max_pages; ++page) {
    const std::string query =
        path + "?limit=" + std::to_string(limit) + (cursor.empty() ? "" : "&cursor=" + cursor);
    Reply r = api.get(query);
    ask(a, query, r);
    REQUIRE_MESSAGE(r.ok(), r.text());
    if (is_null(r.data(), "nextCursor")) return;
    cursor = str(r.data(), "nextCursor");
  }
}

// The fixed list of queries: concerts, their schedules, each schedule's
// seats, each user's balance and reservation and payment pages, and each
// reservation read with its owner's token.
Answers query_answers(Api& api, const std::vector<std::string>& users,
                      const std::map<std::string, std::string>& owner = {},
                      const std::map<std::string, std::string>& tokens = {}, int max_pages = 1000,
                      size_t max_schedules = 1000) {
  Answers a;
  // A server that just started on a large log (gen-log) may still be
  // projecting it (503 "catching up"), slowly under sanitizers: wait, bounded.
  REQUIRE(eventually([&] { return api.get("/api/v1/concerts").status != 503; }, 300s));
  Reply concerts = api.get("/api/v1/concerts");
  ask(a, "concerts", concerts);
  REQUIRE_MESSAGE(concerts.ok(), concerts.text());
  for (const auto& c : concerts.data().GetArray()) {
    const std::string path = "/api/v1/concerts/" + str(c, "concertId") + "/schedules";
    Reply schedules = api.get(path);
    ask(a, path, schedules);
    REQUIRE_MESSAGE(schedules.ok(), schedules.text());
    size_t n = 0;
    for (const auto& s : schedules.data().GetArray()) {
      if (n++ == max_schedules) break;
      const std::string seats = path + "/" + str(s, "concertScheduleId") + "/seats";
      ask(a, seats, api.get(seats));
    }
  }
  for (const auto& u : users) {
    ask(a, "balance " + u, api.balance(u));
    ask_pages(api, a, "/api/v1/users/" + u + "/reservations", 3, max_pages);
    ask_pages(api, a, "/api/v1/users/" + u + "/payments", 3, max_pages);
  }
  for (const auto& [id, user] : owner) {
    ask(a, "reservation " + id, api.reservation(tokens.at(user), id));
  }
  return a;
}

// Answers of the engine itself (its state, not the projections): the live
// token of each user, a charge of 1 (the balance the engine holds), then a
// cancel of every reservation (its state decides the answer), then the
// balances and reservation lists that follow.
Answers engine_answers(Api& api, const Booker& w) {
  Answers a;
  for (const auto& u : w.users) {
    Reply t = api.token(u);
    ask(a, "token " + u, t);
    CHECK_MESSAGE(str(t.data(), "token") == w.tokens.at(u), "the live token of ", u);
  }
  for (const auto& u : w.users) ask(a, "charge 1 " + u, api.charge(u, 1));
  for (const auto& id : w.reservations) {
    ask(a, "cancel " + id, api.cancel(w.tokens.at(w.owner.at(id)), id));
  }
  for (const auto& u : w.users) {
    ask(a, "balance " + u, api.balance(u));
    ask(a, "reservations " + u, api.reservations(u, "?limit=100"));
  }
  return a;
}

void check_same(const Answers& want, const Answers& got) {
  REQUIRE(want.size() == got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    CAPTURE(want[i].first);
    CHECK(want[i].first == got[i].first);
    CHECK(want[i].second == got[i].second);
  }
}

// ------------------------------------------------------------- replay ---

TEST_CASE("replay: --verify, JSON lines and filters on a log the server wrote") {
  // The concert dialects only: no clinic log, so every line is a concert event.
  ServerProcess server(embedded().api("canonical,queue-tokens"));
  // alice books two seats and pays (with a key), bob charges, carol holds
  // and cancels, alice refunds. (Clients close before a SIGTERM: the server
  // would wait for an idle keep-alive connection to time out.)
  std::string paid, cancelled;
  {
    Api api(server);
    const std::string t = api.active_token("alice");
    paid = api.hold_ok(t, kSchedule1, {"A1", "A2"});
    REQUIRE(api.pay(t, paid, "alice-pay-1").ok());
    REQUIRE(api.charge("bob", 1234).ok());
    const std::string carol_token = api.active_token("carol");
    cancelled = api.hold_ok(carol_token, kSchedule2, {"B1"});
    REQUIRE(api.cancel(carol_token, cancelled).ok());
    REQUIRE(api.cancel(api.active_token("alice"), paid).ok());
  }
  const std::string data = server.data_dir();

  SUBCASE("replay runs next to the running server") {
    RunResult json = replay(data, {"--domain", "concert", "--format", "json"});
    INFO(json.err);
    REQUIRE(json.status == 0);
    const auto docs = json_lines(json.out);
    REQUIRE_FALSE(docs.empty());
    CHECK(offsets_of(docs) == range(0, static_cast<int64_t>(docs.size()) - 1));
    // Every acknowledged command is in it.
    std::set<std::string> refunded;
    for (const auto& d : docs) {
      if (str(d, "type") == "ReservationRefunded") refunded.insert(str(d["data"], "reservationId"));
    }
    CHECK(refunded.count(paid) == 1);
    RunResult v = verify(data);
    CHECK_MESSAGE(v.status == 0, v.out, v.err);
    CHECK(contains(v.out, "verify: OK"));
    // And the server is unharmed.
    Api api(server);
    CHECK(api.charge("bob", 1).ok());
  }

  SUBCASE("after SIGTERM") {
    REQUIRE(server.terminate() == 0);
    const uint64_t end = log_end(data);
    REQUIRE(end > 10);

    RunResult v = verify(data);
    CHECK_MESSAGE(v.status == 0, v.out, v.err);
    CHECK(contains(v.out, "verify: OK"));
    CHECK(contains(v.out, "checked " + std::to_string(end) + " events"));
    CHECK(violation_lines(v.out).empty());

    // JSON: one object a line, exactly these fields.
    RunResult json = replay(data, {"--domain", "concert", "--format", "json"});
    REQUIRE(json.status == 0);
    const auto docs = json_lines(json.out);
    REQUIRE(docs.size() == end);
    const Shape line_shape = {{"offset", J::kInt}, {"type", J::kString}, {"version", J::kInt},
                              {"time", J::kTime},  {"data", J::kObject}, {"domain", J::kString}};
    std::set<std::string> types;
    for (const auto& d : docs) {
      CHECK(shape_errors(d, line_shape) == "");
      CHECK(num(d, "version") >= 1);
      types.insert(str(d, "type"));
    }
    CHECK(offsets_of(docs) == range(0, static_cast<int64_t>(end) - 1));
    for (const char* type :
         {"LimitsConfigured", "UserRegistered", "ConcertCreated", "BalanceCharged", "TokenIssued",
          "TokenActivated", "SeatsHeld", "PaymentCompleted", "TokenExpired", "ReservationCancelled",
          "ReservationRefunded", "IdempotencyRecorded"}) {
      CHECK_MESSAGE(types.count(type) == 1, "no ", type, " in the log");
    }

    // Text: one line an event, starting with its offset.
    RunResult text = replay(data);
    REQUIRE(text.status == 0);
    const auto text_lines = lines_of(text.out);
    REQUIRE(text_lines.size() == end);
    for (size_t i = 0; i < text_lines.size(); ++i) {
      CHECK(text_lines[i].rfind("#" + std::to_string(i) + " ", 0) == 0);
    }

    // --from/--to are inclusive.
    CHECK(offsets_of(json_lines(
              replay(data, {"--format", "json", "--from", "3", "--to", "7"}).out)) == range(3, 7));
    CHECK(offsets_of(json_lines(replay(data, {"--format", "json", "--to", "0"}).out)) ==
          range(0, 0));
    const auto last = static_cast<int64_t>(end) - 1;
    CHECK(offsets_of(json_lines(
              replay(data, {"--format", "json", "--from", std::to_string(last - 1)}).out)) ==
          range(last - 1, last));
    CHECK(offsets_of(json_lines(
              replay(data, {"--format", "json", "--from", "5", "--to", "5"}).out)) == range(5, 5));
    RunResult beyond = replay(data, {"--format", "json", "--from", std::to_string(end + 10)});
    CHECK(beyond.status == 0);
    CHECK(beyond.out.empty());

    // --user: exactly the events whose userId (or, for a remembered answer,
    // scope) is that user.
    for (const std::string user : {"alice", "bob", "carol"}) {
      CAPTURE(user);
      std::vector<int64_t> want;
      for (const auto& d : docs) {
        const auto& e = d["data"];
        const std::string who = member(e, "userId") ? str(e, "userId") : str(e, "scope");
        if (who == user) want.push_back(num(d, "offset"));
      }
      RunResult r = replay(data, {"--format", "json", "--user", user});
      REQUIRE(r.status == 0);
      const auto got = json_lines(r.out);
      CHECK(offsets_of(got) == want);
      CHECK_FALSE(want.empty());
    }
    RunResult alice = replay(data, {"--format", "json", "--user", "alice"});
    bool alice_answer = false;
    for (const auto& d : json_lines(alice.out))
      alice_answer |= str(d, "type") == "IdempotencyRecorded";
    CHECK(alice_answer);

    // --reservation: that reservation's lifecycle.
    std::vector<std::string> lifecycle;
    for (const auto& d :
         json_lines(replay(data, {"--format", "json", "--reservation", paid}).out)) {
      CHECK(str(d["data"], "reservationId") == paid);
      lifecycle.push_back(str(d, "type"));
    }
    CHECK(lifecycle ==
          std::vector<std::string>{"SeatsHeld", "PaymentCompleted", "ReservationRefunded"});
    lifecycle.clear();
    for (const auto& d :
         json_lines(replay(data, {"--format", "json", "--reservation", cancelled}).out)) {
      lifecycle.push_back(str(d, "type"));
    }
    CHECK(lifecycle == std::vector<std::string>{"SeatsHeld", "ReservationCancelled"});
    // Filters combine.
    CHECK(replay(data, {"--format", "json", "--reservation", paid, "--user", "bob"}).out.empty());
    CHECK(replay(data, {"--reservation", "no-such-reservation"}).out.empty());
  }
}

TEST_CASE("replay --verify: a forged violation is reported at its offset with its invariant") {
  ServerProcess server(embedded());
  const std::string data = server.data_dir();
  std::string rid;

  SUBCASE("invariant 1: a second SeatsHeld for a seat that is live (a double sale)") {
    {
      Api api(server);
      const std::string t = api.active_token("alice");
      rid = api.hold_ok(t, kSchedule1, {"A5"});
      REQUIRE(api.pay(t, rid).ok());  // CONFIRMED: A5 is SOLD
    }
    REQUIRE(server.terminate() == 0);
    const auto log = read_log(data);
    const ev::SeatsHeld first = held_event(log, rid);
    const int64_t at = log.back().time_ms + 1;
    ev::SeatsHeld second = first;
    second.reservation_id = "forged-double-sale";
    second.user_id = "bob";
    second.seq = first.seq + 1;  // numbered right: only the double sale is wrong
    second.created_at = at;
    second.expires_at = at + 5 * 60 * 1000;
    const uint64_t offset = append_forged(data, second, at);
    check_one_violation(verify(data), offset, "SeatsHeld", 1);
  }

  SUBCASE("invariant 2: a payment that takes the balance below zero") {
    {
      Api api(server);
      const std::string t = api.active_token("bob");
      rid = api.hold_ok(t, kSchedule1, {"A1", "A2", "A3", "A4"});
      Reply refused = api.pay(t, rid);  // 600'000 against 500'000
      REQUIRE(refused.code() == "INSUFFICIENT_BALANCE");
    }
    REQUIRE(server.terminate() == 0);
    const auto log = read_log(data);
    const ev::SeatsHeld held = held_event(log, rid);
    REQUIRE(held.total_price == 600'000);
    const int64_t at = log.back().time_ms + 1;
    REQUIRE(at < held.expires_at);
    const uint64_t offset = append_forged(
        data,
        ev::PaymentCompleted{"forged-payment", rid, "bob", held.schedule_id, held.seats,
                             held.total_price, at, 500'000 - held.total_price,
                             /*seq=*/1, held.seq},  // numbered right: only the balance is wrong
        at);
    check_one_violation(verify(data), offset, "PaymentCompleted", 2);
  }

  SUBCASE("invariant 3: a payment after expiresAt") {
    {
      Api api(server);
      rid = api.hold_ok(api.active_token("carol"), kSchedule2, {"C1"});
    }
    REQUIRE(server.terminate() == 0);
    const auto log = read_log(data);
    const ev::SeatsHeld held = held_event(log, rid);
    const int64_t at = held.expires_at + 1000;
    const uint64_t offset = append_forged(
        data,
        ev::PaymentCompleted{"forged-late-payment", rid, "carol", held.schedule_id, held.seats,
                             held.total_price, at, 500'000 - held.total_price,
                             /*seq=*/1, held.seq},  // numbered right: only the time is wrong
        at);
    check_one_violation(verify(data), offset, "PaymentCompleted", 3);
  }
}

TEST_CASE(
    "replay --verify: a corrupted record in the middle of the log exits 2 naming its offset") {
  ServerProcess server(embedded());
  {
    Api api(server);
    for (int i = 1; i <= 6; ++i) REQUIRE(api.charge("bob", i).ok());  // one record each
  }
  REQUIRE(server.terminate() == 0);
  const std::string data = server.data_dir();
  const std::string file = data + "/log/events.log";
  const auto records = records_of(read_file(file));
  REQUIRE(records.size() >= 5);
  const Record& victim = records[records.size() / 2];
  flip_byte(file, victim.pos + EmbeddedLog::kHeaderBytes + victim.body_bytes / 2);
  const std::string named = "offset " + std::to_string(victim.first_offset);

  RunResult v = verify(data);
  INFO("stdout:\n", v.out, "\nstderr:\n", v.err);
  CHECK(v.status == 2);
  CHECK(contains(v.out + v.err, named));
  CHECK(violation_lines(v.out).empty());

  RunResult print = replay(data, {"--format", "json"});
  INFO("replay stderr:\n", print.err);
  CHECK(print.status != 0);
  CHECK(print.status < 128);  // refused, not crashed
  CHECK(contains(print.out + print.err, named));

  RunResult missing = verify(data + "/no-such-dir");
  CHECK(missing.status == 2);
  CHECK_FALSE(missing.err.empty());
}

// A record whose CRC is fine but whose event does not decode: the server's
// recovery refuses such a log, so `--verify` must not call it sound.
TEST_CASE("replay --verify: an undecodable IdempotencyRecorded exits 2, as recovery refuses it") {
  ServerProcess server(embedded());
  REQUIRE(server.terminate() == 0);
  const std::string data = server.data_dir();
  EventEnvelope env;
  env.time_ms = read_log(data).back().time_ms + 1;
  env.type = "IdempotencyRecorded";
  env.version = 1;
  env.payload = "\xff\xff\xff\xff not a payload";
  const uint64_t offset = append_raw(data, env);

  RunResult serve = run_reservoir({"serve", "--data", data, "--port", "0"});
  INFO("serve stderr:\n", serve.err);
  CHECK(serve.status == 1);  // cannot recover state from the log

  RunResult print = replay(data);
  CHECK(print.status == 2);
  CHECK(contains(print.err, "offset " + std::to_string(offset)));

  RunResult v = verify(data);
  INFO("replay --verify stdout:\n", v.out, "\nstderr:\n", v.err);
  CHECK(v.status == 2);
  CHECK(contains(v.out + v.err, "offset " + std::to_string(offset)));
}

// ------------------------------------------------------------ rebuild ---

TEST_CASE("rebuild: refused while serving; the rebuilt store answers byte for byte alike") {
  ServerProcess server(embedded().admin(kAdmin));
  const std::string data = server.data_dir();
  auto api = std::make_unique<Api>(server);
  create_users(*api, kAdmin, {"dave", "erin"});
  Booker w(*api, 20260101, {"alice", "bob", "carol", "dave", "erin"});
  w.run(160);
  w.final_tokens();
  const Answers before = query_answers(*api, w.users, w.owner, w.tokens);

  // The workload reached every kind of outcome the answers should show.
  std::string all;
  for (const auto& [what, answer] : before) all += answer;
  for (const char* status : {"PENDING_PAYMENT", "CONFIRMED", "CANCELLED", "REFUNDED"}) {
    CHECK_MESSAGE(contains(all, std::string("\"status\":\"") + status + "\""), "no ", status);
  }
  CHECK(w.outcomes["hold 409"] > 0);

  RunResult refused = run_reservoir({"rebuild", "--data", data});
  CHECK(refused.status == 1);
  CHECK_MESSAGE(contains(refused.err, "refus"), refused.err);
  CHECK(api->balance("alice").ok());  // the server is unharmed
  api.reset();

  REQUIRE(server.terminate() == 0);
  const std::string pointer_before = read_file(data + "/PROJECTIONS");
  RunResult rebuilt = run_reservoir({"rebuild", "--data", data}, 60s);
  INFO("rebuild stderr:\n", rebuilt.err);
  REQUIRE(rebuilt.status == 0);
  CHECK(contains(rebuilt.err, "rebuild: "));
  CHECK(contains(rebuilt.err, std::to_string(log_end(data)) + " events"));
  const std::string pointer_after = read_file(data + "/PROJECTIONS");
  CHECK(pointer_after != pointer_before);
  CHECK_FALSE(pointer_after.empty());

  server.start();
  {
    Api after_api(server);
    check_same(before, query_answers(after_api, w.users, w.owner, w.tokens));
  }
  CHECK(server.terminate() == 0);
  RunResult v = verify(data);
  CHECK_MESSAGE(v.status == 0, v.out);
}

// Starts `reservoir rebuild --data data` and SIGKILLs it when `when_to_kill`
// says so (or once it exits by itself); returns its stderr and whether it
// had already exited.
template <class When>
std::pair<std::string, bool> rebuild_killed(const std::string& data, When when_to_kill) {
  TempDir logs;
  const std::string out = logs.path() + "/out", err = logs.path() + "/err";
  const pid_t pid = detail::spawn({"rebuild", "--data", data}, out, err);
  REQUIRE(pid > 0);
  bool exited = false;
  const auto deadline = Clock::now() + 20s;
  while (!when_to_kill() && Clock::now() < deadline) {
    if (detail::wait_exit(pid, 0s)) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(1ms);
  }
  if (!exited) {
    ::kill(pid, SIGKILL);
    detail::wait_exit(pid, kExitBound);
  }
  return {read_file(err), exited};
}

bool fresh_store_exists(const std::string& data) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(data, ec)) {
    if (entry.path().filename().string().rfind("projections-", 0) == 0) return true;
  }
  return false;
}

size_t store_count(const std::string& data) {
  size_t n = 0;
  for (const auto& entry : fs::directory_iterator(data)) {
    const std::string name = entry.path().filename().string();
    n += entry.is_directory() && (name == "projections" || name.rfind("projections-", 0) == 0);
  }
  return n;
}

TEST_CASE("rebuild: kill -9 midway leaves the old store in use; a second rebuild succeeds") {
  ServerProcess server(embedded().no_demo());
  const std::string data = server.data_dir();
  REQUIRE(server.terminate() == 0);
  fs::remove_all(data);
  RunResult gen = run_reservoir(
      {"gen-log", "--data", data, "--events", "200000", "--users", "30", "--schedules", "10"}, 60s);
  REQUIRE_MESSAGE(gen.status == 0, gen.err);
  std::vector<std::string> users;
  for (int i = 0; i < 30; ++i) users.push_back("user-" + std::to_string(i));

  server.start();
  Answers want;
  {
    Api api(server);
    want = query_answers(api, users, {}, {}, 2, 3);
  }
  REQUIRE(server.terminate() == 0);
  const std::string pointer_before = read_file(data + "/PROJECTIONS");

  auto check_old_store_serves = [&](const std::string& rebuild_err) {
    // A rebuild that never reached 100% cannot have installed its store.
    if (!contains(rebuild_err, "(100%)")) {
      CHECK(read_file(data + "/PROJECTIONS") == pointer_before);
    }
    server.start();
    {
      Api api(server);
      check_same(want, query_answers(api, users, {}, {}, 2, 3));
    }
    REQUIRE(server.terminate() == 0);
  };

  SUBCASE("killed as soon as its fresh store appears") {
    auto [err, exited] = rebuild_killed(data, [&] { return fresh_store_exists(data); });
    if (exited) MESSAGE("the rebuild finished before it could be killed");
    check_old_store_serves(err);
  }
  SUBCASE("killed 100 ms after its fresh store appears") {
    Clock::time_point seen{};
    auto [err, exited] = rebuild_killed(data, [&] {
      if (seen == Clock::time_point{} && fresh_store_exists(data)) seen = Clock::now();
      return seen != Clock::time_point{} && Clock::now() >= seen + 100ms;
    });
    if (exited) MESSAGE("the rebuild finished before it could be killed");
    check_old_store_serves(err);
  }
  SUBCASE("killed after about 0.3 s") {
    const auto kill_at = Clock::now() + 300ms;
    auto [err, exited] = rebuild_killed(data, [&] { return Clock::now() >= kill_at; });
    if (exited) MESSAGE("the rebuild finished before it could be killed");
    check_old_store_serves(err);
  }

  RunResult second = run_reservoir({"rebuild", "--data", data}, 60s);
  INFO("rebuild stderr:\n", second.err);
  REQUIRE(second.status == 0);
  CHECK(contains(second.err, "installed"));
  CHECK(store_count(data) == 1);  // leftovers of the killed rebuild are gone
  server.start();
  Api api(server);
  check_same(want, query_answers(api, users, {}, {}, 2, 3));
}

// ----------------------------------------------------------- snapshots ---

TEST_CASE(
    "snapshot: a restart restores the newest snapshot plus the tail, as a full replay would") {
  const ServerOptions options = embedded().admin(kAdmin).with({"--snapshot-every-events", "50"});
  ServerProcess a(options);
  Booker w = [&] {
    Api api(a);
    create_users(api, kAdmin, {"dave", "erin"});
    Booker b(api, 77, {"alice", "bob", "carol", "dave", "erin"});
    b.run(120);
    b.final_tokens();
    return b;
  }();
  REQUIRE(eventually([&] { return snapshot_offsets(a.data_dir()).size() >= 2; }, 10s));
  a.kill9();

  const uint64_t end = log_end(a.data_dir());
  auto snaps = snapshot_offsets(a.data_dir());
  if (snaps.front() >= end) {  // no tail after it: use the older one, so a tail is replayed
    fs::remove(snapshot_file(a.data_dir(), snaps.front()));
    snaps.erase(snaps.begin());
  }
  REQUIRE_FALSE(snaps.empty());
  const uint64_t newest = snaps.front();
  REQUIRE(newest < end);
  TempDir stage;
  const std::string copy = stage.path() + "/data";
  fs::copy(a.data_dir(), copy, fs::copy_options::recursive);

  // From the snapshot and the tail.
  a.start();
  CHECK_MESSAGE(contains(a.stderr_text(), "event=snapshot_restored writer=rsv-writer offset=" +
                                              std::to_string(newest) + "\n"),
                a.stderr_text());
  Answers from_snapshot;
  {
    Api api(a);
    from_snapshot = query_answers(api, w.users, w.owner, w.tokens);
    const Answers engine = engine_answers(api, w);
    from_snapshot.insert(from_snapshot.end(), engine.begin(), engine.end());
  }
  a.terminate();

  // From the whole log: the same data without its snapshots.
  ServerOptions plain = options;
  plain.no_demo();
  ServerProcess b(plain);
  REQUIRE(b.terminate() == 0);
  replace_data(b, copy);
  fs::remove_all(b.data_dir() + "/snapshots");
  b.start();
  CHECK(contains(b.stderr_text(), "event=snapshot_none"));
  Answers full;
  {
    Api api(b);
    full = query_answers(api, w.users, w.owner, w.tokens);
    const Answers engine = engine_answers(api, w);
    full.insert(full.end(), engine.begin(), engine.end());
  }
  b.terminate();
  check_same(full, from_snapshot);

  // A damaged newest snapshot: the restart says so, falls back, and ends in
  // the same state.
  ServerProcess c(plain);
  REQUIRE(c.terminate() == 0);
  replace_data(c, copy);
  const std::string damaged = snapshot_file(c.data_dir(), newest);
  flip_byte(damaged, fs::file_size(damaged) / 2);
  c.start();
  const std::string err = c.stderr_text();
  INFO("stderr:\n", err);
  CHECK(contains(
      err, "event=snapshot_unusable writer=rsv-writer offset=" + std::to_string(newest) + " "));
  if (snaps.size() > 1) {
    CHECK(contains(err, "event=snapshot_restored writer=rsv-writer offset=" +
                            std::to_string(snaps[1]) + "\n"));
  } else {
    CHECK(contains(err, "event=snapshot_none"));
  }
  Answers fallback;
  {
    Api api(c);
    fallback = query_answers(api, w.users, w.owner, w.tokens);
    const Answers engine = engine_answers(api, w);
    fallback.insert(fallback.end(), engine.begin(), engine.end());
  }
  check_same(full, fallback);
}

TEST_CASE("snapshot: kill -9 while snapshots are being written; every restart works") {
  ServerProcess server(embedded().with({"--snapshot-every-events", "1"}));
  const std::vector<std::string> users = {"alice", "bob", "carol"};
  int restored = 0;
  for (int round = 0; round < 4; ++round) {
    CAPTURE(round);
    std::atomic<int64_t> acked{0};
    std::vector<std::thread> threads;
    const int port = server.port();
    for (const auto& u : users) {
      threads.emplace_back([&, u] {
        Api api(port);
        for (int64_t amount = 1;; ++amount) {
          if (!api.charge(u, amount).ok()) return;
          ++acked;
        }
      });
    }
    threads.emplace_back([&, round] {  // holds and cancels, for seat and token events
      Api api(port);
      const std::string seat = "E" + std::to_string(round + 1);
      for (;;) {
        Reply t = api.token("carol");
        if (!t.ok()) return;
        Reply h = api.hold(str(t.data(), "token"), kSchedule2, {seat});
        if (!h.ok()) return;
        if (!api.cancel(str(t.data(), "token"), str(h.data(), "reservationId")).ok()) return;
      }
    });
    eventually([&] { return acked >= 150; }, 10s);
    server.kill9();
    for (auto& t : threads) t.join();
    CHECK(acked > 0);

    server.start();  // fails the test unless it listens
    const std::string err = server.stderr_text();
    CHECK_MESSAGE(
        (contains(err, "event=snapshot_restored") || contains(err, "event=snapshot_none")), err);
    restored += contains(err, "event=snapshot_restored");
    // The engine's state (from a snapshot) agrees with the projections (from the log).
    Api api(server);
    for (const auto& u : users) {
      CAPTURE(u);
      const int64_t balance = api.balance_of(u);
      Reply r = api.charge(u, 1);
      REQUIRE_MESSAGE(r.ok(), r.text());
      CHECK(num(r.data(), "balance") == balance + 1);
    }
  }
  CHECK(restored > 0);  // the restarts did go through snapshots
  REQUIRE(server.terminate() == 0);
  RunResult v = verify(server.data_dir());
  CHECK_MESSAGE(v.status == 0, v.out, v.err);
  CHECK(contains(v.out, "verify: OK"));
}

}  // namespace
}  // namespace reservoir::test

namespace reservoir::test {
namespace {

// Every file under `dir` (but the token key) that holds `needle`.
std::vector<std::string> files_holding(const std::string& dir, const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().filename() == "token.key") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) found.push_back(entry.path().string());
  }
  return found;
}

// docs/SECURITY.md: after a booking flow no byte of the data directory (log,
// snapshots, projections) holds a token in clear; replay shows its hash; a
// retried token issue still answers with the token, across a restart.
TEST_CASE("secrets: no token in clear in the log, snapshots or projections; replay shows hashes") {
  ServerProcess server(
      embedded().api("canonical").with({"--snapshot-every-events", "3", "--snapshot-every", "1s"}));
  std::string token, first_body, live;
  {
    Api api(server);
    Reply issued = api.post("/api/v1/queue/token", "{\"userId\":\"alice\"}",
                            {{"Idempotency-Key", "alice-token-1"}});
    REQUIRE_MESSAGE(issued.ok(), issued.text());
    token = str(issued.data(), "token");
    first_body = issued.body;
    REQUIRE(token.size() == 36);
    const std::string paid = api.hold_ok(token, kSchedule1, {"A1"});
    REQUIRE(api.pay(token, paid, "alice-pay-1").ok());
    live = api.active_token("bob");
    REQUIRE(api.status(live).ok());
  }
  REQUIRE(server.terminate() == 0);
  const std::string data = server.data_dir();
  CHECK(files_holding(data, token).empty());
  CHECK(files_holding(data, live).empty());
  bool snapshot = false;
  for (const auto& entry : fs::recursive_directory_iterator(data)) {
    snapshot = snapshot || entry.path().string().find("snapshot") != std::string::npos;
  }
  CHECK(snapshot);  // the check above covered snapshot bytes too

  RunResult json = replay(data, {"--domain", "concert", "--format", "json"});
  REQUIRE_MESSAGE(json.status == 0, json.err);
  CHECK_FALSE(contains(json.out, token));
  CHECK(contains(json.out, "\"tokenHash\":\"" + secrets::token_hash(token) + "\""));
  RunResult text = replay(data, {"--domain", "concert"});
  REQUIRE(text.status == 0);
  CHECK_FALSE(contains(text.out, token));

  server.restart();
  Api api(server);
  Reply again = api.post("/api/v1/queue/token", "{\"userId\":\"alice\"}",
                         {{"Idempotency-Key", "alice-token-1"}});
  CHECK(again.status == 200);
  CHECK(again.body == first_body);  // its token expired when paid; the answer stands
  CHECK(str(api.token("bob").data(), "token") == live);  // the same live token back
}

}  // namespace
}  // namespace reservoir::test
