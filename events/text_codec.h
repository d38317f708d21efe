// Text rendering of codec Records for people (`reservoir replay` default
// format): `name=value` pairs, nested records in braces, vectors in brackets.
// Also top-level field lookup by name, for filters such as --user.
//
// Thread safety: stateless; safe from any thread.
#pragma once

#include <optional>
#include <string>

#include "events/codec.h"
#include "events/json_codec.h"

namespace reservoir::codec {

template <class T>
void write_text_value(std::string& out, const T& v);

struct TextFields {
  std::string& out;
  bool first = true;
  template <class V>
  void operator()(const char* name, const V& v, uint32_t = 1, uint32_t until = kLive) {
    if (until != kLive) return;  // a dropped field (a secret): never shown
    if (!first) out.push_back(' ');
    first = false;
    out.append(name).push_back('=');
    if constexpr (std::is_same_v<V, int64_t>) {
      if (is_time_field(name)) {
        out.append(format_iso8601_ms(v));
        return;
      }
    }
    write_text_value(out, v);
  }
};

template <class T>
void write_text_value(std::string& out, const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    out.append(v);
  } else if constexpr (std::is_same_v<T, bool>) {
    out.append(v ? "true" : "false");
  } else if constexpr (std::is_integral_v<T>) {
    out.append(std::to_string(v));
  } else if constexpr (IsVector<T>::value) {
    out.push_back('[');
    for (size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out.push_back(',');
      write_text_value(out, v[i]);
    }
    out.push_back(']');
  } else {
    out.push_back('{');
    T::fields(v, TextFields{out});
    out.push_back('}');
  }
}

// The value of top-level string field `name` of a record, if it has one.
template <Record T>
std::optional<std::string> string_field(const T& v, std::string_view name) {
  std::optional<std::string> found;
  T::fields(v, [&](const char* field, const auto& value, uint32_t = 1, uint32_t = kLive) {
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) {
      if (!found && name == field) found = value;
    }
  });
  return found;
}

}  // namespace reservoir::codec
