// `core`: the pure state machine alone (SPEC §4: >= 2,000,000 commands/s).
// One thread does what the single writer does for a command minus the log:
// apply the clock events due, decide, apply the decided events. No encoding,
// no idempotency table, no I/O.
//
// The mix is a booking cycle per user, six commands that leave the seat free
// again, so the catalog never runs out however long the run:
//   token, hold 1 seat, charge its price, pay, token again, refund.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "engine/concert/decide.h"
#include "events/os.h"
#include "tools/bench/clock.h"
#include "tools/bench/scenarios.h"

namespace reservoir::tools::bench {
namespace {

using concert::Command;
using concert::Reply;

constexpr int64_t kTargetCommandsPerS = 2'000'000;
constexpr int kCyclesPerClockRead = 16;  // ~100 commands between two reads of the clocks
constexpr int64_t kSchedulesPerConcert = 10;
constexpr int64_t kSeatPrice = 1000;
constexpr int64_t kStartsAheadMs = 30LL * 24 * 3600 * 1000;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class Core {
 public:
  Core(const BenchOptions& o, Random& random)
      : random_(random),
        limits_{5 * 60 * 1000, 10 * 60 * 1000, o.users + 1, 4},
        users_(o.users),
        schedules_(o.schedules),
        seats_(o.seats_per_schedule) {}

  // Registers the users and the catalog; false if refused.
  bool set_up();
  // One cycle for the next user; false if a step was refused.
  bool cycle();

  void tick() { now_ = wall_ms(); }
  int64_t commands = 0, events = 0, refused = 0;
  std::string first_refusal;
  const concert::State& state() const { return state_; }

 private:
  Reply execute(const Command& command);
  const DomainError* refused_by(const Reply& r);
  // True unless refused; gives the reply's storage back.
  bool done(Reply&& r);

  Random& random_;
  concert::Limits limits_;
  concert::State state_;
  concert::Events scratch_;
  concert::Spares spares_;
  int64_t users_, schedules_, seats_;
  int64_t now_ = wall_ms();
  uint64_t next_cycle_ = 0;
  std::vector<std::string> user_ids_, schedule_ids_, seat_ids_;
  // One command of each kind, refilled each cycle with its ids, as a server
  // parses each request into a fresh (hot) command: prebuilt commands, one
  // per user, cost a cache miss per command that no server pays. Reused
  // buffers also keep the harness's allocations out of the core's figure.
  Command issue_ = concert::IssueToken{}, charge_ = concert::ChargeBalance{},
          hold_ = concert::HoldSeats{}, pay_ = concert::PayReservation{},
          cancel_ = concert::CancelReservation{};
};

Reply Core::execute(const Command& command) {
  while (auto clock = concert::next_clock_event(state_, now_, limits_)) {
    state_.apply(*clock);
    ++events;
  }
  scratch_.clear();  // keeps the events' storage for this command's (as Module::execute)
  concert::Context ctx{now_, random_, limits_, &spares_};
  Reply reply = concert::decide(state_, command, ctx, scratch_);
  concert::apply_decided(state_, scratch_, reply);
  events += static_cast<int64_t>(scratch_.size());
  ++commands;
  return reply;
}

bool Core::done(Reply&& r) {
  if (refused_by(r)) return false;
  spares_.give(std::move(r));
  return true;
}

const DomainError* Core::refused_by(const Reply& r) {
  const auto* err = std::get_if<DomainError>(&r);
  if (err != nullptr && ++refused == 1) {
    first_refusal = std::string(error_name(err->code)) + ": " + err->message;
  }
  return err;
}

bool Core::set_up() {
  for (int64_t u = 0; u < users_; ++u) {
    const std::string id = "u" + std::to_string(u);
    if (refused_by(execute(concert::RegisterUser{id, ""}))) return false;
    user_ids_.push_back(id);
  }
  for (int64_t n = 1; n <= seats_; ++n) seat_ids_.push_back(std::to_string(n));
  for (int64_t s = 0; s < schedules_; ++s) schedule_ids_.push_back("s" + std::to_string(s));
  for (int64_t first = 0; first < schedules_; first += kSchedulesPerConcert) {
    concert::CreateConcert c{"c" + std::to_string(first), "core", {}};
    for (int64_t s = first; s < std::min(schedules_, first + kSchedulesPerConcert); ++s) {
      concert::ScheduleInput in{schedule_ids_[static_cast<size_t>(s)], now_ + kStartsAheadMs, {}};
      for (int64_t n = 1; n <= seats_; ++n) {
        in.seats.push_back({seat_ids_[static_cast<size_t>(n - 1)], n, kSeatPrice});
      }
      c.schedules.push_back(std::move(in));
    }
    if (refused_by(execute(c))) return false;
  }
  commands = events = 0;  // the set-up is not measured
  return true;
}

bool Core::cycle() {
  const uint64_t k = next_cycle_++;
  const size_t user = k % static_cast<uint64_t>(users_);
  // Consecutive cycles walk the schedules, then the seats: every seat is
  // free again (refunded) when its turn comes back.
  const auto& schedule = schedule_ids_[k % static_cast<uint64_t>(schedules_)];
  const auto& seat =
      seat_ids_[(k / static_cast<uint64_t>(schedules_)) % static_cast<uint64_t>(seats_)];
  auto& hold = std::get<concert::HoldSeats>(hold_);
  auto& pay = std::get<concert::PayReservation>(pay_);
  auto& cancel = std::get<concert::CancelReservation>(cancel_);
  auto& issue = std::get<concert::IssueToken>(issue_);
  auto& charge = std::get<concert::ChargeBalance>(charge_);
  issue.user_id = user_ids_[user];
  charge.user_id = user_ids_[user];
  charge.amount = kSeatPrice;
  // Each reply goes back to the spares once read, as the writer does once
  // it has rendered it.
  Reply r = execute(issue_);
  if (refused_by(r)) return false;
  hold.token = std::get<concert::TokenReply>(r).token;
  spares_.give(std::move(r));
  hold.schedule_id = schedule;
  hold.seat_ids.resize(1);
  hold.seat_ids[0] = seat;
  r = execute(hold_);
  if (refused_by(r)) return false;
  pay.token = hold.token;
  pay.reservation_id = std::get<concert::ReservationReply>(r).reservation_id;
  spares_.give(std::move(r));
  if (!done(execute(charge_))) return false;
  if (!done(execute(pay_))) return false;
  r = execute(issue_);  // payment spent the token; a refund needs a live one
  if (refused_by(r)) return false;
  cancel.token = std::get<concert::TokenReply>(r).token;
  spares_.give(std::move(r));
  cancel.reservation_id = pay.reservation_id;
  return done(execute(cancel_));
}

}  // namespace

namespace {

struct CoreRun {
  int64_t commands = 0, events = 0;
  double seconds = 0;
  double cpu_seconds = 0;  // this thread's CPU time over the same window
};

// The calling thread's CPU time: on shared cores the wall-clock rate also
// counts the time other processes held the CPU, this does not.
int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Runs cycles for warm-up + duration; counts only the measured part.
CoreRun drive(Core& core, const BenchOptions& o) {
  const int64_t start = now_ns();
  const int64_t measure = start + o.warmup_ms * 1'000'000;
  const int64_t end = measure + o.duration_ms * 1'000'000;
  int64_t next_progress = start + 1'000'000'000, last_progress = start, last_commands = 0;
  int64_t base_commands = 0, base_events = 0, measured_from = start, cpu_from = thread_cpu_ns();
  bool measuring = o.warmup_ms == 0;
  for (;;) {
    for (int i = 0; i < kCyclesPerClockRead; ++i) core.cycle();
    core.tick();
    const int64_t now = now_ns();
    if (!measuring && now >= measure) {
      measuring = true;
      base_commands = core.commands;
      base_events = core.events;
      measured_from = now;
      cpu_from = thread_cpu_ns();
    }
    if (now >= next_progress || now >= end) {
      const double rate = static_cast<double>(core.commands - last_commands) * 1e9 /
                          static_cast<double>(now - last_progress);
      std::fprintf(stderr, "\r[core] %5.1fs %-7s commands %lld  commands/s %.0f  refused %lld   ",
                   static_cast<double>(now - start) / 1e9, measuring ? "run" : "warmup",
                   static_cast<long long>(core.commands), rate,
                   static_cast<long long>(core.refused));
      std::fflush(stderr);
      last_commands = core.commands;
      last_progress = now;
      next_progress += 1'000'000'000;
    }
    if (now >= end) {
      std::fputc('\n', stderr);
      return {core.commands - base_commands, core.events - base_events,
              static_cast<double>(now - measured_from) / 1e9,
              static_cast<double>(thread_cpu_ns() - cpu_from) / 1e9};
    }
  }
}

}  // namespace

bool run_core(const BenchOptions& o, Report& report, std::string& error) {
  std::unique_ptr<Random> random;
  if (o.os_random) {
    random = std::make_unique<OsRandom>();
  } else {
    random = std::make_unique<SeededRandom>(static_cast<uint64_t>(o.seed));
  }
  Core core(o, *random);
  std::fprintf(stderr, "[core] setting up %lld users and %lld schedules of %lld seats\n",
               static_cast<long long>(o.users), static_cast<long long>(o.schedules),
               static_cast<long long>(o.seats_per_schedule));
  if (!core.set_up()) {
    error = "core: the set-up was refused: " + core.first_refusal;
    return false;
  }
  const CoreRun run = drive(core, o);
  const double per_s = static_cast<double>(run.commands) / run.seconds;
  report.add("scenario", std::string("core"));
  report.add("mix", std::string("token, hold, charge, pay, token, refund (per user, in turn)"));
  report.add("ids", std::string(o.os_random ? "getrandom(2), as the server" : "seeded splitmix64"));
  report.add("users", o.users);
  report.add("seats", o.schedules * o.seats_per_schedule);
  report.add("warmup_s", static_cast<double>(o.warmup_ms) / 1000.0);
  report.add("duration_s", run.seconds);
  report.add("commands", run.commands);
  report.add("commands_per_s", per_s);
  report.add("cpu_s", run.cpu_seconds);
  report.add("commands_per_cpu_s", static_cast<double>(run.commands) / run.cpu_seconds);
  report.add("events_per_s", static_cast<double>(run.events) / run.seconds);
  report.add("refused", core.refused);
  report.add("target_commands_per_s", kTargetCommandsPerS);
  report.add("meets_target", std::string(per_s >= kTargetCommandsPerS ? "yes" : "no"));
  report.add("state_tokens", static_cast<int64_t>(core.state().tokens.size()));
  report.add("state_reservations", static_cast<int64_t>(core.state().reservations.size()));
  if (core.refused > 0) {
    error =
        "core: " + std::to_string(core.refused) + " commands refused, first: " + core.first_refusal;
    return false;
  }
  return true;
}

}  // namespace reservoir::tools::bench
