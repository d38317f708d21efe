#include "api/console.h"

#include <charconv>
#include <string>
#include <vector>

#include "api/clinic_backend.h"
#include "api/clinic_render.h"
#include "api/console_files.h"
#include "api/dialect_command.h"
#include "api/render.h"
#include "events/clinic_events.h"
#include "events/clinic_time.h"
#include "events/concert_events.h"
#include "events/engine_events.h"
#include "events/json_codec.h"
#include "events/secrets.h"
#include "events/text_codec.h"
#include "events/time_format.h"

namespace reservoir::api {

namespace {

constexpr std::string_view kConsolePrefix = "/console/";
constexpr std::string_view kClinicDayPrefix = "/admin/clinic/zones/";
constexpr std::string_view kClinicDaySuffix = "/day";

// The Content-Type of a console file, by its extension.
const char* content_type_of(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

Answer file_answer(std::string_view name) {
  for (size_t i = 0; i < kConsoleFileCount; ++i) {
    if (kConsoleFiles[i].name != name) continue;
    Answer a;
    a.status = 200;
    a.body.assign(kConsoleFiles[i].body);
    a.content_type = content_type_of(name);
    return a;
  }
  return render_error(ErrorCode::NOT_FOUND, "no such console file: " + std::string(name));
}

std::optional<Rendered> check_admin(const Request& req, const Service& service) {
  const auto& key = service.config().admin_key;
  if (!key) {
    return render_error(ErrorCode::ADMIN_DISABLED, "admin endpoints are disabled on this server");
  }
  if (!req.admin_key || !secrets::equal_secrets(*req.admin_key, *key)) {
    return render_error(ErrorCode::ADMIN_KEY_REQUIRED, "a valid Admin-Key header is required");
  }
  return std::nullopt;
}

// A non-negative integer query parameter in [min, max]; `fallback` when absent.
std::optional<uint64_t> uint_param(const Request& req, const char* name, uint64_t fallback,
                                   uint64_t min, uint64_t max) {
  const auto text = query_param(req, name);
  if (!text) return fallback;
  uint64_t v = 0;
  const char* end = text->data() + text->size();
  const auto [p, ec] = std::from_chars(text->data(), end, v);
  if (ec != std::errc() || p != end || text->empty() || v < min || v > max) return std::nullopt;
  return v;
}

// The event filters of /admin/events: an event passes a given filter when
// the first of its fields it has (a string field) equals the value, as
// `reservoir replay` filters.
struct Filter {
  std::string value;
  std::vector<const char*> fields;
};

struct EventQuery {
  uint64_t from = 0;
  size_t limit = kEventsPageDefault;
  std::string type;
  std::vector<Filter> filters;
  bool clinic = false;
};

std::optional<Rendered> parse_event_query(const Request& req, EventQuery* q) {
  const auto from = uint_param(req, "from", 0, 0, UINT64_MAX);
  if (!from) return render_error(ErrorCode::INVALID_REQUEST, "'from' must be an event offset");
  const auto limit = uint_param(req, "limit", kEventsPageDefault, 1, kEventsPageMax);
  if (!limit) {
    return render_error(ErrorCode::INVALID_REQUEST,
                        "'limit' must be 1.." + std::to_string(kEventsPageMax));
  }
  q->from = *from;
  q->limit = static_cast<size_t>(*limit);
  q->type = query_param(req, "type").value_or("");
  const std::pair<const char*, std::vector<const char*>> kFilters[] = {
      {"user", {"userId", "scope"}},
      {"reservation", {"reservationId"}},
      {"visitor", {"visitorId"}},
      {"schedule", {"scheduleId", "concertScheduleId"}}};
  for (const auto& [param, fields] : kFilters) {
    if (auto v = query_param(req, param); v && !v->empty()) q->filters.push_back({*v, fields});
  }
  const std::string domain = query_param(req, "domain").value_or("concert");
  if (domain != "concert" && domain != "clinic") {
    return render_error(ErrorCode::INVALID_REQUEST, "'domain' must be concert or clinic");
  }
  q->clinic = domain == "clinic";
  return std::nullopt;
}

// Writes a record's live fields as JsonFields does, leaving out the
// token's seal: the console shows tokens by their hash alone.
struct VisibleFields {
  codec::JsonWriter& w;
  template <class V>
  void operator()(const char* name, const V& v, uint32_t since = 1, uint32_t until = codec::kLive) {
    if (std::string_view(name) == "tokenSeal") return;
    codec::JsonFields{w}(name, v, since, until);
  }
};

// Decodes with the engine's catalog or the domain's, then passes the typed
// event to `f`; the decoding error when neither decodes it.
template <class Catalog, class F>
Status with_event(const EventEnvelope& env, F&& f) {
  if (events::EngineCatalog::knows(env.type)) {
    auto e = events::EngineCatalog::decode(env);
    if (!e.ok()) return e.status();
    std::visit(f, *e);
    return Status::OK();
  }
  auto e = Catalog::decode(env);
  if (!e.ok()) return e.status();
  std::visit(f, *e);
  return Status::OK();
}

template <class E>
bool passes(const E& e, const std::vector<Filter>& filters) {
  for (const Filter& f : filters) {
    std::optional<std::string> got;
    for (const char* field : f.fields) {
      if ((got = codec::string_field(e, field))) break;
    }
    if (got != f.value) return false;
  }
  return true;
}

// One page: the events of [q.from, …) that pass, scanning at most
// kEventsScanMax; *next is the offset after the last one examined.
template <class Catalog>
Status scan_events(EventLog& log, const EventQuery& q, codec::JsonWriter& w, uint64_t* next) {
  const uint64_t end = log.end_offset();
  const uint64_t stop = q.from + std::min<uint64_t>(kEventsScanMax, end - std::min(end, q.from));
  size_t found = 0;
  std::vector<EventEnvelope> chunk;
  *next = q.from;
  while (*next < stop && found < q.limit) {
    chunk.clear();
    Status s = log.read(*next, std::min<uint64_t>(kEventsReadChunk, stop - *next), &chunk);
    if (!s.ok()) return s;
    if (chunk.empty()) break;
    for (const EventEnvelope& env : chunk) {
      if (found == q.limit) break;
      *next = env.offset + 1;
      if (!q.type.empty() && env.type != q.type) continue;
      Status st = with_event<Catalog>(env, [&](const auto& e) {
        if (!passes(e, q.filters)) return;
        ++found;
        w.StartObject();
        codec::write_envelope_keys(w, env);
        w.Key("data");
        w.StartObject();
        std::remove_cvref_t<decltype(e)>::fields(e, VisibleFields{w});
        w.EndObject();
        w.EndObject();
      });
      if (!st.ok())
        return Status::Corruption("event " + std::to_string(env.offset) + ": " + st.message());
    }
  }
  return Status::OK();
}

Answer no_handler(Call&) {
  return Rendered{};
}
// The console's routes as Service::await_writes sees them (it reads the
// dialect's domain).
constexpr RouteSpec kConsoleRoute{"GET", "/admin/…", "console", &no_handler};

// Read-your-writes (as every query): what was acknowledged before the
// request is in the projections of `dialect`'s domain; false after the
// service's read_wait_ms.
bool await_writes(const Request& req, Service& service, const char* dialect) {
  const Call call{service, req, *find_dialect(dialect), kConsoleRoute, {}};
  return !service.await_writes(call).has_value();
}

Rendered catching_up() {
  return render_error(ErrorCode::UNAVAILABLE, "projections are catching up; retry shortly");
}

Rendered unavailable(const Status& s) {
  return render_error(ErrorCode::UNAVAILABLE, "cannot read the log: " + s.ToString());
}

}  // namespace

bool is_console_path(std::string_view path) {
  if (path == "/console" || path == "/admin/events" || path == "/admin/waiting-room") return true;
  if (path.starts_with(kConsolePrefix)) return true;
  return path.starts_with(kClinicDayPrefix) && path.ends_with(kClinicDaySuffix) &&
         path.size() > kClinicDayPrefix.size() + kClinicDaySuffix.size();
}

Answer Console::handle(const Request& req, Service& service) {
  if (auto stop = check_admin(req, service)) {
    // The page itself is served while admin is enabled: it holds no data,
    // and a browser's navigation cannot carry the key; it asks for it.
    const bool page = req.path == "/console" || req.path.starts_with(kConsolePrefix);
    if (!page || !service.config().admin_key) return std::move(*stop);
  } else if (req.path == "/admin/events") {
    return events(req);
  } else if (req.path == "/admin/waiting-room") {
    return waiting_room(req, service);
  } else if (req.path.starts_with(kClinicDayPrefix)) {
    std::string_view zone = req.path.substr(kClinicDayPrefix.size());
    zone.remove_suffix(kClinicDaySuffix.size());
    return clinic_day(req, service, zone);
  }
  if (req.path == "/console") return file_answer("index.html");
  return file_answer(req.path.substr(kConsolePrefix.size()));
}

Answer Console::events(const Request& req) {
  EventQuery q;
  if (auto stop = parse_event_query(req, &q)) return std::move(*stop);
  EventLog* log = q.clinic ? logs_.clinic : logs_.concert;
  if (log == nullptr) {
    return render_error(ErrorCode::NOT_FOUND, "this server does not serve that domain");
  }
  rapidjson::StringBuffer buf;
  codec::JsonWriter w(buf);
  w.StartArray();
  uint64_t next = 0;
  const Status s = q.clinic ? scan_events<events::ClinicCatalog>(*log, q, w, &next)
                            : scan_events<events::ConcertCatalog>(*log, q, w, &next);
  if (!s.ok()) return unavailable(s);
  w.EndArray();
  const std::string list(buf.GetString(), buf.GetSize());
  const uint64_t end = log->end_offset();
  return render_success([&](JsonWriter& out) {
    out.StartObject();
    out.Key("events");
    out.RawValue(list.data(), list.size(), rapidjson::kArrayType);
    out.Key("next");
    out.Uint64(next);
    out.Key("end");
    out.Uint64(end);
    out.EndObject();
  });
}

Status Console::scan_issued(EventLog& log, uint64_t end) {
  if (!scan_.started) scan_ = {true, false, end, end, 0};
  size_t budget = kEventsScanMax;
  std::vector<EventEnvelope> chunk;
  auto read = [&](uint64_t from, uint64_t count) -> Status {
    chunk.clear();
    if (Status s = log.read(from, count, &chunk); !s.ok()) return s;
    budget -= std::min<size_t>(budget, chunk.size());
    for (const EventEnvelope& env : chunk) {
      if (env.type != events::TokenIssued::kType) continue;
      auto e = events::ConcertCatalog::decode(env);
      if (!e.ok()) return e.status();
      scan_.issued_seq = std::max(scan_.issued_seq, std::get<events::TokenIssued>(*e).seq);
      scan_.found = true;
    }
    return Status::OK();
  };
  while (scan_.forward < end && budget > 0) {
    const uint64_t n = std::min<uint64_t>({kEventsReadChunk, budget, end - scan_.forward});
    if (Status s = read(scan_.forward, n); !s.ok()) return s;
    if (chunk.empty()) break;
    scan_.forward = chunk.back().offset + 1;
  }
  // Backwards only until the newest TokenIssued before the first end: the
  // forward scan has seen every later one.
  while (!scan_.found && scan_.back > 0 && budget > 0) {
    const uint64_t n = std::min<uint64_t>({kEventsReadChunk, budget, scan_.back});
    if (Status s = read(scan_.back - n, n); !s.ok()) return s;
    scan_.back -= n;
  }
  return Status::OK();
}

Answer Console::waiting_room(const Request& req, Service& service) {
  if (logs_.concert == nullptr) return render_error(ErrorCode::NOT_FOUND, "no concert log");
  if (!await_writes(req, service, "canonical")) return catching_up();
  // Issued and admitted as of one point of the log: the projections'.
  const uint64_t upto = std::min(logs_.concert->end_offset(), service.views().checkpoint());
  std::lock_guard lock(scan_mu_);
  if (Status s = scan_issued(*logs_.concert, upto); !s.ok()) return unavailable(s);
  const bool complete = scan_.found || scan_.back == 0;
  const int64_t admitted = service.views().admitted_seq();
  return render_success([&](JsonWriter& w) {
    w.StartObject();
    w.Key("waiting");  // null until the scan has found the newest TokenIssued
    if (complete) {
      w.Int64(std::max<int64_t>(0, scan_.issued_seq - admitted));
    } else {
      w.Null();
    }
    w.Key("issuedSeq");
    w.Int64(scan_.issued_seq);
    w.Key("admittedSeq");
    w.Int64(admitted);
    w.Key("clinicServed");  // whether the clinic day panel has anything to show
    w.Bool(logs_.clinic != nullptr && service.clinic() != nullptr);
    w.EndObject();
  });
}

Answer Console::clinic_day(const Request& req, Service& service, std::string_view zone) {
  const ClinicBackend* clinic = service.clinic();
  if (clinic == nullptr || clinic->views == nullptr) {
    return render_error(ErrorCode::NOT_FOUND, "this server does not serve the clinic domain");
  }
  const auto date = query_param(req, "date");
  const auto day = date ? clinic_time::parse_day(*date) : std::nullopt;
  if (!day) return render_error(ErrorCode::INVALID_REQUEST, "'date' must be YYYY-MM-DD");
  if (!await_writes(req, service, "clinic")) return catching_up();
  const auto view = clinic->views->zone_day(zone, *day);
  if (!view) return render_error(ErrorCode::NOT_FOUND, "no such zone: " + std::string(zone));
  return Rendered{200, "{\"result\":\"SUCCESS\",\"data\":" + render_zone_day(*view) + "}"};
}

}  // namespace reservoir::api
