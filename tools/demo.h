// The --demo catalog: a concert with two schedules of 50 seats and three
// users with some balance, and beside them the numeric catalog of SPEC §5.1
// (users 1, 2, 3; concert 1 with schedules 1 and 2, seats 1..50) for the
// numeric dialects; submitted as ordinary commands so it sits in the log like
// any other data.
//
// Thread safety: call once from the start-up thread while the writer runs.
#pragma once

#include <string>
#include <vector>

#include "api/service.h"

namespace reservoir::tools {

// Loads the demo into an empty log; returns the demo user ids (alice, bob,
// carol, 1, 2, 3), or an error.
Result<std::vector<std::string>> load_demo(api::ConcertWriter& writer, int64_t now_ms);

}  // namespace reservoir::tools
