#include "api/openapi.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>
#include <map>
#include <set>
#include <stdexcept>
#include <string_view>

namespace reservoir::api {

namespace {

using openapi_detail::Dialect;
using openapi_detail::Envelope;
using openapi_detail::Operation;
using rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;

Value str(std::string_view s, Alloc& a) {
  return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

void add(Value& object, std::string_view key, Value value, Alloc& a) {
  object.AddMember(str(key, a), value, a);
}

// A JSON text of the tables as a value of the document; the tables are
// constants, so a parse error is a programming error.
Value parse(const char* json, Alloc& a) {
  rapidjson::Document doc;
  doc.Parse(json);
  if (doc.HasParseError()) throw std::logic_error("openapi: a table is not valid JSON");
  Value out;
  out.CopyFrom(doc, a);
  return out;
}

Value ref(std::string_view kind, std::string_view name, Alloc& a) {
  Value v(rapidjson::kObjectType);
  add(v, "$ref", str(std::string("#/components/") + std::string(kind) + "/" + std::string(name), a),
      a);
  return v;
}

Value object_schema(std::string_view required_key, Value property, Alloc& a) {
  Value s(rapidjson::kObjectType);
  add(s, "type", str("object", a), a);
  Value required(rapidjson::kArrayType);
  required.PushBack(str(required_key, a), a);
  add(s, "required", std::move(required), a);
  Value properties(rapidjson::kObjectType);
  add(properties, required_key, std::move(property), a);
  add(s, "properties", std::move(properties), a);
  return s;
}

// The 200 body's schema: `ok` ("X" or "[X]") in the dialect's envelope.
Value answer_schema(const Dialect& d, std::string_view ok, Alloc& a) {
  const bool list = ok.size() > 2 && ok.front() == '[' && ok.back() == ']';
  Value data = ref("schemas", list ? ok.substr(1, ok.size() - 2) : ok, a);
  if (list) {
    Value array(rapidjson::kObjectType);
    add(array, "type", str("array", a), a);
    add(array, "items", std::move(data), a);
    data = std::move(array);
  }
  switch (d.envelope) {
    case Envelope::kCanonical: {
      Value s = object_schema("data", std::move(data), a);
      s["required"].PushBack(str("result", a), a);
      add(s["properties"], "result", parse(R"({"type":"string","enum":["SUCCESS"]})", a), a);
      return s;
    }
    case Envelope::kConcertEvents:
      return object_schema(list ? "list" : "data", std::move(data), a);
    case Envelope::kQueueTokens:
    case Envelope::kClinic:
      break;
  }
  return data;
}

Value json_content(Value schema, Alloc& a) {
  Value media(rapidjson::kObjectType);
  add(media, "schema", std::move(schema), a);
  Value content(rapidjson::kObjectType);
  add(content, "application/json", std::move(media), a);
  return content;
}

// The headers of SPEC §7 an answer may carry: a command's Reservoir-Offset
// (every answer its handler gives on the writer; a 413 is cut before any
// handler, and a replica refuses with 307 or 421 without one), a query's
// Reservoir-Applied (any answer but a 500), a 307's Location, a 503's
// Retry-After. An empty object when none.
Value answer_headers(bool command, int status, Alloc& a) {
  Value headers(rapidjson::kObjectType);
  if (status == 307) add(headers, "Location", ref("headers", "Location", a), a);
  if (status == 503) add(headers, "Retry-After", ref("headers", "RetryAfter", a), a);
  if (command && status < 500 && status != 307 && status != 413 && status != 421) {
    add(headers, "Reservoir-Offset", ref("headers", "ReservoirOffset", a), a);
  }
  if (!command && status != 500) {
    add(headers, "Reservoir-Applied", ref("headers", "ReservoirApplied", a), a);
  }
  return headers;
}

Value error_response(const Dialect& d, bool command, int status, const std::string& codes,
                     Alloc& a) {
  Value r(rapidjson::kObjectType);
  add(r, "description", str(codes, a), a);
  if (Value headers = answer_headers(command, status, a); !headers.ObjectEmpty()) {
    add(r, "headers", std::move(headers), a);
  }
  add(r, "content", json_content(ref("schemas", d.error_schema, a), a), a);
  return r;
}

// status -> the codes (or messages) an operation may answer with it.
std::map<int, std::string> error_codes(const Dialect& d, const Operation& op) {
  std::map<int, std::string> out;
  std::string_view rest = op.errors;
  while (!rest.empty()) {
    const size_t bar = rest.find('|');
    const std::string_view item = rest.substr(0, bar);
    out[std::stoi(std::string(item.substr(0, 3)))] = std::string(item.substr(4));
    rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
  }
  auto& bad = out[400];  // the shared 400, unless the operation's own text starts with it
  if (bad.rfind(d.bad_request, 0) != 0) {
    bad = bad.empty() ? d.bad_request : std::string(d.bad_request) + ", " + bad;
  }
  // A body is read where there is one, and for the canonical token in a body.
  if (*op.body || std::string_view(op.params).find("QueueToken") != std::string_view::npos) {
    out[413] = d.too_large;
    out[415] = d.unsupported;
  }
  out.emplace(500, d.internal);  // unless the operation names its own
  out[503] = d.overloaded;
  if (std::string_view(op.method) != "GET") {  // a command sent to a query replica (SPEC §7)
    out[307] =
        std::string(d.not_writer) + ": the writer decides commands (replica with --writer-url)";
    out[421] = std::string(d.not_writer) + " (replica without --writer-url)";
  } else {
    const std::string late = " when Reservoir-Min-Offset was not applied within --min-offset-wait";
    const bool same = std::string_view(d.unavailable) == d.overloaded;
    out[503] += same ? ", also" + late : "; " + std::string(d.unavailable) + late;
  }
  return out;
}

Value responses(const Dialect& d, const Operation& op, Alloc& a) {
  Value r(rapidjson::kObjectType);
  Value ok(rapidjson::kObjectType);
  const bool command = std::string_view(op.method) != "GET";
  add(ok, "description", str("OK", a), a);
  add(ok, "headers", answer_headers(command, 200, a), a);
  add(ok, "content", json_content(answer_schema(d, op.ok, a), a), a);
  add(r, "200", std::move(ok), a);
  for (const auto& [status, codes] : error_codes(d, op)) {
    add(r, std::to_string(status), error_response(d, command, status, codes, a), a);
  }
  return r;
}

Value operation(const Dialect& d, const Operation& op, Alloc& a) {
  Value o(rapidjson::kObjectType);
  Value tags(rapidjson::kArrayType);
  tags.PushBack(str(d.name, a), a);
  add(o, "tags", std::move(tags), a);
  add(o, "summary", str(op.summary, a), a);
  add(o, "operationId", str(std::string(d.prefix) + op.name, a), a);
  if (op.deprecated) add(o, "deprecated", Value(true), a);
  if (*op.security) {
    Value requirement(rapidjson::kObjectType);
    add(requirement, op.security, Value(rapidjson::kArrayType), a);
    Value security(rapidjson::kArrayType);
    security.PushBack(std::move(requirement), a);
    add(o, "security", std::move(security), a);
  }
  Value params(rapidjson::kArrayType);
  std::string_view rest = op.params;
  while (!rest.empty()) {
    const size_t space = rest.find(' ');
    params.PushBack(ref("parameters", rest.substr(0, space), a), a);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  if (std::string_view(op.method) == "GET") {  // read-your-writes on any node (SPEC §7)
    params.PushBack(ref("parameters", "ReservoirMinOffset", a), a);
  }
  if (!params.Empty()) add(o, "parameters", std::move(params), a);
  if (*op.body) {
    Value body(rapidjson::kObjectType);
    add(body, "required", Value(true), a);
    add(body, "content", json_content(ref("schemas", op.body, a), a), a);
    add(o, "requestBody", std::move(body), a);
  }
  add(o, "responses", responses(d, op, a), a);
  return o;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void add_operation(Value& paths, std::string_view path, std::string_view method, Value op,
                   Alloc& a) {
  auto it = paths.FindMember(Value(rapidjson::StringRef(path.data(), path.size())));
  if (it == paths.MemberEnd()) {
    add(paths, path, Value(rapidjson::kObjectType), a);
    it = paths.MemberEnd() - 1;
  }
  add(it->value, lower(method), std::move(op), a);
}

// The routes every listener serves, whatever its dialects.
constexpr char kCommonPaths[] = R"json({
  "/healthz": {"get": {"tags": ["common"], "summary": "Liveness", "operationId": "getHealthz",
    "responses": {"200": {"description": "The server is up",
      "content": {"application/json": {"schema": {"type": "object"}}}}}}},
  "/metrics": {"get": {"tags": ["common"], "summary": "Prometheus metrics",
    "operationId": "getMetrics",
    "responses": {"200": {"description": "Prometheus text format",
      "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
  "/v3/api-docs": {"get": {"tags": ["common"], "summary": "This document",
    "operationId": "getApiDocs",
    "responses": {"200": {"description": "OpenAPI 3.0 document of this listener's routes",
      "content": {"application/json": {"schema": {"type": "object"}}}}}}}
})json";

// SPEC §5.1: one request path matches both templates (same segment count; at
// each segment equal literals or a parameter on either side).
bool collide(std::string_view x, std::string_view y) {
  while (!x.empty() || !y.empty()) {
    if (x.empty() || y.empty()) return false;
    const size_t i = x.find('/', 1), j = y.find('/', 1);
    const std::string_view sx = x.substr(0, i), sy = y.substr(0, j);
    if (sx != sy && sx.find('{') == std::string_view::npos &&
        sy.find('{') == std::string_view::npos) {
      return false;
    }
    x = i == std::string_view::npos ? std::string_view() : x.substr(i);
    y = j == std::string_view::npos ? std::string_view() : y.substr(j);
  }
  return true;
}

const Dialect* find_dialect(std::string_view name) {
  for (const auto& d : openapi_detail::dialects()) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

// Members of `from` (an object of objects, like "components") that `into`
// does not have yet, section by section.
void merge_sections(Value& into, Value& from, Alloc& a) {
  for (auto& section : from.GetObject()) {
    auto target = into.FindMember(section.name);
    if (target == into.MemberEnd()) {
      into.AddMember(section.name, section.value, a);
      continue;
    }
    for (auto& member : section.value.GetObject()) {
      if (!target->value.HasMember(member.name)) {
        target->value.AddMember(member.name, member.value, a);
      }
    }
  }
}

// The listed dialects, known and each once, in listing order.
std::vector<const Dialect*> listed(const std::vector<std::string>& names) {
  std::vector<const Dialect*> out;
  for (const auto& name : names) {
    const Dialect* d = find_dialect(name);
    bool seen = false;
    for (const Dialect* e : out) seen = seen || e == d;
    if (d && !seen) out.push_back(d);
  }
  return out;
}

void add_dialect_paths(Value& paths, const std::vector<const Dialect*>& ds, Alloc& a) {
  std::vector<std::string_view> earlier;  // paths of the dialects before
  for (const Dialect* d : ds) {
    std::vector<std::string_view> mine;
    for (const Operation& op : d->operations) {
      bool taken = false;
      for (std::string_view p : earlier) taken = taken || collide(p, op.path);
      if (taken) continue;
      add_operation(paths, op.path, op.method, operation(*d, op, a), a);
      mine.push_back(op.path);
    }
    earlier.insert(earlier.end(), mine.begin(), mine.end());
  }
}

Value info(const std::vector<const Dialect*>& ds, Alloc& a) {
  std::string names;
  for (const Dialect* d : ds) names += (names.empty() ? "" : ", ") + std::string(d->name);
  Value v(rapidjson::kObjectType);
  add(v, "title", str("Reservoir", a), a);
  add(v, "description",
      str("Reservation API; dialects on this listener: " +
              (names.empty() ? std::string("none") : names),
          a),
      a);
  add(v, "version", str("1.0.0", a), a);
  return v;
}

// The components `v` refers to: "$ref"s, and the schemes an operation's
// "security" requirements name ([{"Scheme": []}]).
void collect_refs(const Value& v, std::set<std::string>& out) {
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      const std::string_view name = m.name.GetString();
      if (name == "$ref" && m.value.IsString()) {
        out.insert(m.value.GetString());
      } else if (name == "security" && m.value.IsArray()) {
        for (const auto& requirement : m.value.GetArray()) {
          if (!requirement.IsObject()) continue;
          for (const auto& scheme : requirement.GetObject()) {
            out.insert(std::string("#/components/securitySchemes/") + scheme.name.GetString());
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

constexpr std::string_view kComponentsRef = "#/components/";

// The component a local ref names ("#/components/schemas/X"), or null.
const Value* component(const Value& components, std::string_view ref) {
  if (ref.substr(0, kComponentsRef.size()) != kComponentsRef) return nullptr;
  ref.remove_prefix(kComponentsRef.size());
  const size_t slash = ref.find('/');
  if (slash == std::string_view::npos) return nullptr;
  const std::string section(ref.substr(0, slash)), name(ref.substr(slash + 1));
  const auto s = components.FindMember(section.c_str());
  if (s == components.MemberEnd()) return nullptr;
  const auto m = s->value.FindMember(name.c_str());
  return m == s->value.MemberEnd() ? nullptr : &m->value;
}

// Drops the components no path refers to, directly or through another
// component, so a document holds only what its dialects use.
void prune_components(Value& components, const Value& paths) {
  std::set<std::string> used;
  collect_refs(paths, used);
  for (std::set<std::string> todo = used; !todo.empty();) {
    std::set<std::string> found;
    for (const auto& r : todo) {
      if (const Value* c = component(components, r)) collect_refs(*c, found);
    }
    todo.clear();
    for (const auto& r : found) {
      if (used.insert(r).second) todo.insert(r);
    }
  }
  for (auto& section : components.GetObject()) {
    const std::string prefix = std::string(kComponentsRef) + section.name.GetString() + "/";
    for (auto m = section.value.MemberBegin(); m != section.value.MemberEnd();) {
      const bool keep = used.count(prefix + m->name.GetString()) > 0;
      m = keep ? m + 1 : section.value.EraseMember(m);
    }
  }
}

}  // namespace

std::string openapi_document(const std::vector<std::string>& dialects) {
  const std::vector<const Dialect*> ds = listed(dialects);
  rapidjson::Document doc(rapidjson::kObjectType);
  Alloc& a = doc.GetAllocator();
  add(doc, "openapi", str("3.0.3", a), a);
  add(doc, "info", info(ds, a), a);
  Value tags(rapidjson::kArrayType);
  for (const Dialect* d : ds) {
    Value tag(rapidjson::kObjectType);
    add(tag, "name", str(d->name, a), a);
    add(tag, "description", str(std::string("Routes of the ") + d->name + " dialect", a), a);
    tags.PushBack(std::move(tag), a);
  }
  tags.PushBack(parse(R"({"name":"common","description":"Routes every listener serves"})", a), a);
  add(doc, "tags", std::move(tags), a);
  Value paths = parse(kCommonPaths, a);
  add_dialect_paths(paths, ds, a);
  Value components = parse(openapi_detail::common_components(), a);
  for (const Dialect* d : ds) {
    Value mine = parse(d->components, a);
    merge_sections(components, mine, a);
  }
  prune_components(components, paths);
  add(doc, "paths", std::move(paths), a);
  add(doc, "components", std::move(components), a);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
  doc.Accept(writer);
  return std::string(buf.GetString(), buf.GetSize());
}

std::vector<std::pair<std::string, std::string>> openapi_routes(const std::string& dialect) {
  std::vector<std::pair<std::string, std::string>> out;
  if (const Dialect* d = find_dialect(dialect)) {
    for (const Operation& op : d->operations) out.emplace_back(op.method, op.path);
  }
  return out;
}

}  // namespace reservoir::api
