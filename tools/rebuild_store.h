// rebuild_store<V>: builds one domain's view store from its whole log into a
// fresh directory under the domain's root, installs it atomically
// (projections/store_dir.h), then removes the stores under that root that
// are neither live nor the new one. Each domain has its own root (the
// concert views under <data>, another domain's under e.g. <data>/clinic),
// so stores of different domains are rebuilt and swapped independently.
//
// Thread safety: one call at a time per root; the caller holds the data
// directory's DirLock.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "events/event_log.h"
#include "events/replay.h"
#include "events/status.h"
#include "projections/store_dir.h"
#include "projections/view_store.h"

namespace reservoir::tools {

namespace rebuild_detail {

inline constexpr size_t kBatchEventsMax = 8192;         // events per chunk read ahead
inline constexpr uint64_t kProgressCheckEvents = 4096;  // events between two looks at the clock
inline constexpr double kProgressEverySeconds = 1.0;

using Clock = std::chrono::steady_clock;

inline void progress(uint64_t done, uint64_t total, Clock::time_point start, bool last) {
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
template <projections::BulkViews V>
Status apply_all(EventLog& log, V& views, uint64_t end) {
  const auto start = Clock::now();
  auto shown = start;
  Status s = replay_log<typename V::Decoded>(
      log, 0, end, kBatchEventsMax, &V::decode,
      [&](const EventEnvelope& env, const typename V::Decoded& event) {
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

// Removes the stores directly under `root` (`projections`, `projections-*`)
// other than `live` (left by an earlier rebuild that crashed or was
// superseded). Nothing else under `root` is touched: not another domain's
// root below it.
inline void remove_stale_stores(const std::string& root, const std::string& live) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    const bool store = name == "projections" || name.rfind("projections-", 0) == 0;
    if (store && entry.path().string() != live) std::filesystem::remove_all(entry.path(), ec);
  }
}

}  // namespace rebuild_detail

// Rebuilds V's store under `root` from the log's events [0, end). The error
// says what failed, for the operator; the old store stays in use then.
template <projections::BulkViews V>
Status rebuild_store(EventLog& log, const std::string& root, uint64_t end) {
  const std::string name =
      "projections-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  const std::string fresh = root + "/" + name;
  {
    auto views = V::open(fresh);
    if (!views.ok()) {
      return Status::IOError("cannot create " + fresh + ": " + views.status().ToString());
    }
    Status s = rebuild_detail::apply_all(log, **views, end);
    if (!s.ok()) {
      std::filesystem::remove_all(fresh);
      return Status::Corruption("rebuild failed, the old store stays in use: " + s.ToString());
    }
  }
  Status s = projections::install_store_dir(root, name);
  if (!s.ok()) return Status::IOError("cannot install the new store: " + s.ToString());
  rebuild_detail::remove_stale_stores(root, fresh);
  std::fprintf(stderr, "rebuild: installed %s (%llu events)\n", fresh.c_str(),
               static_cast<unsigned long long>(end));
  return Status::OK();
}

}  // namespace reservoir::tools
