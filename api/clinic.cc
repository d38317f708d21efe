// The clinic dialect (SPEC §6, seeds 003 and 004): its routes under
// /schedule/open/, its error table and the seeds' error envelope. Commands
// run 413/415 (Service), then 401 (the bearer, or the Admin-Key rules on
// admin routes), then the InvalidCommandException phase (clinic_parse.h),
// then the Idempotency-Key, then the clinic writer, which decides lookups,
// state and availability and renders the answer with the route's renderer
// (so an idempotent replay is the first answer's bytes). Queries run 401,
// then their parameters (400), then read-your-writes on the clinic log, then
// the views (404 for an unknown id).
#include <string>
#include <vector>

#include "api/clinic_backend.h"
#include "api/clinic_parse.h"
#include "api/clinic_render.h"
#include "api/dialect.h"
#include "api/dialect_command.h"
#include "api/json_util.h"
#include "api/service.h"
#include "events/clinic_time.h"
#include "events/secrets.h"
#include "events/time_format.h"

namespace reservoir::api {
namespace {

constexpr const char* kInvalidCommand = "InvalidCommandException";
constexpr const char* kNotFound = "NotFoundException";
constexpr const char* kUnauthenticated = "UnauthenticatedException";
constexpr size_t kPageLimitDefault = 20;

Rendered problem(int status, const char* exception, const char* key, const char* reason) {
  return clinic_error(status, exception, {{key, reason}});
}

// Bytes compared whatever the first difference: a wrong key takes as long
// as a right one.
// `Authorization: Bearer KEY` when --clinic-api-key is set.
std::optional<Rendered> check_bearer(const Call& c, const ClinicBackend& b) {
  if (!b.api_key) return std::nullopt;
  if (!c.req.authorization) return problem(401, kUnauthenticated, "Authorization", "Required");
  constexpr std::string_view kScheme = "Bearer ";
  const std::string_view value = *c.req.authorization;
  if (value.substr(0, kScheme.size()) != kScheme ||
      !secrets::equal_secrets(value.substr(kScheme.size()), *b.api_key)) {
    return problem(401, kUnauthenticated, "Authorization", "Invalid");
  }
  return std::nullopt;
}

// SPEC §2's Admin-Key rules, in the seeds' format.
std::optional<Rendered> check_admin_key(const Call& c, const ClinicBackend& b) {
  if (!b.admin_key) return problem(403, "ForbiddenException", "Admin-Key", "Disabled");
  if (!c.req.admin_key) return problem(401, kUnauthenticated, "Admin-Key", "Required");
  if (!secrets::equal_secrets(*c.req.admin_key, *b.admin_key)) {
    return problem(401, kUnauthenticated, "Admin-Key", "Invalid");
  }
  return std::nullopt;
}

// The clinic domain, or a 503 when this server does not host it. A query
// replica has its views and no writer (it never runs a command handler).
const ClinicBackend* backend(const Call& c, bool command = false) {
  const ClinicBackend* b = c.service.clinic();
  if (b == nullptr || b->views == nullptr || (command && b->writer == nullptr)) return nullptr;
  return b;
}

Answer command(Call& c, ClinicBody kind, ClinicWriter::RenderFn render) {
  const ClinicBackend* b = backend(c, true);
  if (b == nullptr) return c.error(ErrorCode::UNAVAILABLE, "the clinic domain is not served");
  if (auto stop = c.service.check_body_limits(c)) return std::move(*stop);
  const bool admin = kind == ClinicBody::kAdminVisitor || kind == ClinicBody::kAdminZone ||
                     kind == ClinicBody::kAdminGroup;
  if (auto stop = admin ? check_admin_key(c, *b) : check_bearer(c, *b)) return std::move(*stop);
  rapidjson::Document doc;
  std::string error;
  if (!parse_object(c.req.body, doc, &error)) return problem(400, kInvalidCommand, "", "Invalid");
  ClinicParse parsed = parse_clinic(kind, doc, b->utc_offset_min);
  if (!parsed.ok()) return clinic_error(400, kInvalidCommand, parsed.problems);
  std::optional<IdempotencyRequest> idem;
  if (auto stop = c.service.idempotency(c, &doc, &idem)) return std::move(*stop);
  return Service::decide(*b->writer, std::move(*parsed.command), std::move(idem), render);
}

Answer reserve_v1(Call& c) {
  return command(c, ClinicBody::kReserveV1, &render_reserve_v1);
}
Answer reserve_v2(Call& c) {
  return command(c, ClinicBody::kReserveV2, &render_reserve_v2);
}
Answer update_v2(Call& c) {
  return command(c, ClinicBody::kUpdateV2, &render_update);
}
Answer cancel(Call& c) {
  return command(c, ClinicBody::kCancel, &render_cancel);
}
Answer admin_visitor(Call& c) {
  return command(c, ClinicBody::kAdminVisitor, &render_admin_visitor);
}
Answer admin_zone(Call& c) {
  return command(c, ClinicBody::kAdminZone, &render_admin_zone);
}
Answer admin_group(Call& c) {
  return command(c, ClinicBody::kAdminGroup, &render_admin_group);
}

// The steps every query shares: the domain, the bearer, a valid path id.
std::optional<Rendered> query_checks(const Call& c, const char* id_name) {
  const ClinicBackend* b = backend(c);
  if (b == nullptr) return c.error(ErrorCode::UNAVAILABLE, "the clinic domain is not served");
  if (auto stop = check_bearer(c, *b)) return stop;
  if (!valid_id(c.params[0])) return problem(404, kNotFound, id_name, "NotFound");
  return std::nullopt;
}

Rendered ok_json(std::string body) {
  return Rendered{200, std::move(body)};
}

Answer schedule(Call& c) {
  if (auto stop = query_checks(c, "scheduleId")) return std::move(*stop);
  if (auto stop = c.service.await_writes(c)) return std::move(*stop);
  auto view = backend(c)->views->schedule(c.params[0]);
  if (!view) return problem(404, kNotFound, "scheduleId", "NotFound");
  return ok_json(render_schedule_json(*view));
}

// An optional UTC time parameter: nullopt when absent, an error when bad.
std::optional<Rendered> time_param(const Call& c, const char* name, std::optional<int64_t>* out) {
  auto raw = query_param(c.req, name);
  if (!raw) return std::nullopt;
  *out = parse_iso8601_ms(*raw);
  if (!*out) return problem(400, kInvalidCommand, name, "Invalid");
  return std::nullopt;
}

std::optional<Rendered> limit_param(const Call& c, size_t* limit) {
  auto raw = query_param(c.req, "limit");
  if (!raw) return std::nullopt;
  size_t value = 0;
  bool digits = !raw->empty() && raw->size() <= 3;
  for (char ch : *raw) {
    digits = digits && ch >= '0' && ch <= '9';
    value = value * 10 + static_cast<size_t>(ch - '0');
  }
  if (!digits || value < 1 || value > projections::ClinicViews::kPageItemsMax) {
    return problem(400, kInvalidCommand, "limit", "Invalid");
  }
  *limit = value;
  return std::nullopt;
}

Answer visitor_schedules(Call& c) {
  if (auto stop = query_checks(c, "visitorId")) return std::move(*stop);
  std::optional<int64_t> from, to;
  size_t limit = kPageLimitDefault;
  if (auto stop = time_param(c, "from", &from)) return std::move(*stop);
  if (auto stop = time_param(c, "to", &to)) return std::move(*stop);
  if (auto stop = limit_param(c, &limit)) return std::move(*stop);
  const std::string cursor = query_param(c.req, "cursor").value_or("");
  if (auto stop = c.service.await_writes(c)) return std::move(*stop);
  auto page = backend(c)->views->visitor_schedules(c.params[0], from, to, limit, cursor);
  if (!page.ok()) {
    if (page.status().code() == Status::Code::kNotFound)
      return problem(404, kNotFound, "visitorId", "NotFound");
    return problem(400, kInvalidCommand, "cursor", "Invalid");
  }
  return ok_json(render_visitor_schedules(*page));
}

Answer occupancy(Call& c) {
  if (auto stop = query_checks(c, "zoneId")) return std::move(*stop);
  auto date = query_param(c.req, "date");
  if (!date) return problem(400, kInvalidCommand, "date", "Required");
  auto day = clinic_time::parse_day(*date);
  if (!day) return problem(400, kInvalidCommand, "date", "Invalid");
  if (auto stop = c.service.await_writes(c)) return std::move(*stop);
  auto view = backend(c)->views->zone_day(c.params[0], *day);
  if (!view) return problem(404, kNotFound, "zoneId", "NotFound");
  return ok_json(render_zone_day(*view));
}

constexpr RouteSpec kRoutes[] = {
    inline_command("POST", "/schedule/open/v1/commands/reserve-by-visitor-id", "cl_reserve_v1",
                   &reserve_v1),
    inline_command("POST", "/schedule/open/v2/commands/reserve", "cl_reserve_v2", &reserve_v2),
    inline_command("POST", "/schedule/open/v2/commands/update-reservation", "cl_update_v2",
                   &update_v2),
    inline_command("POST", "/schedule/open/v1/commands/cancel-reservation", "cl_cancel", &cancel),
    {"GET", "/schedule/open/v1/schedules/{scheduleId}", "cl_schedule", &schedule},
    {"GET", "/schedule/open/v1/visitors/{visitorId}/schedules", "cl_visitor_schedules",
     &visitor_schedules},
    {"GET", "/schedule/open/v1/zones/{zoneId}/occupancy", "cl_occupancy", &occupancy},
    inline_command("POST", "/schedule/open/v1/admin/visitors", "cl_admin_visitors", &admin_visitor),
    inline_command("POST", "/schedule/open/v1/admin/zones", "cl_admin_zones", &admin_zone),
    inline_command("POST", "/schedule/open/v1/admin/reservation-groups", "cl_admin_groups",
                   &admin_group),
};

// The shared steps' errors (router, body limits, idempotency, overload) in
// the seeds' format; the message is the errorProperties list.
constexpr ErrorRow kErrors[] = {
    {ErrorCode::NOT_FOUND, 404, "NotFoundException", "[]"},
    {ErrorCode::METHOD_NOT_ALLOWED, 405, "MethodNotAllowedException", "[]"},
    {ErrorCode::PAYLOAD_TOO_LARGE, 413, "PayloadTooLargeException", "[]"},
    {ErrorCode::UNSUPPORTED_MEDIA_TYPE, 415, "UnsupportedMediaTypeException", "[]"},
    {ErrorCode::INVALID_REQUEST, 400, "InvalidCommandException",
     R"([{"key":"{field}","reason":"Invalid"}])"},
    {ErrorCode::IDEMPOTENCY_KEY_REUSED, 409, "ConflictException",
     R"([{"key":"Idempotency-Key","reason":"Reused"}])"},
    {ErrorCode::OVERLOADED, 503, "ServiceUnavailableException", "[]"},
    {ErrorCode::UNAVAILABLE, 503, "ServiceUnavailableException", "[]"},
    {ErrorCode::INTERNAL, 500, "InternalServerException", "[]"},
    {ErrorCode::NOT_WRITER, 421, "NotWriterException", "[]"},
};

// {"status":S,"message":E,"className":E,"errorProperties":[…]}
Rendered envelope(int status, std::string_view exception, std::string_view properties) {
  std::string body = "{\"status\":" + std::to_string(status) + ",\"message\":\"";
  body.append(exception);
  body += "\",\"className\":\"";
  body.append(exception);
  body += "\",\"errorProperties\":";
  body.append(properties.empty() ? std::string_view("[]") : properties);
  body += "}";
  return Rendered{status, std::move(body)};
}

}  // namespace

const Dialect& clinic_dialect() {
  // No clinic route takes a concert token; the row stands for a missing
  // bearer, which check_bearer answers itself.
  static const Dialect kDialect{"clinic",
                                "/schedule/open/",
                                kRoutes,
                                kErrors,
                                ErrorRow{ErrorCode::INVALID_TOKEN, 401, "UnauthenticatedException",
                                         R"([{"key":"Authorization","reason":"Required"}])"},
                                &envelope,
                                Domain::kClinic};
  return kDialect;
}

}  // namespace reservoir::api
