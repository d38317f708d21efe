// Opening the event log for the audit and operations tools (replay,
// rebuild): read-only, so they may run beside a server on the same --data.
#pragma once

#include <memory>
#include <string>

#include "events/event_log.h"
#include "events/status.h"

namespace reservoir::tools {

// The embedded log under `data_dir` (`<data>/log`), opened read-only.
Result<std::unique_ptr<EventLog>> open_log_read_only(const std::string& data_dir);

}  // namespace reservoir::tools
