// ViewVersions: change counters for parts of the views, so a reader can tell
// whether what it read earlier is still current without reading it again
// (api/query_cache.h keeps rendered answers by them). A part is a scope and
// an id: the catalog, a concert (its schedules list), a schedule (its seats),
// a user (its balance). Parts share kStripes counters by hash: two parts on
// one counter only make each other look changed more often, never less.
//
// Protocol (a seqlock without the reader's re-check): the applier bump()s
// the counter of every part a batch changes once before writing the batch
// (the counter turns odd: changing) and once after (even: changed). A reader
// loads version() *before* reading the views. An answer read at an even
// version v stays current while version() is still v: a write to the part
// since would have turned it odd first, and a reader that saw any of that
// write's records (RocksDB publishes them with release stores) sees the odd
// bump too. So an answer kept under v is never older than what its reader,
// or anyone the reader told, has already seen. Answers read at an odd
// version are not kept.
//
// Thread safety: bump() and bump_all() from the one applying thread;
// stripe() and version() from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace reservoir::projections {

enum class ViewScope : uint8_t { kCatalog, kConcert, kSchedule, kUser };

class ViewVersions {
 public:
  // 128 KiB of counters: enough that the parts of a busy catalog and user
  // base rarely share one.
  static constexpr size_t kStripes = size_t{1} << 14;

  ViewVersions() : counters_(std::make_unique<std::atomic<uint64_t>[]>(kStripes)) {}

  // The counter that stands for (scope, id); pure.
  static size_t stripe(ViewScope scope, std::string_view id) {
    // FNV-1a over the scope byte and the id: cheap, and spreads ids that
    // differ only in their last characters (generated ids often do).
    uint64_t h = 14695981039346656037ull;
    auto mix = [&h](unsigned char c) { h = (h ^ c) * 1099511628211ull; };
    mix(static_cast<unsigned char>(scope));
    for (char c : id) mix(static_cast<unsigned char>(c));
    return static_cast<size_t>((h ^ (h >> 29)) & (kStripes - 1));
  }

  uint64_t version(size_t stripe) const {
    return counters_[stripe].load(std::memory_order_acquire);
  }
  // False while a write to the part is under way (an odd version).
  static bool steady(uint64_t version) { return version % 2 == 0; }
  void bump(size_t stripe) { counters_[stripe].fetch_add(1, std::memory_order_acq_rel); }
  // Everything changes at once (a bulk ingest): once before, once after.
  void bump_all() {
    for (size_t i = 0; i < kStripes; ++i) bump(i);
  }

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> counters_;
};

}  // namespace reservoir::projections
