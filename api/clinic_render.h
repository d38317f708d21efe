// Rendering for the clinic dialect (SPEC §6, seeds 003/004): error bodies,
// the seeds' key spellings of a refusal, the command renderers the writer
// stores for idempotent replays, and the query views' JSON.
//
// Contract:
// - Every error body is exactly
//   {"status":S,"message":E,"className":E,"errorProperties":[{"key":K,"reason":R},…]}
//   (compact, this key order; [] when there is no property), status == HTTP status.
// - A Refusal's problems are spelled per route (CLINIC-DESIGN (c) "Error keys"):
//   V1 reserve: visitorId; zoneId (reception or resource zone, listed once);
//   reservationGroupId; startDateTime (visitor overlap); zoneId NotAvailable (capacity).
//   V2 reserve/update and cancel: scheduleId, visitorId, zoneId,
//   occupiedResources[n].reservationGroupId / .zoneId / .startDateTimeUtc.
//   Admin: visitorId / zoneId / reservationGroupId (AlreadyExists), zoneIds[n] (NotFound).
//   A (key, reason) pair is never listed twice. Kinds: kInvalidCommand ->
//   400 InvalidCommandException, kInvalidRequest -> 400 InvalidRequestException,
//   kConflict -> 409 ConflictException.
// - DomainError (the writer's own answers): OVERLOADED and UNAVAILABLE -> 503
//   ServiceUnavailableException [] (the HTTP layer adds Retry-After to every
//   503: api/http_server.cc); IDEMPOTENCY_KEY_REUSED -> 409 ConflictException
//   [Idempotency-Key: Reused]; INTERNAL and anything unexpected -> 500
//   InternalServerException [] (see clinic_domain_error for the rest).
// - render_* are plain functions (clinic::Reply -> Rendered), usable as the
//   writer's RenderFn, so an idempotent replay answers the first bytes.
// - Times render as YYYY-MM-DDTHH:MM:SS.sssZ; stored JSON (extras, doctor)
//   is written back byte for byte.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/clinic_parse.h"
#include "engine/clinic/replies.h"
#include "engine/reply.h"
#include "projections/clinic_view_types.h"

namespace reservoir::api {

// The clinic error body with `status` as both HTTP status and "status".
Rendered clinic_error(int status, std::string_view exception, const std::vector<KeyReason>& keys);

// How a route spells a problem's key.
enum class ClinicKeys : uint8_t { kV1, kV2, kAdmin };

std::string_view clinic_reason_name(clinic::Reason reason);
std::vector<KeyReason> clinic_keys(const std::vector<clinic::Problem>& problems, ClinicKeys keys);
Rendered render_refusal(const clinic::Refusal& refusal, ClinicKeys keys);
Rendered clinic_domain_error(const DomainError& error);

// Command renderers (Writer<clinic::Module>::RenderFn).
Rendered render_reserve_v1(const clinic::Reply& reply);     // {"reservationId":"<uuid>"}
Rendered render_reserve_v2(const clinic::Reply& reply);     // {"reservationId":"<uuid>"}
Rendered render_update(const clinic::Reply& reply);         // {}
Rendered render_cancel(const clinic::Reply& reply);         // {}
Rendered render_admin_visitor(const clinic::Reply& reply);  // {"visitorId":…}
Rendered render_admin_zone(const clinic::Reply& reply);     // {"zoneId":…}
Rendered render_admin_group(const clinic::Reply& reply);    // {"reservationGroupId":…}
// Any reply, for commands sent without a route (serve --demo, tools): a
// reserve as V2's, an admin command as {"id":…}, the rest as {}.
Rendered render_clinic_reply(const clinic::Reply& reply);

// Query bodies (200). A schedule:
// {"scheduleId","visitorId","zoneId","status":"RESERVED"|"CANCELLED",
//  "occupiedResources":[{"startDateTimeUtc","endDateTimeUtc",
//    "reservationGroup":{"reservationGroupId","zoneId"[,"doctor":<as stored>]}}],
//  <every stored extra, in stored order, "name":<as stored>>, "createdAt","updatedAt"}
std::string render_schedule_json(const projections::ClinicScheduleView& schedule);
// {"items":[<schedule>…],"nextCursor":null|"…"}
std::string render_visitor_schedules(const projections::VisitorSchedulesPage& page);
// {"zoneId","date":"YYYY-MM-DD","capacity":null|n,"items":[{"scheduleId","visitorId",
//  "startDateTimeUtc","endDateTimeUtc","reservationGroupId","doctor":null|<as stored>}]}
// The date is the view's clinic day number, which already embodies the offset.
std::string render_zone_day(const projections::ZoneDayView& day);

}  // namespace reservoir::api
