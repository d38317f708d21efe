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

namespace reservoir::codec {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

template <class T>
void write_json_value(JsonWriter& w, const T& v);

struct JsonFields {
  JsonWriter& w;
  template <class V>
  void operator()(const char* name, const V& v) {
    w.Key(name);
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

// Writes {"offset":N,"type":"…","version":N,"time":"…","data":{…}} for an
// envelope whose payload decodes with Catalog; Corruption otherwise.
template <class Catalog>
Status write_envelope_json(JsonWriter& w, const EventEnvelope& env, const std::string& time_iso) {
  auto decoded = Catalog::decode(env);
  if (!decoded.ok()) return decoded.status();
  w.StartObject();
  w.Key("offset");
  w.Uint64(env.offset);
  w.Key("type");
  w.String(env.type.c_str());
  w.Key("version");
  w.Uint(env.version);
  w.Key("time");
  w.String(time_iso.c_str());
  w.Key("data");
  std::visit([&](const auto& e) { write_json_value(w, e); }, *decoded);
  w.EndObject();
  return Status::OK();
}

}  // namespace reservoir::codec
