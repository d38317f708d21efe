#include "engine/clinic/decide.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include "events/clinic_time.h"

namespace reservoir::clinic {
namespace {

using Problems = std::vector<Problem>;
using Resources = std::vector<ResourceInput>;
using Out = std::vector<events::ClinicEvent>;

Problem problem(Field field, size_t index, Reason reason) {
  return {field, static_cast<int32_t>(index), reason};
}
Problem problem(Field field, Reason reason) {
  return {field, -1, reason};
}

Reply refuse(RefusalKind kind, Problems problems) {
  assert(!problems.empty());
  return Refusal{kind, std::move(problems)};
}

// Phase 1: what the API's InvalidCommand phase already refused, so only a
// caller that skipped it gets here; the same keys as the API's answer.
Problems command_problems(const Resources& rs, int64_t utc_offset_min) {
  if (rs.empty()) return {problem(Field::kResourceStart, 0, Reason::kRequired)};
  if (rs.size() > kResourcesMax) {
    return {problem(Field::kResourceStart, kResourcesMax, Reason::kInvalid)};
  }
  Problems out;
  for (size_t n = 0; n < rs.size(); ++n) {
    if (rs[n].start_ms >= rs[n].end_ms)
      out.push_back(problem(Field::kResourceStart, n, Reason::kInvalid));
  }
  if (!out.empty()) return out;
  const int64_t day = clinic_time::clinic_day(rs[0].start_ms, utc_offset_min);
  for (size_t n = 1; n < rs.size(); ++n) {
    if (clinic_time::clinic_day(rs[n].start_ms, utc_offset_min) != day) {
      out.push_back(problem(Field::kResourceStart, n, Reason::kNotAvailable));
    }
  }
  return out;
}

// Phase 2 for the reception zone and every resource: group, then the zone
// (unknown, or not in the group). A resource of an unknown group is not
// judged further: its zone cannot be checked against it.
void lookup_places(const State& state, std::string_view reception, const Resources& rs,
                   Problems& out) {
  if (!state.zones.contains(reception)) out.push_back(problem(Field::kZoneId, Reason::kNotFound));
  for (size_t n = 0; n < rs.size(); ++n) {
    const Id g = state.groups.find(rs[n].group_id);
    if (g == kNoId) {
      out.push_back(problem(Field::kGroupId, n, Reason::kNotFound));
      continue;
    }
    const Id z = state.zones.find(rs[n].zone_id);
    if (z == kNoId || !state.groups[g].has(z)) {
      out.push_back(problem(Field::kResourceZone, n, Reason::kNotFound));
    }
  }
}

constexpr size_t kAll = SIZE_MAX;  // covering(): skip nothing

// How many of `rs` other than `skip`, in `zone_id`, hold instant t.
int64_t covering(const Resources& rs, std::string_view zone_id, size_t skip, int64_t t) {
  int64_t count = 0;
  for (size_t m = 0; m < rs.size(); ++m) {
    if (m != skip && rs[m].zone_id == zone_id && rs[m].start_ms <= t && t < rs[m].end_ms) ++count;
  }
  return count;
}

// True when resource n fits its zone: at no instant of it would the zone
// hold more than its capacity. The index holds the zone's RESERVED
// resources, `own`'s old ones among them (an update replaces them: not
// counted); the command's other resources in the zone are counted. Both
// lists are short (<= kResourcesMax), so [s, e) is cut at their ends and
// each cut, where that correction is constant, asks the index once.
bool fits(const State& state, const Resources& rs, size_t n, const Schedule* own) {
  const Zone& zone = state.zones[state.zones.find(rs[n].zone_id)];
  if (zone.capacity <= 0) return true;  // unlimited
  const int64_t s = rs[n].start_ms, e = rs[n].end_ms;
  const std::string_view zone_id = rs[n].zone_id;
  static const Resources kNone;
  const Resources& old = own ? own->body.resources : kNone;
  std::vector<int64_t> cuts{s, e};
  for (const Resources* list : {&rs, &old}) {
    for (const auto& r : *list) {
      if (r.zone_id != zone_id) continue;
      if (s < r.start_ms && r.start_ms < e) cuts.push_back(r.start_ms);
      if (s < r.end_ms && r.end_ms < e) cuts.push_back(r.end_ms);
    }
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    const int64_t a = cuts[i], b = cuts[i + 1];
    const int64_t extra = covering(rs, zone_id, n, a) - covering(old, zone_id, kAll, a);
    if (zone.load.max_load(a, b) + extra + 1 > zone.capacity) return false;
  }
  return true;
}

// Phase 4: every resource's start against the retention floor (an older
// instant is no longer bookable: state.h, "Retention"), its overlap with
// the visitor's other RESERVED schedules, then its zone's capacity; `own`
// (kNoId for a reserve) is the schedule being updated, whose old pieces and
// resources do not count.
Problems availability(const State& state, Id visitor, Id own, const Resources& rs, int64_t now_ms) {
  Problems out;
  const SpanSet& spans = state.visitors[visitor].spans;
  const Schedule* own_schedule = own == kNoId ? nullptr : &state.schedules[own];
  const int64_t floor = state.floor_ms(now_ms);
  for (size_t n = 0; n < rs.size(); ++n) {
    if (rs[n].start_ms < floor) {
      out.push_back(problem(Field::kResourceStart, n, Reason::kNotAvailable));
      continue;
    }
    if (spans.conflict(rs[n].start_ms, rs[n].end_ms, own)) {
      out.push_back(problem(Field::kResourceStart, n, Reason::kNotAvailable));
    }
    if (!fits(state, rs, n, own_schedule)) {
      out.push_back(problem(Field::kResourceZone, n, Reason::kNotAvailable));
    }
  }
  return out;
}

Reply reserve(const State& state, const Reserve& cmd, Context& ctx, Out& out) {
  if (auto p = command_problems(cmd.resources, ctx.utc_offset_min); !p.empty()) {
    return refuse(RefusalKind::kInvalidCommand, std::move(p));
  }
  Problems lookups;
  const Id visitor = state.visitors.find(cmd.visitor_id);
  if (visitor == kNoId) lookups.push_back(problem(Field::kVisitorId, Reason::kNotFound));
  lookup_places(state, cmd.reception_zone_id, cmd.resources, lookups);
  if (!lookups.empty()) return refuse(RefusalKind::kInvalidRequest, std::move(lookups));
  if (auto p = availability(state, visitor, kNoId, cmd.resources, ctx.now_ms); !p.empty()) {
    return refuse(RefusalKind::kInvalidRequest, std::move(p));
  }
  events::ScheduleReserved e;
  // Self-locating: the Id the schedule gets is in its key (engine/uuid.h).
  do {
    new_locating_uuid(ctx.random, state.schedules.next_id(), e.schedule_id);
  } while (state.schedules.contains(e.schedule_id));
  e.visitor_id = cmd.visitor_id;
  e.zone_id = cmd.reception_zone_id;
  e.resources = cmd.resources;
  e.extras = cmd.extras;
  e.api = cmd.api == Api::kV1 ? "v1" : "v2";
  e.created_at = ctx.now_ms;
  Reserved reply{e.schedule_id};
  out.push_back(std::move(e));
  return reply;
}

// Phases 2 and 3 for update and cancel: the schedule exists, then it is not
// cancelled. `more` adds the command's other lookups between the two. A
// schedule that ended at or before the retention floor counts as absent
// whether or not apply has forgotten it yet, so the answer depends on the
// command's time alone.
template <class More>
std::variant<Id, Reply> find_reserved(const State& state, std::string_view schedule_id,
                                      int64_t now_ms, More&& more) {
  Problems lookups;
  Id id = state.schedules.find(schedule_id);
  if (id != kNoId && end_of(state.schedules[id].body) <= state.floor_ms(now_ms)) id = kNoId;
  if (id == kNoId) lookups.push_back(problem(Field::kScheduleId, Reason::kNotFound));
  more(lookups);
  if (!lookups.empty()) return refuse(RefusalKind::kInvalidRequest, std::move(lookups));
  if (state.schedules[id].status == ScheduleStatus::kCancelled) {
    return refuse(RefusalKind::kConflict, {problem(Field::kScheduleId, Reason::kCancelled)});
  }
  return id;
}

Reply update(const State& state, const Update& cmd, Context& ctx, Out& out) {
  if (auto p = command_problems(cmd.resources, ctx.utc_offset_min); !p.empty()) {
    return refuse(RefusalKind::kInvalidCommand, std::move(p));
  }
  auto found = find_reserved(state, cmd.schedule_id, ctx.now_ms, [&](Problems& lookups) {
    lookup_places(state, cmd.reception_zone_id, cmd.resources, lookups);
  });
  if (auto* reply = std::get_if<Reply>(&found)) return std::move(*reply);
  const Id id = std::get<Id>(found);
  const Schedule& old = state.schedules[id];
  if (auto p = availability(state, old.visitor, id, cmd.resources, ctx.now_ms); !p.empty()) {
    return refuse(RefusalKind::kInvalidRequest, std::move(p));
  }
  events::ScheduleUpdated e;
  static_cast<events::ScheduleBody&>(e) = old.body;
  e.zone_id = cmd.reception_zone_id;
  e.resources = cmd.resources;
  e.extras = merge_extras(old.body.extras, cmd.extras);
  e.previous_zone_id = old.body.zone_id;
  e.previous_resources = old.body.resources;
  out.push_back(std::move(e));
  return Done{};
}

Reply cancel(const State& state, const Cancel& cmd, Context& ctx, Out& out) {
  auto found = find_reserved(state, cmd.schedule_id, ctx.now_ms, [](Problems&) {});
  if (auto* reply = std::get_if<Reply>(&found)) return std::move(*reply);
  events::ScheduleCancelled e;
  static_cast<events::ScheduleBody&>(e) = state.schedules[std::get<Id>(found)].body;
  out.push_back(std::move(e));
  return Done{};
}

// The id an admin command creates: given, or generated (redrawn on a clash).
template <class T>
std::string admin_id(const std::string& given, const IdTable<T>& table, Random& random) {
  if (!given.empty()) return given;
  return generate_id(random, [&](const std::string& id) { return table.contains(id); });
}

Reply register_visitor(const State& state, const RegisterVisitor& cmd, Context& ctx, Out& out) {
  if (state.visitors.contains(cmd.visitor_id)) {
    return refuse(RefusalKind::kConflict, {problem(Field::kVisitorId, Reason::kAlreadyExists)});
  }
  std::string id = admin_id(cmd.visitor_id, state.visitors, ctx.random);
  out.push_back(events::VisitorRegistered{id, cmd.name});
  return Created{std::move(id)};
}

Reply create_zone(const State& state, const CreateZone& cmd, Context& ctx, Out& out) {
  if (cmd.capacity < 0 || cmd.capacity > kCapacityMax) {
    return DomainError{ErrorCode::INVALID_REQUEST, "capacity out of range"};  // the API's to refuse
  }
  if (state.zones.contains(cmd.zone_id)) {
    return refuse(RefusalKind::kConflict, {problem(Field::kZoneId, Reason::kAlreadyExists)});
  }
  std::string id = admin_id(cmd.zone_id, state.zones, ctx.random);
  out.push_back(events::ZoneCreated{id, cmd.name, cmd.capacity});
  return Created{std::move(id)};
}

Reply create_group(const State& state, const CreateGroup& cmd, Context& ctx, Out& out) {
  Problems unknown;
  for (size_t n = 0; n < cmd.zone_ids.size(); ++n) {
    if (!state.zones.contains(cmd.zone_ids[n])) {
      unknown.push_back(problem(Field::kGroupZones, n, Reason::kNotFound));
    }
  }
  if (!unknown.empty()) return refuse(RefusalKind::kInvalidRequest, std::move(unknown));
  if (state.groups.contains(cmd.group_id)) {
    return refuse(RefusalKind::kConflict, {problem(Field::kGroupId, Reason::kAlreadyExists)});
  }
  std::string id = admin_id(cmd.group_id, state.groups, ctx.random);
  out.push_back(events::ReservationGroupCreated{id, cmd.name, cmd.zone_ids});
  return Created{std::move(id)};
}

}  // namespace

std::string actor_of(const Command& command) {
  return std::visit(
      [](const auto& c) -> std::string {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, Reserve>) {
          return "visitor:" + c.visitor_id;
        } else if constexpr (std::is_same_v<C, Update> || std::is_same_v<C, Cancel>) {
          return "schedule:" + c.schedule_id;
        } else {
          return kAdminScope;
        }
      },
      command);
}

std::vector<Extra> merge_extras(const std::vector<Extra>& old,
                                const std::vector<ExtraPatch>& patch) {
  std::vector<Extra> out;
  for (std::string_view name : kExtraNames) {
    const auto p = std::find_if(patch.begin(), patch.end(),
                                [&](const ExtraPatch& x) { return x.name == name; });
    if (p != patch.end()) {
      if (p->json) out.push_back(Extra{p->name, *p->json});
      continue;
    }
    const auto o =
        std::find_if(old.begin(), old.end(), [&](const Extra& x) { return x.name == name; });
    if (o != old.end()) out.push_back(*o);
  }
  return out;
}

Reply decide(const State& state, const Command& command, Context& ctx, Out& out) {
  return std::visit(
      [&](const auto& c) -> Reply {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, Reserve>) {
          return reserve(state, c, ctx, out);
        } else if constexpr (std::is_same_v<C, Update>) {
          return update(state, c, ctx, out);
        } else if constexpr (std::is_same_v<C, Cancel>) {
          return cancel(state, c, ctx, out);
        } else if constexpr (std::is_same_v<C, RegisterVisitor>) {
          return register_visitor(state, c, ctx, out);
        } else if constexpr (std::is_same_v<C, CreateZone>) {
          return create_zone(state, c, ctx, out);
        } else {
          static_assert(std::is_same_v<C, CreateGroup>);
          return create_group(state, c, ctx, out);
        }
      },
      command);
}

}  // namespace reservoir::clinic
