// Service: the HTTP API's logic, free of any HTTP library. handle() routes
// a request through a Router (dialect.h: the routes of one listener's
// dialects) to its handler, which is one call: parse and validate -> a
// command for the writer, or a query on the projections -> render. The
// shared steps every dialect's handlers use are the public helpers below
// (body limits, idempotency, read-your-writes, token lookups); metrics count
// every route of every dialect. The cpp-httplib adapter (http_server.h), the
// tests and the benchmark all call handle().
//
// Check order (SPEC §2): 413, 415, 400, 401 INVALID_TOKEN, idempotency key,
// then what the engine decides (401 TOKEN_EXPIRED, 403, 404, 409).
// Queries first wait until the projections hold every command acknowledged
// before the query arrived (read-your-writes), at most read_wait_ms (503).
// Successful answers of the catalog, schedules, seats and balance queries
// are then served from a QueryCache (query_cache.h) while the view part
// they show is unchanged.
//
// Roles and offsets (SPEC §7; docs/SCALING.md): handle() decides, once for
// every dialect, from the route's kind (GET: a query; any other method: a
// command). A command answer carries Answer::offset, the writer's
// acknowledged log end once it is answered (at least the end of the
// command's own events; for one that appended nothing, the log end at the
// time of answering). A query answer carries Answer::applied, the events the
// domain's views reflected when it read them; a query with
// `Reservoir-Min-Offset: N` first waits until the views applied N events, at
// most min_offset_wait_ms (then 503). A Service built without a writer is a
// query replica: it refuses every command before its handler runs (307 to
// writer_url + the request target, else 421 NOT_WRITER), and its queries do
// no read-your-writes wait of their own (there is no acknowledged offset).
//
// A command run on the HTTP layer's epoll thread (DeferredAnswer below) may
// leave handle() with kDeferredStatus: the writer took it, and the HTTP
// layer completes its answer through finish_deferred() once the writer
// posts it, which counts it and reads its offset as handle() would have.
//
// Thread safety: handle() and metrics() from any number of threads.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/dialect.h"
#include "api/dialect_values.h"
#include "api/metrics.h"
#include "api/query_cache.h"
#include "engine/concert/module.h"
#include "engine/writer.h"
#include "projections/follower.h"
#include "projections/views.h"

namespace reservoir::api {

struct ClinicBackend;  // api/clinic_backend.h
class Console;         // api/console.h

using ConcertWriter = Writer<concert::Module>;

inline constexpr size_t kBodyBytesMax = 64 * 1024;

// An answer as the HTTP layer sends it: a Rendered one, or a body shared
// with the query cache, sent without a copy (a seats answer is ~32 KB; the
// copy cost a large malloc per request, sometimes a malloc_consolidate).
struct Answer {
  int status = 0;
  std::string body;
  std::shared_ptr<const std::string> shared;  // when set, the body instead of `body`
  uint32_t route = 0;                         // the router's counter slot (metrics)
  const char* content_type = nullptr;         // nullptr: application/json (console files)
  // SPEC §7's headers, set by Service::handle() on route answers.
  std::optional<uint64_t> offset;   // Reservoir-Offset (commands)
  std::optional<uint64_t> applied;  // Reservoir-Applied (queries)
  std::string location;             // Location (a 307 from a replica)

  Answer() = default;
  Answer(Rendered&& r) : status(r.status), body(std::move(r.body)) {}  // NOLINT: implicit
  Answer(int s, std::shared_ptr<const std::string> b) : status(s), shared(std::move(b)) {}
  std::string_view text() const { return shared ? std::string_view(*shared) : body; }
  bool operator==(const Answer& o) const { return status == o.status && text() == o.text(); }
};

struct Request {
  std::string_view method;
  std::string_view path;
  std::string_view body;
  const std::multimap<std::string, std::string>* params = nullptr;  // query string
  std::optional<std::string_view> content_type;
  std::optional<std::string_view> queue_token;  // canonical `Queue-Token`
  std::optional<std::string_view> user_token;   // concert-events `User-Token`
  std::optional<std::string_view> token_id;     // queue-tokens `TOKEN-ID`
  std::optional<std::string_view> idempotency_key;
  std::optional<std::string_view> admin_key;
  std::optional<std::string_view> authorization;  // `Authorization`; a credential: never logged
  std::optional<std::string_view> min_offset;     // `Reservoir-Min-Offset`
  std::string_view target;  // the raw request target (path and query); empty: `path`
};

// What the HTTP layer's epoll thread lends a handler it runs (DeferredAnswer,
// InlineQuery): T::current() is the calling thread's while a Scope is open
// on it, else nullptr.
template <class T>
class ThreadScoped {
 public:
  static T* current() { return current_; }
  class Scope {
   public:
    explicit Scope(T& t) { current_ = &t; }
    ~Scope() { current_ = nullptr; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
  };

 private:
  static inline thread_local T* current_ = nullptr;
};

// What Service::finish_deferred needs of a deferred command: where to count
// it and whose writer's offset its answer carries (set by handle()).
struct DeferredNote {
  uint32_t counter = 0;  // the route's metrics slot
  Domain domain = Domain::kConcert;
};

// Set by the HTTP layer's epoll thread (http_server.h) around a command
// route's handler: the command's final writer call (Service::decide) then
// submits it with `completion` instead of waiting for it, and handle()
// answers kDeferredStatus; the real answer reaches `completion`'s queue once
// durable, and the HTTP layer completes it with Service::finish_deferred(note).
// Answers decided before the writer (400, 401, 413, 415, 421 on a replica,
// 503 OVERLOADED...) come back as usual, with `deferred` false.
struct DeferredAnswer : ThreadScoped<DeferredAnswer> {
  Completion* completion = nullptr;
  bool deferred = false;  // the writer took the command
  DeferredNote note;      // set by handle() when deferred
};

// The status of a handler's answer when a DeferredAnswer took it.
inline constexpr int kDeferredStatus = 0;

// Set by the HTTP layer's epoll thread around a query route's handler
// (HttpConfig::inline_queries): a query that would wait for the views
// (read-your-writes, or a Reservoir-Min-Offset not applied yet) must not
// stall every other connection, so it answers kPuntedStatus at once having
// done nothing else (nothing counted, nothing read), and the HTTP layer
// hands the request to a worker, where it waits as usual.
struct InlineQuery : ThreadScoped<InlineQuery> {
  bool punted = false;
};

// The status of a query's answer when an InlineQuery punted it.
inline constexpr int kPuntedStatus = 1;

struct ServiceConfig {
  std::optional<std::string> admin_key;   // nullopt: admin endpoints disabled
  int64_t read_wait_ms = 2000;            // read-your-writes wait before 503
  int64_t min_offset_wait_ms = 1000;      // Reservoir-Min-Offset wait before 503
  std::optional<std::string> writer_url;  // a replica's 307 target; nullopt: 421 NOT_WRITER
  bool standby = false;                   // a replica that may take over (/healthz, /metrics)
  size_t query_cache_bytes = QueryCache::kBytesDefault;
  concert::Limits limits;
};

enum class Route {
  kQueueToken,
  kQueueStatus,
  kConcerts,
  kSchedules,
  kSeats,
  kHold,
  kReservation,
  kCancel,
  kUserReservations,
  kPay,
  kUserPayments,
  kBalance,
  kCharge,
  kAdminUsers,
  kAdminConcerts,
};

// What read-your-writes needs of one domain's engine: the end offset of its
// writer's last durable append, and the follower applying its log.
struct DomainLink {
  std::function<uint64_t()> acked;
  projections::Follower* follower = nullptr;
  // The log end this node has seen (a replica's lag); empty: `acked`.
  std::function<uint64_t()> log_end;
};

class Service {
 public:
  // Links the concert domain to `writer` and `follower`; other domains are
  // linked with link().
  Service(ConcertWriter& writer, projections::Projections& views, projections::Follower& follower,
          Clock& clock, ServiceConfig config);
  // A query replica: no writer; every command is refused (see above).
  Service(projections::Projections& views, projections::Follower& follower, Clock& clock,
          ServiceConfig config);
  bool is_replica() const { return writer_ == nullptr; }
  // SPEC §7's role name: writer, replica, or standby (a replica that may take over).
  const char* role() const {
    return !is_replica() ? "writer" : config_.standby ? "standby" : "replica";
  }

  // Links `domain` (before handle() is first called). A query of a dialect
  // whose domain is not linked answers 503.
  void link(Domain domain, DomainLink link);
  // The clinic domain's writer, views and settings (before handle() is
  // first called); nullptr: clinic routes answer 503.
  void set_clinic(const ClinicBackend* clinic) { clinic_ = clinic; }
  const ClinicBackend* clinic() const { return clinic_; }
  // The console's page and admin routes (before handle() is first called);
  // nullptr: they answer 404.
  void set_console(Console* console) { console_ = console; }

  // On a router of the canonical dialect alone (canonical_router()).
  Answer handle(const Request& req);
  const Router& canonical_router() const { return canonical_router_; }
  Answer handle(const Request& req, const Router& router);
  // GET /metrics: every family of api/metrics.h.
  std::string metrics() const;
  // The HTTP layer's view of one request (api/metrics.h): `route` is
  // Answer::route.
  void observe_request(uint32_t route, int status, int64_t duration_ns) {
    request_metrics_.observe(route, status, duration_ns);
  }

  // ---- Shared steps for route handlers. Each returns the answer that ends
  // the request (in the call's dialect), or nullopt to go on.

  // A command's JSON body: check_body_limits, then parse_body.
  std::optional<Rendered> read_body(const Call& c, rapidjson::Document& doc,
                                    const char* amount_key = nullptr) const;
  // 413 over kBodyBytesMax, 415 without a JSON Content-Type. Apart from
  // parse_body so a dialect can answer a malformed body its own way.
  std::optional<Rendered> check_body_limits(const Call& c) const;
  // 400 when the body is not a JSON object (INVALID_AMOUNT when the only
  // fault is a too-big number at top-level `amount_key`).
  std::optional<Rendered> parse_body(const Call& c, rapidjson::Document& doc,
                                     const char* amount_key = nullptr) const;
  // The Idempotency-Key (400 when malformed) and the request's fingerprint:
  // method, path and parsed body, and the dialect's name for any dialect but
  // canonical (whose fingerprints stay as in logs written before dialects).
  std::optional<Rendered> idempotency(const Call& c, const rapidjson::Value* body,
                                      std::optional<IdempotencyRequest>* out) const;
  // Read-your-writes: waits until every command acknowledged before now is
  // visible in the projections of the call's domain (c.dialect.domain; 503
  // after read_wait_ms). Under an InlineQuery it never waits: kPuntedStatus.
  std::optional<Rendered> await_writes(const Call& c) const;
  // Decides a command; `render` renders every answer to it, replays included.
  // (On a replica handle() never gets here: it answers NOT_WRITER.)
  Rendered execute(concert::Command&& command, std::optional<IdempotencyRequest>&& idem,
                   ConcertWriter::RenderFn render);
  // Every command route's last step, on any domain's writer: waits for the
  // answer, or under a DeferredAnswer submits the command and answers
  // kDeferredStatus (unless the writer refuses it at once).
  template <class Writer>
  static Rendered decide(Writer& writer, typename Writer::Command&& command,
                         std::optional<IdempotencyRequest>&& idem,
                         typename Writer::RenderFn render) {
    DeferredAnswer* d = DeferredAnswer::current();
    if (d == nullptr) return writer.execute(std::move(command), std::move(idem), render);
    if (auto refused = writer.submit(std::move(command), std::move(idem), render, d->completion)) {
      return std::move(*refused);
    }
    d->deferred = true;
    return Rendered{kDeferredStatus, {}};
  }
  // A deferred command's answer once the writer posted it, as handle()
  // would have returned it: counted in the metrics of its route, with its
  // Reservoir-Offset (the writer's acknowledged offset, read now) and route.
  Answer finish_deferred(const DeferredNote& note, Rendered&& answer);
  QueuePlace queue_place(const projections::TokenView& t) const;
  projections::Projections& views() const { return views_; }
  int64_t now_ms() const { return clock_.now_ms(); }
  const ServiceConfig& config() const { return config_; }

  // ---- The canonical dialect's handlers (canonical.cc, queries.cc).
  Rendered command(const Call& c, Route route);
  struct Match {
    Route route = Route::kConcerts;
    std::string a, b;  // path ids, in order of appearance
  };
  Answer query(const Request& req, Route route, const Match& m);

 private:
  // Through cache_: `render(now_ms, stamp)` answers on a miss and narrows
  // stamp's clock window when its answer depends on now_ms.
  template <class Render>
  Answer cached(const std::string& key, projections::ViewScope scope, std::string_view id,
                Render&& render);

  Answer shared_route(const Request& req, const Router& router, const Router::Match& m);
  // Counts an answer in reservoir_http_requests_total (and a refusal's code).
  void count(const Answer& a);
  // A dialect route with SPEC §7's role and offset rules around its handler.
  Answer route(const Request& req, const Router::Match& m);
  Answer refuse_command(const Call& c) const;
  // Reservoir-Min-Offset: 400 when malformed, 503 when not applied in time.
  std::optional<Rendered> await_min_offset(const Call& c) const;
  // follower.wait_applied(offset, wait_ms), except under an InlineQuery,
  // where a wait is a punt (nullopt: punted).
  static std::optional<bool> wait_applied(projections::Follower& follower, uint64_t offset,
                                          int64_t wait_ms);
  std::string health() const;
  // SPEC §7's gauges: the role, the applied offset, the lag behind the log.
  void append_role_metrics(MetricsWriter& w, std::string& out) const;
  template <class DomainWriter>
  DomainMetrics domain_metrics(Domain domain, const DomainWriter* writer) const;
  Rendered queue_status(const Request& req);
  Rendered concerts();
  Rendered schedules(bool only_available, const std::string& concert_id, int64_t now_ms,
                     QueryCache::Stamp* stamp);
  Rendered seats(bool only_available, const std::string& concert_id,
                 const std::string& schedule_id);
  Rendered reservation(const Request& req, const std::string& id);
  Rendered user_reservations(const Request& req, const std::string& user_id);
  Rendered user_payments(const Request& req, const std::string& user_id);
  Rendered balance(const std::string& user_id);
  std::optional<Rendered> check_admin(const Request& req) const;

  ConcertWriter* writer_;  // nullptr: a query replica
  projections::Projections& views_;
  projections::Follower& follower_;
  std::array<DomainLink, kDomainCount> links_;  // by Domain
  const ClinicBackend* clinic_ = nullptr;
  Console* console_ = nullptr;
  Clock& clock_;
  ServiceConfig config_;
  QueryCache cache_;
  Router canonical_router_;
  static constexpr size_t kStatusSlots = 12;
  using StatusCounters = std::array<std::atomic<uint64_t>, kStatusSlots>;
  std::unique_ptr<StatusCounters[]> requests_;  // Router::counter_slots() of them
  RequestMetrics request_metrics_;
};

}  // namespace reservoir::api
