#include "api/clinic_render.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <variant>

#include "events/clinic_time.h"
#include "events/time_format.h"

namespace reservoir::api {
namespace {

using JsonOut = rapidjson::Writer<rapidjson::StringBuffer>;

void str(JsonOut& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void field(JsonOut& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  str(w, value);
}

void time_field(JsonOut& w, std::string_view key, int64_t unix_ms) {
  field(w, key, format_iso8601_ms(unix_ms));
}

// JSON text stored as the client gave it (compact), written back unchanged;
// null when nothing is stored.
void raw_or_null(JsonOut& w, const std::string& json) {
  if (json.empty()) {
    w.Null();
  } else {
    w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  }
}

std::string text_of(const rapidjson::StringBuffer& buf) {
  return std::string(buf.GetString(), buf.GetSize());
}

Rendered ok_body(std::string body) {
  return Rendered{200, std::move(body)};
}

// {"<key>":"<value>"}
Rendered ok_id(std::string_view key, std::string_view value) {
  rapidjson::StringBuffer buf;
  JsonOut w(buf);
  w.StartObject();
  field(w, key, value);
  w.EndObject();
  return ok_body(text_of(buf));
}

// The writer's own answers (not decide's), in the clinic's wording.
struct ErrorRow {
  ErrorCode code;
  int status;
  const char* exception;
  const char* key;  // nullptr: errorProperties []
  const char* reason;
};
constexpr ErrorRow kErrorRows[] = {
    {ErrorCode::OVERLOADED, 503, "ServiceUnavailableException", nullptr, nullptr},
    {ErrorCode::UNAVAILABLE, 503, "ServiceUnavailableException", nullptr, nullptr},
    {ErrorCode::INTERNAL, 500, "InternalServerException", nullptr, nullptr},
    {ErrorCode::IDEMPOTENCY_KEY_REUSED, 409, "ConflictException", "Idempotency-Key", "Reused"},
    {ErrorCode::INVALID_REQUEST, 400, "InvalidCommandException", nullptr, nullptr},
    {ErrorCode::NOT_FOUND, 404, "NotFoundException", nullptr, nullptr},
    {ErrorCode::METHOD_NOT_ALLOWED, 405, "MethodNotAllowedException", nullptr, nullptr},
    {ErrorCode::PAYLOAD_TOO_LARGE, 413, "PayloadTooLargeException", nullptr, nullptr},
    {ErrorCode::UNSUPPORTED_MEDIA_TYPE, 415, "UnsupportedMediaTypeException", nullptr, nullptr},
    {ErrorCode::ADMIN_DISABLED, 403, "ForbiddenException", "Admin-Key", "Disabled"},
    {ErrorCode::ADMIN_KEY_REQUIRED, 401, "UnauthenticatedException", "Admin-Key", "Required"},
};

std::string resource_key(int32_t index, std::string_view member) {
  if (index < 0) return std::string(member);  // not about one resource (unreachable)
  return "occupiedResources[" + std::to_string(index) + "]." + std::string(member);
}

std::string key_of(const clinic::Problem& p, ClinicKeys keys) {
  using clinic::Field;
  const bool v1 = keys == ClinicKeys::kV1, admin = keys == ClinicKeys::kAdmin;
  switch (p.field) {
    case Field::kScheduleId:
      return "scheduleId";
    case Field::kVisitorId:
      return "visitorId";
    case Field::kZoneId:
      return "zoneId";
    case Field::kGroupId:
      return v1 || admin ? "reservationGroupId" : resource_key(p.index, "reservationGroupId");
    case Field::kResourceZone:
      return v1 ? "zoneId" : resource_key(p.index, "zoneId");
    case Field::kResourceStart:
      // Seed 003 spells the overlap `startDateTime`; a defensive re-check
      // of the time itself names the body's field.
      if (v1)
        return p.reason == clinic::Reason::kNotAvailable ? "startDateTime" : "startDateTimeUtc";
      return resource_key(p.index, "startDateTimeUtc");
    case Field::kGroupZones:
      return "zoneIds[" + std::to_string(std::max<int32_t>(p.index, 0)) + "]";
  }
  return "";
}

// A reply a route cannot produce (e.g. Created for a reserve): a fault.
Rendered unexpected() {
  return clinic_error(500, "InternalServerException", {});
}

// The failures every renderer shares; nullopt for a success reply.
std::optional<Rendered> failure(const clinic::Reply& reply, ClinicKeys keys) {
  if (const auto* e = std::get_if<DomainError>(&reply)) return clinic_domain_error(*e);
  if (const auto* r = std::get_if<clinic::Refusal>(&reply)) return render_refusal(*r, keys);
  return std::nullopt;
}

Rendered reserved(const clinic::Reply& reply, ClinicKeys keys) {
  if (auto f = failure(reply, keys)) return *f;
  if (const auto* r = std::get_if<clinic::Reserved>(&reply)) {
    return ok_id("reservationId", r->schedule_id);
  }
  return unexpected();
}

Rendered done(const clinic::Reply& reply) {
  if (auto f = failure(reply, ClinicKeys::kV2)) return *f;
  return std::holds_alternative<clinic::Done>(reply) ? ok_body("{}") : unexpected();
}

Rendered created(const clinic::Reply& reply, std::string_view key) {
  if (auto f = failure(reply, ClinicKeys::kAdmin)) return *f;
  if (const auto* c = std::get_if<clinic::Created>(&reply)) return ok_id(key, c->id);
  return unexpected();
}

void write_resource(JsonOut& w, const events::OccupiedResource& r) {
  w.StartObject();
  time_field(w, "startDateTimeUtc", r.start_ms);
  time_field(w, "endDateTimeUtc", r.end_ms);
  w.Key("reservationGroup");
  w.StartObject();
  field(w, "reservationGroupId", r.group_id);
  field(w, "zoneId", r.zone_id);
  if (!r.doctor.empty()) {
    w.Key("doctor");
    raw_or_null(w, r.doctor);
  }
  w.EndObject();
  w.EndObject();
}

void write_schedule(JsonOut& w, const projections::ClinicScheduleView& s) {
  const events::ScheduleBody& b = s.body;
  w.StartObject();
  field(w, "scheduleId", b.schedule_id);
  field(w, "visitorId", b.visitor_id);
  field(w, "zoneId", b.zone_id);
  field(w, "status", s.status == projections::ClinicStatus::kReserved ? "RESERVED" : "CANCELLED");
  w.Key("occupiedResources");
  w.StartArray();
  for (const auto& r : b.resources) write_resource(w, r);
  w.EndArray();
  for (const auto& e : b.extras) {
    w.Key(e.name.data(), static_cast<rapidjson::SizeType>(e.name.size()));
    raw_or_null(w, e.json);
  }
  time_field(w, "createdAt", b.created_at);
  time_field(w, "updatedAt", s.updated_at);
  w.EndObject();
}

void write_occupancy(JsonOut& w, const projections::OccupancyItem& item) {
  w.StartObject();
  field(w, "scheduleId", item.schedule_id);
  field(w, "visitorId", item.visitor_id);
  time_field(w, "startDateTimeUtc", item.start_ms);
  time_field(w, "endDateTimeUtc", item.end_ms);
  field(w, "reservationGroupId", item.group_id);
  w.Key("doctor");
  raw_or_null(w, item.doctor);
  w.EndObject();
}

}  // namespace

Rendered clinic_error(int status, std::string_view exception, const std::vector<KeyReason>& keys) {
  rapidjson::StringBuffer buf;
  JsonOut w(buf);
  w.StartObject();
  w.Key("status");
  w.Int(status);
  field(w, "message", exception);
  field(w, "className", exception);
  w.Key("errorProperties");
  w.StartArray();
  for (const KeyReason& k : keys) {
    w.StartObject();
    field(w, "key", k.key);
    field(w, "reason", k.reason);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Rendered{status, text_of(buf)};
}

std::string_view clinic_reason_name(clinic::Reason reason) {
  switch (reason) {
    case clinic::Reason::kRequired:
      return "Required";
    case clinic::Reason::kInvalid:
      return "Invalid";
    case clinic::Reason::kNotFound:
      return "NotFound";
    case clinic::Reason::kNotAvailable:
      return "NotAvailable";
    case clinic::Reason::kCancelled:
      return "Cancelled";
    case clinic::Reason::kAlreadyExists:
      return "AlreadyExists";
  }
  return "Invalid";
}

std::vector<KeyReason> clinic_keys(const std::vector<clinic::Problem>& problems, ClinicKeys keys) {
  std::vector<KeyReason> out;
  for (const clinic::Problem& p : problems) {
    KeyReason k{key_of(p, keys), std::string(clinic_reason_name(p.reason))};
    // V1 names the reception and the resource zone alike: list it once.
    if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(std::move(k));
  }
  return out;
}

Rendered render_refusal(const clinic::Refusal& refusal, ClinicKeys keys) {
  switch (refusal.kind) {
    case clinic::RefusalKind::kInvalidCommand:
      return clinic_error(400, "InvalidCommandException", clinic_keys(refusal.problems, keys));
    case clinic::RefusalKind::kInvalidRequest:
      return clinic_error(400, "InvalidRequestException", clinic_keys(refusal.problems, keys));
    case clinic::RefusalKind::kConflict:
      return clinic_error(409, "ConflictException", clinic_keys(refusal.problems, keys));
  }
  return unexpected();
}

Rendered clinic_domain_error(const DomainError& error) {
  for (const ErrorRow& row : kErrorRows) {
    if (row.code != error.code) continue;
    std::vector<KeyReason> keys;
    if (row.key != nullptr) keys.push_back({row.key, row.reason});
    return clinic_error(row.status, row.exception, keys);
  }
  return unexpected();  // a concert code: no clinic path produces one
}

Rendered render_reserve_v1(const clinic::Reply& reply) {
  return reserved(reply, ClinicKeys::kV1);
}
Rendered render_reserve_v2(const clinic::Reply& reply) {
  return reserved(reply, ClinicKeys::kV2);
}
Rendered render_update(const clinic::Reply& reply) {
  return done(reply);
}
Rendered render_cancel(const clinic::Reply& reply) {
  return done(reply);
}
Rendered render_admin_visitor(const clinic::Reply& reply) {
  return created(reply, "visitorId");
}
Rendered render_admin_zone(const clinic::Reply& reply) {
  return created(reply, "zoneId");
}
Rendered render_admin_group(const clinic::Reply& reply) {
  return created(reply, "reservationGroupId");
}
Rendered render_clinic_reply(const clinic::Reply& reply) {
  if (std::holds_alternative<clinic::Reserved>(reply)) return reserved(reply, ClinicKeys::kV2);
  if (std::holds_alternative<clinic::Created>(reply)) return created(reply, "id");
  return done(reply);
}

std::string render_schedule_json(const projections::ClinicScheduleView& schedule) {
  rapidjson::StringBuffer buf;
  JsonOut w(buf);
  write_schedule(w, schedule);
  return text_of(buf);
}

std::string render_visitor_schedules(const projections::VisitorSchedulesPage& page) {
  rapidjson::StringBuffer buf;
  JsonOut w(buf);
  w.StartObject();
  w.Key("items");
  w.StartArray();
  for (const auto& s : page.items) write_schedule(w, s);
  w.EndArray();
  w.Key("nextCursor");
  if (page.next_cursor.empty()) {
    w.Null();
  } else {
    str(w, page.next_cursor);
  }
  w.EndObject();
  return text_of(buf);
}

std::string render_zone_day(const projections::ZoneDayView& day) {
  rapidjson::StringBuffer buf;
  JsonOut w(buf);
  w.StartObject();
  field(w, "zoneId", day.zone.zone_id);
  field(w, "date", clinic_time::format_day(day.day));
  w.Key("capacity");
  if (day.zone.capacity == 0) {
    w.Null();
  } else {
    w.Int64(day.zone.capacity);
  }
  w.Key("items");
  w.StartArray();
  for (const auto& item : day.items) write_occupancy(w, item);
  w.EndArray();
  w.EndObject();
  return text_of(buf);
}

}  // namespace reservoir::api
