#include "engine/clinic/snapshot.h"

#include <algorithm>
#include <vector>

#include "engine/snapshot_codec.h"
#include "events/codec.h"

namespace reservoir::clinic {
namespace {

// The shared snapshot byte format (engine/snapshot_codec.h).
using Out = SnapshotOut;
using In = SnapshotIn;

void encode_places(const State& st, Out& o) {
  o.u(st.visitors.size());
  for (Id id = 0; id < st.visitors.size(); ++id) {
    o.s(st.visitors.key(id));
    o.s(st.visitors[id].name);
  }
  o.u(st.zones.size());
  for (Id id = 0; id < st.zones.size(); ++id) {
    o.s(st.zones.key(id));
    o.s(st.zones[id].name);
    o.i(st.zones[id].capacity);
  }
  o.u(st.groups.size());
  for (Id id = 0; id < st.groups.size(); ++id) {
    o.s(st.groups.key(id));
    o.s(st.groups[id].name);
    o.u(st.groups[id].zones.size());
    for (Id z : st.groups[id].zones) o.u(z);
  }
}

bool decode_places(In& in, State& st) {
  const size_t visitors = in.count();
  for (size_t k = 0; k < visitors && in.ok(); ++k) {
    const std::string_view key = in.s();
    if (!in.ok() || st.visitors.contains(key)) return false;
    st.visitors[st.visitors.insert(key)].name = in.s();
  }
  const size_t zones = in.count();
  for (size_t k = 0; k < zones && in.ok(); ++k) {
    const std::string_view key = in.s();
    if (!in.ok() || st.zones.contains(key)) return false;
    Zone& z = st.zones[st.zones.insert(key)];
    z.name = in.s();
    z.capacity = in.i();
    if (z.capacity < 0) return false;
  }
  const size_t groups = in.count();
  for (size_t k = 0; k < groups && in.ok(); ++k) {
    const std::string_view key = in.s();
    if (!in.ok() || st.groups.contains(key)) return false;
    Group& g = st.groups[st.groups.insert(key)];
    g.name = in.s();
    const size_t n = in.count();
    for (size_t i = 0; i < n && in.ok(); ++i) {
      const uint64_t z = in.u();
      if (z >= st.zones.size()) return false;
      g.zones.push_back(static_cast<Id>(z));
    }
    if (!std::is_sorted(g.zones.begin(), g.zones.end())) return false;
  }
  return in.ok();
}

// Schedules in Id order, a forgotten one as a hole (status kHole), then
// the free list in its order and the retention horizon: a restore gives
// every schedule its Id again and the next reserve the Id decide expects.
// A body is the codec record ScheduleReserved writes.
constexpr uint64_t kHole = 2;

void encode_schedules(const State& st, Out& o) {
  o.u(st.schedules.id_end());
  std::string body;
  events::ScheduleReserved record;
  for (Id id = 0; id < st.schedules.id_end(); ++id) {
    if (!st.schedules.live(id)) {
      o.s("");
      o.u(kHole);
      continue;
    }
    const Schedule& s = st.schedules[id];
    o.s(st.schedules.key(id));
    o.u(static_cast<uint64_t>(s.status));
    static_cast<events::ScheduleBody&>(record) = s.body;
    body.clear();
    codec::encode(record, body);
    o.s(body);
  }
  o.u(st.schedules.free_ids().size());
  for (Id id : st.schedules.free_ids()) o.u(id);
  o.i(st.horizon_ms);
}

// What apply would have refused to build: an unknown visitor or zone, an
// empty interval, a key other than the body's.
bool plausible(const State& st, std::string_view key, const events::ScheduleBody& b) {
  if (b.schedule_id != key || !st.visitors.contains(b.visitor_id)) return false;
  return std::all_of(b.resources.begin(), b.resources.end(), [&](const auto& r) {
    return r.start_ms < r.end_ms && st.zones.contains(r.zone_id);
  });
}

bool decode_schedule(In& in, State& st, events::ScheduleReserved& record) {
  const std::string_view key = in.s();
  const uint64_t status = in.u();
  if (!in.ok()) return false;
  if (status == kHole) {
    if (!key.empty()) return false;
    st.schedules.add_hole();
    return true;
  }
  const std::string_view body = in.s();
  if (!in.ok() || st.schedules.contains(key) ||
      status > static_cast<uint64_t>(ScheduleStatus::kCancelled) || !codec::decode(body, record) ||
      !plausible(st, key, record)) {
    return false;
  }
  Schedule& s = st.schedules[st.schedules.insert(key)];
  s.status = static_cast<ScheduleStatus>(status);
  s.visitor = st.visitors.find(record.visitor_id);
  s.body = std::move(static_cast<events::ScheduleBody&>(record));
  return true;
}

bool decode_schedules(In& in, State& st) {
  const size_t n = in.count();
  events::ScheduleReserved record;
  for (size_t k = 0; k < n && in.ok(); ++k) {
    if (!decode_schedule(in, st, record)) return false;
  }
  std::vector<Id> free_ids(in.count());
  for (Id& id : free_ids) {
    const uint64_t v = in.u();
    if (v >= kNoId) return false;
    id = static_cast<Id>(v);
  }
  st.horizon_ms = in.i();
  return in.ok() && st.schedules.restore_free_ids(std::move(free_ids));
}

}  // namespace

std::string encode_state(const State& st) {
  std::string bytes(1, static_cast<char>(kSnapshotFormat));
  Out o(bytes);
  o.u(st.recorded_utc_offset_min ? 1 : 0);
  if (st.recorded_utc_offset_min) o.i(*st.recorded_utc_offset_min);
  encode_places(st, o);
  encode_schedules(st, o);
  return bytes;
}

bool decode_state(std::string_view bytes, State& st) {
  st = State();
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) != kSnapshotFormat) return false;
  In in(bytes.substr(1));
  const uint64_t has_offset = in.u();
  if (has_offset > 1) return false;
  if (has_offset == 1) st.recorded_utc_offset_min = in.i();
  if (!decode_places(in, st) || !decode_schedules(in, st) || !in.done()) return false;
  st.rebuild_indexes();
  return true;
}

}  // namespace reservoir::clinic
