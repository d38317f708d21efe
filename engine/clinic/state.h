// State of the clinic domain and apply(): the pure fold of clinic events
// into state. apply holds no rules: it records what an event says and keeps
// the indexes decide needs (each visitor's SpanSet, each capacity zone's
// ZoneLoad, interval_index.h). It asserts what decide already checked.
//
// Layout: visitors, zones, groups and schedules are IdTables (dense Ids in
// order of creation, engine/id_table.h); a group refers to its zones by Id.
// Schedule ids are self-locating UUIDs (engine/uuid.h), so they take no
// index slot. A schedule keeps its whole body as the last event gave it:
// update and cancel events carry the whole schedule, and decide copies it
// from here. The indexes are derived and rebuilt on restore (snapshot.h).
//
// Retention (issue 16, bounded memory): a booking may use any instant from
// floor_ms(now) on, that is at most kPastHorizonMs before now (a back office
// records past visits; CLINIC-DESIGN decision 8). So a schedule that ended
// at or before the floor can never again overlap a booking, nor be named by
// a command (decide answers NotFound): apply forgets it. The floor moves
// with each ScheduleReserved's createdAt, the only event that carries the
// writer's time, so replay, snapshots and the live writer forget the same
// schedules at the same offsets. The views keep every schedule.
//
// Not kept: a schedule's updatedAt. It is the envelope's time, which
// apply(event) does not see (the writer's recovery applies bare events);
// decide never needs it and the views take it from the envelope.
//
// Thread safety: none; owned by the single writer (or a replaying tool).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/clinic/interval_index.h"
#include "engine/deadline_heap.h"
#include "engine/id_table.h"
#include "events/clinic_events.h"

namespace reservoir::clinic {

// How far before now a booking may reach, and so how long the engine keeps
// a schedule after it ended.
inline constexpr int64_t kPastHorizonMs = 31LL * 24 * 3600 * 1000;

struct Visitor {
  std::string name;
  SpanSet spans;  // the pieces of its RESERVED schedules
};

struct Zone {
  std::string name;
  int64_t capacity = 0;  // occupied resources at one instant; 0: unlimited
  ZoneLoad load;         // its RESERVED resources; kept only when capacity > 0
};

struct Group {
  std::string name;
  std::vector<Id> zones;  // sorted, unique

  bool has(Id zone) const;
};

enum class ScheduleStatus : uint8_t { kReserved, kCancelled };

struct Schedule {
  ScheduleStatus status = ScheduleStatus::kReserved;
  Id visitor = kNoId;
  events::ScheduleBody body;  // as the last event left it
};

class State {
 public:
  void apply(const events::ClinicEvent& event);

  // Rebuilds every SpanSet and ZoneLoad from the records (after a restore).
  void rebuild_indexes();

  IdTable<Visitor> visitors;
  IdTable<Zone> zones;
  IdTable<Group> groups;
  IdTable<Schedule> schedules;
  std::optional<int64_t> recorded_utc_offset_min;  // the last ClinicConfigured; none yet
  // The floor the last ScheduleReserved set (INT64_MIN before the first):
  // every schedule that ended at or before it is forgotten.
  int64_t horizon_ms = INT64_MIN;
  DeadlineHeap ends;  // every schedule by the end of its last resource

  // The earliest instant a command decided at `now_ms` may book or name.
  int64_t floor_ms(int64_t now_ms) const { return std::max(horizon_ms, now_ms - kPastHorizonMs); }

 private:
  void on(const events::ClinicConfigured& e);
  void on(const events::VisitorRegistered& e);
  void on(const events::ZoneCreated& e);
  void on(const events::ReservationGroupCreated& e);
  void on(const events::ScheduleReserved& e);
  void on(const events::ScheduleUpdated& e);
  void on(const events::ScheduleCancelled& e);
  // Adds / removes a RESERVED schedule's resources in the indexes.
  void occupy(Id schedule);
  void release(Id schedule);
  // Raises horizon_ms to `floor` and forgets the schedules it passed.
  void forget_before(int64_t floor);
  Id must_find_schedule(std::string_view id) const;
};

// The end of a schedule's last resource.
int64_t end_of(const events::ScheduleBody& body);

// A schedule's resources as disjoint pieces (its own overlaps merged).
std::vector<std::pair<int64_t, int64_t>> pieces_of(const events::ScheduleBody& body);

}  // namespace reservoir::clinic
