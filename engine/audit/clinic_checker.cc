#include "engine/audit/clinic_checker.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "events/clinic_time.h"
#include "events/engine_events.h"
#include "events/time_format.h"

namespace reservoir::audit {
namespace {

std::string interval(int64_t start, int64_t end) {
  return "[" + format_iso8601_ms(start) + ", " + format_iso8601_ms(end) + ")";
}

}  // namespace

Result<ClinicChecker::Decoded> ClinicChecker::decode(const EventEnvelope& env) {
  if (events::EngineCatalog::knows(env.type)) {
    auto answer = events::EngineCatalog::decode(env);
    if (answer.ok()) return Decoded();
    return Status::Corruption("offset " + std::to_string(env.offset) + ": " +
                              answer.status().message());
  }
  auto decoded = events::ClinicCatalog::decode(env);
  if (!decoded.ok()) {
    return Status::Corruption("offset " + std::to_string(env.offset) + ": " +
                              decoded.status().message());
  }
  return Decoded(std::move(*decoded));
}

Status ClinicChecker::feed(const EventEnvelope& env) {
  auto decoded = decode(env);
  if (!decoded.ok()) return decoded.status();
  feed(env, *decoded);
  return Status::OK();
}

void ClinicChecker::feed(const EventEnvelope& env, const Decoded& decoded) {
  current_offset_ = env.offset;
  current_type_ = env.type.c_str();
  if (env.offset != next_offset_) {
    violate(5, "expected offset " + std::to_string(next_offset_));
  }
  next_offset_ = env.offset + 1;
  if (decoded) check(*decoded);
}

void ClinicChecker::check(const events::ClinicEvent& e) {
  std::visit([&](const auto& ev) { on(ev); }, e);
}

uint64_t ClinicChecker::violation_count(int i) const {
  return i >= 0 && static_cast<size_t>(i) < per_invariant_.size() ? per_invariant_[i] : 0;
}

void ClinicChecker::violate(int invariant, std::string detail) {
  ++violation_count_;
  if (invariant >= 0 && static_cast<size_t>(invariant) < per_invariant_.size()) {
    ++per_invariant_[invariant];
  }
  if (violations_.size() < config_.violations_kept_max) {
    violations_.push_back({current_offset_, current_type_, invariant, std::move(detail)});
  }
}

// --- admin events ------------------------------------------------------------

void ClinicChecker::on(const events::ClinicConfigured& e) {
  utc_offset_min_ = e.utc_offset_min;
}

void ClinicChecker::on(const events::VisitorRegistered& e) {
  if (!visitors_.insert(e.visitor_id).second) {
    violate(7, "visitor " + e.visitor_id + " registered twice");
  }
}

void ClinicChecker::on(const events::ZoneCreated& e) {
  auto [it, fresh] = zones_.try_emplace(e.zone_id);
  if (!fresh) {  // decide refuses a known id: the first zone stands
    violate(7, "zone " + e.zone_id + " created twice");
    return;
  }
  if (e.capacity < 0) {
    violate(9, "zone " + e.zone_id + " has capacity " + std::to_string(e.capacity));
    return;  // judged as unlimited: its resources are not blamed for it
  }
  it->second.capacity = e.capacity;
}

void ClinicChecker::on(const events::ReservationGroupCreated& e) {
  auto [it, fresh] = groups_.try_emplace(e.group_id);
  if (!fresh) {
    violate(7, "reservation group " + e.group_id + " created twice");
    return;
  }
  for (const auto& zone : e.zone_ids) {
    if (!zones_.contains(zone)) {
      violate(7, "reservation group " + e.group_id + " names unknown zone " + zone);
    }
    it->second.insert(zone);
  }
}

// --- schedule events ---------------------------------------------------------

void ClinicChecker::check_body(const events::ScheduleBody& b) {
  if (!visitors_.contains(b.visitor_id)) violate(7, "unknown visitor " + b.visitor_id);
  if (!zones_.contains(b.zone_id)) violate(7, "unknown reception zone " + b.zone_id);
  const auto& rs = b.resources;
  for (size_t n = 0; n < rs.size(); ++n) {
    const auto& r = rs[n];
    const std::string at = "resource " + std::to_string(n) + ": ";
    auto group = groups_.find(r.group_id);
    if (group == groups_.end()) violate(7, at + "unknown reservation group " + r.group_id);
    if (!zones_.contains(r.zone_id)) {
      violate(7, at + "unknown zone " + r.zone_id);
    } else if (group != groups_.end() && !group->second.contains(r.zone_id)) {
      violate(7, at + "zone " + r.zone_id + " is not in group " + r.group_id);
    }
    if (r.start_ms >= r.end_ms) violate(10, at + "start " + interval(r.start_ms, r.end_ms));
  }
  if (rs.empty()) return;
  const int64_t day0 = clinic_time::clinic_day(rs[0].start_ms, utc_offset_min_);
  for (size_t n = 1; n < rs.size(); ++n) {
    const int64_t day = clinic_time::clinic_day(rs[n].start_ms, utc_offset_min_);
    if (day != day0) {
      violate(8, "resource " + std::to_string(n) + " starts on " + clinic_time::format_day(day) +
                     ", resource 0 on " + clinic_time::format_day(day0) + " (utc offset " +
                     clinic_time::format_utc_offset(utc_offset_min_) + ")");
    }
  }
}

void ClinicChecker::on(const events::ScheduleReserved& e) {
  check_body(e);
  auto [it, fresh] = schedules_.try_emplace(e.schedule_id);
  if (!fresh) {  // the first schedule stands
    violate(7, "schedule " + e.schedule_id + " reserved twice");
    return;
  }
  it->second.body = e;
  occupy(&*it);
}

void ClinicChecker::on(const events::ScheduleUpdated& e) {
  check_body(e);
  if (Entry* entry = live_schedule(e.schedule_id, "updated")) {
    const Schedule* s = &entry->second;
    if (e.previous_zone_id != s->body.zone_id) {
      violate(7, "previousZoneId " + e.previous_zone_id + ", but the schedule's zone is " +
                     s->body.zone_id);
    }
    if (e.previous_resources != s->body.resources) {
      violate(7, "previousOccupiedResources are not the schedule's last resources");
    }
    if (e.visitor_id != s->body.visitor_id) {
      violate(7, "visitor changed from " + s->body.visitor_id + " to " + e.visitor_id);
    }
    vacate(entry);
  }
  // Known or not, the schedule is now what the event says (a forged one is
  // reported above and then judged as a new booking).
  auto it = schedules_.try_emplace(e.schedule_id).first;
  it->second.body = e;
  occupy(&*it);
}

void ClinicChecker::on(const events::ScheduleCancelled& e) {
  Entry* entry = live_schedule(e.schedule_id, "cancelled");
  if (entry == nullptr) {
    auto [it, fresh] = schedules_.try_emplace(e.schedule_id);
    if (fresh) it->second.body = e;  // so that a later update is told it was cancelled
    return;
  }
  const events::ScheduleBody& last = entry->second.body;
  if (e.visitor_id != last.visitor_id || e.zone_id != last.zone_id ||
      e.resources != last.resources) {
    violate(7, "the cancelled schedule's visitor, zone or resources are not its last state");
  }
  vacate(entry);
}

ClinicChecker::Entry* ClinicChecker::live_schedule(const std::string& id, const char* what) {
  auto it = schedules_.find(id);
  if (it == schedules_.end()) {
    violate(7, std::string(what) + " unknown schedule " + id);
    return nullptr;
  }
  if (!it->second.reserved) {
    violate(7, std::string(what) + " schedule " + id + ", which was cancelled");
    return nullptr;
  }
  return &*it;
}

void ClinicChecker::occupy(Entry* entry) {
  entry->second.reserved = true;
  ++reserved_;
  add_pieces(*entry);
  add_loads(&entry->second);
}

void ClinicChecker::vacate(Entry* entry) {
  const std::string* id = &entry->first;
  Schedule* s = &entry->second;
  s->reserved = false;
  --reserved_;
  // Only the pieces occupy() indexed carry this schedule's name: one left
  // out for an overlap (6) is not there to erase.
  Pieces& mine = pieces_[s->body.visitor_id];
  for (const auto& [start, end] : merged(s->body.resources)) {
    auto it = mine.find(start);
    if (it != mine.end() && it->second.schedule == id) mine.erase(it);
  }
  const auto& rs = s->body.resources;
  for (size_t n = 0; n < rs.size() && n < s->counted.size(); ++n) {
    if (!s->counted[n]) continue;
    add_load(&zones_.at(rs[n].zone_id).load, rs[n].start_ms, rs[n].end_ms, -1);
  }
  s->counted.clear();
}

// --- invariant 6: a visitor's pieces ---------------------------------------------

// The schedule's own resources merged into disjoint pieces (its own
// resources may overlap each other); empty or inverted ones (10) occupy
// nothing.
ClinicChecker::Intervals ClinicChecker::merged(
    const std::vector<events::OccupiedResource>& resources) {
  Intervals in;
  in.reserve(resources.size());
  for (const auto& r : resources) {
    if (r.start_ms < r.end_ms) in.emplace_back(r.start_ms, r.end_ms);
  }
  std::sort(in.begin(), in.end());
  Intervals out;
  for (const auto& [start, end] : in) {
    if (!out.empty() && start <= out.back().second) {
      out.back().second = std::max(out.back().second, end);
    } else {
      out.emplace_back(start, end);
    }
  }
  return out;
}

void ClinicChecker::add_pieces(const Entry& s) {
  const events::ScheduleBody& b = s.second.body;
  Pieces& mine = pieces_[b.visitor_id];
  for (const auto& [start, end] : merged(b.resources)) {
    // The pieces are disjoint, so sorted by end too: only the one before
    // `start` and those starting before `end` can meet [start, end).
    auto next = mine.lower_bound(start);
    auto hit = mine.end();
    if (next != mine.begin() && std::prev(next)->second.end > start) hit = std::prev(next);
    if (hit == mine.end() && next != mine.end() && next->first < end) hit = next;
    if (hit != mine.end()) {
      violate(6, "visitor " + b.visitor_id + ": " + interval(start, end) + " overlaps " +
                     interval(hit->first, hit->second.end) + " of schedule " +
                     *hit->second.schedule);
      continue;  // left out: the index stays disjoint
    }
    mine.emplace_hint(next, start, Piece{end, &s.first});
  }
}

// --- invariant 9: zone loads -------------------------------------------------------

void ClinicChecker::add_loads(Schedule* s) {
  const auto& rs = s->body.resources;
  s->counted.assign(rs.size(), false);
  // The schedule's resources per capacity zone: its own count against it too.
  // Ordered by zone id, so the report's order does not depend on hashing.
  std::map<std::string_view, std::pair<Zone*, std::vector<size_t>>> by_zone;
  for (size_t n = 0; n < rs.size(); ++n) {
    auto zone = zones_.find(rs[n].zone_id);
    if (zone == zones_.end() || zone->second.capacity <= 0) continue;
    if (rs[n].start_ms >= rs[n].end_ms) continue;  // occupies nothing (10)
    auto& slot = by_zone[rs[n].zone_id];
    slot.first = &zone->second;
    slot.second.push_back(n);
  }
  for (const auto& [zone_id, entry] : by_zone) {
    Zone& zone = *entry.first;
    const std::vector<size_t>& ns = entry.second;
    for (size_t n : ns) add_load(&zone.load, rs[n].start_ms, rs[n].end_ms, 1);
    int64_t worst = 0, at = 0;
    for (size_t n : ns) {
      const auto [load, when] = max_load(zone.load, rs[n].start_ms, rs[n].end_ms);
      if (load > worst) {
        worst = load;
        at = when;
      }
    }
    if (worst > zone.capacity) {
      violate(9, "zone " + std::string(zone_id) + " holds " + std::to_string(worst) +
                     " resources at " + format_iso8601_ms(at) + ", capacity " +
                     std::to_string(zone.capacity));
      // Taken out again, so later bookings are judged against the load
      // decide would have kept.
      for (size_t n : ns) add_load(&zone.load, rs[n].start_ms, rs[n].end_ms, -1);
      continue;
    }
    for (size_t n : ns) s->counted[n] = true;
  }
}

// The key at `t`, inserted with the count in force there when missing.
ClinicChecker::Load::iterator ClinicChecker::split(Load* load, int64_t t) {
  auto it = load->lower_bound(t);
  if (it != load->end() && it->first == t) return it;
  const int64_t before = it == load->begin() ? 0 : std::prev(it)->second;
  return load->emplace_hint(it, t, before);
}

void ClinicChecker::add_load(Load* load, int64_t start, int64_t end, int64_t delta) {
  auto first = split(load, start);
  auto last = split(load, end);
  for (auto it = first; it != last; ++it) it->second += delta;
  // A key whose count equals the one before it says nothing: dropped, so
  // the map holds only real steps and shrinks again as bookings go.
  for (int64_t t : {end, start}) {
    auto it = load->find(t);
    if (it == load->end()) continue;
    const int64_t before = it == load->begin() ? 0 : std::prev(it)->second;
    if (it->second == before) load->erase(it);
  }
}

// The highest count over [start, end) and the first instant it is reached.
std::pair<int64_t, int64_t> ClinicChecker::max_load(const Load& load, int64_t start, int64_t end) {
  auto it = load.upper_bound(start);
  int64_t worst = it == load.begin() ? 0 : std::prev(it)->second;
  int64_t at = start;
  for (; it != load.end() && it->first < end; ++it) {
    if (it->second > worst) {
      worst = it->second;
      at = it->first;
    }
  }
  return {worst, at};
}

size_t ClinicChecker::reserved_schedules_ending_after(int64_t t) const {
  size_t n = 0;
  for (const auto& [key, s] : schedules_) {
    if (!s.reserved) continue;
    const bool after = std::any_of(s.body.resources.begin(), s.body.resources.end(),
                                   [t](const auto& r) { return r.end_ms > t; });
    n += after ? 1 : 0;
  }
  return n;
}

}  // namespace reservoir::audit
