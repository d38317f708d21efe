// Commands of the clinic domain (SPEC §6): validated intent, as the API
// builds them after its InvalidCommandException phase (syntax, types, enums,
// required nested fields, start < end, the different-days rule). decide
// re-checks what the business rules rest on and does every lookup.
//
// Ids: an empty id in an admin command means "generate one" (24 lower-case
// hex digits, the seeds' object-id). Times are Unix ms, intervals half-open.
//
// Thread safety: value types.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "events/clinic_events.h"

namespace reservoir::clinic {

// Limits of one command (SPEC §6 readings, docs/CLINIC-DESIGN.md (h) 14).
inline constexpr size_t kResourcesMax = 32;             // occupiedResources per schedule
inline constexpr size_t kRequestedProceduresMax = 100;  // requestedProcedures entries
inline constexpr size_t kGroupZonesMax = 256;           // zoneIds per reservation group
inline constexpr int64_t kCapacityMax = 1'000'000;

// The seeds' optional schedule fields, in the order schedules store and
// return them (seed 003's order, then seed 004's additions).
inline constexpr std::array<std::string_view, 9> kExtraNames = {
    "consultationRequired", "sedationRequired",    "funnelDetail", "funnel",
    "reservationMemo",      "reservationAssignee", "counselor",    "connectedChannel",
    "requestedProcedures"};

enum class Api : uint8_t { kV1, kV2 };

using ResourceInput = events::OccupiedResource;  // doctor: compact JSON or ""
using Extra = events::ScheduleExtra;             // name from kExtraNames, compact JSON

// One optional field in an update: present with JSON -> replaced; present
// as null (json == nullopt) -> removed; absent from the patch -> kept.
struct ExtraPatch {
  std::string name;
  std::optional<std::string> json;
};

struct RegisterVisitor {
  std::string visitor_id;  // empty: generated
  std::string name;
};

struct CreateZone {
  std::string zone_id;  // empty: generated
  std::string name;
  int64_t capacity = 0;  // 1..kCapacityMax; 0: unlimited
};

struct CreateGroup {
  std::string group_id;  // empty: generated
  std::string name;
  std::vector<std::string> zone_ids;
};

// V1 (seed 003): one resource whose zone is also the reception zone.
// V2: any number of resources (1..kResourcesMax) on one clinic day.
struct Reserve {
  std::string visitor_id;
  std::string reception_zone_id;
  std::vector<ResourceInput> resources;
  std::vector<Extra> extras;  // in kExtraNames order
  Api api = Api::kV2;
};

// V2 update (seed 004): reception zone and resources replaced; extras patched.
struct Update {
  std::string schedule_id;
  std::string reception_zone_id;
  std::vector<ResourceInput> resources;
  std::vector<ExtraPatch> extras;
};

struct Cancel {
  std::string schedule_id;
};

using Command = std::variant<RegisterVisitor, CreateZone, CreateGroup, Reserve, Update, Cancel>;

}  // namespace reservoir::clinic
