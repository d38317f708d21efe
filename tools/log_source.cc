#include "tools/log_source.h"

#include "events/embedded_log.h"

namespace reservoir::tools {

Result<std::unique_ptr<EventLog>> open_log_read_only(const std::string& data_dir) {
  auto log = EmbeddedLog::open(data_dir + "/log", EmbeddedLog::Mode::kReadOnly);
  if (!log.ok()) return log.status();
  return std::unique_ptr<EventLog>(std::move(*log));
}

}  // namespace reservoir::tools
