// JSON rendering of codec Records (json_codec: the third use of a record's
// field list), for replay's machine output and for tests.
//
// Thread safety: stateless; safe from any thread.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <variant>

#include "events/codec.h"
#include "events/envelope.h"
#include "events/status.h"
#include "events/time_format.h"

namespace reservoir::codec {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Fields named "…At" (createdAt, expiresAt, …) hold Unix milliseconds.
inline bool is_time_field(std::string_view name) {
  return name.size() > 2 && name.substr(name.size() - 2) == "At";
}

template <class T>
void write_json_value(JsonWriter& w, const T& v);

// The keys an event rendered as JSON opens with, the same in `replay --format
// json` and the console's event browser: offset, type, version and time
// (ISO 8601, UTC, ms). The caller writes "data" and closes the object.
inline void write_envelope_keys(JsonWriter& w, const EventEnvelope& env) {
  w.Key("offset");
  w.Uint64(env.offset);
  w.Key("type");
  w.String(env.type.c_str());
  w.Key("version");
  w.Uint(env.version);
  w.Key("time");
  const std::string time = format_iso8601_ms(env.time_ms);
  w.String(time.c_str());
}

struct JsonFields {
  JsonWriter& w;
  template <class V>
  void operator()(const char* name, const V& v, uint32_t = 1, uint32_t until = kLive) {
    if (until != kLive) return;  // a dropped field (a secret): never shown
    w.Key(name);
    if constexpr (std::is_same_v<V, int64_t>) {
      if (is_time_field(name)) {  // times read as ISO-8601, like the API's
        const std::string iso = format_iso8601_ms(v);
        w.String(iso.c_str());
        return;
      }
    }
    write_json_value(w, v);
  }
};

template <class T>
void write_json_value(JsonWriter& w, const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  } else if constexpr (std::is_same_v<T, bool>) {
    w.Bool(v);
  } else if constexpr (std::is_integral_v<T>) {
    w.Int64(static_cast<int64_t>(v));
  } else if constexpr (IsVector<T>::value) {
    w.StartArray();
    for (const auto& e : v) write_json_value(w, e);
    w.EndArray();
  } else {
    w.StartObject();
    T::fields(v, JsonFields{w});
    w.EndObject();
  }
}

}  // namespace reservoir::codec
