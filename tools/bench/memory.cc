// `memory`: the engine's resident memory under retention (issue 16 item 4,
// docs/MEMORY.md). In process, one thread, no I/O: each command goes through
// concert::Module::execute as the writer sends it (clock events, decide,
// apply, the events encoded and dropped, tokens remembered in clear), minus
// the log and the idempotency table; the clock is simulated, so days pass in
// seconds and retention (engine/concert/state.h) applies. Memory is read as
// VmRSS (/proc/self/status, after malloc_trim so freed pages do not count)
// and as a count of the bytes the state's containers hold.
//
// Part 1, per record, on an engine of its own (holds last an hour and tokens
// two, and the clock moves 1 ms a command, so tokens expire over minutes
// rather than all at one instant), by difference between phases:
//   users     --users registered, a charge each: bytes per user
//   tokens    a token each (ACTIVE): bytes per live token
//   holds     a 1-seat hold each: bytes per live hold
//   finished  each hold cancelled: bytes per finished reservation (its whole
//             record as kept for 25 h, against the state before the holds)
//   retained  28 h later, in 10 s steps: everything finished has gone; the
//             memory stays with the engine for the ids it will reuse
// Part 2, on a fresh engine with the server's default limits: --users
// registered, the catalog (--schedules of --seats-per-schedule, starting all
// along the run), then the booking mix until --commands in all, spread over
// --days simulated days: token, hold, charge, pay; a quarter then refunded,
// one in eight left to expire. RSS each simulated day and at the end, and
// the live records by kind.
#include <malloc.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "engine/concert/module.h"
#include "events/os.h"
#include "tools/bench/scenarios.h"

namespace reservoir::tools::bench {
namespace {

using concert::Command;
using concert::Reply;

constexpr int64_t kT0 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z
constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kSeatPrice = 1000;
constexpr int64_t kSchedulesPerConcert = 10;
constexpr int64_t kBookAheadMs = kHour;  // book schedules starting at least this far ahead

// Resident and peak memory of this process, bytes (VmRSS, VmHWM).
struct Rss {
  int64_t now = 0, peak = 0;
};

Rss read_rss() {
  malloc_trim(0);  // give freed pages back, so RSS counts what is held
  std::ifstream in("/proc/self/status");
  Rss r;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) r.now = std::stoll(line.substr(6)) * 1024;
    if (line.rfind("VmHWM:", 0) == 0) r.peak = std::stoll(line.substr(6)) * 1024;
  }
  return r;
}

template <class V>
size_t vector_bytes(const V& v) {
  return v.capacity() * sizeof(typename V::value_type);
}
template <class D>
size_t deque_bytes(const D& d) {
  return d.size() * sizeof(typename D::value_type);  // blocks: about the elements
}

// The bytes the state's containers hold (not malloc's overhead, not the
// seats' own strings), counted from their capacities.
size_t counted_bytes(const concert::State& s) {
  size_t n = s.users.memory_bytes() + s.concerts.memory_bytes() + s.schedules.memory_bytes() +
             s.reservations.memory_bytes() + s.tokens.memory_bytes();
  for (Id u = 0; u < s.users.id_end(); ++u) {
    n += vector_bytes(s.users[u].reservations) + vector_bytes(s.users[u].live_seats);
  }
  for (Id id = 0; id < s.schedules.id_end(); ++id) {
    n += vector_bytes(s.schedules[id].seats) + s.schedules[id].seat_index.memory_bytes();
  }
  n += vector_bytes(s.reservation_seats) + s.payment_ids.memory_bytes();
  n += deque_bytes(s.reservation_by_seq) + s.reservation_seq_stragglers.memory_bytes();
  n += s.token_id_index.memory_bytes();
  n += deque_bytes(s.token_by_seq) + deque_bytes(s.waiting);
  n += deque_bytes(s.expired_tokens) + deque_bytes(s.finished_reservations);
  n += s.hold_deadlines.memory_bytes() + s.token_deadlines.memory_bytes() +
       s.sold_schedules.memory_bytes();
  return n + s.recent_tokens_memory_bytes();
}

class MemoryRun {
 public:
  MemoryRun(const BenchOptions& o, Random& random, const concert::Limits& limits)
      : o_(o), random_(random), module_(limits), next_seat_(static_cast<size_t>(o.schedules), 0) {}

  bool users();
  bool catalog(int64_t starts_first);
  // Every user once (part 1): a token, a hold of seat n of a schedule, a cancel.
  bool tokens();
  bool holds();
  bool cancels();
  // The booking mix until `commands` in all, the clock spread over --days;
  // `each_day` after every simulated day.
  template <class F>
  bool steady(F&& each_day);
  // Moves the clock by `ms` in steps of `step_ms`, a command at each.
  bool pass(int64_t ms, int64_t step_ms);
  int64_t now() const { return now_; }
  // Frees the harness's own buffer (a clock step may encode many events).
  void trim() { out_ = {}; }

  const concert::State& state() const { return module_.state(); }
  int64_t commands = 0, refused = 0;
  std::string first_refusal;

 private:
  Reply execute(const Command& c);
  bool ok(Reply&& r);  // false (and counted) when refused; recycles it
  static std::string user_id(size_t u) { return "user-" + std::to_string(u); }
  // The token and newest reservation of user `u`, as its client holds them.
  std::string token_of(size_t u) const;
  std::string newest_of(size_t u) const;
  // The next free seat of the first schedule starting kBookAheadMs or more
  // from now; false when none is left.
  bool next_seat(std::string& schedule, std::string& seat);
  bool cycle(size_t user);

  const BenchOptions& o_;
  Random& random_;
  concert::Module module_;
  std::vector<EventEnvelope> out_;  // each command's events, dropped
  int64_t now_ = kT0;
  int64_t starts_first_ = 0, starts_every_ = 0;
  std::vector<std::string> schedule_ids_, seat_ids_;
  std::vector<int64_t> next_seat_;          // by schedule: seats handed out
  size_t first_open_ = 0;                   // schedules before it are full or too soon
  uint64_t draws_ = 0x9e3779b97f4a7c15ULL;  // the mix's choices (not ids)
};

Reply MemoryRun::execute(const Command& c) {
  out_.clear();
  ++commands;
  return module_.execute(c, now_, random_, out_);
}

bool MemoryRun::ok(Reply&& r) {
  if (const auto* err = std::get_if<DomainError>(&r)) {
    if (++refused == 1) first_refusal = std::string(error_name(err->code)) + ": " + err->message;
    return false;
  }
  module_.recycle(std::move(r));
  return true;
}

// Ids are made when needed and not kept: the harness holds no per-user
// strings, so what RSS grows by is the engine's.
std::string MemoryRun::token_of(size_t u) const {
  const concert::State& s = state();
  std::string token;
  s.clear_token(s.users[static_cast<Id>(u)].live_token, token);  // "" if not seen in clear
  return token;
}

std::string MemoryRun::newest_of(size_t u) const {
  const concert::State& s = state();
  return std::string(s.reservations.key(s.users[static_cast<Id>(u)].reservations.back()));
}

bool MemoryRun::users() {
  for (int64_t u = 0; u < o_.users; ++u) {
    const std::string id = user_id(static_cast<size_t>(u));
    if (!ok(execute(concert::RegisterUser{id, ""}))) return false;
    if (!ok(execute(concert::ChargeBalance{id, 1'000'000'000}))) return false;
  }
  return true;
}

bool MemoryRun::catalog(int64_t starts_first) {
  starts_first_ = starts_first;
  starts_every_ = (o_.days + 1) * 24 * kHour / o_.schedules;
  for (int64_t n = 1; n <= o_.seats_per_schedule; ++n) seat_ids_.push_back(std::to_string(n));
  for (int64_t first = 0; first < o_.schedules; first += kSchedulesPerConcert) {
    concert::CreateConcert c{"c" + std::to_string(first), "memory", {}};
    for (int64_t s = first; s < std::min(o_.schedules, first + kSchedulesPerConcert); ++s) {
      schedule_ids_.push_back("s" + std::to_string(s));
      concert::ScheduleInput in{schedule_ids_.back(), starts_first_ + s * starts_every_, {}};
      for (int64_t n = 1; n <= o_.seats_per_schedule; ++n) {
        in.seats.push_back({seat_ids_[static_cast<size_t>(n - 1)], n, kSeatPrice});
      }
      c.schedules.push_back(std::move(in));
    }
    if (!ok(execute(c))) return false;
  }
  return true;
}

bool MemoryRun::tokens() {
  for (int64_t u = 0; u < o_.users; ++u, ++now_) {
    if (!ok(execute(concert::IssueToken{user_id(static_cast<size_t>(u))}))) return false;
  }
  return true;
}

bool MemoryRun::holds() {
  const auto seats = static_cast<size_t>(o_.seats_per_schedule);
  for (size_t u = 0; u < static_cast<size_t>(o_.users); ++u, ++now_) {
    const size_t sched = (u / seats) % schedule_ids_.size();
    if (!ok(execute(concert::HoldSeats{
            token_of(u), std::nullopt, schedule_ids_[sched], {seat_ids_[u % seats]}}))) {
      return false;
    }
  }
  return true;
}

bool MemoryRun::cancels() {
  for (size_t u = 0; u < static_cast<size_t>(o_.users); ++u, ++now_) {
    if (!ok(execute(concert::CancelReservation{token_of(u), newest_of(u)}))) return false;
  }
  return true;
}

bool MemoryRun::pass(int64_t ms, int64_t step_ms) {
  for (const int64_t until = now_ + ms; now_ < until;) {
    now_ = std::min(until, now_ + step_ms);
    if (!ok(execute(concert::ChargeBalance{user_id(0), 1}))) return false;
    out_.clear();
  }
  trim();
  return true;
}

bool MemoryRun::next_seat(std::string& schedule, std::string& seat) {
  for (size_t s = first_open_; s < schedule_ids_.size(); ++s) {
    if (starts_first_ + static_cast<int64_t>(s) * starts_every_ < now_ + kBookAheadMs ||
        next_seat_[s] >= o_.seats_per_schedule) {
      if (s == first_open_) ++first_open_;
      continue;
    }
    schedule = schedule_ids_[s];
    seat = seat_ids_[static_cast<size_t>(next_seat_[s]++)];
    return true;
  }
  return false;
}

// token, hold, charge, pay; then a quarter token + refund; one in eight
// holds is left to expire instead of paid.
bool MemoryRun::cycle(size_t user) {
  draws_ = draws_ * 6364136223846793005ULL + 1442695040888963407ULL;
  const uint64_t roll = (draws_ >> 33) % 8;
  const std::string u = user_id(user);
  std::string token, schedule, seat;
  Reply r = execute(concert::IssueToken{u});
  if (const auto* t = std::get_if<concert::TokenReply>(&r)) token = t->token;
  if (!ok(std::move(r))) return false;
  if (!next_seat(schedule, seat)) {
    first_refusal = "the catalog ran out of seats (add --schedules or --seats-per-schedule)";
    return false;
  }
  r = execute(concert::HoldSeats{token, std::nullopt, schedule, {seat}});
  std::string reservation;
  if (const auto* h = std::get_if<concert::ReservationReply>(&r)) reservation = h->reservation_id;
  if (!ok(std::move(r))) return false;
  if (roll == 0) return true;  // left to expire
  if (!ok(execute(concert::ChargeBalance{u, kSeatPrice}))) return false;
  if (!ok(execute(concert::PayReservation{token, std::nullopt, reservation}))) return false;
  if (roll > 2) return true;
  r = execute(concert::IssueToken{u});  // payment spent the token
  if (const auto* t = std::get_if<concert::TokenReply>(&r)) token = t->token;
  if (!ok(std::move(r))) return false;
  return ok(execute(concert::CancelReservation{token, reservation}));
}

template <class F>
bool MemoryRun::steady(F&& each_day) {
  const int64_t left = o_.commands - commands;
  if (left <= 0) return true;
  const int64_t span = o_.days * 24 * kHour;
  const int64_t start = now_, base = commands;
  int64_t next_day = start + 24 * kHour;
  for (size_t user = 0; commands < o_.commands; user = (user + 1) % static_cast<size_t>(o_.users)) {
    now_ = start + (commands - base) * span / left;
    if (now_ >= next_day) {
      each_day();
      next_day += 24 * kHour;
    }
    if (!cycle(user)) return false;
  }
  return true;
}

struct Phase {
  std::string name;
  Rss rss;
  size_t counted = 0;
};

void report_state(const concert::State& s, Report& report) {
  int64_t by_state[5] = {0, 0, 0, 0, 0};
  for (Id id = 0; id < s.reservations.id_end(); ++id) {
    if (s.reservations.live(id)) ++by_state[static_cast<int>(s.reservations[id].state)];
  }
  int64_t tokens_by_state[3] = {0, 0, 0};
  for (Id id = 0; id < s.tokens.id_end(); ++id) {
    if (s.tokens.live(id)) ++tokens_by_state[static_cast<int>(s.tokens[id].state)];
  }
  report.add("live_users", static_cast<int64_t>(s.users.size()));
  report.add("live_tokens_waiting", tokens_by_state[0]);
  report.add("live_tokens_active", tokens_by_state[1]);
  report.add("live_tokens_expired", tokens_by_state[2]);
  report.add("live_reservations_pending", by_state[0]);
  report.add("live_reservations_confirmed", by_state[1]);
  report.add("live_reservations_expired", by_state[2]);
  report.add("live_reservations_cancelled", by_state[3]);
  report.add("live_reservations_refunded", by_state[4]);
  report.add("tokens_issued", s.next_seq - 1);
  report.add("token_ids_used", static_cast<int64_t>(s.tokens.id_end()));
  report.add("reservations_made", s.reservations_made);
  report.add("reservation_ids_used", static_cast<int64_t>(s.reservations.id_end()));
}

// Measures one engine's phases: VmRSS and counted bytes, with progress.
class Phases {
 public:
  Phases(const char* part, MemoryRun& run) : part_(part), run_(run) {}
  void measure(const std::string& name) {
    run_.trim();
    phases_.push_back({name, read_rss(), counted_bytes(run_.state())});
    const Phase& p = phases_.back();
    std::fprintf(stderr,
                 "[memory] %s %-9s commands %10lld  tokens %8zu  reservations %8zu  VmRSS %7.1f MB"
                 "  counted %7.1f MB\n",
                 part_, name.c_str(), static_cast<long long>(run_.commands),
                 run_.state().tokens.size(), run_.state().reservations.size(),
                 static_cast<double>(p.rss.now) / 1e6, static_cast<double>(p.counted) / 1e6);
  }
  const Phase& operator[](size_t i) const { return phases_[i]; }
  void add_to(Report& report) const {
    for (const Phase& p : phases_) {
      report.add(std::string(part_) + "_rss_" + p.name + "_bytes", p.rss.now);
      report.add(std::string(part_) + "_counted_" + p.name + "_bytes",
                 static_cast<int64_t>(p.counted));
    }
  }

 private:
  const char* part_;
  MemoryRun& run_;
  std::vector<Phase> phases_;
};

// Part 1: bytes per user, live token, live hold and finished reservation.
bool per_record(const BenchOptions& o, Report& report, std::string& error) {
  SeededRandom random(static_cast<uint64_t>(o.seed));
  const int64_t hour = kHour;
  MemoryRun run(o, random, concert::Limits{hour, 2 * hour, o.users + 1, 4});
  Phases ph("part1", run);
  ph.measure("start");
  bool done = run.users();
  if (done) ph.measure("users");
  done = done && run.catalog(kT0 + 30 * 24 * kHour);
  if (done) ph.measure("catalog");
  done = done && run.tokens();
  if (done) ph.measure("tokens");
  done = done && run.holds();
  if (done) ph.measure("holds");
  done = done && run.cancels();
  if (done) ph.measure("finished");
  done = done && run.pass(2 * kHour + concert::kFinishedRetentionMs + kHour, 10'000);
  if (done) ph.measure("retained");
  if (!done) {
    error = "memory: a command was refused: " + run.first_refusal;
    return false;
  }
  const auto users = static_cast<double>(o.users);
  auto per = [&](const char* what, size_t from, size_t to) {
    report.add(std::string("rss_bytes_per_") + what,
               static_cast<double>(ph[to].rss.now - ph[from].rss.now) / users);
    report.add(
        std::string("counted_bytes_per_") + what,
        (static_cast<double>(ph[to].counted) - static_cast<double>(ph[from].counted)) / users);
  };
  per("user", 0, 1);
  per("live_token", 2, 3);
  per("live_hold", 3, 4);
  per("finished_reservation", 3, 5);
  ph.add_to(report);
  report.add("part1_live_after_retention",
             static_cast<int64_t>(run.state().tokens.size() + run.state().reservations.size()));
  return true;
}

// Part 2: --commands over --users, retention all along.
bool long_run(const BenchOptions& o, Report& report, std::string& error) {
  SeededRandom random(static_cast<uint64_t>(o.seed) + 1);
  MemoryRun run(o, random, concert::Limits{5 * 60 * 1000, 10 * 60 * 1000, o.users + 1, 4});
  Phases ph("part2", run);
  ph.measure("start");
  bool done = run.users();
  done = done && run.catalog(kT0 + 2 * kHour);
  if (done) ph.measure("set_up");
  int day = 0;
  done = done && run.steady([&] { ph.measure("day" + std::to_string(++day)); });
  if (!done) {
    error = "memory: a command was refused: " + run.first_refusal;
    return false;
  }
  ph.measure("end");
  report.add("commands", run.commands);
  report.add("simulated_hours", static_cast<double>(run.now() - kT0) / kHour);
  report.add("rss_end_bytes", read_rss().now);
  report.add("counted_end_bytes", static_cast<int64_t>(counted_bytes(run.state())));
  report.add("rss_peak_bytes", read_rss().peak);
  report_state(run.state(), report);
  ph.add_to(report);
  return true;
}

}  // namespace

bool run_memory(const BenchOptions& o, Report& report, std::string& error) {
  report.add("scenario", std::string("memory"));
  report.add("users", o.users);
  report.add("seats", o.schedules * o.seats_per_schedule);
  if (!per_record(o, report, error)) return false;
  malloc_trim(0);
  return long_run(o, report, error);
}

}  // namespace reservoir::tools::bench
