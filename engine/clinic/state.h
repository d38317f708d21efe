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
// Not kept: a schedule's updatedAt. It is the envelope's time, which
// apply(event) does not see (the writer's recovery applies bare events);
// decide never needs it and the views take it from the envelope.
//
// Thread safety: none; owned by the single writer (or a replaying tool).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/clinic/interval_index.h"
#include "engine/id_table.h"
#include "events/clinic_events.h"

namespace reservoir::clinic {

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
  Id must_find_schedule(std::string_view id) const;
};

// A schedule's resources as disjoint pieces (its own overlaps merged).
std::vector<std::pair<int64_t, int64_t>> pieces_of(const events::ScheduleBody& body);

}  // namespace reservoir::clinic
