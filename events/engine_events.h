// Events the engine itself writes, whatever the domain: the remembered answer
// to an idempotent command. Living in the log, the answers survive restarts
// and replay exactly.
//
// Thread safety: value types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "events/catalog.h"

namespace reservoir::events {

// Version 2 (issue 16): an answer that shows a bearer secret (a new queue
// token) is stored with each occurrence of it replaced by kSecretMark, and
// `redacted` names the secret by its hash (events/secrets.h); the writer
// puts the secret back, opened from the engine's state, when it replays the
// answer. So the log never holds a token in clear, and a retry still gets
// the first answer byte for byte. kSecretMark is a control character, which
// a JSON body never holds raw.
inline constexpr std::string_view kSecretMark = "\x01";

struct IdempotencyRecorded {
  static constexpr const char* kType = "IdempotencyRecorded";
  static constexpr uint32_t kVersion = 2;
  std::string scope;        // the user the command acted for
  std::string key;          // client's Idempotency-Key
  int64_t fingerprint = 0;  // hash of method, path and canonical body
  int64_t status = 0;       // the answer's HTTP status
  std::string body;         // the answer's body, byte for byte, but for kSecretMark
  std::string redacted;     // tokenHash of the secret cut out of body; "" when none
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("scope", s.scope);
    f("key", s.key);
    f("fingerprint", s.fingerprint);
    f("status", s.status);
    f("body", s.body);
    f("redacted", s.redacted, 2);
  }
};

using EngineEvent = std::variant<IdempotencyRecorded>;
using EngineCatalog = Catalog<EngineEvent>;

}  // namespace reservoir::events
