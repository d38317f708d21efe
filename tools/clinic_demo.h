// The --demo clinic of SPEC §6.3: two visitors, three zones (one with
// capacity 1) and two reservation groups, submitted as ordinary clinic
// commands so they sit in the clinic log like any other data.
//
//   visitors v1, v2
//   zones    zone-reception, zone-consult, zone-laser (capacity 1)
//   groups   group-laser {zone-laser, zone-consult},
//            group-consult {zone-consult, zone-reception}
//
// Thread safety: call once from the start-up thread while the writer runs.
#pragma once

#include <string>

#include "engine/clinic/module.h"
#include "engine/writer.h"
#include "events/status.h"

namespace reservoir::tools {

// Loads the demo clinic into an empty clinic log; returns the line serve
// prints ("visitors v1 v2; zones …; groups …"), or an error.
Result<std::string> load_clinic_demo(Writer<clinic::Module>& writer);

}  // namespace reservoir::tools
