// reservoir gen-log: writes a large, valid event log quickly, for the audit
// and recovery benchmarks (replay --verify, rebuild, restart time). It runs
// the real pure core (decide + apply) over a synthetic booking workload, so
// every event is one the engine could have written, and appends in large
// batches (one fdatasync per batch).
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "engine/concert/module.h"
#include "events/dir_lock.h"
#include "events/embedded_log.h"
#include "events/secrets.h"
#include "tools/subcommands.h"

namespace reservoir::tools {
namespace {

constexpr size_t kAppendEventsMax = 16384;  // events per durable append
constexpr int64_t kSeatsPerSchedule = 1000;
constexpr int64_t kSchedulesPerConcert = 10;

struct GenOptions {
  std::string data = "./reservoir-data";
  int64_t events = 1'000'000;
  int64_t users = 10'000;
  int64_t schedules = 2000;
  int64_t seed = 1;
};

class Generator {
 public:
  // `key`: the data directory's token key, which a later serve uses, so
  // that it can open the tokens this log seals (docs/SECURITY.md).
  Generator(const GenOptions& o, EmbeddedLog& log, const secrets::TokenKey& key)
      : o_(o), log_(log), random_(static_cast<uint64_t>(o.seed)), module_(limits(), key) {}

  Status run();

 private:
  static concert::Limits limits() { return {5 * 60 * 1000, 10 * 60 * 1000, 1'000'000, 4}; }
  Status exec(const concert::Command& c, concert::Reply* reply = nullptr);
  Status flush();
  Status catalog();
  Status booking(uint64_t i);
  uint64_t next() { return rng_ = rng_ * 6364136223846793005ULL + 1442695040888963407ULL; }

  const GenOptions& o_;
  EmbeddedLog& log_;
  SeededRandom random_;
  concert::Module module_;
  std::vector<EventEnvelope> pending_;
  int64_t now_ = 1'800'000'000'000;  // 2027-01-15: a fixed, reproducible clock
  uint64_t rng_ = 42;
};

Status Generator::exec(const concert::Command& c, concert::Reply* reply) {
  now_ += 1;
  concert::Reply r = module_.execute(c, now_, random_, pending_);
  if (reply != nullptr) *reply = std::move(r);
  return pending_.size() >= kAppendEventsMax ? flush() : Status::OK();
}

Status Generator::flush() {
  if (pending_.empty()) return Status::OK();
  Status s = log_.append(pending_);
  pending_.clear();
  return s;
}

Status Generator::catalog() {
  for (int64_t u = 0; u < o_.users; ++u) {
    if (Status s = exec(concert::RegisterUser{"user-" + std::to_string(u), ""}); !s.ok()) return s;
  }
  for (int64_t c = 0; c * kSchedulesPerConcert < o_.schedules; ++c) {
    concert::CreateConcert cc{"concert-" + std::to_string(c), "Generated concert", {}};
    for (int64_t k = 0; k < kSchedulesPerConcert; ++k) {
      concert::ScheduleInput si{"schedule-" + std::to_string(c * kSchedulesPerConcert + k),
                                now_ + 3650LL * 24 * 3600 * 1000,
                                {}};
      for (int64_t n = 1; n <= kSeatsPerSchedule; ++n)
        si.seats.push_back({"s" + std::to_string(n), n, 1000 + n});
      cc.schedules.push_back(std::move(si));
    }
    if (Status s = exec(cc); !s.ok()) return s;
  }
  return Status::OK();
}

// One user's cycle: charge, token, hold a random seat, pay; every fourth
// booking is refunded later (with a fresh token) so seats come back.
Status Generator::booking(uint64_t i) {
  const std::string user = "user-" + std::to_string(next() % static_cast<uint64_t>(o_.users));
  if (Status s = exec(concert::ChargeBalance{user, 50'000}); !s.ok()) return s;
  concert::Reply reply;
  if (Status s = exec(concert::IssueToken{user}, &reply); !s.ok()) return s;
  const auto* issued = std::get_if<concert::TokenReply>(&reply);
  if (issued == nullptr) return Status::OK();
  const std::string token = issued->token;  // `reply` is reused below
  const std::string schedule =
      "schedule-" + std::to_string(next() % static_cast<uint64_t>(o_.schedules));
  const std::string seat = "s" + std::to_string(1 + next() % kSeatsPerSchedule);
  if (Status s = exec(concert::HoldSeats{token, std::nullopt, schedule, {seat}}, &reply); !s.ok())
    return s;
  const auto* held = std::get_if<concert::ReservationReply>(&reply);
  if (held == nullptr) return Status::OK();  // seat taken or limit reached: a normal rejection
  const std::string reservation = held->reservation_id;
  if (Status s = exec(concert::PayReservation{token, std::nullopt, reservation}); !s.ok()) return s;
  if (i % 4 != 0) return Status::OK();
  if (Status s = exec(concert::IssueToken{user}, &reply); !s.ok()) return s;
  if (const auto* t = std::get_if<concert::TokenReply>(&reply)) {
    return exec(concert::CancelReservation{t->token, reservation});
  }
  return Status::OK();
}

Status Generator::run() {
  const auto start = std::chrono::steady_clock::now();
  module_.start(now_, pending_);
  if (Status s = catalog(); !s.ok()) return s;
  auto shown = start;
  for (uint64_t i = 0; log_.end_offset() + pending_.size() < static_cast<uint64_t>(o_.events);
       ++i) {
    if (Status s = booking(i); !s.ok()) return s;
    if (std::chrono::steady_clock::now() - shown > std::chrono::seconds(1)) {
      shown = std::chrono::steady_clock::now();
      std::fprintf(stderr, "\rgen-log: %llu events",
                   static_cast<unsigned long long>(log_.end_offset()));
    }
  }
  if (Status s = flush(); !s.ok()) return s;
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "\rgen-log: wrote %llu events in %.1f s\n",
               static_cast<unsigned long long>(log_.end_offset()), secs);
  return Status::OK();
}

int run_gen_log(int argc, char** argv) {
  GenOptions o;
  Flags f("gen-log",
          "Writes a large valid event log into an empty --data, for benchmarks of replay\n"
          "--verify, rebuild and restart. Every event comes from the real engine core.");
  f.add_string("data", &o.data, "data directory (must have no events yet)");
  f.add_int("events", &o.events, 1, 1'000'000'000, "about how many events to write");
  f.add_int("users", &o.users, 1, 10'000'000, "users in the workload");
  f.add_int("schedules", &o.schedules, kSchedulesPerConcert, 1'000'000, "schedules of 1000 seats");
  f.add_int("seed", &o.seed, 0, INT64_MAX, "workload seed");
  if (int rc = handle_flags(f, argc, argv); rc >= 0) return rc;
  auto lock = DirLock::acquire(o.data);
  if (!lock.ok()) return fail(1, lock.status().message());
  auto log = EmbeddedLog::open(o.data + "/log", EmbeddedLog::Mode::kReadWrite);
  if (!log.ok()) return fail(1, "cannot open the log: " + log.status().ToString());
  if ((*log)->end_offset() != 0) return fail(1, "the log under " + o.data + " is not empty");
  auto key = secrets::load_or_create_key(o.data + "/token.key");
  if (!key.ok()) return fail(1, key.status().message());
  Generator gen(o, **log, *key);
  Status s = gen.run();
  return s.ok() ? 0 : fail(1, s.ToString());
}

const SubcommandRegistration kGenLog{"gen-log", "write a large valid event log (benchmarks)",
                                     &run_gen_log};

}  // namespace
}  // namespace reservoir::tools
