// Flows: what one virtual user (one keep-alive connection) of an HTTP
// scenario sends next and how it reads the answer, plus the catalog and users
// a run sets up for them through the admin API.
//
// A flow owns the users whose index is congruent to its worker number, so no
// two connections share a user (a user has at most one live queue token, and
// two connections spending it would race each other, not the server).
//
// Thread safety: a Flow belongs to its worker thread; SeatPicker is shared and
// lock-free; Catalog is read-only once built.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tools/bench/dialect.h"
#include "tools/bench/report.h"

namespace httplib {
class Client;
}

namespace reservoir::tools::bench {

// The names of what a run creates: prefixed per run, so a second run against
// the same server creates new users and concerts instead of colliding.
struct Catalog {
  std::string prefix;
  int64_t users = 0;
  int64_t schedules = 0;
  int64_t seats_per_schedule = 0;
  int64_t schedules_per_concert = 1;
  int64_t seat_price = 1000;  // KRW
  int64_t starts_at_ms = 0;   // every schedule: far enough ahead that holds stay open

  static Catalog make(int64_t users, int64_t schedules, int64_t seats_per_schedule);
  int64_t concerts() const;
  std::string user_id(int64_t i) const { return prefix + "u" + std::to_string(i); }
  std::string concert_id(int64_t c) const { return prefix + "c" + std::to_string(c); }
  std::string schedule_id(int64_t s) const { return prefix + "s" + std::to_string(s); }
  int64_t concert_of(int64_t schedule) const { return schedule / schedules_per_concert; }
  // schedule_id and concert_id written into a reused buffer (the flows' hot
  // path: no allocation once it has grown).
  void schedule_id_into(std::string& out, int64_t s) const { id_into(out, 's', s); }
  void concert_id_into(std::string& out, int64_t c) const { id_into(out, 'c', c); }

 private:
  void id_into(std::string& out, char kind, int64_t n) const;
};

// Registers the users `worker` owns and its share of the concerts (each
// concert one admin request). Already-existing ids count as done. Returns an
// empty string, or what went wrong.
std::string set_up(httplib::Client& client, const Catalog& catalog, const std::string& admin_key,
                   bool with_catalog, int worker, int workers);

// Deals out every seat of the catalog once, in a scrambled order, to all
// workers together: a hold on a picked seat finds it free until the catalog
// is used up, after which picks start over (and holds fail).
class SeatPicker {
 public:
  SeatPicker(int64_t seats_total, uint64_t seed);
  int64_t next();
  bool exhausted() const { return next_.load(std::memory_order_relaxed) > total_; }

 private:
  std::atomic<uint64_t> next_{0};
  uint64_t total_, stride_, offset_;
};

// A small fast PRNG (splitmix64) per worker.
class FastRandom {
 public:
  explicit FastRandom(uint64_t seed) : s_(seed) {}
  uint64_t next();
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }

 private:
  uint64_t s_;
};

struct Judgement {
  Verdict verdict = Verdict::kError;
  bool booked = false;  // a payment completed a booking (clinic: a reserve succeeded)
};

class Flow {
 public:
  virtual ~Flow() = default;
  virtual void next(HttpRequest& request) = 0;
  // Judges the answer to the last request (status 0: no answer, a transport
  // failure) and chooses the next step.
  virtual Judgement answer(int status, std::string_view code, std::string_view body) = 0;
};

struct FlowContext {
  const Catalog& catalog;
  SeatPicker& picker;
  int worker = 0;
  int workers = 1;
  uint64_t seed = 1;
  Dialect dialect = Dialect::kCanonical;  // booking and charge only; query and hot are canonical
};

// booking | charge | query | hot | clinic | clinic-hot; nullptr for another name.
std::unique_ptr<Flow> make_flow(const std::string& scenario, const FlowContext& context);

}  // namespace reservoir::tools::bench
