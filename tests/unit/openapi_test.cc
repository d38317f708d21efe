// api/openapi.h: the /v3/api-docs documents. With RESERVOIR_OPENAPI_DIR set,
// the documents are also written there for tools/check-openapi.sh.
#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/openapi.h"

namespace reservoir::api {
namespace {

using Route = std::pair<std::string, std::string>;
const char* const kMethods[] = {"get",     "put",  "post",  "delete",
                                "options", "head", "patch", "trace"};

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::set<Route> described_routes(const rapidjson::Document& doc) {
  std::set<Route> out;
  for (const auto& path : doc["paths"].GetObject()) {
    for (const char* m : kMethods) {
      if (path.value.HasMember(m)) out.emplace(upper(m), path.name.GetString());
    }
  }
  return out;
}

// "$ref"s, and the security schemes named by "security" requirements.
void collect_refs(const rapidjson::Value& v, std::vector<std::string>& out) {
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      const std::string name = m.name.GetString();
      if (name == "$ref" && m.value.IsString()) {
        out.emplace_back(m.value.GetString());
      } else if (name == "security" && m.value.IsArray()) {
        for (const auto& requirement : m.value.GetArray()) {
          for (const auto& scheme : requirement.GetObject()) {
            out.push_back(std::string("#/components/securitySchemes/") + scheme.name.GetString());
          }
        }
      } else {
        collect_refs(m.value, out);
      }
    }
  } else if (v.IsArray()) {
    for (const auto& e : v.GetArray()) collect_refs(e, out);
  }
}

const rapidjson::Value* resolve(const rapidjson::Document& doc, const rapidjson::Value& v) {
  if (!v.IsObject() || !v.HasMember("$ref")) return &v;
  const std::string ref = v["$ref"].GetString();
  REQUIRE(ref.rfind("#/", 0) == 0);
  return rapidjson::Pointer(ref.substr(1).c_str()).Get(doc);
}

// Path parameters of a template ({x}) and of an operation's parameter list.
std::set<std::string> template_params(const std::string& path) {
  std::set<std::string> out;
  static const std::regex kParam(R"(\{([A-Za-z]+)\})");
  for (std::sregex_iterator it(path.begin(), path.end(), kParam), end; it != end; ++it) {
    out.insert((*it)[1]);
  }
  return out;
}

std::set<std::string> declared_path_params(const rapidjson::Document& doc,
                                           const rapidjson::Value& op) {
  std::set<std::string> out;
  if (!op.HasMember("parameters")) return out;
  for (const auto& p : op["parameters"].GetArray()) {
    const rapidjson::Value* param = resolve(doc, p);
    REQUIRE(param != nullptr);
    if (std::string((*param)["in"].GetString()) == "path") out.insert((*param)["name"].GetString());
  }
  return out;
}

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

const std::set<Route> kCommon = {{"GET", "/healthz"}, {"GET", "/metrics"}, {"GET", "/v3/api-docs"}};

bool is_common(const std::string& path) {
  for (const auto& [method, p] : kCommon) {
    if (p == path) return true;
  }
  return false;
}

// SPEC §7: a command answers with Reservoir-Offset, and a query replica
// refuses it with 307 (Location) or 421; a query takes Reservoir-Min-Offset
// and answers with Reservoir-Applied, or 503 when it was not applied in time.
void check_offsets(const rapidjson::Document& doc, const rapidjson::Value& op, bool command) {
  const auto& responses = op["responses"];
  const auto& ok_headers = responses["200"]["headers"];
  bool min_offset = false;
  if (op.HasMember("parameters")) {
    for (const auto& p : op["parameters"].GetArray()) {
      const rapidjson::Value* param = resolve(doc, p);
      REQUIRE(param != nullptr);
      min_offset =
          min_offset || std::string_view((*param)["name"].GetString()) == "Reservoir-Min-Offset";
    }
  }
  CHECK(min_offset == !command);
  CHECK(ok_headers.HasMember("Reservoir-Offset") == command);
  CHECK(ok_headers.HasMember("Reservoir-Applied") == !command);
  CHECK(responses.HasMember("307") == command);
  CHECK(responses.HasMember("421") == command);
  if (command) {
    CHECK(responses["307"]["headers"].HasMember("Location"));
    CHECK_FALSE(responses["421"].HasMember("headers"));
  } else {
    CHECK(responses["503"]["headers"].HasMember("Reservoir-Applied"));
  }
}

// What every operation of a document must hold: unique ids, a 200, path
// parameters matching the template; a dialect's also a 400, a 500, a 503
// with Retry-After and SPEC §7's offsets.
void check_operations(const rapidjson::Document& doc) {
  std::set<std::string> ids;
  for (const auto& path : doc["paths"].GetObject()) {
    for (const char* m : kMethods) {
      if (!path.value.HasMember(m)) continue;
      const auto& op = path.value[m];
      CAPTURE(path.name.GetString());
      CAPTURE(m);
      REQUIRE(op.HasMember("operationId"));
      CHECK(ids.insert(op["operationId"].GetString()).second);
      CHECK(op["responses"].HasMember("200"));
      CHECK(template_params(path.name.GetString()) == declared_path_params(doc, op));
      if (is_common(path.name.GetString())) continue;
      CHECK(op["responses"].HasMember("400"));
      CHECK(op["responses"].HasMember("500"));
      REQUIRE(op["responses"].HasMember("503"));
      CHECK(op["responses"]["503"]["headers"].HasMember("Retry-After"));
      check_offsets(doc, op, std::string_view(m) != "get");
    }
  }
  CHECK(ids.size() >= 3);
}

void write_if_asked(const std::vector<std::string>& dialects, const std::string& text) {
  const char* dir = std::getenv("RESERVOIR_OPENAPI_DIR");
  if (dir == nullptr || *dir == '\0') return;
  std::string name;
  for (const auto& d : dialects) name += (name.empty() ? "" : "+") + d;
  std::ofstream out(std::string(dir) + "/" + name + ".json");
  out << text;
  REQUIRE(out.good());
}

TEST_CASE("openapi_document: each listener's document describes exactly its dialects' routes") {
  const std::vector<std::vector<std::string>> listeners = {
      {"canonical"},
      {"concert-events"},
      {"queue-tokens"},
      {"canonical", "queue-tokens"},
      {"clinic"},
      {"canonical", "clinic"},
      {"canonical", "queue-tokens", "clinic"}};  // the default listener (kDefaultApis)
  for (const auto& dialects : listeners) {
    CAPTURE(dialects.front());
    CAPTURE(dialects.size());
    const std::string text = openapi_document(dialects);
    write_if_asked(dialects, text);
    const rapidjson::Document doc = parse(text);
    CHECK(std::string(doc["openapi"].GetString()) == "3.0.3");
    std::set<Route> expected = kCommon;
    for (const auto& d : dialects) {
      const auto routes = openapi_routes(d);
      expected.insert(routes.begin(), routes.end());
    }
    CHECK(described_routes(doc) == expected);
    check_operations(doc);
    std::vector<std::string> refs;
    collect_refs(doc, refs);
    CHECK(refs.size() > 50);
    for (const auto& ref : refs) {
      CAPTURE(ref);
      REQUIRE(ref.rfind("#/", 0) == 0);
      CHECK(rapidjson::Pointer(ref.substr(1).c_str()).Get(doc) != nullptr);
    }
    const std::set<std::string> referenced(refs.begin(), refs.end());
    for (const auto& section : doc["components"].GetObject()) {
      for (const auto& c : section.value.GetObject()) {
        const std::string ref =
            std::string("#/components/") + section.name.GetString() + "/" + c.name.GetString();
        CAPTURE(ref);
        CHECK(referenced.count(ref) == 1);  // no unused component
      }
    }
  }
}

TEST_CASE("openapi_routes: the tables of SPEC §2, §5.3, §5.4 and §6 with their parameter names") {
  const auto canonical = openapi_routes("canonical");
  const auto events = openapi_routes("concert-events");
  const auto tokens = openapi_routes("queue-tokens");
  CHECK(canonical.size() == 15);
  CHECK(events.size() == 10);
  CHECK(tokens.size() == 9);
  CHECK(openapi_routes("clinic").size() == 10);
  CHECK(openapi_routes("clinic-x").empty());
  const std::set<Route> c(canonical.begin(), canonical.end());
  CHECK(c.count({"GET", "/api/v1/concerts/{concertId}/schedules/{concertScheduleId}/seats"}));
  CHECK(c.count({"DELETE", "/api/v1/reservations/{reservationId}"}));
  CHECK(c.count({"POST", "/api/v1/admin/concerts"}));
  const std::set<Route> e(events.begin(), events.end());
  CHECK(e.count({"PATCH", "/api/v1/users/{userId}/wallet/charge"}));
  CHECK(e.count({"POST", "/api/v1/queue/token"}));
  CHECK(e.count({"GET", "/api/v1/concerts/{concertId}/available-events"}));
  const std::set<Route> t(tokens.begin(), tokens.end());
  CHECK(t.count({"GET", "/v1/concerts/{concertId}/schedules/{scheduleId}/seats"}));
  const std::vector<std::pair<std::string, std::set<std::string>>> allowed = {
      {"canonical", {"concertId", "concertScheduleId", "reservationId", "userId"}},
      {"concert-events", {"userId", "concertId", "concertEventId"}},
      {"queue-tokens", {"userId", "concertId", "scheduleId"}},
      {"clinic", {"scheduleId", "visitorId", "zoneId"}}};
  for (const auto& [dialect, names] : allowed) {
    for (const auto& [method, path] : openapi_routes(dialect)) {
      CAPTURE(path);
      for (const auto& p : template_params(path)) CHECK(names.count(p) == 1);
    }
  }
}

std::string operation_id(const rapidjson::Document& doc, const char* path, const char* method) {
  REQUIRE(doc["paths"].HasMember(path));
  return doc["paths"][path][method]["operationId"].GetString();
}

TEST_CASE("openapi_document: colliding dialects on one listener, the first listed wins") {
  const std::vector<std::string> both = {"canonical", "concert-events"};
  const std::string text = openapi_document(both);
  write_if_asked(both, text);
  const auto doc = parse(text);
  CHECK(operation_id(doc, "/api/v1/payments", "post") == "canonicalPay");
  CHECK(operation_id(doc, "/api/v1/queue/token", "post") == "canonicalIssueToken");
  CHECK(operation_id(doc, "/api/v1/users/{userId}/payments", "get") == "canonicalListPayments");
  CHECK(operation_id(doc, "/api/v1/users/{userId}/wallet/charge", "patch") ==
        "concertEventsChargeWallet");
  CHECK(described_routes(doc).size() == 3 + 15 + 10 - 4);
  check_operations(doc);

  const auto reversed = parse(openapi_document({"concert-events", "canonical", "concert-events"}));
  CHECK(operation_id(reversed, "/api/v1/payments", "post") == "concertEventsPay");
  CHECK(operation_id(reversed, "/api/v1/users/{userId}/payments", "get") ==
        "concertEventsListPayments");
  CHECK(described_routes(reversed).size() == 3 + 15 + 10 - 4);

  const auto none = parse(openapi_document({"no-such-dialect"}));
  CHECK(described_routes(none) == kCommon);
}

const rapidjson::Value& answer(const rapidjson::Document& doc, const char* path, const char* method,
                               const char* status) {
  return doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"];
}

TEST_CASE("openapi_document: answers and errors in each dialect's envelope") {
  const auto canonical = parse(openapi_document({"canonical"}));
  const auto& hold = answer(canonical, "/api/v1/reservations", "post", "200");
  CHECK(std::string(hold["properties"]["result"]["enum"][0].GetString()) == "SUCCESS");
  CHECK(std::string(hold["properties"]["data"]["$ref"].GetString()) ==
        "#/components/schemas/Reservation");
  CHECK(std::string(answer(canonical, "/api/v1/reservations", "post", "409")["$ref"].GetString()) ==
        "#/components/schemas/CanonicalError");
  CHECK(std::string(
            canonical["paths"]["/api/v1/reservations"]["post"]["responses"]["409"]["description"]
                .GetString())
            .find("SEAT_UNAVAILABLE") != std::string::npos);

  // SPEC §7: a replica's refusal in the dialect's words; a late Min-Offset's own code.
  const auto& charge = canonical["paths"]["/api/v1/balance/charge"]["post"]["responses"];
  CHECK(std::string(charge["421"]["description"].GetString()).find("NOT_WRITER") == 0);
  CHECK(std::string(canonical["paths"]["/api/v1/concerts"]["get"]["responses"]["503"]["description"]
                        .GetString())
            .find("UNAVAILABLE when Reservoir-Min-Offset") != std::string::npos);

  const auto events = parse(openapi_document({"concert-events"}));
  const auto& seats =
      answer(events, "/api/v1/concert-events/{concertEventId}/available-seats", "get", "200");
  CHECK(std::string(seats["properties"]["list"]["items"]["$ref"].GetString()) ==
        "#/components/schemas/CeSeat");
  const auto& wallet = answer(events, "/api/v1/users/{userId}/wallet", "get", "200");
  CHECK(wallet["properties"].HasMember("data"));
  CHECK(std::string(answer(events, "/api/v1/payments", "post", "403")["$ref"].GetString()) ==
        "#/components/schemas/CeError");
  CHECK(events["paths"]["/api/v1/payments"]["post"]["responses"].HasMember("413"));
  CHECK_FALSE(
      events["paths"]["/api/v1/users/{userId}/wallet"]["get"]["responses"].HasMember("415"));

  const auto tokens = parse(openapi_document({"queue-tokens"}));
  CHECK(std::string(
            answer(tokens, "/v1/payments/users/{userId}", "post", "200")["$ref"].GetString()) ==
        "#/components/schemas/QtPayment");
  CHECK(
      std::string(
          tokens["paths"]["/v1/payments/users/{userId}"]["post"]["responses"]["500"]["description"]
              .GetString()) == "payment failed");
  const auto& body = tokens["paths"]["/v1/reservations"]["post"]["requestBody"];
  CHECK(std::string(body["content"]["application/json"]["schema"]["$ref"].GetString()) ==
        "#/components/schemas/QtReservationRequest");
  const auto& id = tokens["components"]["schemas"]["NumericId"]["oneOf"];
  CHECK(std::string(id[0]["type"].GetString()) == "integer");
  CHECK_FALSE(tokens["components"]["schemas"].HasMember("CeSeat"));
}

// SPEC §6.3's routes; the admin ones take Admin-Key instead of the bearer.
const std::set<Route> kClinicRoutes = {{"POST", "/schedule/open/v1/commands/reserve-by-visitor-id"},
                                       {"POST", "/schedule/open/v2/commands/reserve"},
                                       {"POST", "/schedule/open/v2/commands/update-reservation"},
                                       {"POST", "/schedule/open/v1/commands/cancel-reservation"},
                                       {"GET", "/schedule/open/v1/schedules/{scheduleId}"},
                                       {"GET", "/schedule/open/v1/visitors/{visitorId}/schedules"},
                                       {"GET", "/schedule/open/v1/zones/{zoneId}/occupancy"},
                                       {"POST", "/schedule/open/v1/admin/visitors"},
                                       {"POST", "/schedule/open/v1/admin/zones"},
                                       {"POST", "/schedule/open/v1/admin/reservation-groups"}};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The names of an operation's parameters (resolved), as "in:name".
std::set<std::string> parameter_names(const rapidjson::Document& doc, const rapidjson::Value& op) {
  std::set<std::string> out;
  if (!op.HasMember("parameters")) return out;
  for (const auto& p : op["parameters"].GetArray()) {
    const rapidjson::Value* param = resolve(doc, p);
    REQUIRE(param != nullptr);
    out.insert(std::string((*param)["in"].GetString()) + ":" + (*param)["name"].GetString());
  }
  return out;
}

std::set<std::string> strings(const rapidjson::Value& array) {
  std::set<std::string> out;
  for (const auto& e : array.GetArray()) out.insert(e.GetString());
  return out;
}

// Every clinic operation: bearer or Admin-Key, Idempotency-Key on commands,
// its statuses, the ClinicError shape.
void check_clinic_operation(const rapidjson::Document& doc, const Route& route) {
  const auto& [method, path] = route;
  CAPTURE(path);
  REQUIRE(doc["paths"].HasMember(path.c_str()));
  const auto& op = doc["paths"][path.c_str()][lower(method).c_str()];
  CHECK(std::string(op["operationId"].GetString()).rfind("clinic", 0) == 0);
  const auto params = parameter_names(doc, op);
  const bool admin = path.find("/admin/") != std::string::npos;
  const bool command = method == "POST";
  CHECK(params.count("header:Admin-Key") == (admin ? 1u : 0u));
  CHECK(params.count("header:Idempotency-Key") == (command ? 1u : 0u));
  if (admin) {
    CHECK_FALSE(op.HasMember("security"));
  } else {
    REQUIRE(op.HasMember("security"));
    CHECK(op["security"][0].HasMember("ClinicBearer"));
  }
  std::set<std::string> statuses;
  for (const auto& r : op["responses"].GetObject()) statuses.insert(r.name.GetString());
  std::set<std::string> expected = {"200", "400", "401", "500", "503"};
  if (command) expected.insert({"307", "409", "413", "415", "421"});
  if (admin) expected.insert("403");
  if (!command) expected.insert("404");
  CHECK(statuses == expected);
  for (const auto& s : statuses) {
    if (s == "200") continue;
    CAPTURE(s);
    CHECK(std::string(
              answer(doc, path.c_str(), lower(method).c_str(), s.c_str())["$ref"].GetString()) ==
          "#/components/schemas/ClinicError");
  }
  CHECK(op["responses"]["503"]["headers"].HasMember("Retry-After"));
  CHECK(op.HasMember("requestBody") == command);
}

// The seeds' schemas (by their titles) and the clinic's own.
const char* const kClinicSchemas[] = {"ReserveByVisitorIdCommand",
                                      "OpenReserveCommandV2",
                                      "OpenUpdateReservationCommandV2",
                                      "OccupiedResource",
                                      "OccupiedReservationGroupResource",
                                      "Doctor",
                                      "ReservationRequestedProcedure",
                                      "ReservationRequestedOptionConfiguration",
                                      "ReservationRequestedTicketConfiguration",
                                      "ReservationRequestedOptionPrice",
                                      "MedicalService",
                                      "ReservationFunnel",
                                      "Code",
                                      "Counselor",
                                      "ReservationAssignee",
                                      "ConnectedChannel",
                                      "ReserveCommandResponse",
                                      "ClinicError",
                                      "ClinicSchedule",
                                      "ClinicSchedulePage",
                                      "ZoneOccupancy"};

TEST_CASE("openapi_document: the clinic dialect alone, its routes and seed components") {
  const std::vector<std::string> alone = {"clinic"};
  const auto doc = parse(openapi_document(alone));
  const auto routes = openapi_routes("clinic");
  CHECK(std::set<Route>(routes.begin(), routes.end()) == kClinicRoutes);
  std::set<Route> expected = kCommon;
  expected.insert(kClinicRoutes.begin(), kClinicRoutes.end());
  CHECK(described_routes(doc) == expected);
  for (const Route& r : kClinicRoutes) check_clinic_operation(doc, r);

  const auto& schemas = doc["components"]["schemas"];
  for (const char* name : kClinicSchemas) {
    CAPTURE(name);
    CHECK(schemas.HasMember(name));
  }
  CHECK_FALSE(schemas.HasMember("Reservation"));  // canonical's
  CHECK(strings(schemas["ReserveByVisitorIdCommand"]["required"]) ==
        std::set<std::string>{"visitorId", "reservationGroupId", "zoneId", "startDateTimeUtc",
                              "endDateTimeUtc"});
  CHECK(strings(schemas["OpenUpdateReservationCommandV2"]["required"]) ==
        std::set<std::string>{"scheduleId", "zoneId", "occupiedResources"});
  CHECK(strings(schemas["ReservationRequestedOptionConfiguration"]["required"]) ==
        std::set<std::string>{"optionId", "optionTitle", "price"});
  CHECK(strings(schemas["ConnectedChannel"]["enum"]) ==
        std::set<std::string>{"Channel_UNSPEICIFED", "GANGNAMUNNI", "HOMEPAGE", "KOS_CONNECT"});
  CHECK(schemas["Unit"]["properties"]["type"]["enum"].Size() == 22);
  CHECK(std::string(schemas["Code"]["properties"]["order"]["format"].GetString()) == "int32");
  CHECK(std::string(schemas["ReserveCommandResponse"]["properties"]["reservationId"]["format"]
                        .GetString()) == "uuid");
  CHECK(strings(schemas["ClinicError"]["required"]) ==
        std::set<std::string>{"status", "message", "className", "errorProperties"});
  CHECK(schemas["ZoneOccupancy"]["properties"]["capacity"]["nullable"].GetBool());
  CHECK(doc["components"]["securitySchemes"]["ClinicBearer"]["scheme"] == "bearer");

  const char* v1 = "/schedule/open/v1/commands/reserve-by-visitor-id";
  CHECK(doc["paths"][v1]["post"]["deprecated"].GetBool());
  CHECK(std::string(answer(doc, v1, "post", "200")["$ref"].GetString()) ==
        "#/components/schemas/ReserveCommandResponse");
  CHECK(std::string(
            answer(doc, "/schedule/open/v1/commands/cancel-reservation", "post", "200")["$ref"]
                .GetString()) == "#/components/schemas/Empty");
  const auto& page = doc["paths"]["/schedule/open/v1/visitors/{visitorId}/schedules"]["get"];
  CHECK(parameter_names(doc, page) ==
        std::set<std::string>{"path:visitorId", "query:from", "query:to", "query:limit",
                              "query:cursor", "header:Reservoir-Min-Offset"});
  const auto& day = doc["paths"]["/schedule/open/v1/zones/{zoneId}/occupancy"]["get"];
  const rapidjson::Value* date = resolve(doc, day["parameters"][1]);
  CHECK(std::string((*date)["name"].GetString()) == "date");
  CHECK((*date)["required"].GetBool());
  const std::string bad_v2 =
      doc["paths"]["/schedule/open/v2/commands/reserve"]["post"]["responses"]["400"]["description"]
          .GetString();
  CHECK(bad_v2.rfind("InvalidCommandException (", 0) == 0);
  CHECK(bad_v2.find("InvalidRequestException") != std::string::npos);
}

TEST_CASE("openapi_document: clinic beside canonical, each with its own components") {
  const std::vector<std::string> both = {"canonical", "clinic"};
  const auto mixed = parse(openapi_document(both));
  CHECK(described_routes(mixed).size() == 3 + 15 + 10);
  check_operations(mixed);
  CHECK(operation_id(mixed, "/api/v1/admin/users", "post") == "canonicalCreateUser");
  CHECK(operation_id(mixed, "/schedule/open/v1/admin/zones", "post") == "clinicCreateZone");
  CHECK_FALSE(mixed["paths"]["/api/v1/admin/users"]["post"].HasMember("security"));
  CHECK(mixed["components"]["schemas"].HasMember("Reservation"));
  CHECK(mixed["components"]["schemas"].HasMember("OccupiedResource"));
  CHECK_FALSE(parse(openapi_document({"canonical"}))["components"].HasMember("securitySchemes"));
}

}  // namespace
}  // namespace reservoir::api
