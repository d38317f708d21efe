// EventEnvelope: one event as the log stores it. The log knows nothing of
// domains: it orders and persists envelopes; a domain's catalog (catalog.h)
// turns payloads into typed events and back.
//
// Thread safety: a value type.
#pragma once

#include <cstdint>
#include <string>

namespace reservoir {

struct EventEnvelope {
  uint64_t offset = 0;   // 0-based consecutive event number, assigned by the log
  int64_t time_ms = 0;   // writer's clock when the event was decided (Unix ms, UTC)
  uint32_t version = 0;  // schema version of `type`
  std::string type;      // stable type name, e.g. "SeatsHeld"
  std::string payload;   // codec.h binary encoding of the typed event
};

}  // namespace reservoir
