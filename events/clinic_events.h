// The clinic domain's events (SPEC §6, seeds 003/004). Like the concert
// events they carry everything projections and auditors need: a schedule
// event holds the whole schedule as it is after the event, and an update
// also holds what it replaced (previousZoneId, previousOccupiedResources),
// so views and the checker never look anything up and the checker can
// catch a forged update by comparing them with its own state.
//
// Nested client objects (requestedProcedures, funnel, counselor, a
// resource's doctor, …) are validated by the API and stored as compact JSON
// text, exactly as given, and returned as they came.
//
// Type names are unique across every catalog (concert, engine, clinic), so a
// log opened as the wrong domain fails on its first event. Schema versions
// start at 1; a later field follows codec.h's rule (f(name, field, N) plus
// an upgrade()).
//
// Times are Unix milliseconds (UTC). Thread safety: value types.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "events/catalog.h"

namespace reservoir::events {

// The clinic's fixed UTC offset (serve --clinic-utc-offset), recorded at
// start-up when it differs from the last recorded one: days (invariant 8)
// are judged with the offset in force when each event was written.
struct ClinicConfigured {
  static constexpr const char* kType = "ClinicConfigured";
  static constexpr uint32_t kVersion = 1;
  int64_t utc_offset_min = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("utcOffsetMinutes", s.utc_offset_min);
  }
};

struct VisitorRegistered {
  static constexpr const char* kType = "VisitorRegistered";
  static constexpr uint32_t kVersion = 1;
  std::string visitor_id;
  std::string name;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("visitorId", s.visitor_id);
    f("name", s.name);
  }
};

struct ZoneCreated {
  static constexpr const char* kType = "ZoneCreated";
  static constexpr uint32_t kVersion = 1;
  std::string zone_id;
  std::string name;
  int64_t capacity = 0;  // resources that may overlap at one instant; 0: unlimited
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("zoneId", s.zone_id);
    f("name", s.name);
    f("capacity", s.capacity);
  }
};

struct ReservationGroupCreated {
  static constexpr const char* kType = "ReservationGroupCreated";
  static constexpr uint32_t kVersion = 1;
  std::string group_id;
  std::string name;
  std::vector<std::string> zone_ids;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("reservationGroupId", s.group_id);
    f("name", s.name);
    f("zoneIds", s.zone_ids);
  }
};

// One occupied resource: the half-open interval [start, end) in a zone of a
// reservation group, with the doctor object as given (empty: none).
struct OccupiedResource {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::string group_id;
  std::string zone_id;
  std::string doctor;  // compact JSON {"id":…,"name":…} as the client sent it; "" when absent
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("startDateTimeUtc", s.start_ms);
    f("endDateTimeUtc", s.end_ms);
    f("reservationGroupId", s.group_id);
    f("zoneId", s.zone_id);
    f("doctor", s.doctor);
  }
  bool operator==(const OccupiedResource&) const = default;
};

// One optional field of the seeds (consultationRequired, funnel,
// requestedProcedures, …) as compact JSON text, exactly as given.
struct ScheduleExtra {
  std::string name;
  std::string json;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("name", s.name);
    f("json", s.json);
  }
  bool operator==(const ScheduleExtra&) const = default;
};

// A whole schedule as it is after an event. Extras are kept in the seeds'
// field order (clinic::kExtraNames), at most one of each name.
struct ScheduleBody {
  std::string schedule_id;  // a UUID (V1 answers it as reservationId)
  std::string visitor_id;
  std::string zone_id;  // the reception zone (접수 구역); not an occupied resource
  std::vector<OccupiedResource> resources;
  std::vector<ScheduleExtra> extras;
  std::string api;         // "v1" or "v2": the route that created it
  int64_t created_at = 0;  // Unix ms of the reserve
  template <class S, class F>
  static void body_fields(S& s, F&& f) {
    f("scheduleId", s.schedule_id);
    f("visitorId", s.visitor_id);
    f("zoneId", s.zone_id);
    f("occupiedResources", s.resources);
    f("extras", s.extras);
    f("api", s.api);
    f("createdAt", s.created_at);
  }
};

struct ScheduleReserved : ScheduleBody {
  static constexpr const char* kType = "ScheduleReserved";
  static constexpr uint32_t kVersion = 1;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    body_fields(s, f);
  }
};

// The schedule after the update (its updatedAt is the envelope's time), and
// what the update replaced.
struct ScheduleUpdated : ScheduleBody {
  static constexpr const char* kType = "ScheduleUpdated";
  static constexpr uint32_t kVersion = 1;
  std::string previous_zone_id;
  std::vector<OccupiedResource> previous_resources;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    body_fields(s, f);
    f("previousZoneId", s.previous_zone_id);
    f("previousOccupiedResources", s.previous_resources);
  }
};

// The schedule as cancelled: its resources no longer occupy anything.
struct ScheduleCancelled : ScheduleBody {
  static constexpr const char* kType = "ScheduleCancelled";
  static constexpr uint32_t kVersion = 1;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    body_fields(s, f);
  }
};

using ClinicEvent =
    std::variant<ClinicConfigured, VisitorRegistered, ZoneCreated, ReservationGroupCreated,
                 ScheduleReserved, ScheduleUpdated, ScheduleCancelled>;
using ClinicCatalog = Catalog<ClinicEvent>;

}  // namespace reservoir::events
