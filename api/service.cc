#include "api/service.h"

#include <strings.h>

#include <array>
#include <vector>

#include "api/json_util.h"
#include "api/parse_commands.h"
#include "api/render.h"

namespace reservoir::api {

namespace {

struct RouteSpec {
  const char* method;
  std::vector<std::string_view> segments;  // "*" is an id
  Route route;
};

const std::vector<RouteSpec>& route_table() {
  static const std::vector<RouteSpec> kTable = {
      {"POST", {"api", "v1", "queue", "token"}, Route::kQueueToken},
      {"GET", {"api", "v1", "queue", "status"}, Route::kQueueStatus},
      {"GET", {"api", "v1", "concerts"}, Route::kConcerts},
      {"GET", {"api", "v1", "concerts", "*", "schedules"}, Route::kSchedules},
      {"GET", {"api", "v1", "concerts", "*", "schedules", "*", "seats"}, Route::kSeats},
      {"POST", {"api", "v1", "reservations"}, Route::kHold},
      {"GET", {"api", "v1", "reservations", "*"}, Route::kReservation},
      {"DELETE", {"api", "v1", "reservations", "*"}, Route::kCancel},
      {"GET", {"api", "v1", "users", "*", "reservations"}, Route::kUserReservations},
      {"POST", {"api", "v1", "payments"}, Route::kPay},
      {"GET", {"api", "v1", "users", "*", "payments"}, Route::kUserPayments},
      {"GET", {"api", "v1", "balance"}, Route::kBalance},
      {"POST", {"api", "v1", "balance", "charge"}, Route::kCharge},
      {"POST", {"api", "v1", "admin", "users"}, Route::kAdminUsers},
      {"POST", {"api", "v1", "admin", "concerts"}, Route::kAdminConcerts},
      {"GET", {"healthz"}, Route::kHealth},
      {"GET", {"metrics"}, Route::kMetrics},
  };
  return kTable;
}

// A request path split at '/': no allocation per request. No route has more
// than 7 segments, so a longer path is simply not found.
constexpr size_t kPathSegmentsMax = 8;
struct PathSegments {
  std::array<std::string_view, kPathSegmentsMax> at;
  size_t size = 0;
  bool too_long = false;
};

PathSegments split_path(std::string_view path) {
  PathSegments out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const size_t j = std::min(path.find('/', i), path.size());
    if (out.size == kPathSegmentsMax) {
      out.too_long = true;
      break;
    }
    out.at[out.size++] = path.substr(i, j - i);
    i = j;
  }
  return out;
}

size_t status_slot(int status) {
  static constexpr int kSlots[] = {200, 400, 401, 403, 404, 405, 409, 413, 415, 422, 503};
  for (size_t i = 0; i < std::size(kSlots); ++i) {
    if (kSlots[i] == status) return i;
  }
  return std::size(kSlots);  // other (500)
}

bool is_json(std::optional<std::string_view> content_type) {
  if (!content_type) return false;
  constexpr std::string_view kJson = "application/json";
  std::string_view ct = *content_type;
  if (ct.size() < kJson.size() || strncasecmp(ct.data(), kJson.data(), kJson.size()) != 0) {
    return false;
  }
  ct.remove_prefix(kJson.size());
  while (!ct.empty() && ct.front() == ' ') ct.remove_prefix(1);
  return ct.empty() || ct.front() == ';';
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % (b.empty() ? 1 : b.size())];
  return diff == 0 && !b.empty();
}

void append_metric(const char* name, const char* type, uint64_t value, std::string& out) {
  out +=
      std::string("# TYPE ") + name + " " + type + "\n" + name + " " + std::to_string(value) + "\n";
}

// Events by the time from decision to visibility in queries, as a
// Prometheus histogram (cumulative buckets).
void append_lag_histogram(const projections::LagHistogram::Counts& c, std::string& out) {
  using H = projections::LagHistogram;
  out += "# TYPE reservoir_projection_lag_ms histogram\n";
  uint64_t cumulative = 0;
  for (size_t b = 0; b < H::kBuckets; ++b) {
    cumulative += c.per_bucket[b];
    const std::string le = b < H::kBoundsMs.size() ? std::to_string(H::kBoundsMs[b]) : "+Inf";
    out += "reservoir_projection_lag_ms_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) +
           "\n";
  }
  out += "reservoir_projection_lag_ms_sum " + std::to_string(c.sum_ms) + "\n";
  out += "reservoir_projection_lag_ms_count " + std::to_string(c.events) + "\n";
}

}  // namespace

Service::Service(ConcertWriter& writer, projections::Projections& views,
                 projections::Follower& follower, Clock& clock, ServiceConfig config)
    : writer_(writer),
      views_(views),
      follower_(follower),
      clock_(clock),
      config_(std::move(config)),
      cache_(config_.query_cache_bytes) {}

Answer Service::handle(const Request& req) {
  Match m;
  const PathSegments segments = split_path(req.path);
  bool path_known = false;
  for (const auto& spec : route_table()) {
    if (segments.too_long || spec.segments.size() != segments.size) continue;
    bool same = true;
    std::array<std::string_view, 2> ids;  // no route has more than two ids
    size_t id_count = 0;
    for (size_t i = 0; i < segments.size && same; ++i) {
      if (spec.segments[i] == "*") {
        if (id_count < ids.size()) ids[id_count++] = segments.at[i];
      } else {
        same = spec.segments[i] == segments.at[i];
      }
    }
    if (!same) continue;
    path_known = true;
    if (req.method != spec.method) continue;
    m.route = spec.route;
    m.a = std::string(ids[0]);
    m.b = std::string(ids[1]);
    break;
  }
  if (m.route == Route::kNotFound && path_known) m.route = Route::kMethodNotAllowed;
  Answer out = dispatch(req, m);
  requests_[static_cast<size_t>(m.route)][status_slot(out.status)].fetch_add(
      1, std::memory_order_relaxed);
  return out;
}

Answer Service::dispatch(const Request& req, const Match& m) {
  switch (m.route) {
    case Route::kNotFound:
      return render_error(ErrorCode::NOT_FOUND, "no such route: " + std::string(req.path));
    case Route::kMethodNotAllowed:
      return render_error(ErrorCode::METHOD_NOT_ALLOWED,
                          std::string(req.method) + " is not allowed on this path");
    case Route::kHealth:
      return render_success([](JsonWriter& w) {
        w.StartObject();
        w.Key("status");
        w.String("UP");
        w.EndObject();
      });
    case Route::kMetrics:
      return Rendered{200, metrics()};
    case Route::kQueueToken:
    case Route::kHold:
    case Route::kCancel:
    case Route::kPay:
    case Route::kCharge:
    case Route::kAdminUsers:
    case Route::kAdminConcerts:
      return command(req, m.route, m.a);
    default:
      return query(req, m.route, m);
  }
}

std::optional<Rendered> Service::check_admin(const Request& req) const {
  if (!config_.admin_key) {
    return render_error(ErrorCode::ADMIN_DISABLED, "admin endpoints are disabled on this server");
  }
  if (!req.admin_key || !constant_time_equal(*req.admin_key, *config_.admin_key)) {
    return render_error(ErrorCode::ADMIN_KEY_REQUIRED, "a valid Admin-Key header is required");
  }
  return std::nullopt;
}

Rendered Service::command(const Request& req, Route route, const std::string& path_id) {
  if (req.body.size() > kBodyBytesMax) {
    return render_error(ErrorCode::PAYLOAD_TOO_LARGE, "the body is larger than 64 KiB");
  }
  const bool has_body = route != Route::kCancel;
  if (has_body && !is_json(req.content_type)) {
    return render_error(ErrorCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json");
  }
  rapidjson::Document doc(&thread_parse_arena());
  std::string parse_error;
  if (has_body && !parse_object(req.body, doc, &parse_error)) {
    if (route == Route::kCharge && top_level_number_too_big(req.body, "amount")) {
      return render_error(ErrorCode::INVALID_AMOUNT, "amount must be an integer in 1..1000000000");
    }
    return render_error(ErrorCode::INVALID_REQUEST, parse_error);
  }
  std::optional<IdempotencyRequest> idem;
  if (req.idempotency_key) {
    if (!valid_id(*req.idempotency_key)) {
      return render_error(ErrorCode::INVALID_REQUEST,
                          "Idempotency-Key must be 1-64 characters of [A-Za-z0-9._:-]");
    }
    idem = IdempotencyRequest{std::string(*req.idempotency_key),
                              fingerprint(req.method, req.path, has_body ? &doc : nullptr)};
  }
  const bool needs_token = route == Route::kHold || route == Route::kPay || route == Route::kCancel;
  if (route == Route::kCancel && !valid_id(path_id)) {
    return render_error(ErrorCode::INVALID_REQUEST, "reservationId in the path is not a valid id");
  }
  Parsed parsed = DomainError{ErrorCode::INTERNAL, "unrouted command"};
  const std::string token(req.queue_token.value_or(""));
  switch (route) {
    case Route::kQueueToken:
      parsed = parse_issue_token(doc);
      break;
    case Route::kHold:
      parsed = parse_hold(doc, token, config_.limits);
      break;
    case Route::kPay:
      parsed = parse_pay(doc, token);
      break;
    case Route::kCancel:
      parsed = concert::CancelReservation{token, path_id};
      break;
    case Route::kCharge:
      parsed = parse_charge(doc);
      break;
    case Route::kAdminUsers:
      parsed = parse_register_user(doc);
      break;
    case Route::kAdminConcerts:
      parsed = parse_create_concert(doc);
      break;
    default:
      break;
  }
  if (auto* err = std::get_if<DomainError>(&parsed)) return render_error(err->code, err->message);
  if (route == Route::kAdminUsers || route == Route::kAdminConcerts) {
    if (auto denied = check_admin(req)) return *denied;
  }
  if (needs_token && token.empty()) {
    return render_error(ErrorCode::INVALID_TOKEN, "the Queue-Token header is required");
  }
  return writer_.execute(std::move(std::get<concert::Command>(parsed)), std::move(idem));
}

std::string Service::metrics() const {
  static constexpr const char* kRoutes[] = {
      "queue_token",   "queue_status", "concerts",  "schedules",         "seats",
      "hold",          "reservation",  "cancel",    "user_reservations", "pay",
      "user_payments", "balance",      "charge",    "admin_users",       "admin_concerts",
      "healthz",       "metrics",      "not_found", "method_not_allowed"};
  static constexpr const char* kCodes[] = {"200", "400", "401", "403", "404", "405",
                                           "409", "413", "415", "422", "503", "other"};
  std::string out = "# TYPE reservoir_http_requests_total counter\n";
  for (size_t r = 0; r < static_cast<size_t>(Route::kCount); ++r) {
    for (size_t s = 0; s < kStatusSlots; ++s) {
      const uint64_t n = requests_[r][s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += std::string("reservoir_http_requests_total{route=\"") + kRoutes[r] + "\",code=\"" +
             kCodes[s] + "\"} " + std::to_string(n) + "\n";
    }
  }
  const WriterStats w = writer_.stats();
  const uint64_t acked = writer_.acknowledged_offset(), applied = follower_.applied();
  const QueryCache::Stats c = cache_.stats();
  const std::pair<const char*, uint64_t> counters[] = {
      {"reservoir_commands_total", w.commands},
      {"reservoir_batches_total", w.batches},
      {"reservoir_events_total", w.events},
      {"reservoir_overloaded_total", w.overloaded},
      {"reservoir_append_failures_total", w.append_failures},
      {"reservoir_query_cache_hits_total", c.hits},
      {"reservoir_query_cache_misses_total", c.misses}};
  for (const auto& [name, value] : counters) append_metric(name, "counter", value, out);
  const std::pair<const char*, uint64_t> gauges[] = {
      {"reservoir_command_queue_depth", w.queue_depth},
      {"reservoir_log_recovering", w.recovering ? 1 : 0},
      {"reservoir_fenced", w.fenced ? 1 : 0},
      {"reservoir_log_end_offset", acked},
      {"reservoir_projection_offset", applied},
      {"reservoir_query_cache_bytes", c.bytes},
      {"reservoir_projection_lag_events", acked > applied ? acked - applied : 0}};
  for (const auto& [name, value] : gauges) append_metric(name, "gauge", value, out);
  append_lag_histogram(follower_.lag().counts(), out);
  return out;
}

}  // namespace reservoir::api
