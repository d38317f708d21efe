// What the clinic domain answers (SPEC §6.2). decide knows no key strings:
// a refusal is a list of typed problems (field, resource index, reason) and
// the route's renderer spells the seeds' keys for V1 or V2
// (startDateTime vs occupiedResources[n].startDateTimeUtc, …), so the pure
// core stays free of the API's wording.
//
// Thread safety: value types.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "engine/reply.h"

namespace reservoir::clinic {

enum class Field : uint8_t {
  kScheduleId,     // update, cancel
  kVisitorId,      // reserve; admin visitor (AlreadyExists)
  kZoneId,         // the reception zone; admin zone (AlreadyExists)
  kGroupId,        // resource `index`'s reservationGroupId; admin group (AlreadyExists)
  kResourceZone,   // resource `index`'s zoneId (unknown, not in its group, or full)
  kResourceStart,  // resource `index`'s startDateTimeUtc (visitor overlap, other day)
  kGroupZones,     // admin group: zoneIds[index]
};

enum class Reason : uint8_t {
  kRequired,
  kInvalid,
  kNotFound,
  kNotAvailable,
  kCancelled,
  kAlreadyExists
};

struct Problem {
  Field field = Field::kScheduleId;
  int32_t index = -1;  // the resource (or zoneIds entry) it concerns; -1: none
  Reason reason = Reason::kNotFound;
  bool operator==(const Problem&) const = default;
};

// The seeds' exception classes: 400 InvalidCommandException (the defensive
// re-check of what the API validates), 400 InvalidRequestException (lookups
// and availability), 409 ConflictException (cancelled, already exists).
enum class RefusalKind : uint8_t { kInvalidCommand, kInvalidRequest, kConflict };

struct Refusal {
  RefusalKind kind = RefusalKind::kInvalidRequest;
  std::vector<Problem> problems;  // in SPEC §6.2's order; never empty
};

struct Reserved {
  std::string schedule_id;  // answered as reservationId
};

struct Done {};  // update, cancel: {}

struct Created {
  std::string id;  // the visitor, zone or group id (given or generated)
};

using Reply = std::variant<DomainError, Refusal, Reserved, Done, Created>;

}  // namespace reservoir::clinic
