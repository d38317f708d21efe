// Clinic request bodies (SPEC §6, seeds 003/004) -> clinic commands: the
// InvalidCommandException phase of SPEC §6.2. The body has already passed
// the size and content-type checks; everything after that is here.
//
// Contract:
// - A body that is not JSON, not an object, or nests deeper than
//   kNestingDepthMax: one problem {"", "Invalid"}.
// - Otherwise every failing property, in the seed schema's property order,
//   depth-first, array elements by index (CLINIC-DESIGN (h) 3), whatever
//   order the client sent them in. Reasons: "Required" (missing, null, an
//   empty required array, an empty required string), "Invalid" (wrong type,
//   an id breaking SPEC §1's rule, a date-time that is unparsable or not UTC,
//   an unknown enum value, an integer out of its range, start >= end on
//   `…endDateTimeUtc`, an array over commands.h's limits).
// - Only when there is no other problem: the different-days rule, each
//   resource n > 0 starting on another clinic day than resource 0 ->
//   `occupiedResources[n].startDateTimeUtc` "NotAvailable".
// - With no problem, `command` holds the command. Nested objects the seeds
//   describe are validated for their types, required members and enums,
//   then kept as compact JSON exactly as given (unknown members included);
//   unknown top-level fields are ignored and not stored.
// - Every problem is an InvalidCommandException (400); render them with
//   clinic_error() of api/clinic_render.h.
//
// The walk follows the schema, never the input, so its recursion is bounded
// by the schema's depth; parsing is iterative. Times: UTC only ("Z" or
// "+00:00"), a fraction truncated to milliseconds.
//
// Thread safety: pure functions.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/clinic/commands.h"

namespace reservoir::api {

// One entry of a clinic error body's errorProperties.
struct KeyReason {
  std::string key;
  std::string reason;
  bool operator==(const KeyReason&) const = default;
};

// Exactly one of: a command (problems empty), or the problems (no command).
struct ClinicParse {
  std::optional<clinic::Command> command;
  std::vector<KeyReason> problems;
  bool ok() const { return command.has_value(); }
};

// utc_offset_min: the clinic's offset (serve --clinic-utc-offset) for the
// different-days rule.
ClinicParse parse_reserve_v1(std::string_view body, int64_t utc_offset_min);  // seed 003
ClinicParse parse_reserve_v2(std::string_view body, int64_t utc_offset_min);  // SPEC §6.3
ClinicParse parse_update_v2(std::string_view body, int64_t utc_offset_min);   // seed 004
ClinicParse parse_cancel(std::string_view body);
ClinicParse parse_admin_visitor(std::string_view body);  // {visitorId?, name}
ClinicParse parse_admin_zone(std::string_view body);     // {zoneId?, name, capacity?}
ClinicParse parse_admin_group(std::string_view body);    // {reservationGroupId?, name, zoneIds}

// The same, over a body the caller has already parsed (e.g. for the
// idempotency fingerprint); a non-object is {"", "Invalid"}.
enum class ClinicBody : uint8_t {
  kReserveV1,
  kReserveV2,
  kUpdateV2,
  kCancel,
  kAdminVisitor,
  kAdminZone,
  kAdminGroup
};
ClinicParse parse_clinic(ClinicBody kind, const rapidjson::Value& body, int64_t utc_offset_min);

// Admin names (visitor, zone, group): 1..kClinicNameMax characters.
inline constexpr size_t kClinicNameMax = 200;

}  // namespace reservoir::api
