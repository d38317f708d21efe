// ClinicBackend: what the clinic dialect's handlers (api/clinic.cc) use of
// the clinic domain: its single writer, its query views, and the clinic's
// settings from `serve` (SPEC §6.4). The concert domain's are Service's own;
// the clinic's sit here so Service stays one object for every listener.
//
// Thread safety: set once before serving (Service::set_clinic); then read
// by any number of HTTP threads (the writer and views are thread-safe).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/clinic/module.h"
#include "engine/writer.h"
#include "projections/clinic_views.h"

namespace reservoir::api {

using ClinicWriter = Writer<clinic::Module>;

struct ClinicBackend {
  ClinicWriter* writer = nullptr;  // nullptr on a query replica (SPEC §7)
  projections::ClinicViews* views = nullptr;
  std::optional<std::string> api_key;    // --clinic-api-key; nullopt: the API is open
  std::optional<std::string> admin_key;  // --admin-key; nullopt: admin routes answer 403
  int64_t utc_offset_min = 0;            // --clinic-utc-offset, in minutes
};

}  // namespace reservoir::api
