#include "api/service.h"

#include <strings.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <vector>

#include "api/clinic_backend.h"
#include "api/console.h"
#include "api/json_util.h"
#include "api/openapi.h"
#include "api/parse_commands.h"
#include "api/render.h"
#include "events/kafka_log.h"
#include "events/secrets.h"

namespace reservoir::api {

namespace {

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

}  // namespace

Service::Service(ConcertWriter& writer, projections::Projections& views,
                 projections::Follower& follower, Clock& clock, ServiceConfig config)
    : Service(views, follower, clock, std::move(config)) {
  writer_ = &writer;
  link(Domain::kConcert, DomainLink{[&writer] { return writer.acknowledged_offset(); }, &follower});
}

Service::Service(projections::Projections& views, projections::Follower& follower, Clock& clock,
                 ServiceConfig config)
    : writer_(nullptr),
      views_(views),
      follower_(follower),
      clock_(clock),
      config_(std::move(config)),
      cache_(config_.query_cache_bytes),
      canonical_router_({find_dialect("canonical")}),
      requests_(std::make_unique<StatusCounters[]>(Router::counter_slots())),
      request_metrics_(Router::counter_slots()) {
  // A replica has no acknowledged offset to wait for: only Reservoir-Min-Offset applies.
  link(Domain::kConcert, DomainLink{[] { return uint64_t{0}; }, &follower});
}

void Service::link(Domain domain, DomainLink link) {
  links_[static_cast<size_t>(domain)] = std::move(link);
}

Answer Service::handle(const Request& req) {
  return handle(req, canonical_router_);
}

Answer Service::handle(const Request& req, const Router& router) {
  const Router::Match m = router.match(req.method, req.path);
  Answer out;
  if (m.kind == Router::Kind::kRoute) {
    out = route(req, m);
  } else {
    out = shared_route(req, router, m);
  }
  out.route = static_cast<uint32_t>(m.counter);
  if (out.status == kPuntedStatus) return out;  // a worker serves it anew (InlineQuery)
  if (out.status == kDeferredStatus) {
    // Counted once answered (finish_deferred); route() set the domain.
    if (DeferredAnswer* d = DeferredAnswer::current()) d->note.counter = out.route;
    return out;
  }
  count(out);
  return out;
}

void Service::count(const Answer& a) {
  requests_[a.route][status_slot(a.status)].fetch_add(1, std::memory_order_relaxed);
  if (a.status >= 400) request_metrics_.count_refusal(a.text());
}

Answer Service::finish_deferred(const DeferredNote& note, Rendered&& answer) {
  Answer out(std::move(answer));
  out.route = note.counter;
  const DomainLink& link = links_[static_cast<size_t>(note.domain)];
  // Read now, after the writer posted the answer: as route() reads it.
  if (link.acked) out.offset = link.acked();
  count(out);
  return out;
}

// Decided here, once for every dialect, from the route's kind: a GET is a
// query, any other method a command (every route table keeps to that).
Answer Service::route(const Request& req, const Router::Match& m) {
  Call call{*this, req, *m.dialect, *m.route, m.params};
  const DomainLink& link = links_[static_cast<size_t>(m.dialect->domain)];
  if (std::string_view(m.route->method) != "GET") {
    if (is_replica()) return refuse_command(call);
    Answer out = m.route->handler(call);
    if (out.status == kDeferredStatus) {
      // The writer took it (Service::decide): its offset is read when answered.
      if (DeferredAnswer* d = DeferredAnswer::current()) d->note.domain = m.dialect->domain;
      return out;
    }
    // Read after the answer: at least the end of the command's own events.
    if (link.acked) out.offset = link.acked();
    return out;
  }
  if (auto stop = await_min_offset(call)) {
    if (stop->status == kPuntedStatus) return std::move(*stop);
    Answer out = std::move(*stop);
    if (link.follower != nullptr) out.applied = link.follower->applied();
    return out;
  }
  if (link.follower != nullptr) call.applied = link.follower->applied();
  Answer out = m.route->handler(call);
  if (link.follower != nullptr) out.applied = call.applied;
  return out;
}

Answer Service::refuse_command(const Call& c) const {
  if (!config_.writer_url) {
    return c.error(ErrorCode::NOT_WRITER,
                   "this node is a query replica; send commands to the writer");
  }
  const std::string_view target = c.req.target.empty() ? c.req.path : c.req.target;
  // 307 keeps the method and body; the body names the error in the dialect's
  // words, with the redirect's status where its envelope has one.
  ErrorRow row = error_row(c.dialect, ErrorCode::NOT_WRITER, c.route.errors);
  row.status = 307;
  Answer out(render_row(c.dialect, row, "commands are decided by the writer"));
  out.location = *config_.writer_url + std::string(target);
  return out;
}

std::optional<Rendered> Service::await_min_offset(const Call& c) const {
  if (!c.req.min_offset) return std::nullopt;
  const std::string_view text = *c.req.min_offset;
  uint64_t wanted = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), wanted);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return c.error(ErrorCode::INVALID_REQUEST,
                   "'Reservoir-Min-Offset' must be a non-negative integer");
  }
  const DomainLink& link = links_[static_cast<size_t>(c.dialect.domain)];
  if (link.follower == nullptr) return std::nullopt;  // the handler answers 503 itself
  const std::optional<bool> reached =
      wait_applied(*link.follower, wanted, config_.min_offset_wait_ms);
  if (!reached) return Rendered{kPuntedStatus, {}};
  if (*reached) return std::nullopt;
  return c.error(ErrorCode::UNAVAILABLE,
                 "this node has not applied event " + std::to_string(wanted) + " yet (at " +
                     std::to_string(link.follower->applied()) + "); retry shortly");
}

Rendered Service::execute(concert::Command&& command, std::optional<IdempotencyRequest>&& idem,
                          ConcertWriter::RenderFn render) {
  if (writer_ == nullptr) return render_error(ErrorCode::NOT_WRITER, "not the writer");
  return decide(*writer_, std::move(command), std::move(idem), render);
}

Answer Service::shared_route(const Request& req, const Router& router, const Router::Match& m) {
  switch (m.kind) {
    case Router::Kind::kHealth:
      return Rendered{200, health()};
    case Router::Kind::kMetrics:
      return Rendered{200, metrics()};
    case Router::Kind::kApiDocs:
      return Rendered{200, openapi_document(router.names())};
    case Router::Kind::kConsole:
      if (console_ != nullptr) return console_->handle(req, *this);
      return render_dialect_error(*m.dialect, ErrorCode::NOT_FOUND, "the console is not served");
    case Router::Kind::kMethodNotAllowed:
      return render_dialect_error(*m.dialect, ErrorCode::METHOD_NOT_ALLOWED,
                                  std::string(req.method) + " is not allowed on this path");
    default:
      return render_dialect_error(*m.dialect, ErrorCode::NOT_FOUND,
                                  "no such route: " + std::string(req.path));
  }
}

// SPEC §7's {"role","applied","writer"}, beside the envelope and status the
// canonical clients read (result SUCCESS, data.status UP).
std::string Service::health() const {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("result");
  w.String("SUCCESS");
  w.Key("data");
  w.StartObject();
  w.Key("status");
  w.String("UP");
  w.EndObject();
  w.Key("role");
  w.String(role());
  w.Key("applied");
  w.Uint64(follower_.applied());
  w.Key("writer");
  if (is_replica() && config_.writer_url) {
    w.String(config_.writer_url->c_str());
  } else {
    w.Null();
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::optional<Rendered> Service::check_admin(const Request& req) const {
  if (!config_.admin_key) {
    return render_error(ErrorCode::ADMIN_DISABLED, "admin endpoints are disabled on this server");
  }
  if (!req.admin_key || !secrets::equal_secrets(*req.admin_key, *config_.admin_key)) {
    return render_error(ErrorCode::ADMIN_KEY_REQUIRED, "a valid Admin-Key header is required");
  }
  return std::nullopt;
}

std::optional<Rendered> Service::read_body(const Call& c, rapidjson::Document& doc,
                                           const char* amount_key) const {
  if (auto stop = check_body_limits(c)) return stop;
  return parse_body(c, doc, amount_key);
}

std::optional<Rendered> Service::check_body_limits(const Call& c) const {
  if (c.req.body.size() > kBodyBytesMax) {
    return c.error(ErrorCode::PAYLOAD_TOO_LARGE, "the body is larger than 64 KiB");
  }
  if (!is_json(c.req.content_type)) {
    return c.error(ErrorCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json");
  }
  return std::nullopt;
}

std::optional<Rendered> Service::parse_body(const Call& c, rapidjson::Document& doc,
                                            const char* amount_key) const {
  std::string parse_error;
  if (parse_object(c.req.body, doc, &parse_error)) return std::nullopt;
  if (amount_key != nullptr && top_level_number_too_big(c.req.body, amount_key)) {
    return c.error(ErrorCode::INVALID_AMOUNT, "amount must be an integer in 1..1000000000");
  }
  return c.error(ErrorCode::INVALID_REQUEST, parse_error);
}

std::optional<Rendered> Service::idempotency(const Call& c, const rapidjson::Value* body,
                                             std::optional<IdempotencyRequest>* out) const {
  if (!c.req.idempotency_key) return std::nullopt;
  if (!valid_id(*c.req.idempotency_key)) {
    return c.error(ErrorCode::INVALID_REQUEST,
                   "'Idempotency-Key' must be 1-64 characters of [A-Za-z0-9._:-]");
  }
  int64_t print = fingerprint(c.req.method, c.req.path, body);
  if (c.dialect.name != "canonical") {
    // The same request through two dialects is two requests (SPEC §5.2).
    print = fingerprint(c.dialect.name, std::to_string(print), nullptr);
  }
  *out = IdempotencyRequest{std::string(*c.req.idempotency_key), print};
  return std::nullopt;
}

std::optional<Rendered> Service::await_writes(const Call& c) const {
  const DomainLink& link = links_[static_cast<size_t>(c.dialect.domain)];
  if (link.follower != nullptr) {
    const std::optional<bool> reached =
        wait_applied(*link.follower, link.acked(), config_.read_wait_ms);
    if (!reached) return Rendered{kPuntedStatus, {}};
    if (*reached) {
      c.applied = std::max(c.applied, link.follower->applied());
      return std::nullopt;
    }
  }
  return c.error(ErrorCode::UNAVAILABLE, "projections are catching up; retry shortly");
}

std::optional<bool> Service::wait_applied(projections::Follower& follower, uint64_t offset,
                                          int64_t wait_ms) {
  if (InlineQuery* q = InlineQuery::current()) {
    if (follower.applied() >= offset) return true;
    q->punted = true;
    return std::nullopt;
  }
  return follower.wait_applied(offset, std::chrono::milliseconds(wait_ms));
}

QueuePlace Service::queue_place(const projections::TokenView& t) const {
  return api::queue_place(t, clock_.now_ms(), views_.admitted_seq(), config_.limits.token_ttl_ms,
                          config_.limits.active_tokens_max);
}

// One domain's engine families; `writer` null on a replica (they read 0).
template <class DomainWriter>
DomainMetrics Service::domain_metrics(Domain domain, const DomainWriter* writer) const {
  static const Histogram kNoBatches{kBatchBounds}, kNoAppends;
  const DomainLink& link = links_[static_cast<size_t>(domain)];
  DomainMetrics d;
  d.domain = domain == Domain::kClinic ? "clinic" : "concert";
  d.batch_commands = &kNoBatches;
  d.append_durations = &kNoAppends;
  d.applied = link.follower != nullptr ? link.follower->applied() : 0;
  d.acked = link.log_end ? link.log_end() : d.applied;
  if (link.follower != nullptr) d.lag = link.follower->lag().counts();
  if (writer != nullptr) {
    d.writer = writer->stats();
    d.batch_commands = &writer->batch_commands();
    d.append_durations = &writer->append_durations();
    if (const auto* kafka = dynamic_cast<const KafkaLog*>(&writer->log())) {
      d.kafka_commits = &kafka->commit_durations();
    }
    d.acked = writer->acknowledged_offset();
  }
  return d;
}

std::string Service::metrics() const {
  static constexpr const char* kCodes[] = {"200", "400", "401", "403", "404", "405",
                                           "409", "413", "415", "422", "503", "other"};
  std::string out;
  MetricsWriter w(out);
  constexpr std::string_view kRequests = "reservoir_http_requests_total";
  w.family(kRequests, "counter", "HTTP requests answered, by route template and status code.");
  for (size_t r = 0; r < Router::counter_slots(); ++r) {
    for (size_t s = 0; s < kStatusSlots; ++s) {
      const uint64_t n = requests_[r][s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      w.sample(kRequests,
               std::string("route=\"") + Router::counter_name(r) + "\",kind=\"" +
                   std::string(route_kind(r)) + "\",code=\"" + kCodes[s] + "\"",
               n);
    }
  }
  std::array<DomainMetrics, kDomainCount> domains;
  size_t n = 0;
  domains[n++] = domain_metrics(Domain::kConcert, writer_);
  if (links_[static_cast<size_t>(Domain::kClinic)].follower != nullptr) {
    domains[n++] = domain_metrics(Domain::kClinic, clinic_ != nullptr ? clinic_->writer : nullptr);
  }
  MetricsSources src;
  src.domains = std::span<const DomainMetrics>(domains.data(), n);
  src.cache = cache_.stats();
  src.requests = &request_metrics_;
  src.route_name = &Router::counter_name;
  render_metrics(src, w);
  append_role_metrics(w, out);
  return out;
}

void Service::append_role_metrics(MetricsWriter& w, std::string& out) const {
  const DomainLink& link = links_[static_cast<size_t>(Domain::kConcert)];
  const uint64_t applied = follower_.applied();
  const uint64_t end = link.log_end ? link.log_end() : (link.acked ? link.acked() : applied);
  const uint64_t behind = end > applied ? end - applied : 0;
  const int64_t oldest = follower_.oldest_unapplied_ms();
  const int64_t lag_ms = behind > 0 && oldest > 0 ? std::max<int64_t>(0, now_ms() - oldest) : 0;
  w.family("reservoir_role", "gauge", "This node's role (SPEC §7): writer, replica or standby.");
  w.sample("reservoir_role", std::string("role=\"") + role() + "\"", 1);
  w.gauge("reservoir_applied_offset", "Events the concert views have applied.", applied);
  w.gauge("reservoir_replica_lag_events",
          "The log end this node has seen minus the applied offset.", behind);
  w.family("reservoir_replica_lag_seconds", "gauge",
           "Age of the oldest event read but not yet applied (0 when none is).");
  out += "reservoir_replica_lag_seconds " + scaled_decimal(lag_ms, 3) + "\n";
}

}  // namespace reservoir::api
