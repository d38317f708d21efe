// The binary form of a run of event envelopes, shared by the event logs: the
// embedded log's record body and a Kafka message's value are both this.
//   per event: varint type length, type, varint version,
//              varint zigzag(time_ms), varint payload length, payload.
// Offsets are not encoded: a log knows the offset of a run's first event.
//
// Thread safety: free functions on caller-owned data.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "events/codec.h"
#include "events/envelope.h"

namespace reservoir::envelope_codec {

// Appends one event to `out`.
inline void encode(const EventEnvelope& e, std::string& out) {
  codec::put_varint(out, e.type.size());
  out.append(e.type);
  codec::put_varint(out, e.version);
  codec::put_varint(out, codec::zigzag(e.time_ms));
  codec::put_varint(out, e.payload.size());
  out.append(e.payload);
}

// Decodes `count` events numbered from `first`, appending those in
// [from, until) to *out. False when `body` is not exactly `count` events.
inline bool decode(std::string_view body, uint64_t count, uint64_t first, uint64_t from,
                   uint64_t until, std::vector<EventEnvelope>* out) {
  codec::Reader in(body);
  for (uint64_t k = 0; k < count && in.ok(); ++k) {
    const std::string_view type = in.string();
    const uint64_t version = in.varint();
    const int64_t time_ms = codec::unzigzag(in.varint());
    const std::string_view payload = in.string();
    if (version > std::numeric_limits<uint32_t>::max()) return false;
    const uint64_t offset = first + k;
    if (!in.ok() || offset < from || offset >= until) continue;
    EventEnvelope& e = out->emplace_back();
    e.offset = offset;
    e.time_ms = time_ms;
    e.version = static_cast<uint32_t>(version);
    e.type.assign(type);
    e.payload.assign(payload);
  }
  return in.ok() && in.at_end();
}

}  // namespace reservoir::envelope_codec
