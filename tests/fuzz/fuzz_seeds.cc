// fuzz_seeds OUT_DIR: writes the seed corpora of the fuzz targets
// (tests/fuzz/<target>/, each file one input in that target's layout, see
// the target's header comment): example request bodies and requests of
// every dialect, the events a few commands of each domain decide (and one
// default-valued event of every type), a small embedded log, snapshots of
// the resulting states, and idempotency operations. Deterministic (seeded
// random, fixed clock): run it again when a format changes and commit the
// files that changed.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/clinic_parse.h"
#include "api/json_util.h"
#include "api/parse_commands.h"
#include "engine/clinic/module.h"
#include "engine/concert/module.h"
#include "engine/writer_snapshot.h"
#include "events/embedded_log.h"
#include "events/os.h"
#include "support/temp_dir.h"

using namespace reservoir;

namespace {

constexpr int64_t kT0 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z
std::filesystem::path g_out;

void put(const std::string& target, const std::string& name, std::string_view bytes) {
  std::filesystem::create_directories(g_out / target);
  std::ofstream(g_out / target / name, std::ios::binary | std::ios::trunc) << bytes;
}
std::string with(uint8_t first, std::string_view rest) {
  return std::string(1, static_cast<char>(first)) + std::string(rest);
}

constexpr const char* kConcert =
    R"({"concertId":"c1","title":"t","schedules":[{"concertScheduleId":"s1",)"
    R"("startsAt":"2027-01-16T08:00:00Z","seats":[{"seatId":"A1","number":1,"price":10000},)"
    R"({"seatId":"A2","number":2,"price":20000}]}]})";
constexpr const char* kClinicVisitor = R"({"visitorId":"v1","name":"Kim"})";
constexpr const char* kClinicZone = R"({"zoneId":"zone-laser","name":"Laser","capacity":2})";
constexpr const char* kClinicGroup =
    R"({"reservationGroupId":"group-laser","name":"Laser","zoneIds":["zone-laser"]})";
constexpr const char* kReserveV1 =
    R"({"visitorId":"v1","reservationGroupId":"group-laser","zoneId":"zone-laser",)"
    R"("startDateTimeUtc":"2027-01-20T01:00:00Z","endDateTimeUtc":"2027-01-20T02:00:00Z"})";
constexpr const char* kResource =
    R"({"startDateTimeUtc":"2027-01-20T03:00:00Z","endDateTimeUtc":"2027-01-20T04:00:00Z",)"
    R"("reservationGroup":{"reservationGroupId":"group-laser","zoneId":"zone-laser"}})";

std::string reserve_v2() {
  return std::string(R"({"visitorId":"v1","zoneId":"zone-laser","occupiedResources":[)") +
         kResource + "]}";
}
std::string update_v2() {
  return std::string(R"({"scheduleId":"s-1","zoneId":"zone-laser","occupiedResources":[)") +
         kResource + R"(],"reservationMemo":"m"})";
}

template <class Parse>
concert::Command concert_command(Parse&& parse, const char* body) {
  rapidjson::Document doc;
  std::string error;
  if (!api::parse_object(body, doc, &error)) std::abort();
  api::Parsed p = parse(doc);
  if (!std::holds_alternative<concert::Command>(p)) std::abort();
  return std::get<concert::Command>(std::move(p));
}

void seed_bodies() {
  put("canonical_body", "issue_token", with(0, R"({"userId":"u1"})"));
  put("canonical_body", "hold", with(1, R"({"concertScheduleId":"s1","seatIds":["A1","A2"]})"));
  put("canonical_body", "pay", with(2, R"({"reservationId":"r-1"})"));
  put("canonical_body", "charge", with(3, R"({"userId":"u1","amount":50000})"));
  put("canonical_body", "register_user", with(4, R"({"userId":"u1"})"));
  put("canonical_body", "create_concert", with(5, kConcert));
  put("clinic_body", "reserve_v1", with(0, kReserveV1));
  put("clinic_body", "reserve_v2", with(0x21, reserve_v2()));
  put("clinic_body", "update_v2", with(0x12, update_v2()));
  put("clinic_body", "cancel", with(3, R"({"scheduleId":"s-1"})"));
  put("clinic_body", "admin_visitor", with(4, kClinicVisitor));
  put("clinic_body", "admin_zone", with(5, kClinicZone));
  put("clinic_body", "admin_group", with(6, kClinicGroup));
}

// Router (0 canonical, 1 concert-events, 2 queue-tokens, 3 clinic), method
// (0 GET, 1 POST, 3 PATCH, 4 DELETE), path, body.
void request(const char* name, uint8_t router, uint8_t method, std::string_view path,
             std::string_view body = {}) {
  std::string in{static_cast<char>(router), static_cast<char>(method)};
  in.append(path).append("\n").append(body);
  put("dialect_service", name, in);
}

void seed_requests() {
  request("c_token", 0, 1, "/api/v1/queue/token", R"({"userId":"1"})");
  request("c_hold", 0 | 0x08, 1, "/api/v1/reservations",
          R"({"concertScheduleId":"1","seatIds":["1"]})");
  request("c_seats", 0, 0, "/api/v1/concerts/1/schedules/1/seats");
  request("c_concert", 0, 1, "/api/v1/admin/concerts", kConcert);
  request("c_cancel", 0, 4, "/api/v1/reservations/1");
  request("ce_occupy", 1, 1, "/api/v1/concert-events/1/occupy", R"({"seatIds":[1]})");
  request("ce_pay", 1, 1, "/api/v1/payments", R"({"reservationId":1})");
  request("ce_charge", 1, 3, "/api/v1/users/1/wallet/charge", R"({"amount":5000})");
  request("ce_events", 1, 0, "/api/v1/concerts/1/available-events");
  request("qt_token", 2, 1, "/v1/queue-tokens/users/1");
  request("qt_hold", 2, 1, "/v1/reservations",
          R"({"userId":1,"concertId":1,"scheduleId":1,"seatIds":[2]})");
  request("qt_pay", 2, 1, "/v1/payments/users/1", R"({"reservationId":1})");
  request("qt_recharge", 2, 1, "/v1/balance/users/1/recharge", R"({"amount":1000})");
  request("qt_seats", 2, 0, "/v1/concerts/1/schedules/1/seats");
  request("cl_visitor", 3, 1, "/schedule/open/v1/admin/visitors", kClinicVisitor);
  request("cl_zone", 3, 1, "/schedule/open/v1/admin/zones", kClinicZone);
  request("cl_group", 3, 1, "/schedule/open/v1/admin/reservation-groups", kClinicGroup);
  request("cl_reserve_v1", 3, 1, "/schedule/open/v1/commands/reserve-by-visitor-id", kReserveV1);
  request("cl_reserve_v2", 3, 1, "/schedule/open/v2/commands/reserve", reserve_v2());
  request("cl_update_v2", 3, 1, "/schedule/open/v2/commands/update-reservation", update_v2());
  request("cl_cancel", 3, 1, "/schedule/open/v1/commands/cancel-reservation",
          R"({"scheduleId":"s-1"})");
  request("cl_occupancy", 3, 0, "/schedule/open/v1/zones/zone-laser/occupancy");
}

// The concert events of a small session: limits, users, a concert, a
// charge, a token and a hold.
std::vector<EventEnvelope> concert_session(concert::Module& m) {
  SeededRandom random(7);
  std::vector<EventEnvelope> out;
  m.start(kT0, out);
  const concert::Limits limits;
  auto run = [&](const concert::Command& c) { return m.execute(c, kT0, random, out); };
  run(concert_command(api::parse_register_user, R"({"userId":"u1"})"));
  run(concert_command(api::parse_create_concert, kConcert));
  run(concert_command(api::parse_charge, R"({"userId":"u1","amount":50000})"));
  const concert::Reply token = run(concert_command(api::parse_issue_token, R"({"userId":"u1"})"));
  const std::string t = std::get<concert::TokenReply>(token).token;
  run(concert_command([&](const auto& d) { return api::parse_hold(d, t, limits); },
                      R"({"concertScheduleId":"s1","seatIds":["A1"]})"));
  return out;
}

std::vector<EventEnvelope> clinic_session(clinic::Module& m) {
  SeededRandom random(7);
  std::vector<EventEnvelope> out;
  m.start(kT0, out);
  for (auto [kind, body] : {std::pair{api::ClinicBody::kAdminVisitor, std::string(kClinicVisitor)},
                            {api::ClinicBody::kAdminZone, std::string(kClinicZone)},
                            {api::ClinicBody::kAdminGroup, std::string(kClinicGroup)},
                            {api::ClinicBody::kReserveV2, reserve_v2()}}) {
    rapidjson::Document doc;
    std::string error;
    if (!api::parse_object(body, doc, &error)) std::abort();
    api::ClinicParse p = api::parse_clinic(kind, doc, 540);
    if (!p.ok()) std::abort();
    m.execute(*p.command, kT0, random, out);
  }
  return out;
}

std::string event_input(uint8_t catalog, uint8_t type, const EventEnvelope& e) {
  std::string in{static_cast<char>(catalog), static_cast<char>(type), static_cast<char>(e.version)};
  char time[8];
  std::memcpy(time, &e.time_ms, sizeof time);
  return in.append(time, sizeof time).append(e.payload);
}

template <class Variant>
uint8_t type_index(std::string_view type) {
  uint8_t found = 0xff;
  [&]<size_t... I>(std::index_sequence<I...>) {
    ((type == std::variant_alternative_t<I, Variant>::kType ? found = I : 0), ...);
  }
  (std::make_index_sequence<std::variant_size_v<Variant>>());
  return found;
}

template <class Catalog>
void seed_events(uint8_t catalog, const char* prefix, const std::vector<EventEnvelope>& log) {
  using Event = typename Catalog::Event;
  for (const EventEnvelope& e : log) {
    put("event_decode", std::string(prefix) + "-" + e.type,
        event_input(catalog, type_index<Event>(e.type), e));
  }
  [&]<size_t... I>(std::index_sequence<I...>) {
    (put("event_decode", std::string(prefix) + "-default-" + std::to_string(I),
         event_input(catalog, I, Catalog::encode(std::variant_alternative_t<I, Event>{}, kT0))),
     ...);
  }
  (std::make_index_sequence<std::variant_size_v<Event>>());
}

std::string log_file(const std::vector<EventEnvelope>& events) {
  test::TempDir dir;
  auto log = EmbeddedLog::open(dir.path(), EmbeddedLog::Mode::kReadWrite);
  if (!log.ok()) std::abort();
  for (size_t at = 0; at < events.size(); at += 3) {  // records of 1..3 events
    std::vector<EventEnvelope> batch(
        events.begin() + static_cast<ptrdiff_t>(at),
        events.begin() + static_cast<ptrdiff_t>(std::min(at + 3, events.size())));
    if (!(*log)->append(batch).ok()) std::abort();
  }
  std::ifstream in((*log)->path(), std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void seed_binary() {
  concert::Module concert_module{concert::Limits{}};
  clinic::Module clinic_module{clinic::Module::Config{540}};
  const std::vector<EventEnvelope> concert_log = concert_session(concert_module);
  const std::vector<EventEnvelope> clinic_log = clinic_session(clinic_module);
  seed_events<events::ConcertCatalog>(0, "concert", concert_log);
  seed_events<events::ClinicCatalog>(1, "clinic", clinic_log);
  seed_events<events::EngineCatalog>(2, "engine", {});
  const std::string file = log_file(concert_log);
  put("embedded_log", "concert-ro", with(0, file));
  put("embedded_log", "concert-rw", with(1, file));
  put("embedded_log", "concert-fix-crc", with(2, file));
  put("embedded_log", "clinic-rw-prealloc", with(5, log_file(clinic_log)));
  put("embedded_log", "empty-rw", with(1, ""));
  IdempotencyTable answers;
  answers.apply(events::IdempotencyRecorded{"u1", "key-1", 42, 200, R"({"ok":true})"}, kT0);
  put("snapshot", "concert-state", with(0, concert_module.snapshot()));
  put("snapshot", "clinic-state", with(1, clinic_module.snapshot()));
  put("snapshot", "concert-writer",
      with(2, encode_writer_snapshot(concert_log.size(), kT0, concert_module.snapshot(), answers)));
  put("snapshot", "clinic-writer",
      with(3, encode_writer_snapshot(clinic_log.size(), kT0, clinic_module.snapshot(), answers)));
  // Idempotency: (time step, scope len, scope, key len, key, status, body len, body)...
  put("idempotency", "one", std::string("\x01\x02u1\x05key-1\x00\x02{}", 13));
  put("idempotency", "reuse-and-expire",
      std::string("\x00\x02u1\x01k\x00\x00\x00\x02u2\x01k\x01\x00\x41\x02u1\x01k\x00\x00", 25));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds OUT_DIR (tests/fuzz)\n");
    return 2;
  }
  g_out = argv[1];
  seed_bodies();
  seed_requests();
  seed_binary();
  return 0;
}
