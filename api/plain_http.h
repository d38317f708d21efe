// plain_http: the HTTP/1.1 requests our clients send and the answers we
// give, read and written without httplib, byte for byte as httplib 0.11
// (Debian 12) reads and writes them, for the requests the epoll thread
// serves itself (http_server.cc). On queries and charges, httplib's reading
// of a request (its line reader, its case-blind header map, the headers it
// adds and erases) and its writing of the answer (a stringstream for the
// Keep-Alive header, a second header map) were 8-10% of the server's CPU
// (docs/BENCHMARKS.md, "Where the gap is").
//
// parse_plain_request() takes a request only when httplib would read it to
// exactly the same method, path, parameters, headers and body: anything
// else (HTTP/1.0, percent escapes or '+' httplib would decode, a fragment,
// a chunked body, Expect, Range, an empty or folded header value, a body on
// a GET...) is nullopt, and httplib reads it as before. The two readings
// are compared by tests/unit/plain_http_test.cc and, over whole answers, by
// tests/unit/inline_commands_test.cc.
//
// Thread safety: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/http_names.h"
#include "api/service.h"

namespace reservoir::api {

struct PlainHeader {
  std::string_view name;   // as sent
  std::string_view value;  // without the blanks around it; never empty
};

struct PlainRequest {
  // A request with more header lines is left to httplib.
  static constexpr size_t kHeadersMax = 32;
  // And one with more parameters (plain_query_params keeps this many apart).
  static constexpr size_t kQueryParamsMax = 16;
  std::string_view method;  // GET, POST, PUT, PATCH or DELETE
  std::string_view target;  // path and query as sent
  std::string_view path;    // the target up to '?'
  std::string_view query;   // after '?'; empty when none
  std::string_view body;    // Content-Length bytes after the head; empty without one
  std::array<PlainHeader, kHeadersMax> headers;
  size_t header_count = 0;
  size_t bytes = 0;    // head and body: what the request takes of the buffer
  bool close = false;  // its Connection header says "close" (httplib's test, case and all)

  // The first header with this name (compared without ASCII case; `lower`
  // in lower case), as httplib's header map finds it.
  std::optional<std::string_view> header(std::string_view lower) const;
};

// The request at the start of `buffered` (its head, then its body, then
// perhaps more requests), when its head and whole body are there, it is
// one httplib reads without decoding anything, and its body is at most
// `body_bytes_max`; else nullopt.
std::optional<PlainRequest> parse_plain_request(std::string_view buffered, size_t body_bytes_max);

// The parameters of a query text as httplib's parse_query_text gives them
// (for a query parse_plain_request took: nothing in it is escaped).
void plain_query_params(std::string_view query, std::multimap<std::string, std::string>& out);

// The content types and policy of http_server.cc's send().
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4";
inline constexpr const char* kConsoleContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

// The reason phrase httplib 0.11 writes for a status (its own table is not
// declared by Debian's header), for the statuses our answers have.
const char* reason_phrase(int status);

// What an answer's head says besides the answer itself.
struct PlainAnswerHead {
  std::string_view request_id;  // X-Request-Id
  bool close = false;           // Connection: close, else `keep_alive`
  std::string_view keep_alive;  // the Keep-Alive header's value: "timeout=5, max=1000000"
  bool prometheus = false;      // /metrics: the text exposition's content type
};

// The whole HTTP answer to `a`, appended to `out`, byte for byte as httplib
// writes it once http_server.cc's send() has put `a` in its Response: the
// status line, every header in httplib's case-blind name order, the body.
void write_plain_answer(const Answer& a, const PlainAnswerHead& head, std::string& out);
// The same without the body (a.text()), which follows the head.
void write_plain_head(const Answer& a, const PlainAnswerHead& head, std::string& out);

}  // namespace reservoir::api
