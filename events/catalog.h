// Catalog<Variant>: maps stable type names and schema versions to the typed
// events of one domain (a std::variant of codec Records that each declare
// kType and kVersion). A second domain module brings its own variant.
// Events are written at kVersion and read at any version 1..kVersion: fields
// added later are declared with the version that added them (codec.h), and
// an optional `static void upgrade(E&, const EventEnvelope&)` derives them
// for an older event.
//
// Thread safety: stateless; safe from any thread.
#pragma once

#include <string_view>
#include <variant>

#include "events/codec.h"
#include "events/envelope.h"
#include "events/status.h"

namespace reservoir {

template <class Variant>
class Catalog {
 public:
  using Event = Variant;

  static EventEnvelope encode(const Variant& event, int64_t time_ms) {
    EventEnvelope env;
    env.time_ms = time_ms;
    std::visit(
        [&](const auto& e) {
          using E = std::decay_t<decltype(e)>;
          env.type = E::kType;
          env.version = E::kVersion;
          codec::encode(e, env.payload);
        },
        event);
    return env;
  }

  // Decodes an envelope; Corruption for an unknown type, an unknown version or
  // a malformed payload.
  static Result<Variant> decode(const EventEnvelope& env) {
    // The placeholder is replaced by whichever alternative matches; the
    // message is built only for an unknown type (building it for every
    // event cost a fifth of decoding).
    Result<Variant> out = Variant();
    if (!decode_as<0>(env, out)) {
      return Status::Corruption("unknown event type '" + env.type + "'");
    }
    return out;
  }

  static bool knows(std::string_view type) {
    bool found = false;
    knows_as<0>(type, found);
    return found;
  }

 private:
  // False when no alternative has env.type.
  template <size_t I>
  static bool decode_as(const EventEnvelope& env, Result<Variant>& out) {
    if constexpr (I >= std::variant_size_v<Variant>) {
      return false;
    } else {
      using E = std::variant_alternative_t<I, Variant>;
      // string_view: compares lengths first, and kType's length is known at
      // compile time (no strlen per candidate type).
      if (std::string_view(env.type) != std::string_view(E::kType)) {
        return decode_as<I + 1>(env, out);
      }
      if (env.version < 1 || env.version > E::kVersion) {
        out = Status::Corruption("unsupported version " + std::to_string(env.version) + " of " +
                                 env.type);
        return true;
      }
      // Decoded in place: no moves of its strings. An older version lacks
      // the fields added since; E::upgrade (when E has one) fills them in
      // from what the old event and its envelope say.
      E& e = out.value().template emplace<E>();
      if (!codec::decode(env.payload, e, env.version)) {
        out = Status::Corruption("malformed payload of " + env.type);
      } else if constexpr (requires { E::upgrade(e, env); }) {
        if (env.version < E::kVersion) E::upgrade(e, env);
      }
      return true;
    }
  }
  template <size_t I>
  static void knows_as(std::string_view type, bool& found) {
    if constexpr (I < std::variant_size_v<Variant>) {
      if (type == std::variant_alternative_t<I, Variant>::kType) {
        found = true;
        return;
      }
      knows_as<I + 1>(type, found);
    }
  }
};

}  // namespace reservoir
