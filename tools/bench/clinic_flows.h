// Clinic flows: the virtual users of the clinic scenarios of `reservoir
// bench` (SPEC §6 through its routes under /schedule/open/), their set-up
// through the clinic admin API, and how the clinic's answers are read.
//
//   clinic      each connection reserves for its own visitors, V1 and V2 in
//               turn, each on the visitor's next free 30-minute slot (V2: two
//               consecutive slots on one UTC day), so every reserve succeeds:
//               a visitor's slots never overlap, and a capacity zone's
//               capacity is the number of visitors (a visitor occupies at
//               most one resource at any instant). Half the V1 reserves and
//               one resource of every V2 go to a capacity zone.
//   clinic-hot  every visitor reserves one of a few overlapping intervals of
//               the one hot zone (capacity kHotCapacity), V1 and V2 in turn;
//               400 InvalidRequestException NotAvailable is expected; a
//               winner cancels at once, so the zone stays contested.
//
// The run's ids come from the Catalog's per-run prefix (visitor i is
// prefix + "v" + i and belongs to connection i mod connections), so repeated
// runs against one server do not collide. Times assume the clinic's default
// UTC offset (+00:00): a V2's resources then start on one clinic day.
//
// Thread safety: a flow belongs to its worker thread; clinic_set_up uses
// only its own client; the rest are pure functions.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "tools/bench/flows.h"

namespace reservoir::tools::bench {

inline constexpr int64_t kHotCapacity = 8;  // clinic-hot: reservations the hot zone holds at once

// clinic | clinic-hot.
bool is_clinic(const std::string& scenario);

// Creates the zones and groups (worker 0, first) and the visitors `worker`
// owns through the clinic admin API (Admin-Key). An id that already exists
// (409 ConflictException) counts as done. "" or what went wrong.
std::string clinic_set_up(httplib::Client& client, const Catalog& catalog,
                          const std::string& admin_key, int worker, int workers);

// The clinic flow for the scenario; nullptr for another name.
std::unique_ptr<Flow> make_clinic_flow(const std::string& scenario, const FlowContext& context);

// The exception name of a clinic error: the seeds' envelope's "message"
// ({"status":400,"message":"InvalidRequestException",…}); "" when none.
std::string_view clinic_error_code(std::string_view body);

}  // namespace reservoir::tools::bench
