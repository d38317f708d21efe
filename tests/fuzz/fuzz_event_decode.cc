// Fuzz target: decoding arbitrary event envelopes with each domain's catalog
// (events::ConcertCatalog, ClinicCatalog, EngineCatalog) and rendering what
// decodes as JSON (events/json_codec.h, as `reservoir replay` does).
//
// Input: byte 0 picks the catalog (mod 3), byte 1 the type (an index into
// the catalog's names; past them an unknown name), byte 2 the version (mod
// 4: 0 is never valid), then 8 bytes of time_ms, then the payload. Checks:
// an unknown type or version is Corruption; what decodes renders as valid
// JSON, and re-encoding it and decoding at the current version gives the
// same bytes again (encode . decode is a fixed point).
#include <rapidjson/document.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "events/clinic_events.h"
#include "events/concert_events.h"
#include "events/engine_events.h"
#include "events/json_codec.h"

using namespace reservoir;

namespace {

template <class Variant, size_t... I>
constexpr auto type_names(std::index_sequence<I...>) {
  return std::array<std::string_view, sizeof...(I)>{
      std::variant_alternative_t<I, Variant>::kType...};
}

template <class Catalog>
void fuzz_catalog(uint8_t type_pick, uint32_t version, int64_t time_ms, std::string_view payload) {
  using Event = typename Catalog::Event;
  constexpr auto kNames = type_names<Event>(std::make_index_sequence<std::variant_size_v<Event>>());
  EventEnvelope env;
  env.type = type_pick < kNames.size() ? std::string(kNames[type_pick]) : "NoSuchEvent";
  env.version = version;
  env.time_ms = time_ms;
  env.payload.assign(payload);
  auto decoded = Catalog::decode(env);
  if (!decoded.ok()) {
    if (decoded.status().code() != Status::Code::kCorruption) abort();
    return;
  }
  if (type_pick >= kNames.size() || version == 0) abort();  // decoded the undecodable
  rapidjson::StringBuffer buf;
  codec::JsonWriter w(buf);
  std::visit([&](const auto& e) { codec::write_json_value(w, e); }, *decoded);
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(buf.GetString(), buf.GetSize());
  if (doc.HasParseError() || !doc.IsObject()) abort();
  const EventEnvelope again = Catalog::encode(*decoded, time_ms);
  auto redecoded = Catalog::decode(again);
  if (!redecoded.ok() || Catalog::encode(*redecoded, time_ms).payload != again.payload) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 11) return 0;
  int64_t time_ms = 0;
  std::memcpy(&time_ms, data + 3, sizeof time_ms);
  const std::string_view payload(reinterpret_cast<const char*>(data) + 11, size - 11);
  const uint32_t version = data[2] % 4;
  switch (data[0] % 3) {
    case 0:
      fuzz_catalog<events::ConcertCatalog>(data[1], version, time_ms, payload);
      break;
    case 1:
      fuzz_catalog<events::ClinicCatalog>(data[1], version, time_ms, payload);
      break;
    default:
      fuzz_catalog<events::EngineCatalog>(data[1], version, time_ms, payload);
      break;
  }
  return 0;
}
