// ClinicDriver: the clinic domain (SPEC §6) in the simulator
// (simulation.h). Few visitors and three zones (capacity 1, 2 and
// unlimited) in two reservation groups, and twelve half-hour slots on
// one clinic day, so reserves and updates race for the same capacity and
// visitors overlap themselves. Invalid commands: unknown visitors, zones,
// groups and schedules, a zone outside its group, start >= end, a resource
// on another day, cancelling twice, registering a visitor twice.
//
// Effects (each at most once in the log; acknowledged ones exactly once):
//   visitor:/zone:/group:<id> (admin events), reserve:<memo> and
//   update:<memo> (ScheduleReserved / ScheduleUpdated: every reserve and
//   update carries a reservationMemo of its own), cancel:<schedule>.
//
// Thread safety: none; one per simulation.
#pragma once

#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "engine/audit/clinic_checker.h"
#include "engine/clinic/module.h"
#include "sim_random.h"
#include "simulation.h"

namespace reservoir::sim {

class ClinicDriver {
 public:
  using Module = clinic::Module;
  using Checker = audit::ClinicChecker;
  using Req = Request<clinic::Command>;

  static constexpr int kVisitors = 4;
  static constexpr int64_t kDayMs = 24 * 3600'000;
  static constexpr int64_t kSlotMs = 30 * 60'000;
  static constexpr int64_t kDay = (kSimStartMs / kDayMs + 1) * kDayMs;  // the next UTC midnight

  std::unique_ptr<Module> make_module() const {
    return std::make_unique<Module>(Module::Config{0});
  }

  static Rendered render(const clinic::Reply& reply);

  void setup(std::vector<Req>& out);
  void generate(SimRng& rng, Req& r);
  void on_answer(const Req& r, const Rendered& a, std::set<std::string>& acked);
  void effects(const EventEnvelope& env, std::vector<std::string>& keys) const;
  std::string check_queries(const Module& m, const Checker& c) const;

 private:
  static std::string visitor(int i) { return "visitor-" + std::to_string(i); }
  static std::string memo(const char* kind, uint64_t n) {
    return "\"" + std::string(kind) + std::to_string(n) + "\"";
  }
  static std::string memo_of(const std::vector<events::ScheduleExtra>& extras);
  std::vector<clinic::ResourceInput> resources(SimRng& rng) const;
  std::string schedule(SimRng& rng) const;

  std::vector<std::string> schedules_;  // acknowledged reserves' ids
  uint64_t memos_ = 0;
};

inline Rendered ClinicDriver::render(const clinic::Reply& reply) {
  using namespace clinic;
  std::ostringstream b;
  int status = 200;
  std::visit(
      [&](const auto& r) {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, DomainError>) {
          status = r.code == ErrorCode::UNAVAILABLE || r.code == ErrorCode::OVERLOADED ? 503
                   : r.code == ErrorCode::IDEMPOTENCY_KEY_REUSED                       ? 422
                                                                                       : 400;
          b << "ERROR " << error_name(r.code) << ' ' << r.message;
        } else if constexpr (std::is_same_v<R, Refusal>) {
          status = r.kind == RefusalKind::kConflict ? 409 : 400;
          b << "REFUSED " << static_cast<int>(r.kind);
          for (const auto& p : r.problems) {
            b << ' ' << static_cast<int>(p.field) << '/' << p.index << '/'
              << static_cast<int>(p.reason);
          }
        } else if constexpr (std::is_same_v<R, Reserved>) {
          b << "OK reserved " << r.schedule_id;
        } else if constexpr (std::is_same_v<R, Done>) {
          b << "OK done";
        } else if constexpr (std::is_same_v<R, Created>) {
          b << "OK created " << r.id;
        }
      },
      reply);
  return Rendered{status, b.str()};
}

inline void ClinicDriver::setup(std::vector<Req>& out) {
  for (int i = 0; i < kVisitors; ++i) {
    out.push_back(Req{0, clinic::RegisterVisitor{visitor(i), "visitor"}, {}, "visitor"});
  }
  out.push_back(Req{0, clinic::CreateZone{"zone-0", "one chair", 1}, {}, "zone-0"});
  out.push_back(Req{0, clinic::CreateZone{"zone-1", "two chairs", 2}, {}, "zone-1"});
  out.push_back(Req{0, clinic::CreateZone{"zone-2", "hall", 0}, {}, "zone-2"});
  out.push_back(
      Req{0, clinic::CreateGroup{"group-0", "chairs", {"zone-0", "zone-1"}}, {}, "group-0"});
  out.push_back(Req{0, clinic::CreateGroup{"group-1", "hall", {"zone-2"}}, {}, "group-1"});
}

// One or two resources in the day's twelve slots; now and then a broken one.
inline std::vector<clinic::ResourceInput> ClinicDriver::resources(SimRng& rng) const {
  std::vector<clinic::ResourceInput> out;
  const int n = 1 + static_cast<int>(rng.below(2));
  for (int i = 0; i < n; ++i) {
    clinic::ResourceInput r;
    r.start_ms = kDay + (18 + static_cast<int64_t>(rng.below(12))) * kSlotMs;
    r.end_ms = r.start_ms + kSlotMs * static_cast<int64_t>(1 + rng.below(2));
    const bool hall = rng.chance(300);
    r.group_id = hall ? "group-1" : "group-0";
    r.zone_id = hall ? "zone-2" : rng.chance(500) ? "zone-0" : "zone-1";
    const uint64_t broken = rng.below(100);
    if (broken == 0) r.zone_id = "zone-9";
    if (broken == 1) r.group_id = "group-9";
    if (broken == 2) r.zone_id = hall ? "zone-0" : "zone-2";             // not in its group
    if (broken == 3 && i > 0) r.start_ms += kDayMs, r.end_ms += kDayMs;  // another day
    if (broken == 4) r.end_ms = r.start_ms;
    out.push_back(r);
  }
  return out;
}

inline std::string ClinicDriver::schedule(SimRng& rng) const {
  if (schedules_.empty() || rng.chance(50)) return "00000000-0000-8000-8000-000000000000";
  return rng.pick(schedules_);
}

inline void ClinicDriver::generate(SimRng& rng, Req& r) {
  const uint64_t roll = rng.below(100);
  const int v = static_cast<int>(rng.below(kVisitors));
  if (roll < 50) {
    clinic::Reserve c;
    c.visitor_id = rng.chance(30) ? "visitor-9" : visitor(v);
    c.reception_zone_id = rng.chance(30) ? "zone-9" : "zone-" + std::to_string(rng.below(3));
    c.resources = resources(rng);
    c.extras = {{"reservationMemo", memo("r", ++memos_)}};
    r.what = "reserve " + c.extras[0].json + " for " + c.visitor_id;
    r.command = std::move(c);
  } else if (roll < 75) {
    clinic::Update c;
    c.schedule_id = schedule(rng);
    c.reception_zone_id = "zone-" + std::to_string(rng.below(3));
    c.resources = resources(rng);
    c.extras = {{"reservationMemo", memo("u", ++memos_)}};  // patched: a memo per update
    r.what = "update " + c.schedule_id + " " + *c.extras[0].json;
    r.command = std::move(c);
  } else if (roll < 95) {
    clinic::Cancel c{schedule(rng)};
    r.what = "cancel " + c.schedule_id;
    r.command = std::move(c);
  } else {
    r.command = clinic::RegisterVisitor{visitor(v), "again"};  // AlreadyExists
    r.what = "register " + visitor(v) + " again";
  }
}

inline void ClinicDriver::on_answer(const Req& r, const Rendered& a, std::set<std::string>& acked) {
  if (a.status != 200) return;
  std::visit(
      [&](const auto& c) {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, clinic::Reserve>) {
          schedules_.push_back(a.body.substr(std::string("OK reserved ").size()));
          acked.insert("reserve:" + c.extras[0].json);
        } else if constexpr (std::is_same_v<C, clinic::Update>) {
          acked.insert("update:" + *c.extras[0].json);
        } else if constexpr (std::is_same_v<C, clinic::Cancel>) {
          acked.insert("cancel:" + c.schedule_id);
        } else if constexpr (std::is_same_v<C, clinic::RegisterVisitor>) {
          acked.insert("visitor:" + c.visitor_id);
        } else if constexpr (std::is_same_v<C, clinic::CreateZone>) {
          acked.insert("zone:" + c.zone_id);
        } else if constexpr (std::is_same_v<C, clinic::CreateGroup>) {
          acked.insert("group:" + c.group_id);
        }
      },
      r.command);
}

inline std::string ClinicDriver::memo_of(const std::vector<events::ScheduleExtra>& extras) {
  for (const auto& e : extras) {
    if (e.name == "reservationMemo") return e.json;
  }
  return "";
}

inline void ClinicDriver::effects(const EventEnvelope& env, std::vector<std::string>& keys) const {
  auto e = Module::decode(env);
  if (!e.ok()) return;
  std::visit(
      [&](const auto& ev) {
        using E = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<E, events::VisitorRegistered>) {
          keys.push_back("visitor:" + ev.visitor_id);
        } else if constexpr (std::is_same_v<E, events::ZoneCreated>) {
          keys.push_back("zone:" + ev.zone_id);
        } else if constexpr (std::is_same_v<E, events::ReservationGroupCreated>) {
          keys.push_back("group:" + ev.group_id);
        } else if constexpr (std::is_same_v<E, events::ScheduleReserved>) {
          keys.push_back("reserve:" + memo_of(ev.extras));
        } else if constexpr (std::is_same_v<E, events::ScheduleUpdated>) {
          keys.push_back("update:" + memo_of(ev.extras));
        } else if constexpr (std::is_same_v<E, events::ScheduleCancelled>) {
          keys.push_back("cancel:" + ev.schedule_id);
        }
      },
      *e);
}

// What the visitor-schedule queries would count, from the engine's state,
// against the checker's independent account.
inline std::string ClinicDriver::check_queries(const Module& m, const Checker& c) const {
  const clinic::State& s = m.state();
  size_t reserved = 0;
  for (reservoir::Id i = 0; i < s.schedules.id_end(); ++i) {
    if (!s.schedules.live(i)) continue;
    reserved += s.schedules[i].status == clinic::ScheduleStatus::kReserved ? 1 : 0;
  }
  // The engine has forgotten the schedules that ended by its horizon.
  const size_t expected = c.reserved_schedules_ending_after(s.horizon_ms);
  if (reserved == expected) return "";
  return "RESERVED schedules " + std::to_string(reserved) + " vs " + std::to_string(expected);
}

}  // namespace reservoir::sim
