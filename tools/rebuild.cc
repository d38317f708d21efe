// reservoir rebuild: rebuilds every projection from the log into a fresh
// store, then installs it atomically (projections/store_dir.h). Refuses
// while a server holds --data; holds the lock itself meanwhile so no server
// starts halfway.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "events/dir_lock.h"
#include "events/replay.h"
#include "projections/store_dir.h"
#include "projections/views.h"
#include "tools/log_source.h"
#include "tools/subcommands.h"

namespace reservoir::tools {
namespace {

constexpr size_t kBatchEventsMax = 8192;         // events per chunk read ahead
constexpr uint64_t kProgressCheckEvents = 4096;  // events between two looks at the clock
constexpr double kProgressEverySeconds = 1.0;

using Clock = std::chrono::steady_clock;

void progress(uint64_t done, uint64_t total, Clock::time_point start, bool last) {
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  const double rate = s > 0 ? static_cast<double>(done) / s : 0;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
  std::fprintf(stderr, "\rrebuild: %llu/%llu events (%.0f%%), %.0f events/s, ETA %.0f s   %s",
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
               total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0, rate,
               eta, last ? "\n" : "");
}

// Applies the log [0, end) to `views` with a bulk load (read and decoded
// on a second thread), showing progress. The last line's rate includes
// writing out the store.
Status apply_all(EventLog& log, projections::Projections& views, uint64_t end) {
  const auto start = Clock::now();
  auto shown = start;
  Status s = replay_log<Result<projections::ViewEvent>>(
      log, 0, end, kBatchEventsMax, &projections::decode_for_views,
      [&](const EventEnvelope& env, const Result<projections::ViewEvent>& event) {
        if (!event.ok()) return event.status();
        if (Status a = views.bulk_apply(env.offset, event.value()); !a.ok()) return a;
        if (env.offset % kProgressCheckEvents == 0 &&
            std::chrono::duration<double>(Clock::now() - shown).count() >= kProgressEverySeconds) {
          shown = Clock::now();
          progress(env.offset + 1, end, start, false);
        }
        return Status::OK();
      });
  if (!s.ok()) return s;
  if (s = views.finish_bulk(); !s.ok()) return s;
  progress(end, end, start, true);
  return views.flush();
}

// Removes stores under `data` that are neither live nor `keep` (left by an
// earlier rebuild that crashed or was superseded).
void remove_stale_stores(const std::string& data, const std::string& live) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data, ec)) {
    const std::string name = entry.path().filename().string();
    const bool store = name == "projections" || name.rfind("projections-", 0) == 0;
    if (store && entry.path().string() != live) std::filesystem::remove_all(entry.path(), ec);
  }
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
  const std::string name =
      "projections-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  const std::string fresh = data + "/" + name;
  const uint64_t end = (*log)->end_offset();
  {
    auto views = projections::Projections::open(fresh);
    if (!views.ok()) return fail(1, "cannot create " + fresh + ": " + views.status().ToString());
    Status s = apply_all(**log, **views, end);
    if (!s.ok()) {
      std::filesystem::remove_all(fresh);
      return fail(1, "rebuild failed, the old store stays in use: " + s.ToString());
    }
  }
  Status s = projections::install_store_dir(data, name);
  if (!s.ok()) return fail(1, "cannot install the new store: " + s.ToString());
  remove_stale_stores(data, fresh);
  std::fprintf(stderr, "rebuild: installed %s (%llu events)\n", fresh.c_str(),
               static_cast<unsigned long long>(end));
  return 0;
}

const SubcommandRegistration kRebuild{"rebuild", "rebuild the projections from the log",
                                      &run_rebuild};

}  // namespace
}  // namespace reservoir::tools
