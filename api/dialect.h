// Dialects: one HTTP API shape over the one engine (SPEC §5). A dialect is
// data plus small handlers: its route table (method, path pattern with named
// parameters, handler), its error table (SPEC §5.5: ErrorCode -> status, code,
// message) and its envelope. Everything else is shared: route matching,
// 404/405, body limits, idempotency, read-your-writes, token lookups and
// metrics live in Service (service.h) and Router (below), and a handler is
// parse -> engine command or projection query -> render:
//
//   Answer wallet(Call& c) {                          // GET /api/v1/users/{userId}/wallet
//     if (auto stop = c.service.await_writes(c)) return *stop;
//     ... c.service.views().user(std::string(c.params[0])) ... render ...
//   }
//   constexpr RouteSpec kRoutes[] = {{"GET", "/api/v1/users/{userId}/wallet", "ce_wallet",
//   &wallet}};
//
// A fourth dialect is one more file defining a Dialect, and one line in
// all_dialects() (dialect.cc).
//
// Thread safety: Dialects and Routers are immutable after construction; all
// functions here may be called from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/reply.h"

namespace reservoir::api {

class Service;
struct Request;
struct Answer;
struct Dialect;
struct RouteSpec;

// No route has more than 7 segments or 3 parameters; a longer path is not found.
inline constexpr size_t kPathSegmentsMax = 8;
inline constexpr size_t kPathParamsMax = 3;

// A matched request's path parameters, in order of appearance; views into
// the request's path.
struct PathParams {
  std::array<std::string_view, kPathParamsMax> at{};
  size_t size = 0;
  std::string_view operator[](size_t i) const { return at[i]; }
};

// One row of a dialect's error table. `message` may hold "{field}", replaced
// by the field the error's detail names (SPEC §5.5).
struct ErrorRow {
  ErrorCode code = ErrorCode::INTERNAL;
  int status = 500;
  const char* name = nullptr;     // the dialect's code; nullptr where its envelope has none
  const char* message = nullptr;  // nullptr: the detail itself (canonical)
};

// One request routed to a handler.
struct Call {
  Service& service;
  const Request& req;
  const Dialect& dialect;
  const RouteSpec& route;
  PathParams params;
  // The events the views reflected before the handler read them (await_writes
  // raises it): the answer's Reservoir-Applied.
  mutable uint64_t applied = 0;
  // `code` in this route's dialect (the route's overrides first).
  Rendered error(ErrorCode code, std::string_view detail) const;
};

using Handler = Answer (*)(Call& call);

struct RouteSpec {
  const char* method;
  const char* pattern;  // "/v1/concerts/{concertId}/schedules": "{name}" is a parameter
  const char* metric;   // the route label of reservoir_http_requests_total
  Handler handler;
  std::span<const ErrorRow> errors = {};  // this route's overrides of the dialect's table
  // The handler blocks nowhere but in its final writer call (Service::decide):
  // no read-your-writes wait, no view lookup. The HTTP layer may then run it
  // on its epoll thread and send the answer when the writer posts it.
  bool inline_command = false;
};

// A command route with inline_command set.
constexpr RouteSpec inline_command(const char* method, const char* pattern, const char* metric,
                                   Handler handler, std::span<const ErrorRow> errors = {}) {
  return RouteSpec{method, pattern, metric, handler, errors, true};
}

// Renders an error envelope: status, the dialect's code, the message.
using Envelope = Rendered (*)(int status, std::string_view code, std::string_view message);

// The domain whose engine a dialect's routes use: its writer, its views and
// its log's offsets (read-your-writes waits on that domain's follower).
enum class Domain { kConcert, kClinic };
inline constexpr size_t kDomainCount = 2;

struct Dialect {
  std::string_view name;
  std::string_view prefix;  // the paths whose 404/405 it answers ("/api/v1/")
  std::span<const RouteSpec> routes;
  std::span<const ErrorRow> errors;  // a code not listed: canonical's status, name and detail
  ErrorRow token_absent;             // a token route called without its token header
  Envelope envelope;
  Domain domain = Domain::kConcert;
};

// `code` with `detail` in dialect `d`: the row of `overrides`, else of
// d.errors, else canonical's (http_status, the code's name, the detail).
Rendered render_dialect_error(const Dialect& d, ErrorCode code, std::string_view detail,
                              std::span<const ErrorRow> overrides = {});
Rendered render_row(const Dialect& d, const ErrorRow& row, std::string_view detail);
// The row render_dialect_error() renders `code` with (canonical's when none is listed).
ErrorRow error_row(const Dialect& d, ErrorCode code, std::span<const ErrorRow> overrides = {});
// The field an INVALID_REQUEST detail names: its first '…'-quoted word
// ("field 'userId' is required" -> userId), else "body".
std::string_view field_of(std::string_view detail);

// Every dialect this build serves, in a fixed order (metrics are laid out by it).
const std::vector<const Dialect*>& all_dialects();
const Dialect* find_dialect(std::string_view name);
// (method, pattern) of every route of `dialect` (empty for an unknown one),
// to compare with openapi_routes().
std::vector<std::pair<std::string, std::string>> served_routes(const std::string& dialect);

// Does one request path match both patterns (methods aside)? Same segment
// count, and at each segment equal literals or a parameter on either side.
bool patterns_collide(std::string_view a, std::string_view b);

// The routes of one listener's dialects, matched without allocating.
class Router {
 public:
  enum class Kind {
    kRoute,
    kHealth,
    kMetrics,
    kApiDocs,
    kNotFound,
    kMethodNotAllowed,
    kConsole,  // GET of a path is_console_path() accepts (api/console.h)
  };
  struct Match {
    Kind kind = Kind::kNotFound;
    const Dialect* dialect = nullptr;  // the route's; for the others, whose envelope answers
    const RouteSpec* route = nullptr;  // kRoute only
    size_t counter = 0;                // metrics slot (see counter_slots())
    PathParams params;
  };

  // `dialects` non-empty, without collisions (listeners.h checks both).
  explicit Router(std::vector<const Dialect*> dialects);
  Match match(std::string_view method, std::string_view path) const;
  const std::vector<const Dialect*>& dialects() const { return dialects_; }
  std::vector<std::string> names() const;

  // Metrics slots: one per route of all_dialects(), then the shared ones.
  static size_t counter_slots();
  static const char* counter_name(size_t slot);

 private:
  struct Compiled {
    std::array<std::string_view, kPathSegmentsMax> segments;  // "{…}": a parameter
    size_t size = 0;
    const RouteSpec* spec = nullptr;
    const Dialect* dialect = nullptr;
    size_t counter = 0;
  };
  const Dialect* owner_of(std::string_view path) const;
  std::vector<const Dialect*> dialects_;
  std::vector<Compiled> routes_;
};

}  // namespace reservoir::api
