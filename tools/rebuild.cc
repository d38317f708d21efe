// reservoir rebuild: rebuilds every projection from the log into a fresh
// store, then installs it atomically (projections/store_dir.h). Refuses
// while a server holds --data; holds the lock itself meanwhile so no server
// starts halfway.
#include <filesystem>

#include "events/dir_lock.h"
#include "projections/views.h"
#include "tools/log_source.h"
#include "tools/rebuild_store.h"
#include "tools/subcommands.h"

namespace reservoir::tools {
namespace {

int run_rebuild(int argc, char** argv) {
  LogSource source;
  Flags f("rebuild",
          "Rebuilds every projection from the event log into a fresh store and swaps it in\n"
          "atomically (a crash midway leaves the old store in use). Refuses while a server\n"
          "uses the same --data. With --kafka-brokers the log is read from Kafka; the\n"
          "projections stay under --data.");
  f.add_string("data", &source.data, "data directory (projections; and the log, unless Kafka)");
  declare_kafka_flags(f, source);
  if (int rc = handle_flags(f, argc, argv); rc >= 0) return rc;
  const std::string& data = source.data;
  if (!source.kafka() && !std::filesystem::exists(data + "/log")) {
    return fail(1, "no event log under " + data);
  }
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  auto lock = DirLock::acquire(data);
  if (!lock.ok()) return fail(1, "refusing to rebuild: " + lock.status().message());
  auto log = open_log_read_only(source);
  if (!log.ok()) return fail(1, "cannot open the log: " + log.status().ToString());
  Status s = rebuild_store<projections::Projections>(**log, data, (*log)->end_offset());
  if (!s.ok()) return fail(1, s.message());
  return 0;
}

const SubcommandRegistration kRebuild{"rebuild", "rebuild the projections from the log",
                                      &run_rebuild};

}  // namespace
}  // namespace reservoir::tools
