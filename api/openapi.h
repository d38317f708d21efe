// OpenAPI 3.0.3 documents of the HTTP API (SPEC §5.1 "GET /v3/api-docs"):
// one JSON document per listener describing exactly the routes of the
// dialects it serves ("canonical" §2, "concert-events" §5.3, "queue-tokens"
// §5.4, "clinic" §6), each operation with its parameters (path ids, query, the
// headers Queue-Token / User-Token / TOKEN-ID / Idempotency-Key / Admin-Key),
// its security requirement (clinic: the http bearer scheme of
// --clinic-api-key, except on admin routes, which take Admin-Key), its JSON
// request body, its 200 answer in the dialect's envelope and its error answers
// (statuses and codes of §2, §5.5 and §6.2, 413/415 where a body is read, 503
// with Retry-After, 500) in the dialect's error shape. SPEC §7's offsets: every
// command answers with `Reservoir-Offset` and may be refused by a query
// replica (307 to the writer, 421 NOT_WRITER); every query takes
// `Reservoir-Min-Offset` and answers with `Reservoir-Applied` (503 when the
// offset was not applied in time). GET /healthz, GET /metrics
// and GET /v3/api-docs are always described. The document is generated from
// the static route tables of openapi_dialects.cc; operation ids are prefixed
// with the dialect, so they are unique within a document; a document holds
// only the components its operations refer to ($ref, or a security
// requirement for components/securitySchemes).
//
// Listing order decides: a route of a later dialect whose path collides with
// one of an earlier dialect (SPEC §5.1's rule: one request path matches both
// templates) is left out; unknown names and repeated names are ignored.
//
// Thread safety: pure functions over immutable tables; callable from any
// number of threads. Nothing is cached: a listener renders its document once.
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

namespace reservoir::api {

// The OpenAPI 3.0.3 document (JSON text) of a listener serving `dialects`
// (names: "canonical", "concert-events", "queue-tokens", "clinic"; in listing order),
// always including GET /healthz, GET /metrics and GET /v3/api-docs.
std::string openapi_document(const std::vector<std::string>& dialects);

// Every (method, path template) the document describes for one dialect,
// e.g. {"GET", "/api/v1/concerts/{concertId}/schedules"}; empty for an unknown name.
std::vector<std::pair<std::string, std::string>> openapi_routes(const std::string& dialect);

// The tables the documents are generated from (openapi_dialects.cc); not for
// callers other than openapi.cc.
namespace openapi_detail {

// How a 200 answer wraps the operation's data: canonical {"result","data"},
// concert-events {"data"} or {"list"}; queue-tokens and clinic: bare.
enum class Envelope { kCanonical, kConcertEvents, kQueueTokens, kClinic };

struct Operation {
  const char* method;         // "GET", "POST", "PATCH", "DELETE"
  const char* path;           // template, e.g. "/api/v1/reservations/{reservationId}"
  const char* name;           // operationId without the dialect prefix
  const char* summary;        //
  const char* params;         // components/parameters names, space-separated
  const char* body;           // components/schemas name of the request body, or ""
  const char* ok;             // components/schemas name of the answer's data; "[X]": a list of X
  const char* errors;         // "STATUS codes|STATUS codes…", e.g. "404 USER_NOT_FOUND|422 …"
  const char* security = "";  // components/securitySchemes name it requires, or ""
  bool deprecated = false;    // e.g. seed 003's V1 reserve
};

struct Dialect {
  const char* name;          // "canonical"
  const char* prefix;        // of operation ids: "canonical"
  Envelope envelope;         //
  const char* components;    // JSON object: schemas/parameters/… of this dialect
  const char* error_schema;  // components/schemas name of its error shape
  // What every operation may answer, in this dialect's words (SPEC §5.5):
  const char* bad_request;  // 400 (an operation's own 400 text may start with it)
  const char* too_large;    // 413
  const char* unsupported;  // 415
  const char* internal;     // 500
  const char* overloaded;   // 503
  const char* not_writer;   // 421 (and the 307 body) of a command sent to a replica (SPEC §7)
  const char* unavailable;  // 503 of a query whose Reservoir-Min-Offset was not applied in time
  std::span<const Operation> operations;
};

// Components every document holds (ids, path parameters, Retry-After, the
// offsets of SPEC §7).
const char* common_components();
// The known dialects, in a fixed order.
const std::vector<Dialect>& dialects();

}  // namespace openapi_detail
}  // namespace reservoir::api
