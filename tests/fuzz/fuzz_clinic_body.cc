// Fuzz target: the clinic dialect's request bodies (api/clinic_parse.h).
// Input: one selector byte (which body; its high bits pick the clinic's UTC
// offset), then the body as the client sent it. Checks clinic_parse.h's
// contract: exactly one of a command or problems, every problem with a
// known reason, and parse_clinic over the already-parsed body agreeing with
// the string entry point.
#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/clinic_parse.h"
#include "api/json_util.h"

using namespace reservoir;
using api::ClinicBody;
using api::ClinicParse;

namespace {

ClinicParse parse_text(ClinicBody kind, std::string_view body, int64_t offset) {
  switch (kind) {
    case ClinicBody::kReserveV1:
      return api::parse_reserve_v1(body, offset);
    case ClinicBody::kReserveV2:
      return api::parse_reserve_v2(body, offset);
    case ClinicBody::kUpdateV2:
      return api::parse_update_v2(body, offset);
    case ClinicBody::kCancel:
      return api::parse_cancel(body);
    case ClinicBody::kAdminVisitor:
      return api::parse_admin_visitor(body);
    case ClinicBody::kAdminZone:
      return api::parse_admin_zone(body);
    case ClinicBody::kAdminGroup:
      break;
  }
  return api::parse_admin_group(body);
}

bool known_reason(const std::string& r) {
  return r == "Required" || r == "Invalid" || r == "NotAvailable";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto kind = static_cast<ClinicBody>((data[0] & 0x0f) % 7);
  constexpr int64_t kOffsets[] = {0, 540, -300, 840};
  const int64_t offset = kOffsets[(data[0] >> 4) % 4];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const ClinicParse p = parse_text(kind, body, offset);
  if (p.ok() == !p.problems.empty()) abort();
  for (const auto& kr : p.problems) {
    if (!known_reason(kr.reason)) abort();
  }
  // The same over a pre-parsed object gives the same problems.
  rapidjson::Document doc;
  std::string error;
  if (!api::parse_object(body, doc, &error)) return 0;
  const ClinicParse q = api::parse_clinic(kind, doc, offset);
  if (q.ok() != p.ok()) abort();
  if (q.problems != p.problems) abort();
  return 0;
}
