#include "engine/clinic/state.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <utility>

namespace reservoir::clinic {

bool Group::has(Id zone) const {
  return std::binary_search(zones.begin(), zones.end(), zone);
}

std::vector<std::pair<int64_t, int64_t>> pieces_of(const events::ScheduleBody& body) {
  std::vector<std::pair<int64_t, int64_t>> spans;
  spans.reserve(body.resources.size());
  for (const auto& r : body.resources) spans.emplace_back(r.start_ms, r.end_ms);
  return merge_pieces(std::move(spans));
}

int64_t end_of(const events::ScheduleBody& body) {
  int64_t end = INT64_MIN;  // no resources: only a forged log (decide refuses it)
  for (const auto& r : body.resources) end = std::max(end, r.end_ms);
  return end;
}

void State::apply(const events::ClinicEvent& event) {
  std::visit([this](const auto& e) { on(e); }, event);
}

void State::on(const events::ClinicConfigured& e) {
  recorded_utc_offset_min = e.utc_offset_min;
}

void State::on(const events::VisitorRegistered& e) {
  assert(!visitors.contains(e.visitor_id));
  visitors[visitors.insert(e.visitor_id)].name = e.name;
}

void State::on(const events::ZoneCreated& e) {
  assert(!zones.contains(e.zone_id));
  Zone& z = zones[zones.insert(e.zone_id)];
  z.name = e.name;
  z.capacity = e.capacity;
}

void State::on(const events::ReservationGroupCreated& e) {
  assert(!groups.contains(e.group_id));
  Group& g = groups[groups.insert(e.group_id)];
  g.name = e.name;
  for (const auto& zone_id : e.zone_ids) {
    const Id z = zones.find(zone_id);
    assert(z != kNoId);
    if (z != kNoId) g.zones.push_back(z);
  }
  std::sort(g.zones.begin(), g.zones.end());
  g.zones.erase(std::unique(g.zones.begin(), g.zones.end()), g.zones.end());
}

void State::on(const events::ScheduleReserved& e) {
  assert(!schedules.contains(e.schedule_id));
  const Id id = schedules.insert(e.schedule_id);
  Schedule& s = schedules[id];
  s.status = ScheduleStatus::kReserved;
  s.visitor = visitors.find(e.visitor_id);
  assert(s.visitor != kNoId);
  s.body = e;
  occupy(id);
  ends.push(end_of(s.body), id);
  // After the insert: decide named the new schedule's Id before anything
  // was forgotten (next_id(), self-locating).
  forget_before(e.created_at - kPastHorizonMs);
}

void State::on(const events::ScheduleUpdated& e) {
  const Id id = must_find_schedule(e.schedule_id);
  assert(schedules[id].status == ScheduleStatus::kReserved);
  release(id);
  schedules[id].body = static_cast<const events::ScheduleBody&>(e);
  occupy(id);
  ends.erase(id);
  ends.push(end_of(schedules[id].body), id);
}

void State::on(const events::ScheduleCancelled& e) {
  const Id id = must_find_schedule(e.schedule_id);
  assert(schedules[id].status == ScheduleStatus::kReserved);
  release(id);
  Schedule& s = schedules[id];
  s.status = ScheduleStatus::kCancelled;
  s.body = e;
}

void State::occupy(Id schedule) {
  const Schedule& s = schedules[schedule];
  if (s.visitor == kNoId) return;  // only a forged log; asserted above
  SpanSet& spans = visitors[s.visitor].spans;
  for (const auto& [start, end] : pieces_of(s.body)) spans.insert(start, end, schedule);
  for (const auto& r : s.body.resources) {
    const Id z = zones.find(r.zone_id);
    assert(z != kNoId);
    if (z != kNoId && zones[z].capacity > 0) zones[z].load.add(r.start_ms, r.end_ms);
  }
}

void State::release(Id schedule) {
  const Schedule& s = schedules[schedule];
  if (s.visitor == kNoId) return;
  SpanSet& spans = visitors[s.visitor].spans;
  for (const auto& piece : pieces_of(s.body)) spans.erase(piece.first, schedule);
  for (const auto& r : s.body.resources) {
    const Id z = zones.find(r.zone_id);
    if (z != kNoId && zones[z].capacity > 0) zones[z].load.remove(r.start_ms, r.end_ms);
  }
}

void State::forget_before(int64_t floor) {
  horizon_ms = std::max(horizon_ms, floor);
  while (!ends.empty() && ends.top().first <= horizon_ms) {
    const Id id = ends.top().second;
    ends.erase(id);
    if (schedules[id].status == ScheduleStatus::kReserved) release(id);
    schedules.erase(id);
  }
}

void State::rebuild_indexes() {
  for (Id v = 0; v < visitors.id_end(); ++v) visitors[v].spans = SpanSet();
  for (Id z = 0; z < zones.id_end(); ++z) zones[z].load.clear();
  ends = DeadlineHeap();
  for (Id s = 0; s < schedules.id_end(); ++s) {
    if (!schedules.live(s)) continue;
    if (schedules[s].status == ScheduleStatus::kReserved) occupy(s);
    ends.push(end_of(schedules[s].body), s);
  }
}

// Events name schedules an earlier event created: a miss is a log that
// decide did not write.
Id State::must_find_schedule(std::string_view id) const {
  const Id s = schedules.find(id);
  assert(s != kNoId);
  return s;
}

}  // namespace reservoir::clinic
