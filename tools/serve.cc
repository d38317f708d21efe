// reservoir serve: the server, on the embedded log or on a Kafka topic.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/clinic_backend.h"
#include "api/clinic_render.h"
#include "api/console.h"
#include "api/http_server.h"
#include "api/listeners.h"
#include "api/render.h"
#include "engine/snapshot_store.h"
#include "events/clinic_time.h"
#include "events/dir_lock.h"
#include "events/embedded_log.h"
#include "events/histogram.h"
#include "events/kafka_log.h"
#include "events/oplog.h"
#include "events/secrets.h"
#include "projections/clinic_views.h"
#include "projections/store_dir.h"
#include "tools/clinic_demo.h"
#include "tools/demo.h"
#include "tools/domain_host.h"
#include "tools/election.h"
#include "tools/flags.h"
#include "tools/subcommands.h"

namespace reservoir::tools {
namespace {

struct ServeOptions {
  std::string data = "./reservoir-data";
  std::string host = "127.0.0.1";
  int64_t port = 8080;
  std::string log = "embedded";
  std::string kafka_brokers;
  std::string kafka_topic = "reservoir-events";
  std::string kafka_transactional_id;  // empty: TOPIC-writer
  int64_t kafka_timeout_ms = 5000;
  int64_t hold_ttl_ms = 5 * 60 * 1000;
  int64_t token_ttl_ms = 10 * 60 * 1000;
  int64_t active_tokens = 1000;
  int64_t max_seats = 4;
  std::string admin_key;
  std::string token_key_file;  // empty: <data>/token.key
  bool demo = false;
  int64_t http_threads = 256;
  int64_t http_connections_max = 10'000;
  int64_t http_request_timeout_ms = 10'000;
  int64_t queue_max = 16384;
  int64_t snapshot_every_events = 1'000'000;
  int64_t snapshot_every_ms = 10 * 60 * 1000;
  std::string follower_priority = "raised";
  std::string http_poll_priority = "normal";
  std::string http_commands = "inline";
  std::string http_queries = "inline";
  int64_t http_loops = 2;
  std::string writer_priority = "lowered";
  std::string api = api::kDefaultApis;
  std::vector<std::string> api_ports;
  std::string clinic_api_key;
  std::string clinic_utc_offset = "+00:00";
  std::string kafka_clinic_topic;  // empty: <kafka-topic>-clinic
  std::string metrics = "on";
  std::string log_format = "text";
  int64_t slow_request_ms = 500;
  std::string role = "writer";
  std::string writer_url;  // a replica's 307 target (empty: 421 NOT_WRITER)
  int64_t min_offset_wait_ms = 1000;
  bool ha = false;  // a standby may take over: confirm batches, send heartbeats
  int64_t failover_timeout_ms = 10'000;
  std::string node;  // empty: HOSTNAME:PID
};

// The scale-out flags (SPEC §7): roles, replicas, standby and failover.
void declare_roles(Flags& f, ServeOptions& o) {
  f.add_choice("role", &o.role, {"writer", "replica", "standby"},
               "writer: decides commands; replica: a query replica of the writer's Kafka "
               "topics (needs --log kafka and its own --data; commands answer 307 to "
               "--writer-url, else 421 NOT_WRITER); standby: a replica that keeps a warm engine "
               "and takes over as writer when the "
               "writer's heartbeats stop for half of --failover-timeout (docs/SCALING.md)");
  f.add_bool("ha", &o.ha,
             "with --role writer on Kafka: standbys may take over. At start it takes the log "
             "over (a takeover marker fences the writer before it); it confirms every batch "
             "valid before answering and sends heartbeats to KAFKA_TOPIC-election");
  f.add_duration("failover-timeout", &o.failover_timeout_ms,
                 "a standby serves as the writer within this long of the writer's death: it "
                 "takes over after half of it without heartbeats (an --ha writer sends one "
                 "every eighth of it), the other half is the takeover's");
  f.add_string("node", &o.node,
               "this node's name in takeover markers, heartbeats and the log (empty: "
               "HOSTNAME:PID)");
  f.add_string(
      "writer-url", &o.writer_url,
      "with --role replica or standby: the writer's base URL (http://HOST:PORT), where commands "
      "are redirected (307); empty: they answer 421 NOT_WRITER");
}

// Where the serial stages run and at what priority (docs/BENCHMARKS.md
// measures each choice).
void declare_threads(Flags& f, ServeOptions& o) {
  f.add_choice("follower-priority", &o.follower_priority, {"raised", "normal"},
               "raised: the projection follower runs real-time (SCHED_FIFO) when permitted, "
               "else at nice -10, so queries stay fresh under full load");
  f.add_choice("http-poll-priority", &o.http_poll_priority, {"raised", "normal"},
               "raised: the HTTP epoll thread, which reads every request and serves the "
               "commands, runs real-time (SCHED_FIFO) when permitted, else at nice -10 "
               "(measured worse under load: docs/BENCHMARKS.md)");
  f.add_choice("http-commands", &o.http_commands, {"inline", "workers"},
               "inline: commands are served on the HTTP epoll thread and answered when durable; "
               "workers: by the HTTP worker threads");
  f.add_int("http-loops", &o.http_loops, 1, 64,
            "HTTP epoll threads per listener; each reads its share of the connections and "
            "serves their commands and queries (--http-commands, --http-queries inline), with "
            "its share of --http-threads");
  f.add_choice("http-queries", &o.http_queries, {"inline", "workers"},
               "inline (with --http-commands inline): a query whose views are up to date is "
               "answered on the HTTP epoll thread, one that must wait for them by a worker; "
               "workers: every query by the HTTP worker threads");
  f.add_choice("writer-priority", &o.writer_priority, {"lowered", "normal"},
               "lowered: the single writer runs at nice 10, so under load more commands "
               "share each durable append (group commit); an idle core still runs it at once");
}

void declare(Flags& f, ServeOptions& o) {
  f.add_string("data", &o.data, "data directory (created if missing)");
  f.add_string("host", &o.host, "address to listen on");
  f.add_int("port", &o.port, 0, 65535, "TCP port (0: any free port)");
  f.add_choice("log", &o.log, {"embedded", "kafka"}, "event log backend: embedded or kafka");
  f.add_string("kafka-brokers", &o.kafka_brokers, "Kafka bootstrap servers (with --log kafka)");
  f.add_string("kafka-topic", &o.kafka_topic, "Kafka topic of the event log (one partition)");
  f.add_string("kafka-transactional-id", &o.kafka_transactional_id,
               "Kafka transactional.id (empty: TOPIC-writer); one engine per id");
  f.add_duration("kafka-timeout", &o.kafka_timeout_ms,
                 "bound on one Kafka commit or read: a command answers 503 within twice this "
                 "when Kafka is down or slow");
  f.add_duration("hold-ttl", &o.hold_ttl_ms, "how long a hold waits for payment");
  f.add_duration("token-ttl", &o.token_ttl_ms, "how long a token stays ACTIVE");
  f.add_int("active-tokens", &o.active_tokens, 1, 1'000'000, "tokens ACTIVE at once");
  f.add_int("max-seats", &o.max_seats, 1, 64, "seats per user per schedule (and per hold)");
  f.add_string("admin-key", &o.admin_key,
               "key for the admin API and the console, /console (empty: both disabled)");
  f.add_string("token-key-file", &o.token_key_file,
               "the 32-byte key that seals queue tokens in the log (docs/SECURITY.md); created "
               "when missing; a standby needs the writer's (empty: DATA/token.key)");
  f.add_bool("demo", &o.demo, "load a demo catalog and users into an empty log");
  f.add_int("http-threads", &o.http_threads, 4, 20000,
            "HTTP worker threads: requests served at once (idle or slow connections hold none)");
  f.add_int("http-connections-max", &o.http_connections_max, 1, 1'000'000,
            "open connections per listener; beyond, a new one is answered 503 at once (lowered "
            "to fit the open-file limit)");
  f.add_duration("http-request-timeout", &o.http_request_timeout_ms,
                 "a request's head and body must arrive within this of its first byte, else "
                 "408 and close (slow clients)");
  f.add_int("queue-max", &o.queue_max, 1, 1'000'000, "commands waiting before OVERLOADED");
  f.add_int("snapshot-every-events", &o.snapshot_every_events, 0, INT64_MAX,
            "snapshot the engine state after this many new events (0: never by count)");
  f.add_duration("snapshot-every", &o.snapshot_every_ms,
                 "snapshot the engine state this often when there are new events");
  f.add_string("api", &o.api,
               "dialects served on --port, comma-separated: canonical, concert-events, "
               "queue-tokens, clinic");
  f.add_list("api-port", &o.api_ports,
             "DIALECT=PORT: one more listener serving DIALECT on PORT (0: any free port); "
             "repeatable, e.g. --api-port concert-events=8081");
  f.add_string("clinic-api-key", &o.clinic_api_key,
               "key the clinic API (/schedule/open/, admin routes aside) requires as "
               "`Authorization: Bearer KEY` (empty: open)");
  f.add_string("clinic-utc-offset", &o.clinic_utc_offset,
               "the clinic's fixed time zone, -12:00..+14:00: one schedule's resources all start "
               "on one calendar day there (recorded in the clinic log)");
  f.add_string("kafka-clinic-topic", &o.kafka_clinic_topic,
               "Kafka topic of the clinic domain's log (empty: KAFKA_TOPIC-clinic)");
  declare_roles(f, o);
  f.add_duration("min-offset-wait", &o.min_offset_wait_ms,
                 "how long a query with Reservoir-Min-Offset waits for the views to apply that "
                 "many events before it answers 503");
  declare_threads(f, o);
  f.add_choice("metrics", &o.metrics, {"on", "off"},
               "off: no latency, batch or sync histograms are observed (to measure their cost); "
               "/metrics still serves the counters");
  f.add_choice("log-format", &o.log_format, {"text", "json"},
               "operator log lines on stderr (start, stop, slow request, fault): key=value text "
               "or one JSON object per line");
  f.add_int("slow-request-ms", &o.slow_request_ms, 0, 3'600'000,
            "log a request answered in this many ms or more (0: every request)");
}

// SIGINT/SIGTERM are blocked in every thread and taken by one waiter thread,
// which stops the HTTP server; main then drains the writer.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Start-up waits this many --kafka-timeout for each step (connect, topic,
// producer) and for each stretch of the scan without progress.
constexpr int64_t kOpenTimeoutFactor = 5;
// --writer-priority lowered: nice 10 has a tenth of an ordinary thread's
// weight (docs/BENCHMARKS.md, "Changes that mattered").
constexpr int kLoweredWriterNice = 10;

// Set by the writer thread when another engine fenced this one.
std::atomic<bool> g_fenced{false};
// Set once every listener is bound and announced: a failure before it is a
// refused start, after it a stop.
std::atomic<bool> g_started{false};

// Flags whose values are secrets: the start line says only whether they are set.
bool is_secret_flag(const std::string& name) {
  return name == "admin-key" || name == "clinic-api-key";
}

// The start line: every flag's effective value (events/oplog.h).
void log_start(const ServeOptions& o) {
  ServeOptions copy = o;
  Flags flags("serve", "");
  declare(flags, copy);
  const auto values = flags.values();
  std::vector<oplog::Field> fields;
  for (const auto& [name, value] : values) {
    const bool hide = is_secret_flag(name) && !value.empty();
    fields.emplace_back(name, hide ? std::string_view("(set)") : std::string_view(value));
  }
  oplog::log_event(oplog::Level::kInfo, "start", fields);
}

using ConcertHost = DomainHost<concert::Module, projections::Projections>;

// The concert domain's log: <data>/log, or --kafka-topic.
LogTarget concert_log_target(const ServeOptions& o) {
  return LogTarget{o.data + "/log", o.kafka_topic, o.kafka_transactional_id};
}

using ClinicHost = DomainHost<clinic::Module, projections::ClinicViews>;

// The clinic domain has a log, writer, follower, views and snapshots of its
// own under <data>/clinic (docs/ARCHITECTURE.md, "Domains"): a concert burst
// shares no queue, append or sync with it.
std::string clinic_root(const ServeOptions& o) {
  return o.data + "/clinic";
}
LogTarget clinic_log_target(const ServeOptions& o) {
  const std::string topic =
      o.kafka_clinic_topic.empty() ? o.kafka_topic + "-clinic" : o.kafka_clinic_topic;
  const std::string txid =
      o.kafka_transactional_id.empty() ? "" : o.kafka_transactional_id + "-clinic";
  return LogTarget{clinic_root(o) + "/log", topic, txid};
}

// A standby may take over from this node, or this node from another.
bool is_ha(const ServeOptions& o) {
  return o.log == "kafka" && (o.ha || o.role == "standby");
}

// SPEC §7: a standby serves as the writer within --failover-timeout of the
// writer's death. Half of it is silence before the takeover (four missed
// heartbeats: a slow heartbeat is not a dead writer), half is the takeover
// itself (fence, marker, read to the end, catch up, listen; ~2 s on the mock,
// docs/BENCHMARKS.md "Failover").
int64_t silence_before_takeover_ms(const ServeOptions& o) {
  return o.failover_timeout_ms / 2;
}
int64_t heartbeat_interval_ms(const ServeOptions& o) {
  return o.failover_timeout_ms / 8;
}

std::string node_name(const ServeOptions& o) {
  if (!o.node.empty()) return o.node;
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

ElectionConfig election_config(const ServeOptions& o) {
  return ElectionConfig{o.kafka_brokers, o.kafka_topic + "-election", node_name(o)};
}

// HA: the log opens read-only (a standby's stays so until it takes over);
// an --ha writer takes it over at once, fencing any writer before it.
Result<std::unique_ptr<EventLog>> open_ha_log(const ServeOptions& o, const KafkaLogConfig& kc) {
  auto log = KafkaLog::open(kc, KafkaLog::Mode::kReadOnly);
  if (!log.ok()) return log.status();
  if (o.role == "writer") {
    if (Status s = (*log)->take_over(node_name(o)); !s.ok()) return s;
    oplog::log_event(oplog::Level::kInfo, "failover",
                     {{"kind", "writer"},
                      {"topic", kc.topic},
                      {"node", node_name(o)},
                      {"epoch", std::to_string((*log)->epoch())}});
  }
  oplog::log_event(oplog::Level::kInfo, "kafka_log",
                   {{"role", o.role == "writer" ? "ha-writer" : "standby"},
                    {"topic", kc.topic},
                    {"brokers", kc.brokers},
                    {"events", std::to_string((*log)->end_offset())},
                    {"epoch", std::to_string((*log)->epoch())}});
  return std::unique_ptr<EventLog>(std::move(*log));
}

Result<std::unique_ptr<EventLog>> open_log(const ServeOptions& o, const LogTarget& target) {
  if (o.log == "embedded") {
    auto log = EmbeddedLog::open(target.dir, EmbeddedLog::Mode::kReadWrite,
                                 EmbeddedLog::kServerPreallocateBytes);
    if (!log.ok()) return log.status();
    return std::unique_ptr<EventLog>(std::move(*log));
  }
  KafkaLogConfig kc;
  kc.brokers = o.kafka_brokers;
  kc.topic = target.topic;
  kc.transactional_id = target.transactional_id;
  kc.append_timeout_ms = o.kafka_timeout_ms;
  kc.read_timeout_ms = o.kafka_timeout_ms;
  kc.open_timeout_ms = kOpenTimeoutFactor * o.kafka_timeout_ms;
  kc.confirm_appends = is_ha(o);
  if (is_ha(o)) return open_ha_log(o, kc);
  auto log = KafkaLog::open(kc, KafkaLog::Mode::kReadWrite);
  if (!log.ok()) return log.status();
  oplog::log_event(oplog::Level::kInfo, "kafka_log",
                   {{"topic", kc.topic},
                    {"brokers", kc.brokers},
                    {"transactional_id", (*log)->transactional_id()}});
  return std::unique_ptr<EventLog>(std::move(*log));
}

// Starts a domain's follower, and its writer unless this is a standby
// (whose writer starts when it takes over).
template <class Host>
void start_host(const ServeOptions& o, Host& host) {
  if (o.role == "standby") {
    host.follower->start();
  } else {
    host.start();
  }
}

// The writer, on being fenced: stop serving (serve then exits 1).
void on_fenced(const Status& s) {
  oplog::log_event(oplog::Level::kError, "failover", {{"kind", "fenced"}, {"error", s.message()}});
  g_fenced.store(true);
  kill(getpid(), SIGTERM);
}

int open_server(const ServeOptions& o, ConcertHost& host, SystemClock& clock, OsRandom& random) {
  ConcertHost::Config hc;
  hc.root = o.data;
  hc.log = concert_log_target(o);
  hc.writer.queue_commands_max = static_cast<size_t>(o.queue_max);
  hc.writer.snapshot_every_events = static_cast<uint64_t>(o.snapshot_every_events);
  hc.writer.snapshot_every_ms = o.snapshot_every_ms;
  hc.writer.on_fenced = &on_fenced;
  hc.writer.nice = o.writer_priority == "lowered" ? kLoweredWriterNice : 0;
  hc.follower.clock = &clock;
  hc.follower.raise_priority = o.follower_priority == "raised";
  hc.render = &api::render_reply;
  concert::Limits limits{o.hold_ttl_ms, o.token_ttl_ms, o.active_tokens, o.max_seats};
  const std::string key_file = o.token_key_file.empty() ? o.data + "/token.key" : o.token_key_file;
  auto key = secrets::load_or_create_key(key_file);
  if (!key.ok()) return fail(1, key.status().message());
  Status st = host.open(
      hc, std::make_unique<concert::Module>(limits, *key),
      [&o](const LogTarget& target) { return open_log(o, target); }, clock, random);
  if (!st.ok()) return fail(1, st.message());
  start_host(o, host);
  return 0;
}

// Opens and starts the clinic domain; *fresh tells whether its log was
// empty before start (the writer may record ClinicConfigured at once).
int open_clinic(const ServeOptions& o, int64_t utc_offset_min, ClinicHost& host, SystemClock& clock,
                OsRandom& random, bool* fresh) {
  std::error_code ec;
  std::filesystem::create_directories(clinic_root(o), ec);
  if (ec) return fail(1, "cannot create " + clinic_root(o) + ": " + ec.message());
  ClinicHost::Config hc;
  hc.root = clinic_root(o);
  hc.log = clinic_log_target(o);
  hc.writer.queue_commands_max = static_cast<size_t>(o.queue_max);
  hc.writer.snapshot_every_events = static_cast<uint64_t>(o.snapshot_every_events);
  hc.writer.snapshot_every_ms = o.snapshot_every_ms;
  hc.writer.on_fenced = &on_fenced;
  hc.writer.nice = o.writer_priority == "lowered" ? kLoweredWriterNice : 0;
  hc.writer.thread_name = "rsv-cl-writer";
  hc.writer.snapshot_thread_name = "rsv-cl-snap";
  hc.follower.clock = &clock;
  hc.follower.raise_priority = o.follower_priority == "raised";
  hc.follower.thread_name = "rsv-cl-follow";
  hc.render = &api::render_clinic_reply;
  Status st = host.open(
      hc, std::make_unique<clinic::Module>(clinic::Module::Config{utc_offset_min}),
      [&o](const LogTarget& target) { return open_log(o, target); }, clock, random);
  if (!st.ok()) return fail(1, "clinic: " + st.message());
  *fresh = host.log->end_offset() == 0;
  start_host(o, host);
  return 0;
}

// serve --demo on an empty clinic log: the small clinic of SPEC §6.3.
int load_clinic_demo_if(const ServeOptions& o, ClinicHost& host, bool fresh) {
  if (!o.demo) return 0;
  if (!fresh) {
    std::printf("demo clinic: the clinic log already has events; nothing loaded\n");
    return 0;
  }
  auto loaded = load_clinic_demo(*host.writer);
  if (!loaded.ok()) return fail(1, loaded.status().ToString());
  std::printf("demo clinic: %s\n", loaded->c_str());
  return 0;
}

bool serves_clinic(const std::vector<api::ListenerSpec>& plan) {
  for (const auto& spec : plan) {
    for (const api::Dialect* d : spec.dialects) {
      if (d->domain == api::Domain::kClinic) return true;
    }
  }
  return false;
}

// One HttpServer per listener, all on one Service (and one engine).
struct Listeners {
  std::vector<std::unique_ptr<api::Router>> routers;
  std::vector<std::unique_ptr<api::HttpServer>> http;
};

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

// Files the server keeps open besides connections: logs, RocksDB, Kafka.
constexpr uint64_t kFilesReserved = 512;

// Raises the open-file limit to its hard limit (connections are files),
// and lowers --http-connections-max so that every listener's bound fits in
// it: beyond the limit accept() fails and clients wait instead of getting 503.
size_t fit_connections(int64_t wanted, size_t listeners) {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return static_cast<size_t>(wanted);
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
    getrlimit(RLIMIT_NOFILE, &r);
  }
  const uint64_t files = r.rlim_cur == RLIM_INFINITY ? UINT64_MAX : r.rlim_cur;
  const uint64_t fit = files > kFilesReserved ? (files - kFilesReserved) / listeners : 1;
  if (static_cast<uint64_t>(wanted) <= fit) return static_cast<size_t>(wanted);
  oplog::log_event(
      oplog::Level::kWarn, "connections_max_lowered",
      {{"http_connections_max", std::to_string(fit)}, {"open_file_limit", std::to_string(files)}});
  return static_cast<size_t>(fit);
}

// Binds every listener (exit 1 naming a port that cannot be bound), then
// prints one line per listener, the --port one first, and flushes once:
// tests read the first line for the main port.
int start_listeners(const ServeOptions& o, const std::vector<api::ListenerSpec>& plan,
                    api::Service& service, Listeners& out) {
  const size_t connections_max = fit_connections(o.http_connections_max, plan.size());
  for (const auto& spec : plan) {
    out.routers.push_back(std::make_unique<api::Router>(spec.dialects));
    api::HttpConfig hc;
    hc.host = o.host;
    hc.port = spec.port;
    hc.worker_threads = static_cast<int>(o.http_threads);
    hc.connections_max = connections_max;
    hc.request_timeout_ms = o.http_request_timeout_ms;
    hc.slow_request_ms = o.slow_request_ms;
    hc.inline_commands = o.http_commands == "inline";
    hc.inline_queries = o.http_queries == "inline";
    hc.raise_poll_priority = o.http_poll_priority == "raised";
    hc.event_loops = static_cast<int>(o.http_loops);
    out.http.push_back(std::make_unique<api::HttpServer>(service, hc, out.routers.back().get()));
    std::string error;
    if (!out.http.back()->bind(&error)) return fail(1, error);
  }
  for (size_t i = 0; i < plan.size(); ++i) {
    std::printf("reservoir: listening on http://%s:%d (%s; data %s)\n", o.host.c_str(),
                out.http[i]->bound_port(), joined(out.routers[i]->names()).c_str(), o.data.c_str());
  }
  std::fflush(stdout);
  log_start(o);
  g_started.store(true);
  return 0;
}

// Where the console is (SPEC §8), after the listeners' lines (tests read the
// first line for the port). The key is named by where it comes from, never printed.
void print_console_line(const ServeOptions& o, const api::HttpServer& http) {
  const std::string where =
      "http://" + o.host + ":" + std::to_string(http.bound_port()) + "/console";
  if (o.admin_key.empty()) {
    if (o.demo) std::printf("console: %s is off (start with --admin-key KEY)\n", where.c_str());
  } else {
    std::printf("console: %s (sign in with the --admin-key)\n", where.c_str());
  }
  std::fflush(stdout);
}

// Serves every listener until all stop; false if an accept loop failed
// (which stops them all, as SIGTERM does).
bool serve_all(Listeners& listeners) {
  std::atomic<bool> ok{true};
  auto serve = [&](api::HttpServer& http) {
    if (!http.serve()) {  // the accept loop failed: wake the waiter ourselves
      ok.store(false);
      kill(getpid(), SIGTERM);
    }
  };
  std::vector<std::thread> others;
  for (size_t i = 1; i < listeners.http.size(); ++i) {
    others.emplace_back(serve, std::ref(*listeners.http[i]));
  }
  serve(*listeners.http.front());
  for (auto& t : others) t.join();
  return ok.load();
}

// How often the signal waiter looks at a standby's takeover flag.
constexpr long kSwitchPollNs = 100'000'000;

// What every role shares once its domains are open: the listeners, the
// signal waiter, serving until a stop (a signal, or *switch_now turning
// true: a standby took over and serves again as the writer, on the ports
// it stores in *ports). Returns whether every accept loop ran well (false:
// one failed); *rc is set when listening failed.
bool serve_until_stopped(const ServeOptions& o, const std::vector<api::ListenerSpec>& plan,
                         api::Service& service, const sigset_t& stop_signals, int* rc,
                         const std::atomic<bool>* switch_now = nullptr,
                         std::vector<int>* ports = nullptr) {
  Listeners listeners;
  if (*rc = start_listeners(o, plan, service, listeners); *rc != 0) return false;
  for (const auto& http : listeners.http) {
    if (ports != nullptr) ports->push_back(http->bound_port());
  }
  print_console_line(o, *listeners.http.front());
  std::thread waiter([&] {
    const timespec tick{0, kSwitchPollNs};
    int sig = -1;
    while (sig < 0 && !(switch_now != nullptr && switch_now->load())) {
      sig = sigtimedwait(&stop_signals, nullptr, &tick);
    }
    if (sig > 0) {
      oplog::log_event(oplog::Level::kInfo, "stopping", {{"signal", std::to_string(sig)}});
    }
    for (auto& http : listeners.http) http->stop();
  });
  const bool served = serve_all(listeners);
  waiter.join();
  return served;
}

void load_demo_if(const ServeOptions& o, ConcertHost& s, SystemClock& clock, int* rc) {
  if (o.demo && s.log->end_offset() == 0) {
    auto users = load_demo(*s.writer, clock.now_ms());
    if (!users.ok()) {
      *rc = fail(1, users.status().ToString());
      return;
    }
    std::printf(
        "demo data loaded: concert demo-concert, schedules demo-schedule-1 and demo-schedule-2;\n"
        "  concert 1, schedules 1 and 2 (seats 1..50) for the numeric dialects\n");
    std::string all;
    for (const auto& u : *users) {
      std::printf("demo user: %s\n", u.c_str());
      all += (all.empty() ? "" : " ") + u;
    }
    std::printf("demo users: %s\n", all.c_str());
  } else if (o.demo) {
    std::printf("demo: the log already has events; nothing loaded\n");
  }
}

api::ServiceConfig service_config(const ServeOptions& o) {
  api::ServiceConfig sc;
  if (!o.admin_key.empty()) sc.admin_key = o.admin_key;
  sc.limits = concert::Limits{o.hold_ttl_ms, o.token_ttl_ms, o.active_tokens, o.max_seats};
  sc.min_offset_wait_ms = o.min_offset_wait_ms;
  if (!o.writer_url.empty()) sc.writer_url = o.writer_url;
  return sc;
}

// A domain's views failed to flush at stop (the next start replays them).
void log_flush_failure(const char* domain, const Status& st) {
  if (st.ok()) return;
  oplog::log_event(oplog::Level::kError, "fault",
                   {{"kind", "projection_flush"}, {"domain", domain}, {"error", st.ToString()}});
}

void fill_clinic_backend(const ServeOptions& o, int64_t utc_offset_min, api::ClinicBackend& b) {
  if (!o.clinic_api_key.empty()) b.api_key = o.clinic_api_key;
  if (!o.admin_key.empty()) b.admin_key = o.admin_key;
  b.utc_offset_min = utc_offset_min;
}

int serve_writer(const ServeOptions& o, const std::vector<api::ListenerSpec>& plan,
                 const sigset_t& stop_signals, SystemClock& clock, ConcertHost& s,
                 ClinicHost* clinic_host, api::ClinicBackend& clinic_backend);

int run_writer(const ServeOptions& o, const std::vector<api::ListenerSpec>& plan,
               int64_t utc_offset_min, const sigset_t& stop_signals) {
  SystemClock clock;
  OsRandom random;
  ConcertHost s;
  if (int rc = open_server(o, s, clock, random); rc != 0) return rc;
  int rc = 0;
  if (load_demo_if(o, s, clock, &rc); rc != 0) return rc;
  const bool with_clinic = serves_clinic(plan);
  ClinicHost clinic;
  api::ClinicBackend clinic_backend;
  if (with_clinic) {
    bool fresh = false;
    if (rc = open_clinic(o, utc_offset_min, clinic, clock, random, &fresh); rc != 0) return rc;
    if (rc = load_clinic_demo_if(o, clinic, fresh); rc != 0) return rc;
    clinic_backend.writer = clinic.writer.get();
    clinic_backend.views = clinic.views.get();
    fill_clinic_backend(o, utc_offset_min, clinic_backend);
  }
  return serve_writer(o, plan, stop_signals, clock, s, with_clinic ? &clinic : nullptr,
                      clinic_backend);
}

// Serves commands and queries on open, started domains until a stop, then
// stops them (the writer answers every accepted command). With HA it sends
// the heartbeats its standbys watch.
int serve_writer(const ServeOptions& o, const std::vector<api::ListenerSpec>& plan,
                 const sigset_t& stop_signals, SystemClock& clock, ConcertHost& s,
                 ClinicHost* clinic_host, api::ClinicBackend& clinic_backend) {
  const bool with_clinic = clinic_host != nullptr;
  std::unique_ptr<Heartbeat> heartbeat;
  if (is_ha(o)) {
    auto started = Heartbeat::start(election_config(o), heartbeat_interval_ms(o));
    if (!started.ok()) return fail(1, "cannot send heartbeats: " + started.status().ToString());
    heartbeat = std::move(*started);
  }
  api::ServiceConfig sc = service_config(o);
  sc.writer_url.reset();  // a standby that took over is the writer now
  sc.limits = s.module->limits();
  api::Service service(*s.writer, *s.views, *s.follower, clock, sc);
  if (with_clinic) {
    ClinicHost& clinic = *clinic_host;
    api::ClinicWriter* clinic_writer = clinic.writer.get();
    service.link(api::Domain::kClinic,
                 api::DomainLink{[clinic_writer] { return clinic_writer->acknowledged_offset(); },
                                 clinic.follower.get()});
    service.set_clinic(&clinic_backend);
  }
  api::Console console({s.log.get(), with_clinic ? clinic_host->log.get() : nullptr});
  service.set_console(&console);
  int rc = 0;
  const bool served = serve_until_stopped(o, plan, service, stop_signals, &rc);
  heartbeat.reset();
  if (rc != 0) return rc;
  Status st = s.stop();  // writer (answers every accepted command), follower, flush
  log_flush_failure("concert", st);
  if (with_clinic) log_flush_failure("clinic", clinic_host->stop());
  if (g_fenced.load()) {
    const auto* kafka = dynamic_cast<const KafkaLog*>(s.log.get());
    return fail(1, "stopped: fenced by another engine with transactional.id " +
                       (kafka != nullptr ? kafka->transactional_id() : std::string("?")) +
                       " (every command after the fence was answered 503)");
  }
  return served ? 0 : 1;
}

// A domain's topic, opened read-only (isolation.level=read_committed).
Result<std::unique_ptr<EventLog>> open_replica_log(const ServeOptions& o, const LogTarget& t) {
  KafkaLogConfig kc;
  kc.brokers = o.kafka_brokers;
  kc.topic = t.topic;
  kc.read_timeout_ms = o.kafka_timeout_ms;
  kc.open_timeout_ms = kOpenTimeoutFactor * o.kafka_timeout_ms;
  auto log = KafkaLog::open(kc, KafkaLog::Mode::kReadOnly);
  if (!log.ok()) {
    return Status::IOError(log.status().ToString() +
                           " (a replica reads the topics its writer created: start it first)");
  }
  oplog::log_event(oplog::Level::kInfo, "replica_log",
                   {{"topic", kc.topic},
                    {"brokers", kc.brokers},
                    {"events", std::to_string((*log)->end_offset())}});
  return std::unique_ptr<EventLog>(std::move(*log));
}

template <class V>
int open_replica(const ServeOptions& o, const std::string& root, const LogTarget& target,
                 const char* thread_name, SystemClock& clock, ReplicaHost<V>& host) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return fail(1, "cannot create " + root + ": " + ec.message());
  projections::FollowerOptions fo;
  fo.clock = &clock;
  fo.raise_priority = o.follower_priority == "raised";
  fo.thread_name = thread_name;
  Status st = host.open(
      root, target, [&o](const LogTarget& t) { return open_replica_log(o, t); }, fo);
  if (!st.ok()) return fail(1, st.message());
  start_host(o, host);
  return 0;
}

// --role replica: every query route of every configured dialect and domain
// from views of its own; no engine (SPEC §7, docs/SCALING.md).
int run_replica(const ServeOptions& o, const std::vector<api::ListenerSpec>& plan,
                int64_t utc_offset_min, const sigset_t& stop_signals) {
  SystemClock clock;
  ReplicaHost<projections::Projections> s;
  if (int rc = open_replica(o, o.data, concert_log_target(o), "rsv-follower", clock, s); rc != 0) {
    return rc;
  }
  const bool with_clinic = serves_clinic(plan);
  ReplicaHost<projections::ClinicViews> clinic;
  api::ClinicBackend clinic_backend;
  if (with_clinic) {
    if (int rc =
            open_replica(o, clinic_root(o), clinic_log_target(o), "rsv-cl-follow", clock, clinic);
        rc != 0) {
      return rc;
    }
    clinic_backend.views = clinic.views.get();
    fill_clinic_backend(o, utc_offset_min, clinic_backend);
  }
  api::Service service(*s.views, *s.follower, clock, service_config(o));
  EventLog* concert_log = s.log.get();
  service.link(api::Domain::kConcert,
               api::DomainLink{[] { return uint64_t{0}; }, s.follower.get(),
                               [concert_log] { return concert_log->end_offset(); }});
  if (with_clinic) {
    service.link(api::Domain::kClinic,
                 api::DomainLink{[] { return uint64_t{0}; }, clinic.follower.get(),
                                 [log = clinic.log.get()] { return log->end_offset(); }});
    service.set_clinic(&clinic_backend);
  }
  api::Console console({s.log.get(), with_clinic ? clinic.log.get() : nullptr});
  service.set_console(&console);
  int rc = 0;
  const bool served = serve_until_stopped(o, plan, service, stop_signals, &rc);
  if (rc != 0) return rc;
  log_flush_failure("concert", s.stop());
  if (with_clinic) log_flush_failure("clinic", clinic.stop());
  return served ? 0 : 1;
}

// ------------------------------------------------------------- standby ---

// How often a standby applies the log's tail to its engines, and looks at
// the writer's heartbeats.
constexpr int64_t kStandbyTickMs = 100;
// Tries at the clinic takeover once the concert one succeeded.
constexpr int kClinicTakeoverTries = 3;

// A standby's domains: open, followers running, writers not started.
struct StandbyDomains {
  ConcertHost concert;
  ClinicHost clinic;
  bool with_clinic = false;
};

KafkaLog& kafka_of(EventLog& log) {
  return dynamic_cast<KafkaLog&>(log);  // a standby's logs are always Kafka's
}

// Takes both domains' logs over (markers in both topics); false when
// another node won (or Kafka did not answer): the standby watches again.
bool take_over_all(const ServeOptions& o, StandbyDomains& d) {
  const std::string node = node_name(o);
  Status st = kafka_of(*d.concert.log).take_over(node);
  if (!st.ok()) {
    oplog::log_event(oplog::Level::kWarn, "failover",
                     {{"kind", st.code() == Status::Code::kBusy ? "lost" : "failed"},
                      {"node", node},
                      {"error", st.message()}});
    return false;
  }
  for (int i = 0; d.with_clinic && i < kClinicTakeoverTries; ++i) {
    st = kafka_of(*d.clinic.log).take_over(node);
    if (st.ok()) break;
  }
  if (!st.ok()) {
    // The concert marker is written: the old writer is fenced there. Exit,
    // so that another standby takes both over (their epochs go higher).
    oplog::log_event(oplog::Level::kError, "failover",
                     {{"kind", "failed"}, {"node", node}, {"error", "clinic: " + st.message()}});
    kill(getpid(), SIGTERM);
    return false;
  }
  return true;
}

// The standby's loop (its own thread): keeps each engine warm from the log
// and takes over when the heartbeats stop for half of --failover-timeout; sets
// *took_over once both engines are at the log's end as its writer.
void keep_standby(const ServeOptions& o, StandbyDomains& d, HeartbeatWatch& watch,
                  std::atomic<bool>& took_over, const std::atomic<bool>& stopping) {
  while (!stopping.load()) {
    const int64_t silent_ms = watch.silent_ms(kStandbyTickMs);
    for (Status st : {d.concert.writer->catch_up(),
                      d.with_clinic ? d.clinic.writer->catch_up() : Status::OK()}) {
      if (!st.ok()) {
        oplog::log_event(oplog::Level::kWarn, "failover",
                         {{"kind", "catch_up_failed"}, {"error", st.ToString()}});
      }
    }
    if (silent_ms < silence_before_takeover_ms(o)) continue;
    oplog::log_event(oplog::Level::kWarn, "failover",
                     {{"kind", "takeover"},
                      {"node", node_name(o)},
                      {"silent_ms", std::to_string(silent_ms)},
                      {"last_writer", watch.last_node()}});
    if (!take_over_all(o, d)) {
      watch.reset();
      continue;
    }
    Status st = d.concert.writer->catch_up();  // (d): the last few hundred ms of log
    if (st.ok() && d.with_clinic) st = d.clinic.writer->catch_up();
    if (!st.ok()) {
      oplog::log_event(oplog::Level::kError, "failover",
                       {{"kind", "failed"}, {"error", st.ToString()}});
      kill(getpid(), SIGTERM);
      return;
    }
    oplog::log_event(oplog::Level::kInfo, "failover",
                     {{"kind", "writer"},
                      {"node", node_name(o)},
                      {"epoch", std::to_string(kafka_of(*d.concert.log).epoch())},
                      {"offset", std::to_string(d.concert.log->end_offset())}});
    took_over.store(true);
    return;
  }
}

// Serves as a replica (queries; commands 307/421) until a stop or a takeover.
bool serve_as_standby(const ServeOptions& o, const std::vector<api::ListenerSpec>& plan,
                      const sigset_t& stop_signals, SystemClock& clock, StandbyDomains& d,
                      api::ClinicBackend& clinic_backend, const std::atomic<bool>& took_over,
                      std::vector<int>* ports, int* rc) {
  api::ServiceConfig sc = service_config(o);
  sc.standby = true;
  api::Service service(*d.concert.views, *d.concert.follower, clock, sc);
  EventLog* concert_log = d.concert.log.get();
  service.link(api::Domain::kConcert,
               api::DomainLink{[] { return uint64_t{0}; }, d.concert.follower.get(),
                               [concert_log] { return concert_log->end_offset(); }});
  if (d.with_clinic) {
    service.link(api::Domain::kClinic,
                 api::DomainLink{[] { return uint64_t{0}; }, d.clinic.follower.get(),
                                 [log = d.clinic.log.get()] { return log->end_offset(); }});
    service.set_clinic(&clinic_backend);
  }
  api::Console console({d.concert.log.get(), d.with_clinic ? d.clinic.log.get() : nullptr});
  service.set_console(&console);
  return serve_until_stopped(o, plan, service, stop_signals, rc, &took_over, ports);
}

// --role standby (SPEC §7, docs/SCALING.md "Standby and failover").
int run_standby(const ServeOptions& o, const std::vector<api::ListenerSpec>& plan,
                int64_t utc_offset_min, const sigset_t& stop_signals) {
  SystemClock clock;
  OsRandom random;
  StandbyDomains d;
  if (int rc = open_server(o, d.concert, clock, random); rc != 0) return rc;
  d.with_clinic = serves_clinic(plan);
  api::ClinicBackend clinic_backend;
  if (d.with_clinic) {
    bool fresh = false;
    if (int rc = open_clinic(o, utc_offset_min, d.clinic, clock, random, &fresh); rc != 0) {
      return rc;
    }
    clinic_backend.views = d.clinic.views.get();
    fill_clinic_backend(o, utc_offset_min, clinic_backend);
  }
  auto watch = HeartbeatWatch::open(election_config(o));
  if (!watch.ok()) return fail(1, "cannot watch the writer: " + watch.status().ToString());
  std::atomic<bool> took_over{false}, stopping{false};
  std::thread keeper(keep_standby, std::cref(o), std::ref(d), std::ref(**watch),
                     std::ref(took_over), std::cref(stopping));
  std::vector<int> ports;
  int rc = 0;
  const bool served =
      serve_as_standby(o, plan, stop_signals, clock, d, clinic_backend, took_over, &ports, &rc);
  stopping.store(true);
  keeper.join();
  if (rc != 0 || !took_over.load()) {
    log_flush_failure("concert", d.concert.stop());
    if (d.with_clinic) log_flush_failure("clinic", d.clinic.stop());
    return rc != 0 ? rc : served ? 0 : 1;
  }
  // The writer now, on the same ports.
  std::vector<api::ListenerSpec> writer_plan = plan;
  for (size_t i = 0; i < writer_plan.size() && i < ports.size(); ++i) {
    writer_plan[i].port = ports[i];
  }
  d.concert.writer->start();
  if (d.with_clinic) {
    d.clinic.writer->start();
    clinic_backend.writer = d.clinic.writer.get();
  }
  return serve_writer(o, writer_plan, stop_signals, clock, d.concert,
                      d.with_clinic ? &d.clinic : nullptr, clinic_backend);
}

// The flags' combinations that cannot run (exit 2), or "".
std::string invalid_options(const ServeOptions& o) {
  if (o.role == "standby" && o.log != "kafka") {
    return "--role standby needs --log kafka: a standby tails the writer's topics";
  }
  if (o.ha && o.log != "kafka") return "--ha needs --log kafka";
  if (o.role == "standby" && o.demo) return "--demo loads data through a writer, not a standby";
  if (o.failover_timeout_ms < 200) return "--failover-timeout must be at least 200ms";
  if (o.log == "kafka" && o.kafka_brokers.empty()) {
    return "--log kafka needs --kafka-brokers (e.g. the address `reservoir kafka-mock` prints)";
  }
  if (o.role == "replica" && o.log != "kafka") {
    return "--role replica needs --log kafka: a replica tails the writer's topics";
  }
  if (o.role == "replica" && o.demo) return "--demo loads data through a writer, not a replica";
  if (o.role == "writer" && !o.writer_url.empty()) {
    return "--writer-url is for --role replica or standby";
  }
  if (!o.writer_url.empty() && o.writer_url.rfind("http://", 0) != 0 &&
      o.writer_url.rfind("https://", 0) != 0) {
    return "--writer-url must start with http:// or https://, not '" + o.writer_url + "'";
  }
  if (o.kafka_timeout_ms <= 0) return "--kafka-timeout must be positive";
  return "";
}

}  // namespace

static int run_serve_inner(int argc, char** argv) {
  ServeOptions o;
  Flags flags("serve", "Runs the Reservoir HTTP server.");
  declare(flags, o);
  if (int rc = handle_flags(flags, argc, argv); rc >= 0) return rc;
  oplog::set_format(o.log_format == "json" ? oplog::Format::kJson : oplog::Format::kText);
  set_metrics_on(o.metrics == "on");
  if (std::string why = invalid_options(o); !why.empty()) return fail(2, why);
  while (!o.writer_url.empty() && o.writer_url.back() == '/') o.writer_url.pop_back();
  auto plan = api::plan_listeners(o.api, static_cast<int>(o.port), o.api_ports);
  if (auto* error = std::get_if<std::string>(&plan)) return fail(2, *error);
  const auto utc_offset_min = clinic_time::parse_utc_offset(o.clinic_utc_offset);
  if (!utc_offset_min) {
    return fail(2, "--clinic-utc-offset must be +HH:MM or -HH:MM within -12:00..+14:00, not '" +
                       o.clinic_utc_offset + "'");
  }
  std::error_code ec;
  std::filesystem::create_directories(o.data, ec);
  if (ec) return fail(1, "cannot create --data " + o.data + ": " + ec.message());
  auto lock = DirLock::acquire(o.data);
  if (!lock.ok()) return fail(1, lock.status().message());
  const sigset_t stop_signals = block_stop_signals();
  const auto& specs = std::get<std::vector<api::ListenerSpec>>(plan);
  if (o.role == "standby") return run_standby(o, specs, *utc_offset_min, stop_signals);
  return o.role == "replica" ? run_replica(o, specs, *utc_offset_min, stop_signals)
                             : run_writer(o, specs, *utc_offset_min, stop_signals);
}

// The stop line, or the refused-start line (with the reason fail() gave).
int run_serve(int argc, char** argv) {
  const int rc = run_serve_inner(argc, argv);
  const std::string code = std::to_string(rc);
  // fail()'s message; a flag error printed with the usage has none.
  const std::string reason = !last_failure().empty() ? last_failure()
                             : rc == 2               ? "bad flags or values (see above)"
                                                     : "";
  if (g_started.load()) {
    oplog::log_event(rc == 0 ? oplog::Level::kInfo : oplog::Level::kError, "stop",
                     {{"exit_code", code}, {"reason", rc == 0 ? "signal" : reason}});
  } else if (rc != 0) {
    oplog::log_event(oplog::Level::kError, "start_refused",
                     {{"exit_code", code}, {"reason", reason}});
  }
  return rc;
}

namespace {
const SubcommandRegistration kServe{"serve", "run the HTTP server", &run_serve};
}  // namespace

}  // namespace reservoir::tools
