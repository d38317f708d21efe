// reservoir rebuild: rebuilds every projection from the log into a fresh
// store, then installs it atomically (projections/store_dir.h); each domain
// (concert, then clinic) from its own log into its own store. Refuses
// while a server holds --data; holds the lock itself meanwhile so no server
// starts halfway.
#include <cstdio>
#include <filesystem>

#include "events/dir_lock.h"
#include "projections/clinic_views.h"
#include "projections/views.h"
#include "tools/log_source.h"
#include "tools/rebuild_store.h"
#include "tools/subcommands.h"

namespace reservoir::tools {
namespace {

// The clinic domain's store under <data>/clinic, from its own log, when it
// has one (a concert-only server never made one).
int rebuild_clinic(const LogSource& source) {
  if (!source.may_have(LogDomain::kClinic)) return 0;
  auto log = open_log_read_only(source, LogDomain::kClinic);
  if (!log.ok()) {
    if (!source.kafka()) return fail(1, "cannot open the clinic log: " + log.status().ToString());
    std::fprintf(stderr, "rebuild: no clinic log (%s: %s); the clinic views are left alone\n",
                 source.describe(LogDomain::kClinic).c_str(), log.status().ToString().c_str());
    return 0;
  }
  std::fprintf(stderr, "rebuild: clinic, %llu events\n",
               static_cast<unsigned long long>((*log)->end_offset()));
  std::error_code ec;
  std::filesystem::create_directories(source.root(LogDomain::kClinic), ec);
  Status s = rebuild_store<projections::ClinicViews>(**log, source.root(LogDomain::kClinic),
                                                     (*log)->end_offset());
  if (!s.ok()) return fail(1, "clinic: " + s.message());
  return 0;
}

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
  return rebuild_clinic(source);
}

const SubcommandRegistration kRebuild{"rebuild", "rebuild the projections from the log",
                                      &run_rebuild};

}  // namespace
}  // namespace reservoir::tools
