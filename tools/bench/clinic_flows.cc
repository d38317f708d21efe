// The clinic scenarios' virtual users and set-up (see clinic_flows.h).
// Bodies are built into the request's reused buffers, and answers read with
// string searches, as the concert flows do: the generator shares the cores.
#include "tools/bench/clinic_flows.h"

#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace reservoir::tools::bench {
namespace {

constexpr int64_t kSlotMinutes = 30;
constexpr int64_t kMinutesPerDay = 24 * 60;
constexpr int64_t kSlotsPerDay = kMinutesPerDay / kSlotMinutes;
constexpr int kUnlimitedZones = 2;
constexpr int kCapacityZones = 2;
// clinic-hot: intervals of kHotLengthMin starting kHotStepMin apart from
// kHotFirstStartMin of the first day; each overlaps every other.
constexpr int64_t kHotStarts = 4;
constexpr int64_t kHotStepMin = 15;
constexpr int64_t kHotLengthMin = 60;
constexpr int64_t kHotFirstStartMin = 10 * 60;  // 10:00Z
static_assert((kHotStarts - 1) * kHotStepMin < kHotLengthMin, "hot intervals must all overlap");

constexpr const char* kV1Path = "/schedule/open/v1/commands/reserve-by-visitor-id";
constexpr const char* kV2Path = "/schedule/open/v2/commands/reserve";
constexpr const char* kCancelPath = "/schedule/open/v1/commands/cancel-reservation";
constexpr const char* kAdminPath = "/schedule/open/v1/admin/";

// Retrying is right when the server never judged the request.
bool unjudged(int status) {
  return status == 0 || status == 503;
}

std::string_view string_field(std::string_view body, std::string_view key) {
  const size_t at = body.find(key);
  if (at == std::string_view::npos) return {};
  const size_t from = at + key.size();
  const size_t to = body.find('"', from);
  return to == std::string_view::npos ? std::string_view() : body.substr(from, to - from);
}

std::string visitor_id(const Catalog& c, int64_t i) {
  return c.prefix + "v" + std::to_string(i);
}

// The run's zones and groups: `group` holds the unlimited and capacity
// zones, `hot_group` the hot zone.
struct Layout {
  explicit Layout(const Catalog& c)
      : hot(c.prefix + "zh"), group(c.prefix + "g"), hot_group(c.prefix + "gh") {
    for (int i = 0; i < kUnlimitedZones; ++i)
      unlimited.push_back(c.prefix + "zu" + std::to_string(i));
    for (int i = 0; i < kCapacityZones; ++i)
      capacity.push_back(c.prefix + "zc" + std::to_string(i));
  }
  std::vector<std::string> unlimited, capacity;
  std::string hot, group, hot_group;
};

// The first UTC day booked, in minutes since the epoch: the catalog's start, a month ahead.
int64_t first_day_min(const Catalog& c) {
  return c.starts_at_ms / 60'000 / kMinutesPerDay * kMinutesPerDay;
}

// Appends "YYYY-MM-DDTHH:MM:00Z" for `minutes` since the epoch (UTC, after
// 1970): days to the civil date as in H. Hinnant's civil_from_days.
void append_time(std::string& out, int64_t minutes) {
  const int64_t z = minutes / kMinutesPerDay + 719468, in_day = minutes % kMinutesPerDay;
  const int64_t era = z / 146097, doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2);
  char text[32];
  const int n = std::snprintf(text, sizeof text, "%04lld-%02lld-%02lldT%02lld:%02lld:00Z",
                              static_cast<long long>(year), static_cast<long long>(month),
                              static_cast<long long>(day), static_cast<long long>(in_day / 60),
                              static_cast<long long>(in_day % 60));
  out.append(text, static_cast<size_t>(std::clamp(n, 0, static_cast<int>(sizeof text) - 1)));
}

void v1_body(std::string& out, const std::string& visitor, const std::string& group,
             const std::string& zone, int64_t start_min, int64_t end_min) {
  out.assign("{\"visitorId\":\"").append(visitor);
  out.append("\",\"reservationGroupId\":\"").append(group);
  out.append("\",\"zoneId\":\"").append(zone);
  out.append("\",\"startDateTimeUtc\":\"");
  append_time(out, start_min);
  out.append("\",\"endDateTimeUtc\":\"");
  append_time(out, end_min);
  out.append("\"}");
}

// The V2 body up to its resources' list, which the caller fills and closes with "]}".
void v2_open(std::string& out, const std::string& visitor, const std::string& reception) {
  out.assign("{\"visitorId\":\"").append(visitor);
  out.append("\",\"zoneId\":\"").append(reception).append("\",\"occupiedResources\":[");
}

void append_resource(std::string& out, const std::string& group, const std::string& zone,
                     int64_t start_min, int64_t end_min) {
  out.append("{\"startDateTimeUtc\":\"");
  append_time(out, start_min);
  out.append("\",\"endDateTimeUtc\":\"");
  append_time(out, end_min);
  out.append("\",\"reservationGroup\":{\"reservationGroupId\":\"").append(group);
  out.append("\",\"zoneId\":\"").append(zone).append("\"}}");
}

}  // namespace

namespace {

// V1 and V2 reserves in turn, round the worker's visitors, each on the
// visitor's next free slot; a slot is spent whatever the answer, so a
// reserve whose answer was lost cannot make the next one overlap.
class ClinicFlow final : public Flow {
 public:
  explicit ClinicFlow(const FlowContext& c)
      : layout_(c.catalog), first_day_(first_day_min(c.catalog)) {
    for (int64_t v = c.worker; v < c.catalog.users; v += c.workers) {
      visitors_.push_back({visitor_id(c.catalog, v), 0});
    }
  }

  void next(HttpRequest& r) override {
    r.method = HttpRequest::Method::kPost;
    r.token.clear();
    Visitor& v = visitors_[current_];
    const uint64_t round = turn_ / 2;
    if (turn_ % 2 == 0) {  // V1, in an unlimited and a capacity zone in turn
      const int64_t start = slot_start(v.next_slot++);
      const std::string& zone = round % 2 == 0 ? layout_.unlimited[round / 2 % kUnlimitedZones]
                                               : layout_.capacity[round / 2 % kCapacityZones];
      r.path = kV1Path;
      v1_body(r.body, v.id, layout_.group, zone, start, start + kSlotMinutes);
    } else {  // V2: two consecutive slots of one day, an unlimited zone then a capacity zone
      if (v.next_slot % kSlotsPerDay == kSlotsPerDay - 1) ++v.next_slot;
      const int64_t start = slot_start(v.next_slot);
      v.next_slot += 2;
      r.path = kV2Path;
      v2_open(r.body, v.id, layout_.unlimited[0]);
      append_resource(r.body, layout_.group, layout_.unlimited[round % kUnlimitedZones], start,
                      start + kSlotMinutes);
      r.body += ',';
      append_resource(r.body, layout_.group, layout_.capacity[round % kCapacityZones],
                      start + kSlotMinutes, start + 2 * kSlotMinutes);
      r.body += "]}";
    }
    ++turn_;
    current_ = (current_ + 1) % visitors_.size();
  }

  Judgement answer(int status, std::string_view, std::string_view) override {
    return {status == 200 ? Verdict::kOk : Verdict::kError, status == 200};
  }

 private:
  struct Visitor {
    std::string id;
    int64_t next_slot = 0;  // slots of kSlotMinutes from the first day's midnight
  };
  int64_t slot_start(int64_t slot) const {
    return first_day_ + slot / kSlotsPerDay * kMinutesPerDay + slot % kSlotsPerDay * kSlotMinutes;
  }

  const Layout layout_;
  const int64_t first_day_;
  std::vector<Visitor> visitors_;
  size_t current_ = 0;
  uint64_t turn_ = 0;
};

}  // namespace

namespace {

// Every visitor reserves one of kHotStarts overlapping intervals of the hot
// zone, V1 and V2 in turn; a winner cancels at once (asking again while the
// server has not judged the cancel), so the zone stays contested. A visitor
// holds nothing between its turns, so only the zone's capacity refuses.
class ClinicHotFlow final : public Flow {
 public:
  explicit ClinicHotFlow(const FlowContext& c)
      : layout_(c.catalog), first_day_(first_day_min(c.catalog)), random_(c.seed) {
    for (int64_t v = c.worker; v < c.catalog.users; v += c.workers) {
      visitors_.push_back(visitor_id(c.catalog, v));
    }
  }

  void next(HttpRequest& r) override {
    r.method = HttpRequest::Method::kPost;
    r.token.clear();
    if (cancelling_) {
      r.path = kCancelPath;
      r.body.assign("{\"scheduleId\":\"").append(schedule_).append("\"}");
      return;
    }
    const int64_t start = first_day_ + kHotFirstStartMin +
                          static_cast<int64_t>(random_.below(kHotStarts)) * kHotStepMin;
    const std::string& visitor = visitors_[current_];
    if (turn_++ % 2 == 0) {
      r.path = kV1Path;
      v1_body(r.body, visitor, layout_.hot_group, layout_.hot, start, start + kHotLengthMin);
    } else {
      r.path = kV2Path;
      v2_open(r.body, visitor, layout_.hot);
      append_resource(r.body, layout_.hot_group, layout_.hot, start, start + kHotLengthMin);
      r.body += "]}";
    }
  }

  Judgement answer(int status, std::string_view code, std::string_view body) override {
    if (cancelling_) {
      if (unjudged(status)) return {Verdict::kError};  // ask again: the zone must free up
      cancelling_ = false;
      next_visitor();
      return {status == 200 ? Verdict::kOk : Verdict::kError};
    }
    if (status == 200) {
      schedule_ = string_field(body, "\"reservationId\":\"");
      cancelling_ = true;
      return {Verdict::kOk, true};
    }
    const bool full = status == 400 && code == "InvalidRequestException" &&
                      body.find("\"NotAvailable\"") != std::string_view::npos;
    next_visitor();
    return {full ? Verdict::kExpected : Verdict::kError};
  }

 private:
  void next_visitor() { current_ = (current_ + 1) % visitors_.size(); }

  const Layout layout_;
  const int64_t first_day_;
  FastRandom random_;
  std::vector<std::string> visitors_;
  size_t current_ = 0;
  uint64_t turn_ = 0;
  bool cancelling_ = false;
  std::string schedule_;
};

}  // namespace

namespace {

// "" when the admin request succeeded or the id already existed.
std::string admin_post(httplib::Client& client, const std::string& admin_key, const char* what,
                       const std::string& body) {
  const std::string path = std::string(kAdminPath) + what;
  auto res =
      client.Post(path, httplib::Headers{{"Admin-Key", admin_key}}, body, "application/json");
  if (!res) return "POST " + path + ": " + httplib::to_string(res.error());
  if (res->status == 200) return "";
  if (res->status == 409 && clinic_error_code(res->body) == "ConflictException") return "";
  return "POST " + path + ": HTTP " + std::to_string(res->status) + " " + res->body;
}

std::string zone_body(const std::string& id, int64_t capacity) {
  std::string body = "{\"zoneId\":\"" + id + "\",\"name\":\"bench " + id + "\"";
  if (capacity > 0) body += ",\"capacity\":" + std::to_string(capacity);
  return body + "}";
}

std::string group_body(const std::string& id, const std::vector<std::string>& zones) {
  std::string body =
      "{\"reservationGroupId\":\"" + id + "\",\"name\":\"bench " + id + "\",\"zoneIds\":[";
  for (size_t i = 0; i < zones.size(); ++i) body += (i == 0 ? "\"" : ",\"") + zones[i] + "\"";
  return body + "]}";
}

// The zones and the two groups, in that order (a group names existing zones).
std::string set_up_layout(httplib::Client& client, const Catalog& catalog,
                          const std::string& admin_key) {
  const Layout l(catalog);
  // A visitor occupies at most one resource at any instant: no capacity
  // zone of `clinic` ever holds more than there are visitors.
  const int64_t capacity = std::max<int64_t>(1, catalog.users);
  std::vector<std::pair<std::string, int64_t>> zones;
  for (const auto& z : l.unlimited) zones.emplace_back(z, 0);
  for (const auto& z : l.capacity) zones.emplace_back(z, capacity);
  zones.emplace_back(l.hot, kHotCapacity);
  for (const auto& [id, cap] : zones) {
    std::string err = admin_post(client, admin_key, "zones", zone_body(id, cap));
    if (!err.empty()) return err;
  }
  std::vector<std::string> members = l.unlimited;
  members.insert(members.end(), l.capacity.begin(), l.capacity.end());
  std::string err =
      admin_post(client, admin_key, "reservation-groups", group_body(l.group, members));
  if (!err.empty()) return err;
  return admin_post(client, admin_key, "reservation-groups", group_body(l.hot_group, {l.hot}));
}

}  // namespace

bool is_clinic(const std::string& scenario) {
  return scenario == "clinic" || scenario == "clinic-hot";
}

std::string clinic_set_up(httplib::Client& client, const Catalog& catalog,
                          const std::string& admin_key, int worker, int workers) {
  if (worker == 0) {
    std::string err = set_up_layout(client, catalog, admin_key);
    if (!err.empty()) return err;
  }
  for (int64_t v = worker; v < catalog.users; v += workers) {
    const std::string id = visitor_id(catalog, v);
    std::string err = admin_post(client, admin_key, "visitors",
                                 "{\"visitorId\":\"" + id + "\",\"name\":\"bench " + id + "\"}");
    if (!err.empty()) return err;
  }
  return "";
}

std::unique_ptr<Flow> make_clinic_flow(const std::string& scenario, const FlowContext& context) {
  if (scenario == "clinic") return std::make_unique<ClinicFlow>(context);
  if (scenario == "clinic-hot") return std::make_unique<ClinicHotFlow>(context);
  return nullptr;
}

std::string_view clinic_error_code(std::string_view body) {
  return string_field(body, "\"message\":\"");
}

}  // namespace reservoir::tools::bench
