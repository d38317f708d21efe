// Fuzz target: the canonical dialect's request bodies (api/parse_commands.h).
// Input: one selector byte (which parser), then the body. The body goes
// through parse_object (api/json_util.h) as Service::parse_body does; an
// object is handed to the chosen parse_*. Either outcome is fine; a crash,
// a sanitizer report or a refusal that is not INVALID_REQUEST/INVALID_AMOUNT
// is a finding.
#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "api/json_util.h"
#include "api/parse_commands.h"

using namespace reservoir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  rapidjson::Document doc;
  std::string error;
  if (!api::parse_object(body, doc, &error)) return 0;
  const concert::Limits limits;
  api::Parsed parsed;
  switch (data[0] % 6) {
    case 0:
      parsed = api::parse_issue_token(doc);
      break;
    case 1:
      parsed = api::parse_hold(doc, "t-1", limits);
      break;
    case 2:
      parsed = api::parse_pay(doc, "t-1");
      break;
    case 3:
      parsed = api::parse_charge(doc);
      break;
    case 4:
      parsed = api::parse_register_user(doc);
      break;
    default:
      parsed = api::parse_create_concert(doc);
      break;
  }
  if (const auto* e = std::get_if<DomainError>(&parsed)) {
    if (e->code != ErrorCode::INVALID_REQUEST && e->code != ErrorCode::INVALID_AMOUNT) abort();
  }
  return 0;
}
