// The clinic API of SPEC §6 over real HTTP, for integration tests: request
// bodies built from a few parameters, the seeds' error body spelled out, and
// the demo clinic's ids (serve --demo).
//
// Thread safety: one ClinicApi per thread (it owns one keep-alive client).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "support/server_process.h"

namespace reservoir::test {

inline const std::string kClinicDialect = "clinic";
inline const std::string kV1Reserve = "/schedule/open/v1/commands/reserve-by-visitor-id";
inline const std::string kV2Reserve = "/schedule/open/v2/commands/reserve";
inline const std::string kV2Update = "/schedule/open/v2/commands/update-reservation";
inline const std::string kClinicCancel = "/schedule/open/v1/commands/cancel-reservation";

// The demo clinic (SPEC §6.3): zone-laser has capacity 1; group-laser holds
// zone-laser and zone-consult, group-consult zone-consult and zone-reception.
inline const std::string kReception = "zone-reception";
inline const std::string kConsult = "zone-consult";
inline const std::string kLaser = "zone-laser";
inline const std::string kGroupLaser = "group-laser";
inline const std::string kGroupConsult = "group-consult";

// The seeds' error body: {"status":S,"message":E,"className":E,"errorProperties":[…]}.
inline std::string clinic_error(int status, const std::string& exception,
                                const std::vector<std::pair<std::string, std::string>>& props) {
  std::string list;
  for (const auto& [key, reason] : props) {
    list += (list.empty() ? "" : ",") + std::string(R"({"key":")") + key + R"(","reason":")" +
            reason + "\"}";
  }
  return R"({"status":)" + std::to_string(status) + R"(,"message":")" + exception +
         R"(","className":")" + exception + R"(","errorProperties":[)" + list + "]}";
}

// "2036-12-24T" + hhmm + ":00Z" style times: at("10:00") on the 24th.
inline std::string at(const std::string& hhmm, const std::string& day = "2036-12-24") {
  return day + "T" + hhmm + ":00Z";
}

// One V2 occupied resource.
inline std::string resource(const std::string& start, const std::string& end,
                            const std::string& group = kGroupConsult,
                            const std::string& zone = kConsult) {
  return R"({"startDateTimeUtc":")" + start + R"(","endDateTimeUtc":")" + end +
         R"(","reservationGroup":{"reservationGroupId":")" + group + R"(","zoneId":")" + zone +
         R"("}})";
}

inline std::string v1_body(const std::string& visitor, const std::string& start,
                           const std::string& end, const std::string& group = kGroupConsult,
                           const std::string& zone = kConsult) {
  return R"({"visitorId":")" + visitor + R"(","reservationGroupId":")" + group + R"(","zoneId":")" +
         zone + R"(","startDateTimeUtc":")" + start + R"(","endDateTimeUtc":")" + end + R"("})";
}

inline std::string resources(const std::vector<std::string>& list) {
  std::string out = "[";
  for (const auto& r : list) out += (out.size() > 1 ? "," : "") + r;
  return out + "]";
}

inline std::string v2_reserve_body(const std::string& visitor, const std::vector<std::string>& list,
                                   const std::string& reception = kReception,
                                   const std::string& extra = "") {
  return R"({"visitorId":")" + visitor + R"(","zoneId":")" + reception +
         R"(","occupiedResources":)" + resources(list) + extra + "}";
}

inline std::string update_body(const std::string& schedule, const std::vector<std::string>& list,
                               const std::string& reception = kReception,
                               const std::string& extra = "") {
  return R"({"scheduleId":")" + schedule + R"(","zoneId":")" + reception +
         R"(","occupiedResources":)" + resources(list) + extra + "}";
}

class ClinicApi {
 public:
  explicit ClinicApi(int port) : api_(port) {}
  explicit ClinicApi(const ServerProcess& server) : api_(server.port_of(kClinicDialect)) {}

  Api& raw() { return api_; }
  void bearer(std::string key) { bearer_ = std::move(key); }

  Reply post(const std::string& path, const std::string& body, httplib::Headers headers = {}) {
    return api_.post(path, body, with_bearer(std::move(headers)));
  }
  Reply get(const std::string& path, httplib::Headers headers = {}) {
    return api_.get(path, with_bearer(std::move(headers)));
  }
  Reply reserve_v1(const std::string& visitor, const std::string& start, const std::string& end,
                   const std::string& group = kGroupConsult, const std::string& zone = kConsult) {
    return post(kV1Reserve, v1_body(visitor, start, end, group, zone));
  }
  Reply reserve_v2(const std::string& visitor, const std::vector<std::string>& list) {
    return post(kV2Reserve, v2_reserve_body(visitor, list));
  }
  Reply update(const std::string& schedule, const std::vector<std::string>& list) {
    return post(kV2Update, update_body(schedule, list));
  }
  Reply cancel(const std::string& schedule) {
    return post(kClinicCancel, R"({"scheduleId":")" + schedule + R"("})");
  }
  Reply schedule(const std::string& id) { return get("/schedule/open/v1/schedules/" + id); }
  Reply day(const std::string& zone, const std::string& date) {
    return get("/schedule/open/v1/zones/" + zone + "/occupancy?date=" + date);
  }
  Reply visitor_schedules(const std::string& visitor, const std::string& query = "") {
    return get("/schedule/open/v1/visitors/" + visitor + "/schedules" +
               (query.empty() ? "" : "?" + query));
  }
  // The reservationId of a successful reserve ("" otherwise).
  static std::string id_of(const Reply& r) {
    return r.ok() && member(r.json, "reservationId") ? str(r.json, "reservationId") : "";
  }

 private:
  httplib::Headers with_bearer(httplib::Headers h) const {
    if (!bearer_.empty()) h.emplace("Authorization", "Bearer " + bearer_);
    return h;
  }
  Api api_;
  std::string bearer_;
};

}  // namespace reservoir::test
