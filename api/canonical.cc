// The canonical dialect (SPEC §2): its route table, its envelope, and its
// handlers: commands through Service::command, queries through
// Service::query (queries.cc). Seed 000's clients may send the queue token
// as a body member `token` instead of the Queue-Token header (SPEC §5.1).
#include "api/json_util.h"
#include "api/parse_commands.h"
#include "api/render.h"
#include "api/service.h"

namespace reservoir::api {
namespace {

bool needs_token(Route route) {
  return route == Route::kHold || route == Route::kPay || route == Route::kCancel ||
         route == Route::kQueueStatus || route == Route::kReservation;
}

// The token of a request without the Queue-Token header, from the body's
// top-level string `token` (removed from `doc`: it is not a field of the
// command, nor of its fingerprint). nullopt: no token; an answer on a fault.
std::variant<std::optional<std::string>, Rendered> body_token(rapidjson::Document& doc) {
  auto it = doc.FindMember("token");
  if (it == doc.MemberEnd()) return std::nullopt;
  if (!it->value.IsString()) {
    return render_error(ErrorCode::INVALID_REQUEST, "field 'token' must be a string");
  }
  std::string token(it->value.GetString(), it->value.GetStringLength());
  doc.RemoveMember(it);
  return std::optional<std::string>(std::move(token));
}

template <Route R>
Answer command(Call& c) {
  return c.service.command(c, R);
}

// A query of a token route takes the body's token when the header is
// absent; the query itself reads the header only, so it gets a copy of the
// request carrying that token.
template <Route R>
Answer query(Call& c) {
  // Read-your-writes: every command acknowledged before this query arrived
  // must be visible in the projections first.
  if (auto stop = c.service.await_writes(c)) return std::move(*stop);
  Service::Match m{R, std::string(c.params[0]), std::string(c.params[1])};
  if (!needs_token(R) || c.req.queue_token || c.req.body.empty()) {
    return c.service.query(c.req, R, m);
  }
  rapidjson::Document doc(&thread_parse_arena());
  if (auto stop = c.service.read_body(c, doc)) return std::move(*stop);
  auto token = body_token(doc);
  if (auto* stop = std::get_if<Rendered>(&token)) return std::move(*stop);
  const auto& found = std::get<std::optional<std::string>>(token);
  Request with_token = c.req;
  if (found) with_token.queue_token = *found;
  return c.service.query(with_token, R, m);
}

// The benchmarked commands first: a request is matched against the routes in order.
constexpr RouteSpec kRoutes[] = {
    inline_command("POST", "/api/v1/payments", "pay", &command<Route::kPay>),
    inline_command("POST", "/api/v1/reservations", "hold", &command<Route::kHold>),
    inline_command("POST", "/api/v1/balance/charge", "charge", &command<Route::kCharge>),
    inline_command("POST", "/api/v1/queue/token", "queue_token", &command<Route::kQueueToken>),
    {"GET", "/api/v1/queue/status", "queue_status", &query<Route::kQueueStatus>},
    {"GET", "/api/v1/concerts", "concerts", &query<Route::kConcerts>},
    {"GET", "/api/v1/concerts/{concertId}/schedules", "schedules", &query<Route::kSchedules>},
    {"GET", "/api/v1/concerts/{concertId}/schedules/{concertScheduleId}/seats", "seats",
     &query<Route::kSeats>},
    {"GET", "/api/v1/reservations/{reservationId}", "reservation", &query<Route::kReservation>},
    inline_command("DELETE", "/api/v1/reservations/{reservationId}", "cancel",
                   &command<Route::kCancel>),
    {"GET", "/api/v1/users/{userId}/reservations", "user_reservations",
     &query<Route::kUserReservations>},
    {"GET", "/api/v1/users/{userId}/payments", "user_payments", &query<Route::kUserPayments>},
    {"GET", "/api/v1/balance", "balance", &query<Route::kBalance>},
    inline_command("POST", "/api/v1/admin/users", "admin_users", &command<Route::kAdminUsers>),
    inline_command("POST", "/api/v1/admin/concerts", "admin_concerts",
                   &command<Route::kAdminConcerts>),
};

// Canonical's codes are the ErrorCode names with the detail as message;
// only an internal fault speaks in seed 000's words (SPEC §5.1).
constexpr ErrorRow kErrors[] = {
    {ErrorCode::INTERNAL, 500, kServerErrorCode, kServerErrorMessage},
};

Parsed parse(Route route, const rapidjson::Document& doc, const std::string& token,
             std::string_view path_id, const concert::Limits& limits) {
  switch (route) {
    case Route::kQueueToken:
      return parse_issue_token(doc);
    case Route::kHold:
      return parse_hold(doc, token, limits);
    case Route::kPay:
      return parse_pay(doc, token);
    case Route::kCancel:
      return concert::CancelReservation{token, std::string(path_id)};
    case Route::kCharge:
      return parse_charge(doc);
    case Route::kAdminUsers:
      return parse_register_user(doc);
    case Route::kAdminConcerts:
      return parse_create_concert(doc);
    default:
      return DomainError{ErrorCode::INTERNAL, "unrouted command"};
  }
}

}  // namespace

const Dialect& canonical_dialect() {
  static const Dialect kDialect{
      "canonical",
      "/api/v1/",
      kRoutes,
      kErrors,
      {ErrorCode::INVALID_TOKEN, 401, nullptr, "the Queue-Token header is required"},
      &render_error_envelope,
      Domain::kConcert};
  return kDialect;
}

// Check order (SPEC §2): 413, 415, 400 (body, Idempotency-Key, path id,
// fields), admin, 401 without a token; the engine decides the rest.
Rendered Service::command(const Call& c, Route route) {
  const Request& req = c.req;
  const bool with_token = needs_token(route);
  const bool has_body = route != Route::kCancel;
  // A cancel reads a body only for the token of seed 000's clients.
  const bool reads_body = has_body || (!req.queue_token && !req.body.empty());
  rapidjson::Document doc(&thread_parse_arena());
  if (req.body.size() > kBodyBytesMax) {
    return render_error(ErrorCode::PAYLOAD_TOO_LARGE, "the body is larger than 64 KiB");
  }
  if (reads_body) {
    if (auto stop = read_body(c, doc, route == Route::kCharge ? "amount" : nullptr)) return *stop;
  }
  std::string token(req.queue_token.value_or(""));
  if (with_token && reads_body) {
    auto found = body_token(doc);
    if (auto* stop = std::get_if<Rendered>(&found)) return std::move(*stop);
    if (auto& t = std::get<std::optional<std::string>>(found); t && !req.queue_token) {
      token = std::move(*t);
    }
  }
  std::optional<IdempotencyRequest> idem;
  if (auto stop = idempotency(c, has_body ? &doc : nullptr, &idem)) return *stop;
  if (route == Route::kCancel && !valid_id(c.params[0])) {
    return render_error(ErrorCode::INVALID_REQUEST, "reservationId in the path is not a valid id");
  }
  Parsed parsed = parse(route, doc, token, c.params[0], config_.limits);
  if (auto* err = std::get_if<DomainError>(&parsed)) return render_error(err->code, err->message);
  if (route == Route::kAdminUsers || route == Route::kAdminConcerts) {
    if (auto denied = check_admin(req)) return *denied;
  }
  if (with_token && token.empty()) return render_row(c.dialect, c.dialect.token_absent, "");
  return execute(std::move(std::get<concert::Command>(parsed)), std::move(idem), nullptr);
}

}  // namespace reservoir::api
