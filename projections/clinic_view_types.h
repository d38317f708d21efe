// What the clinic's query views answer (SPEC §6.3), as typed values: the
// API renders them (api/clinic_render.h), the views (clinic_views.h) build
// them from the log. Kept apart so the renderer and the views are written
// and tested against one shape.
//
// Thread safety: value types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "events/clinic_events.h"

namespace reservoir::projections {

enum class ClinicStatus : uint8_t { kReserved, kCancelled };

// GET /schedule/open/v1/schedules/{scheduleId}
struct ClinicScheduleView {
  events::ScheduleBody body;  // the whole schedule, extras as stored
  ClinicStatus status = ClinicStatus::kReserved;
  int64_t updated_at = 0;  // Unix ms of the last event (== body.created_at until updated)
};

struct ClinicZoneView {
  std::string zone_id;
  std::string name;
  int64_t capacity = 0;  // 0: unlimited (rendered as null)
};

// One RESERVED occupied resource in a zone's day view.
struct OccupancyItem {
  std::string schedule_id;
  std::string visitor_id;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::string group_id;
  std::string doctor;  // compact JSON as given, "" when absent (rendered as null)
};

// GET …/zones/{zoneId}/occupancy?date=YYYY-MM-DD: resources starting on that
// clinic day, ordered by start, then scheduleId, then resource index.
struct ZoneDayView {
  ClinicZoneView zone;
  int64_t day = 0;  // clinic_time day number
  std::vector<OccupancyItem> items;
};

// GET …/visitors/{visitorId}/schedules: by first start, then scheduleId.
struct VisitorSchedulesPage {
  std::vector<ClinicScheduleView> items;
  std::string next_cursor;  // "" when there is no next page (rendered as null)
};

}  // namespace reservoir::projections
