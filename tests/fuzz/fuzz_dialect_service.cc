// Fuzz target: whole requests through api::Service::handle() for every
// dialect (canonical, concert-events, queue-tokens, clinic), so each
// dialect's body parsing, validation, idempotency and rendering run as the
// HTTP adapter drives them, over in-memory logs (tests/support/memory_log.h)
// and RocksDB views in a temp dir.
//
// Input: byte 0 picks the router (bits 0-1) and headers (bit 2: no JSON
// Content-Type, bit 3: an Idempotency-Key, bit 4: no token headers, bit 5:
// no admin key); byte 1 the method; then the path, a '\n', and the body.
// Every answer must be a status in 200..599 with a body that is JSON (or
// empty; /metrics aside). The engine's state persists across inputs (rebuilt every
// kRunsPerEngine inputs, so long runs stay bounded in memory).
#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "api/clinic_backend.h"
#include "api/clinic_render.h"
#include "api/dialect.h"
#include "api/render.h"
#include "api/service.h"
#include "engine/clinic/module.h"
#include "engine/concert/module.h"
#include "events/os.h"
#include "projections/clinic_views.h"
#include "projections/follower.h"
#include "projections/views.h"
#include "support/memory_log.h"
#include "support/temp_dir.h"

using namespace reservoir;

namespace {

constexpr int64_t kT0 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z
constexpr size_t kRunsPerEngine = 20000;
constexpr const char* kConcert = R"({"concertId":"1","title":"c","schedules":[
  {"concertScheduleId":"1","startsAt":"2027-01-16T08:00:00Z","seats":[
    {"seatId":"1","number":1,"price":10000},{"seatId":"2","number":2,"price":10000}]}]})";

// Both domains' engines, views and followers behind one Service; users "1"
// and "2", concert "1" (schedule "1", seats "1", "2"), and a token of "1".
struct Engine {
  Engine() {
    auto v = projections::Projections::open(dir.path() + "/concert");
    auto cv = projections::ClinicViews::open(dir.path() + "/clinic");
    if (!v.ok() || !cv.ok()) abort();
    views = std::move(*v);
    clinic_views = std::move(*cv);
    if (!writer.recover().ok() || !clinic_writer.recover().ok()) abort();
    writer.start();
    clinic_writer.start();
    follower = std::make_unique<projections::Follower>(log, *views);
    clinic_follower = std::make_unique<projections::Follower>(clinic_log, *clinic_views);
    follower->start();
    clinic_follower->start();
    api::ServiceConfig config;
    config.admin_key = "k";
    config.read_wait_ms = 50;
    service = std::make_unique<api::Service>(writer, *views, *follower, clock, config);
    service->link(api::Domain::kClinic,
                  api::DomainLink{[this] { return clinic_writer.acknowledged_offset(); },
                                  clinic_follower.get()});
    backend = api::ClinicBackend{&clinic_writer, clinic_views.get(), std::nullopt, "k", 540};
    service->set_clinic(&backend);
    setup();
  }
  ~Engine() {
    writer.stop();
    clinic_writer.stop();
    follower->stop();
    clinic_follower->stop();
  }

  void setup() {
    post("/api/v1/admin/users", R"({"userId":"1"})");
    post("/api/v1/admin/users", R"({"userId":"2"})");
    post("/api/v1/admin/concerts", kConcert);
    post("/api/v1/balance/charge", R"({"userId":"1","amount":100000})");
    const std::string body = post("/api/v1/queue/token", R"({"userId":"1"})");
    const std::string key = R"("token":")";
    const size_t at = body.find(key);
    if (at == std::string::npos) abort();
    token = body.substr(at + key.size(), body.find('"', at + key.size()) - at - key.size());
  }
  std::string post(const char* path, const char* body) {
    api::Request r;
    r.method = "POST";
    r.path = path;
    r.body = body;
    r.params = &params;
    r.content_type = "application/json";
    r.admin_key = "k";
    const api::Answer a = service->handle(r, canonical);
    if (a.status != 200) abort();
    return std::string(a.text());
  }

  test::TempDir dir;
  test::MemoryLog log, clinic_log;
  ManualClock clock{kT0};
  SeededRandom random{7};
  concert::Module module{concert::Limits{}};
  clinic::Module clinic_module{clinic::Module::Config{540}};
  api::ConcertWriter writer{module, log, clock, random, &api::render_reply, WriterConfig{}};
  api::ClinicWriter clinic_writer{
      clinic_module, clinic_log, clock, random, &api::render_clinic_reply, WriterConfig{}};
  std::unique_ptr<projections::Projections> views;
  std::unique_ptr<projections::ClinicViews> clinic_views;
  std::unique_ptr<projections::Follower> follower, clinic_follower;
  api::ClinicBackend backend;
  std::unique_ptr<api::Service> service;
  std::multimap<std::string, std::string> params;
  std::string token;
  api::Router canonical{{api::find_dialect("canonical")}};
  api::Router routers[4] = {
      api::Router{{api::find_dialect("canonical")}},
      api::Router{{api::find_dialect("concert-events")}},
      api::Router{{api::find_dialect("queue-tokens"), api::find_dialect("canonical")}},
      api::Router{{api::find_dialect("clinic")}}};
};

// Never destroyed at exit: RocksDB's own statics may be gone by then (its
// DB destructor logged through a destroyed logger); reachable, so no leak.
Engine* engine = nullptr;
size_t runs = 0;

bool json_or_empty(std::string_view body) {
  if (body.empty()) return true;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  return !doc.HasParseError();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  if (!engine || ++runs % kRunsPerEngine == 0) {
    delete engine;
    engine = new Engine();
  }
  constexpr std::string_view kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
  const uint8_t flags = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  const size_t nl = rest.find('\n');
  api::Request r;
  r.method = kMethods[data[1] % 6];
  r.path = rest.substr(0, nl);
  r.body = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  r.params = &engine->params;
  if (!(flags & 0x04)) r.content_type = "application/json";
  if (flags & 0x08) r.idempotency_key = "fz-1";
  if (!(flags & 0x10)) {
    r.queue_token = engine->token;
    r.user_token = engine->token;
    r.token_id = "1";
  }
  if (!(flags & 0x20)) r.admin_key = "k";
  engine->clock.advance_ms(1000);
  const api::Answer a = engine->service->handle(r, engine->routers[flags & 0x03]);
  if (a.status < 200 || a.status > 599) abort();
  if (r.path != "/metrics" && !json_or_empty(a.text())) abort();  // metrics: Prometheus text
  return 0;
}
