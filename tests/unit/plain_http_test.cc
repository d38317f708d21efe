// plain_http (api/plain_http.h): the epoll thread's own reading of a
// request must be httplib's. Every request parse_plain_request takes, from
// a list of our clients' requests and from random edits of them, is read by
// httplib 0.11's own process_request too (a Server with one catch-all
// handler over an in-memory stream), and the two readings must agree on
// method, target, path, parameters, body, headers, Connection: close and
// the bytes the request takes. Requests it leaves to httplib are counted,
// so the test also shows it takes the common ones.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "api/plain_http.h"
#include "api/service.h"
#include "support/httplib_reading.h"

namespace {

using reservoir::api::Answer;
using reservoir::api::parse_plain_request;
using reservoir::api::PlainRequest;

constexpr size_t kBodyBytesMax = reservoir::test::ReadingServer::kBodyBytesMax;
using reservoir::test::ReadingServer;

// Checks that httplib reads `bytes` as `p` says.
void check_same_reading(ReadingServer& server, const std::string& bytes, const PlainRequest& p) {
  INFO("request: ", bytes);
  CHECK(server.mismatch(bytes, p) == "");
}

std::string post(const std::string& target, const std::string& body, const std::string& extra) {
  return "POST " + target + " HTTP/1.1\r\nHost: t\r\n" + extra +
         "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}
std::string get(const std::string& target, const std::string& extra) {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

// Our clients' requests in every dialect (SPEC §2, §5, §6).
std::vector<std::string> seeds() {
  return {
      post("/api/v1/balance/charge", R"({"userId":"u1","amount":5})", "Idempotency-Key: k1\r\n"),
      post("/api/v1/reservations", R"({"scheduleId":"s1","seatIds":["a"]})",
           "Queue-Token: tok\r\nConnection: close\r\n"),
      get("/api/v1/balance?userId=u1", "X-Request-Id: q-1\r\n"),
      get("/api/v1/concerts/c1/schedules/s1/seats", "Accept: */*\r\nConnection: keep-alive\r\n"),
      get("/api/v1/users/u1/reservations?limit=20&cursor=abc", "Reservoir-Min-Offset: 17\r\n"),
      get("/concerts/1/schedules", "User-Token: t\r\n"),
      "DELETE /api/v1/reservations/r1 HTTP/1.1\r\nHost: t\r\nQueue-Token: no\r\n\r\n",
      "PUT /v1/queue-tokens/users/7 HTTP/1.1\r\nTOKEN-ID: 9\r\nContent-Length: 2\r\n\r\n{}",
      "PATCH /clinic/v1/appointments/a1 HTTP/1.1\r\nAuthorization: Bearer x\r\n"
      "Content-Length: 13\r\n\r\n{\"state\":\"x\"}GET / HTTP/1.1\r\n\r\n",
      get("/api/v1/balance?userId=u1&userId=u1&a==b=c&&=d&e", ""),
  };
}

}  // namespace

TEST_CASE("plain http: our clients' requests are read as httplib reads them") {
  ReadingServer server;
  for (const std::string& bytes : seeds()) {
    const std::optional<PlainRequest> p = parse_plain_request(bytes, kBodyBytesMax);
    INFO(bytes);
    REQUIRE(p.has_value());
    check_same_reading(server, bytes, *p);
  }
}

TEST_CASE("plain http: what httplib would decode, split or read otherwise is left to it") {
  const std::vector<std::string> left = {
      "GET /api/v1/balance HTTP/1.0\r\n\r\n",                    // HTTP/1.0
      "GET /api/v1/b%61lance HTTP/1.1\r\n\r\n",                  // an escape in the path
      "GET /api/v1/balance?userId=u+1 HTTP/1.1\r\n\r\n",         // '+' in the query
      "GET /api/v1/balance#x HTTP/1.1\r\n\r\n",                  // a fragment
      "GET  /api/v1/balance HTTP/1.1\r\n\r\n",                   // two spaces
      "GET /a HTTP/1.1\r\nX-A: %41\r\n\r\n",                     // an escape in a value
      "GET /a HTTP/1.1\r\nIdempotency-Key:\r\n\r\n",             // an empty value
      "GET /a HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n",            // a folded line
      "GET /a HTTP/1.1\nHost: t\r\n\r\n",                        // a bare LF
      "GET /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",          // a GET with a body
      "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",  // chunks
      "POST /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
      "GET /a HTTP/1.1\r\nRange: bytes=0-1\r\n\r\n",
      "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\n{}",  // the body is not all there
      "POST /a HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x",
      "POST /a HTTP/1.1\r\nContent-Length: 70000\r\n\r\n",  // over the bound
      "HEAD /a HTTP/1.1\r\n\r\n",
      "GET /a HTTP/1.1\r\n",  // no blank line yet
  };
  for (const std::string& bytes : left) {
    INFO(bytes);
    CHECK_FALSE(parse_plain_request(bytes, kBodyBytesMax).has_value());
  }
}

TEST_CASE("plain http: random edits of our clients' requests are read as httplib reads them") {
  ReadingServer server;
  const std::vector<std::string> base = seeds();
  static constexpr char kAlphabetBytes[] = " %+?#&=:\t\r\n\0/aA-;0";  // a NUL among them
  constexpr std::string_view kAlphabet(kAlphabetBytes, sizeof kAlphabetBytes - 1);
  std::mt19937_64 rng(20261207);
  size_t taken = 0;
  constexpr int kEdits = 4000;
  for (int i = 0; i < kEdits; ++i) {
    std::string bytes = base[rng() % base.size()];
    for (int e = 0, n = 1 + static_cast<int>(rng() % 3); e < n; ++e) {
      const size_t at = rng() % bytes.size();
      const char c = kAlphabet[rng() % kAlphabet.size()];
      switch (rng() % 3) {
        case 0:
          bytes.insert(at, 1, c);
          break;
        case 1:
          bytes[at] = c;
          break;
        default:
          bytes.erase(at, 1);
          break;
      }
    }
    const std::optional<PlainRequest> p = parse_plain_request(bytes, kBodyBytesMax);
    if (!p) continue;
    ++taken;
    check_same_reading(server, bytes, *p);
  }
  // Most edits land in a value, a path or a body and leave a plain request.
  MESSAGE("plain requests among the edits: ", taken, " of ", kEdits);
  CHECK(taken > kEdits / 4);
}

TEST_CASE("plain http: an answer's head lists its headers in httplib's order") {
  Answer a;
  a.status = 503;
  a.body = "{}";
  a.offset = 12;
  a.applied = 11;
  a.location = "http://w/x";
  std::string out;
  reservoir::api::write_plain_answer(a, {"id-1", false, "timeout=5, max=9", false}, out);
  CHECK(out ==
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n"
        "Content-Type: application/json\r\nKeep-Alive: timeout=5, max=9\r\n"
        "Location: http://w/x\r\nReservoir-Applied: 11\r\nReservoir-Offset: 12\r\n"
        "Retry-After: 1\r\nX-Request-Id: id-1\r\n\r\n{}");
}
