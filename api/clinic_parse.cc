#include "api/clinic_parse.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <climits>
#include <span>

#include "api/json_util.h"
#include "events/clinic_time.h"
#include "events/time_format.h"

namespace reservoir::api {
namespace {

using rapidjson::Value;

// ---------------------------------------------------------------------------
// The schemas of seeds 003 and 004, transcribed: one Spec per property, in
// the seeds' property order, which is the order problems are reported in.

enum class Kind : uint8_t {
  kId,      // a string following SPEC §1's id rule (the seeds' object-id)
  kString,  // any string (max_len when non-zero)
  kTime,    // an ISO-8601 UTC date-time
  kBool,
  kInt,     // an integer in [min, max] (int32 unless the Spec says otherwise)
  kNumber,  // any JSON number (format double)
  kEnum,    // a string among `values`
  kObject,  // members `children`; members the schema does not name are kept unchecked
  kArray,   // elements `children[0]`
  kMap,     // additionalProperties: every member's value is `children[0]`
};

enum class Rule : uint8_t {
  kNone,
  kEndAfterStart,  // a time that must be after its sibling startDateTimeUtc
  kConfiguration,  // a resource's reservationGroup: missing -> configuration or reservationGroup
  kDistinct,       // an array whose elements must differ
};

struct Spec {
  std::string_view name;
  Kind kind = Kind::kString;
  bool required = false;
  Rule rule = Rule::kNone;
  std::span<const std::string_view> values = {};
  std::span<const Spec> children = {};
  int64_t min = INT32_MIN;
  int64_t max = INT32_MAX;
  size_t max_len = 0;    // kString: 0 = unbounded (the 64 KiB body bound holds)
  size_t max_items = 0;  // kArray: 0 = unbounded
};

constexpr std::string_view kProcedureTypes[] = {"RESERVATION_REQUESTED_PROCEDURE_TYPE_UNSPECIFIED",
                                                "OPTION", "TICKET"};
constexpr std::string_view kPriceReasonTypes[] = {
    "RESERVATION_REQUESTED_OPTION_PRICE_REASON_TYPE_UNSPECIFIED", "GENERAL", "PROMOTION",
    "VISITOR_TYPE"};
constexpr std::string_view kServiceStatuses[] = {"MedicalServiceStatus_UNKNOWN", "DRAFT",
                                                 "PUBLISHED"};
constexpr std::string_view kUnitTypes[] = {
    "UnitType_UNKNOWN", "UNIT",    "CC",       "VIAL", "PEN", "STRING", "SHOT", "PAD",
    "MINUTE",           "KJ",      "QUANTITY", "DOT",  "J",   "MG",     "G",    "PULSE",
    "BOTTLE",           "SYRINGE", "PASS",     "IU",   "KHZ", "MHZ"};
constexpr std::string_view kReimbursements[] = {"HealthcareReimbursement_UNKNOWN", "REIMBURSABLE",
                                                "NON_REIMBURSABLE"};
constexpr std::string_view kTaxations[] = {"Taxation_UNKNOWN", "TAXABLE", "TAX_FREE", "MIXED"};
constexpr std::string_view kCodeCategories[] = {"CODE_CATEGORY_UNSPECIFIED",
                                                "FUNNEL",
                                                "EXPOSURE_CHANNEL",
                                                "ETCETRA_PRODUCT_CATEGORY",
                                                "IMAGE_EQUIPMENT",
                                                "CALL_CONSULTATION_RESULT",
                                                "IMAGE_CATEGORY",
                                                "FUNNEL_CATEGORY",
                                                "VISITOR_CATEGORY",
                                                "ACCOUNT_STATUS"};
constexpr std::string_view kCodeColors[] = {"CodeColor_UNSPECIFIED",
                                            "RED",
                                            "LAVA",
                                            "ORANGE",
                                            "GREEN",
                                            "CYAN",
                                            "BLUE",
                                            "PURPLE",
                                            "MAGENTA",
                                            "GRAY"};
// Seed 004's spelling, typo included: clients send it as written there.
constexpr std::string_view kChannels[] = {"Channel_UNSPEICIFED", "GANGNAMUNNI", "HOMEPAGE",
                                          "KOS_CONNECT"};

constexpr Spec kStringElement[] = {{.kind = Kind::kString}};
constexpr Spec kIdElement[] = {{.kind = Kind::kId}};

// protos.procedure.medical_service.MedicalService and its parts.
constexpr Spec kNamedRef[] = {{.name = "id"}, {.name = "name"}, {.name = "searchPhoneticName"}};
constexpr Spec kNamedRefElement[] = {{.kind = Kind::kObject, .children = kNamedRef}};
constexpr Spec kUnit[] = {{.name = "type", .kind = Kind::kEnum, .values = kUnitTypes},
                          {.name = "value", .kind = Kind::kInt}};
constexpr Spec kServiceConfiguration[] = {
    {.name = "code"},
    {.name = "procedure", .kind = Kind::kObject, .children = kNamedRef},
    {.name = "machines", .kind = Kind::kArray, .children = kNamedRefElement},
    {.name = "medicines", .kind = Kind::kArray, .children = kNamedRefElement},
    {.name = "unit", .kind = Kind::kObject, .children = kUnit},
    {.name = "healthcareReimbursement", .kind = Kind::kEnum, .values = kReimbursements},
    {.name = "taxation", .kind = Kind::kEnum, .values = kTaxations}};
constexpr Spec kTransls[] = {
    {.name = "translation", .kind = Kind::kMap, .children = kStringElement}};
constexpr Spec kTranslsElement[] = {{.kind = Kind::kObject, .children = kTransls}};
constexpr Spec kPriceAmount[] = {{.name = "value", .kind = Kind::kInt}, {.name = "currency"}};
constexpr Spec kMedicalService[] = {
    {.name = "id"},
    {.name = "title"},
    {.name = "translsMap", .kind = Kind::kMap, .children = kTranslsElement},
    {.name = "status", .kind = Kind::kEnum, .values = kServiceStatuses},
    {.name = "deleted", .kind = Kind::kBool},
    {.name = "configuration", .kind = Kind::kObject, .children = kServiceConfiguration},
    {.name = "draftedDateTimeUtc"},
    {.name = "updatedDateTimeUtc"},
    {.name = "priceAmount", .kind = Kind::kObject, .children = kPriceAmount},
    {.name = "description"},
    {.name = "caution"},
    {.name = "recommendedInterval", .kind = Kind::kInt},
    {.name = "contributionConstant", .kind = Kind::kInt},
    {.name = "durationTime", .kind = Kind::kNumber}};

// protos.schedule.ReservationRequestedProcedure.
constexpr Spec kPriceReason[] = {{.name = "type", .kind = Kind::kEnum, .values = kPriceReasonTypes},
                                 {.name = "promotionId"},
                                 {.name = "visitorTypeId"}};
constexpr Spec kPrice[] = {{.name = "amount", .kind = Kind::kInt},
                           {.name = "currency"},
                           {.name = "reason", .kind = Kind::kObject, .children = kPriceReason}};
constexpr Spec kOptionConfiguration[] = {
    {.name = "optionId", .required = true},
    {.name = "optionTitle", .required = true},
    {.name = "productTitle"},
    {.name = "promotionTitle"},
    {.name = "price", .kind = Kind::kObject, .required = true, .children = kPrice},
    {.name = "medicalService", .kind = Kind::kObject, .children = kMedicalService}};
constexpr Spec kTicketConfiguration[] = {
    {.name = "ticketId", .required = true},
    {.name = "ticketTitle", .required = true},
    {.name = "optionTitle", .required = true},
    {.name = "medicalService", .kind = Kind::kObject, .children = kMedicalService}};
constexpr Spec kProcedure[] = {
    {.name = "type", .kind = Kind::kEnum, .required = true, .values = kProcedureTypes},
    {.name = "optionConfiguration", .kind = Kind::kObject, .children = kOptionConfiguration},
    {.name = "ticketConfiguration", .kind = Kind::kObject, .children = kTicketConfiguration}};
constexpr Spec kProcedureElement[] = {{.kind = Kind::kObject, .children = kProcedure}};

// Seed 004's people, funnel and occupied resources.
constexpr Spec kDoctor[] = {{.name = "id", .kind = Kind::kId, .required = true},
                            {.name = "name", .required = true}};
constexpr Spec kCounselor[] = {{.name = "id", .kind = Kind::kId, .required = true},
                               {.name = "name", .required = true}};
constexpr Spec kAssignee[] = {{.name = "id", .required = true},  // no object-id format here
                              {.name = "name", .required = true}};
constexpr Spec kCode[] = {{.name = "id"},
                          {.name = "category", .kind = Kind::kEnum, .values = kCodeCategories},
                          {.name = "name"},
                          {.name = "order", .kind = Kind::kInt},
                          {.name = "closed", .kind = Kind::kBool},
                          {.name = "color", .kind = Kind::kEnum, .values = kCodeColors},
                          {.name = "default", .kind = Kind::kBool}};
constexpr Spec kFunnel[] = {{.name = "funnel", .kind = Kind::kObject, .children = kCode},
                            {.name = "funnelDetail"},
                            {.name = "funnelCategory", .kind = Kind::kObject, .children = kCode}};
constexpr Spec kResourceGroup[] = {
    {.name = "reservationGroupId", .kind = Kind::kId, .required = true},
    {.name = "zoneId", .kind = Kind::kId, .required = true},
    {.name = "doctor", .kind = Kind::kObject, .children = kDoctor}};
constexpr Spec kResource[] = {
    {.name = "startDateTimeUtc", .kind = Kind::kTime, .required = true},
    {.name = "endDateTimeUtc", .kind = Kind::kTime, .required = true, .rule = Rule::kEndAfterStart},
    {.name = "reservationGroup",
     .kind = Kind::kObject,
     .required = true,
     .rule = Rule::kConfiguration,
     .children = kResourceGroup}};
constexpr Spec kResourceElement[] = {{.kind = Kind::kObject, .children = kResource}};

constexpr Spec kProcedures = {.name = "requestedProcedures",
                              .kind = Kind::kArray,
                              .children = kProcedureElement,
                              .max_items = clinic::kRequestedProceduresMax};
constexpr Spec kResources = {.name = "occupiedResources",
                             .kind = Kind::kArray,
                             .required = true,
                             .children = kResourceElement,
                             .max_items = clinic::kResourcesMax};

// The request bodies, top level.
constexpr Spec kReserveV1[] = {
    {.name = "visitorId", .kind = Kind::kId, .required = true},
    {.name = "reservationGroupId", .kind = Kind::kId, .required = true},
    {.name = "zoneId", .kind = Kind::kId, .required = true},
    {.name = "startDateTimeUtc", .kind = Kind::kTime, .required = true},
    {.name = "endDateTimeUtc", .kind = Kind::kTime, .required = true, .rule = Rule::kEndAfterStart},
    {.name = "consultationRequired", .kind = Kind::kBool},
    {.name = "sedationRequired", .kind = Kind::kBool},
    {.name = "funnelDetail"},
    kProcedures,
    {.name = "reservationMemo"}};
// Seed 004's body after its first property, which names the schedule for an
// update and the visitor for the V2 reserve.
constexpr Spec kV2Tail[] = {
    {.name = "zoneId", .kind = Kind::kId, .required = true},
    kResources,
    {.name = "reservationAssignee", .kind = Kind::kObject, .children = kAssignee},
    {.name = "consultationRequired", .kind = Kind::kBool},
    {.name = "sedationRequired", .kind = Kind::kBool},
    {.name = "counselor", .kind = Kind::kObject, .children = kCounselor},
    {.name = "funnel", .kind = Kind::kObject, .children = kFunnel},
    {.name = "reservationMemo"},
    kProcedures,
    {.name = "connectedChannel", .kind = Kind::kEnum, .values = kChannels}};
template <size_t N>
constexpr std::array<Spec, N + 1> with_head(const Spec& head, const Spec (&tail)[N]) {
  std::array<Spec, N + 1> out{};
  out[0] = head;
  for (size_t i = 0; i < N; ++i) out[i + 1] = tail[i];
  return out;
}
constexpr auto kReserveV2 =
    with_head({.name = "visitorId", .kind = Kind::kId, .required = true}, kV2Tail);
constexpr auto kUpdateV2 =
    with_head({.name = "scheduleId", .kind = Kind::kId, .required = true}, kV2Tail);
constexpr Spec kCancel[] = {{.name = "scheduleId", .kind = Kind::kId, .required = true}};
constexpr Spec kAdminVisitor[] = {{.name = "visitorId", .kind = Kind::kId},
                                  {.name = "name", .required = true, .max_len = kClinicNameMax}};
constexpr Spec kAdminZone[] = {
    {.name = "zoneId", .kind = Kind::kId},
    {.name = "name", .required = true, .max_len = kClinicNameMax},
    {.name = "capacity", .kind = Kind::kInt, .min = 1, .max = clinic::kCapacityMax}};
constexpr Spec kAdminGroup[] = {{.name = "reservationGroupId", .kind = Kind::kId},
                                {.name = "name", .required = true, .max_len = kClinicNameMax},
                                {.name = "zoneIds",
                                 .kind = Kind::kArray,
                                 .required = true,
                                 .rule = Rule::kDistinct,
                                 .children = kIdElement,
                                 .max_items = clinic::kGroupZonesMax}};

// ---------------------------------------------------------------------------
// The walker: follows a Spec list over a parsed object and collects every
// problem in schema order. It recurses along the schema only (a fixed depth),
// never along the input.

constexpr const char* kRequired = "Required";
constexpr const char* kInvalid = "Invalid";

std::string_view text(const Value& v) {
  return {v.GetString(), v.GetStringLength()};
}

std::string join(const std::string& path, std::string_view name) {
  if (path.empty()) return std::string(name);
  std::string key = path;
  key += '.';
  key += name;
  return key;
}

// The member `name` of `obj`, or nullptr when it is absent or null (the
// seeds treat both as "not given").
const Value* member_of(const Value& obj, std::string_view name) {
  const Value key(rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size())));
  auto it = obj.FindMember(key);
  return it == obj.MemberEnd() || it->value.IsNull() ? nullptr : &it->value;
}

std::optional<int64_t> time_of(const Value* v) {
  if (v == nullptr || !v->IsString()) return std::nullopt;
  return parse_iso8601_ms(text(*v));
}

class Walker {
 public:
  std::vector<KeyReason> problems;

  void object(std::span<const Spec> members, const Value& obj, const std::string& path) {
    for (const Spec& s : members) member(s, obj, path);
  }

 private:
  void fail(std::string key, const char* reason) { problems.push_back({std::move(key), reason}); }

  void member(const Spec& s, const Value& obj, const std::string& path) {
    std::string key = join(path, s.name);
    const Value* v = member_of(obj, s.name);
    if (v == nullptr) {
      if (s.rule == Rule::kConfiguration && !has_configuration(obj)) {
        fail(join(path, "configuration"), kRequired);
      } else if (s.required) {
        fail(std::move(key), kRequired);
      }
      return;
    }
    const size_t before = problems.size();
    value(s, *v, key);
    if (s.rule == Rule::kEndAfterStart && problems.size() == before) {
      const std::optional<int64_t> start = time_of(member_of(obj, "startDateTimeUtc"));
      if (start && *start >= *time_of(v)) fail(std::move(key), kInvalid);
    }
  }

  // Seed 004: a resource carries a configuration when it has any key besides
  // its two times (reservationGroup is the only configuration type today).
  static bool has_configuration(const Value& resource) {
    for (const auto& m : resource.GetObject()) {
      const std::string_view name = text(m.name);
      if (name != "startDateTimeUtc" && name != "endDateTimeUtc") return true;
    }
    return false;
  }

  // `v` is present and not null.
  void value(const Spec& s, const Value& v, const std::string& key) {
    switch (s.kind) {
      case Kind::kId:
      case Kind::kString:
      case Kind::kTime:
        return scalar(s, v, key);
      case Kind::kBool:
        if (!v.IsBool()) fail(key, kInvalid);
        return;
      case Kind::kInt:
        if (!v.IsInt64() || v.GetInt64() < s.min || v.GetInt64() > s.max) fail(key, kInvalid);
        return;
      case Kind::kNumber:
        if (!v.IsNumber()) fail(key, kInvalid);
        return;
      case Kind::kEnum:
        if (!v.IsString() || !is_one_of(text(v), s.values)) fail(key, kInvalid);
        return;
      case Kind::kObject:
        if (!v.IsObject()) return fail(key, kInvalid);
        return object(s.children, v, key);
      case Kind::kArray:
        return array(s, v, key);
      case Kind::kMap:
        if (!v.IsObject()) return fail(key, kInvalid);
        for (const auto& m : v.GetObject()) value(s.children[0], m.value, join(key, text(m.name)));
        return;
    }
  }

  void scalar(const Spec& s, const Value& v, const std::string& key) {
    if (!v.IsString()) return fail(key, kInvalid);
    const std::string_view t = text(v);
    if (t.empty() && s.required) return fail(key, kRequired);
    const bool ok = s.kind == Kind::kId     ? valid_id(t)
                    : s.kind == Kind::kTime ? parse_iso8601_ms(t).has_value()
                                            : s.max_len == 0 || t.size() <= s.max_len;
    if (!ok) fail(key, kInvalid);
  }

  void array(const Spec& s, const Value& v, const std::string& key) {
    if (!v.IsArray()) return fail(key, kInvalid);
    if (v.Empty() && s.required) return fail(key, kRequired);
    if (s.max_items != 0 && v.Size() > s.max_items) return fail(key, kInvalid);
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      std::string element = key + "[" + std::to_string(i) + "]";
      if (v[i].IsNull()) {
        fail(std::move(element), kRequired);
        continue;
      }
      const size_t before = problems.size();
      value(s.children[0], v[i], element);
      if (s.rule == Rule::kDistinct && problems.size() == before && repeats(v, i)) {
        fail(std::move(element), kInvalid);
      }
    }
  }

  static bool is_one_of(std::string_view t, std::span<const std::string_view> values) {
    for (std::string_view e : values) {
      if (e == t) return true;
    }
    return false;
  }

  // Element i equals an earlier one (O(n^2) over at most kGroupZonesMax).
  static bool repeats(const Value& array, rapidjson::SizeType i) {
    for (rapidjson::SizeType j = 0; j < i; ++j) {
      if (array[j] == array[i]) return true;
    }
    return false;
  }
};

// ---------------------------------------------------------------------------
// Building commands from a body the walker passed: every value read here is
// present and well-formed.

std::string compact(const Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);  // recursive, but the body's depth is bounded (within_depth)
  return std::string(buf.GetString(), buf.GetSize());
}

std::string string_of(const Value& obj, std::string_view name) {
  const Value* v = member_of(obj, name);
  return v == nullptr ? std::string() : std::string(text(*v));
}

bool declares(std::span<const Spec> members, std::string_view name) {
  for (const Spec& s : members) {
    if (s.name == name) return true;
  }
  return false;
}

// The route's optional fields present in the body, in kExtraNames order
// (json nullopt: given as null).
std::vector<clinic::ExtraPatch> extras_of(std::span<const Spec> members, const Value& body) {
  std::vector<clinic::ExtraPatch> out;
  for (std::string_view name : clinic::kExtraNames) {
    if (!declares(members, name)) continue;  // e.g. V2's funnelDetail lives inside funnel
    const Value key(
        rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size())));
    auto it = body.FindMember(key);
    if (it == body.MemberEnd()) continue;
    clinic::ExtraPatch e{std::string(name), std::nullopt};
    if (!it->value.IsNull()) e.json = compact(it->value);
    out.push_back(std::move(e));
  }
  return out;
}

// A reserve stores what was given; null means "not given".
std::vector<clinic::Extra> stored_extras(std::span<const Spec> members, const Value& body) {
  std::vector<clinic::Extra> out;
  for (auto& e : extras_of(members, body)) {
    if (e.json) out.push_back({std::move(e.name), std::move(*e.json)});
  }
  return out;
}

clinic::ResourceInput resource_of(const Value& r) {
  const Value& group = r["reservationGroup"];
  const Value* doctor = member_of(group, "doctor");
  return clinic::ResourceInput{*time_of(member_of(r, "startDateTimeUtc")),
                               *time_of(member_of(r, "endDateTimeUtc")),
                               string_of(group, "reservationGroupId"), string_of(group, "zoneId"),
                               doctor == nullptr ? std::string() : compact(*doctor)};
}

std::vector<clinic::ResourceInput> resources_of(const Value& body) {
  std::vector<clinic::ResourceInput> out;
  for (const auto& r : body["occupiedResources"].GetArray()) out.push_back(resource_of(r));
  return out;
}

// Seed 004's different-days rule, judged in the clinic's time zone.
std::vector<KeyReason> other_days(const std::vector<clinic::ResourceInput>& resources,
                                  int64_t utc_offset_min) {
  std::vector<KeyReason> out;
  const int64_t day = clinic_time::clinic_day(resources[0].start_ms, utc_offset_min);
  for (size_t n = 1; n < resources.size(); ++n) {
    if (clinic_time::clinic_day(resources[n].start_ms, utc_offset_min) != day) {
      out.push_back(
          {"occupiedResources[" + std::to_string(n) + "].startDateTimeUtc", "NotAvailable"});
    }
  }
  return out;
}

ClinicParse refused(std::vector<KeyReason> problems) {
  return {std::nullopt, std::move(problems)};
}

ClinicParse reserve_v1(const Value& body) {
  clinic::Reserve c;
  c.visitor_id = string_of(body, "visitorId");
  c.reception_zone_id = string_of(body, "zoneId");
  c.resources.push_back({*time_of(member_of(body, "startDateTimeUtc")),
                         *time_of(member_of(body, "endDateTimeUtc")),
                         string_of(body, "reservationGroupId"), c.reception_zone_id, ""});
  c.extras = stored_extras(kReserveV1, body);
  c.api = clinic::Api::kV1;
  return {std::move(c), {}};
}

ClinicParse reserve_v2(const Value& body, int64_t utc_offset_min) {
  clinic::Reserve c;
  c.visitor_id = string_of(body, "visitorId");
  c.reception_zone_id = string_of(body, "zoneId");
  c.resources = resources_of(body);
  auto days = other_days(c.resources, utc_offset_min);
  if (!days.empty()) return refused(std::move(days));
  c.extras = stored_extras(kReserveV2, body);
  c.api = clinic::Api::kV2;
  return {std::move(c), {}};
}

ClinicParse update_v2(const Value& body, int64_t utc_offset_min) {
  clinic::Update c;
  c.schedule_id = string_of(body, "scheduleId");
  c.reception_zone_id = string_of(body, "zoneId");
  c.resources = resources_of(body);
  auto days = other_days(c.resources, utc_offset_min);
  if (!days.empty()) return refused(std::move(days));
  c.extras = extras_of(kUpdateV2, body);
  return {std::move(c), {}};
}

ClinicParse admin_group(const Value& body) {
  clinic::CreateGroup c{string_of(body, "reservationGroupId"), string_of(body, "name"), {}};
  for (const auto& z : body["zoneIds"].GetArray()) c.zone_ids.emplace_back(text(z));
  return {std::move(c), {}};
}

ClinicParse admin_zone(const Value& body) {
  const Value* capacity = member_of(body, "capacity");
  return {clinic::CreateZone{string_of(body, "zoneId"), string_of(body, "name"),
                             capacity == nullptr ? 0 : capacity->GetInt64()},
          {}};
}

std::span<const Spec> schema_of(ClinicBody kind) {
  switch (kind) {
    case ClinicBody::kReserveV1:
      return kReserveV1;
    case ClinicBody::kReserveV2:
      return kReserveV2;
    case ClinicBody::kUpdateV2:
      return kUpdateV2;
    case ClinicBody::kCancel:
      return kCancel;
    case ClinicBody::kAdminVisitor:
      return kAdminVisitor;
    case ClinicBody::kAdminZone:
      return kAdminZone;
    case ClinicBody::kAdminGroup:
      return kAdminGroup;
  }
  return kCancel;
}

// True when `v` nests at most `max` objects/arrays deep; iterative, so a
// hostile Value handed to parse_clinic cannot overflow the stack here, and
// compact()'s recursion is bounded afterwards.
bool within_depth(const Value& v, int max) {
  std::vector<std::pair<const Value*, int>> todo{{&v, 1}};
  while (!todo.empty()) {
    auto [x, depth] = todo.back();
    todo.pop_back();
    if (!x->IsObject() && !x->IsArray()) continue;
    if (depth > max) return false;
    if (x->IsObject()) {
      for (const auto& m : x->GetObject()) todo.push_back({&m.value, depth + 1});
    } else {
      for (const auto& e : x->GetArray()) todo.push_back({&e, depth + 1});
    }
  }
  return true;
}

ClinicParse parse_text(ClinicBody kind, std::string_view body, int64_t utc_offset_min) {
  rapidjson::Document doc;  // its own allocator: the caller may hold the thread's arena
  std::string error;
  if (!parse_object(body, doc, &error)) return refused({{"", kInvalid}});
  return parse_clinic(kind, doc, utc_offset_min);
}

}  // namespace

ClinicParse parse_clinic(ClinicBody kind, const rapidjson::Value& body, int64_t utc_offset_min) {
  if (!body.IsObject() || !within_depth(body, kNestingDepthMax)) return refused({{"", kInvalid}});
  Walker walker;
  walker.object(schema_of(kind), body, "");
  if (!walker.problems.empty()) return refused(std::move(walker.problems));
  switch (kind) {
    case ClinicBody::kReserveV1:
      return reserve_v1(body);
    case ClinicBody::kReserveV2:
      return reserve_v2(body, utc_offset_min);
    case ClinicBody::kUpdateV2:
      return update_v2(body, utc_offset_min);
    case ClinicBody::kCancel:
      return {clinic::Cancel{string_of(body, "scheduleId")}, {}};
    case ClinicBody::kAdminVisitor:
      return {clinic::RegisterVisitor{string_of(body, "visitorId"), string_of(body, "name")}, {}};
    case ClinicBody::kAdminZone:
      return admin_zone(body);
    case ClinicBody::kAdminGroup:
      return admin_group(body);
  }
  return refused({{"", kInvalid}});
}

ClinicParse parse_reserve_v1(std::string_view body, int64_t utc_offset_min) {
  return parse_text(ClinicBody::kReserveV1, body, utc_offset_min);
}
ClinicParse parse_reserve_v2(std::string_view body, int64_t utc_offset_min) {
  return parse_text(ClinicBody::kReserveV2, body, utc_offset_min);
}
ClinicParse parse_update_v2(std::string_view body, int64_t utc_offset_min) {
  return parse_text(ClinicBody::kUpdateV2, body, utc_offset_min);
}
ClinicParse parse_cancel(std::string_view body) {
  return parse_text(ClinicBody::kCancel, body, 0);
}
ClinicParse parse_admin_visitor(std::string_view body) {
  return parse_text(ClinicBody::kAdminVisitor, body, 0);
}
ClinicParse parse_admin_zone(std::string_view body) {
  return parse_text(ClinicBody::kAdminZone, body, 0);
}
ClinicParse parse_admin_group(std::string_view body) {
  return parse_text(ClinicBody::kAdminGroup, body, 0);
}

}  // namespace reservoir::api
