// Events the engine itself writes, whatever the domain: the remembered answer
// to an idempotent command. Living in the log, the answers survive restarts
// and replay exactly.
//
// Thread safety: value types.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "events/catalog.h"

namespace reservoir::events {

struct IdempotencyRecorded {
  static constexpr const char* kType = "IdempotencyRecorded";
  static constexpr uint32_t kVersion = 1;
  std::string scope;        // the user the command acted for
  std::string key;          // client's Idempotency-Key
  int64_t fingerprint = 0;  // hash of method, path and canonical body
  int64_t status = 0;       // the answer's HTTP status
  std::string body;         // the answer's body, byte for byte
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("scope", s.scope);
    f("key", s.key);
    f("fingerprint", s.fingerprint);
    f("status", s.status);
    f("body", s.body);
  }
};

using EngineEvent = std::variant<IdempotencyRecorded>;
using EngineCatalog = Catalog<EngineEvent>;

}  // namespace reservoir::events
