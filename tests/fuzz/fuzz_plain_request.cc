// Fuzz target: the epoll thread's own reading of a request
// (api/plain_http.h), differential against httplib's. Input: the bytes a
// client sent. Whatever parse_plain_request takes, httplib 0.11 must read
// the same way (tests/support/httplib_reading.h); a mismatch, a crash or a
// sanitizer report is a finding. What it refuses is left to httplib.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "api/plain_http.h"
#include "support/httplib_reading.h"

using namespace reservoir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const std::optional<api::PlainRequest> p =
      api::parse_plain_request(bytes, test::ReadingServer::kBodyBytesMax);
  if (!p) return 0;
  static test::ReadingServer* server = new test::ReadingServer();
  const std::string differs = server->mismatch(bytes, *p);
  if (!differs.empty()) {
    std::fprintf(stderr, "httplib reads it otherwise: %s\n", differs.c_str());
    std::abort();
  }
  return 0;
}
