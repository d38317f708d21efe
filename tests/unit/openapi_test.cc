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

void collect_refs(const rapidjson::Value& v, std::vector<std::string>& out) {
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      if (std::string(m.name.GetString()) == "$ref" && m.value.IsString()) {
        out.emplace_back(m.value.GetString());
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

// What every operation of a document must hold: unique ids, a 200, path
// parameters matching the template; a dialect's also a 400, a 500 and a 503
// with Retry-After.
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
      if (std::string(path.name.GetString()).rfind("/api/", 0) != 0 &&
          std::string(path.name.GetString()).rfind("/v1/", 0) != 0) {
        continue;  // the common routes
      }
      CHECK(op["responses"].HasMember("400"));
      CHECK(op["responses"].HasMember("500"));
      REQUIRE(op["responses"].HasMember("503"));
      CHECK(op["responses"]["503"]["headers"].HasMember("Retry-After"));
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

const std::set<Route> kCommon = {{"GET", "/healthz"}, {"GET", "/metrics"}, {"GET", "/v3/api-docs"}};

TEST_CASE("openapi_document: each listener's document describes exactly its dialects' routes") {
  const std::vector<std::vector<std::string>> listeners = {
      {"canonical"}, {"concert-events"}, {"queue-tokens"}, {"canonical", "queue-tokens"}};
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

TEST_CASE("openapi_routes: the tables of SPEC §2, §5.3 and §5.4 with their parameter names") {
  const auto canonical = openapi_routes("canonical");
  const auto events = openapi_routes("concert-events");
  const auto tokens = openapi_routes("queue-tokens");
  CHECK(canonical.size() == 15);
  CHECK(events.size() == 10);
  CHECK(tokens.size() == 9);
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
      {"queue-tokens", {"userId", "concertId", "scheduleId"}}};
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

}  // namespace
}  // namespace reservoir::api
