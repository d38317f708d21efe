#include "api/dialect.h"

#include "api/console.h"
#include "api/render.h"
#include "api/service.h"

namespace reservoir::api {

// Each dialect's file defines its own.
const Dialect& canonical_dialect();
const Dialect& concert_events_dialect();
const Dialect& queue_tokens_dialect();
const Dialect& clinic_dialect();

namespace {

struct Segments {
  std::array<std::string_view, kPathSegmentsMax> at;
  size_t size = 0;
  bool too_long = false;
};

Segments split_path(std::string_view path) {
  Segments out;
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

bool is_parameter(std::string_view segment) {
  return !segment.empty() && segment.front() == '{';
}

// Slots after the dialects' routes, in this order.
constexpr const char* kSharedSlots[] = {
    "healthz", "metrics", "api_docs", "not_found", "method_not_allowed", "console"};

size_t dialect_slots() {
  static const size_t n = [] {
    size_t total = 0;
    for (const Dialect* d : all_dialects()) total += d->routes.size();
    return total;
  }();
  return n;
}

size_t first_slot(const Dialect* dialect) {
  size_t slot = 0;
  for (const Dialect* d : all_dialects()) {
    if (d == dialect) break;
    slot += d->routes.size();
  }
  return slot;
}

size_t shared_slot(Router::Kind kind) {
  return dialect_slots() + static_cast<size_t>(kind) - static_cast<size_t>(Router::Kind::kHealth);
}

}  // namespace

Rendered Call::error(ErrorCode code, std::string_view detail) const {
  return render_dialect_error(dialect, code, detail, route.errors);
}

std::string_view field_of(std::string_view detail) {
  const size_t open = detail.find('\'');
  const size_t close = open == std::string_view::npos ? open : detail.find('\'', open + 1);
  if (close == std::string_view::npos || close == open + 1) return "body";
  return detail.substr(open + 1, close - open - 1);
}

Rendered render_row(const Dialect& d, const ErrorRow& row, std::string_view detail) {
  const std::string_view name =
      row.name != nullptr ? std::string_view(row.name) : error_name(row.code);
  if (row.message == nullptr) return d.envelope(row.status, name, detail);
  std::string message = row.message;
  if (const size_t at = message.find("{field}"); at != std::string::npos) {
    message.replace(at, 7, field_of(detail));
  }
  return d.envelope(row.status, name, message);
}

ErrorRow error_row(const Dialect& d, ErrorCode code, std::span<const ErrorRow> overrides) {
  for (const auto& table : {overrides, d.errors}) {
    for (const ErrorRow& row : table) {
      if (row.code == code) return row;
    }
  }
  return ErrorRow{code, http_status(code), nullptr, nullptr};
}

Rendered render_dialect_error(const Dialect& d, ErrorCode code, std::string_view detail,
                              std::span<const ErrorRow> overrides) {
  return render_row(d, error_row(d, code, overrides), detail);
}

const std::vector<const Dialect*>& all_dialects() {
  static const std::vector<const Dialect*> kAll = {&canonical_dialect(), &concert_events_dialect(),
                                                   &queue_tokens_dialect(), &clinic_dialect()};
  return kAll;
}

const Dialect* find_dialect(std::string_view name) {
  for (const Dialect* d : all_dialects()) {
    if (d->name == name) return d;
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::string>> served_routes(const std::string& dialect) {
  std::vector<std::pair<std::string, std::string>> out;
  if (const Dialect* d = find_dialect(dialect)) {
    for (const RouteSpec& r : d->routes) out.emplace_back(r.method, r.pattern);
  }
  return out;
}

bool patterns_collide(std::string_view a, std::string_view b) {
  const Segments x = split_path(a), y = split_path(b);
  if (x.too_long || y.too_long || x.size != y.size) return false;
  for (size_t i = 0; i < x.size; ++i) {
    if (!is_parameter(x.at[i]) && !is_parameter(y.at[i]) && x.at[i] != y.at[i]) return false;
  }
  return true;
}

Router::Router(std::vector<const Dialect*> dialects) : dialects_(std::move(dialects)) {
  for (const Dialect* d : dialects_) {
    size_t slot = first_slot(d);
    for (const RouteSpec& r : d->routes) {
      const Segments s = split_path(r.pattern);
      routes_.push_back({s.at, s.size, &r, d, slot++});
    }
  }
}

std::vector<std::string> Router::names() const {
  std::vector<std::string> out;
  for (const Dialect* d : dialects_) out.emplace_back(d->name);
  return out;
}

const Dialect* Router::owner_of(std::string_view path) const {
  for (const Dialect* d : dialects_) {
    if (!d->prefix.empty() && path.substr(0, d->prefix.size()) == d->prefix) return d;
  }
  return dialects_.front();
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  m.dialect = owner_of(path);
  if (method == "GET") {
    if (path == "/healthz") m.kind = Kind::kHealth;
    if (path == "/metrics") m.kind = Kind::kMetrics;
    if (path == "/v3/api-docs") m.kind = Kind::kApiDocs;
    if (is_console_path(path)) m.kind = Kind::kConsole;
    if (m.kind != Kind::kNotFound) return m.counter = shared_slot(m.kind), m;
  }
  const Segments segments = split_path(path);
  bool path_known = path == "/healthz" || path == "/metrics" || path == "/v3/api-docs";
  for (const Compiled& r : routes_) {
    if (segments.too_long || r.size != segments.size) continue;
    bool same = true;
    PathParams params;
    for (size_t i = 0; i < segments.size && same; ++i) {
      if (is_parameter(r.segments[i])) {
        if (params.size < kPathParamsMax) params.at[params.size++] = segments.at[i];
      } else {
        same = r.segments[i] == segments.at[i];
      }
    }
    if (!same) continue;
    if (!path_known) m.dialect = r.dialect;  // 405 in the envelope of the path's first owner
    path_known = true;
    if (method != r.spec->method) continue;
    m = {Kind::kRoute, r.dialect, r.spec, r.counter, params};
    return m;
  }
  m.kind = path_known ? Kind::kMethodNotAllowed : Kind::kNotFound;
  m.counter = shared_slot(m.kind);
  return m;
}

size_t Router::counter_slots() {
  return dialect_slots() + std::size(kSharedSlots);
}

const char* Router::counter_name(size_t slot) {
  for (const Dialect* d : all_dialects()) {
    if (slot < d->routes.size()) return d->routes[slot].metric;
    slot -= d->routes.size();
  }
  return slot < std::size(kSharedSlots) ? kSharedSlots[slot] : "other";
}

}  // namespace reservoir::api
