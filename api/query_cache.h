// QueryCache: rendered bodies of successful query answers, so a hot query
// (a schedule's 500 seats, the concert list) is read and rendered once per
// change instead of once per request.
//
// Correctness: an entry is stored with a Stamp: the version stripe of the
// view part it shows and that stripe's (even) version, loaded *before* the
// views were read (projections/view_versions.h), plus the clock window in
// which the answer does not depend on the time. find() returns an entry only for
// the same stripe and version and a time inside its window, so an answer is
// never served after the apply that changes it; since queries first wait for
// read-your-writes, a query made after a command was acknowledged sees the
// command's version bump and renders afresh.
//
// Bound: entries are charged key + body + kEntryOverheadBytes against
// bytes_max (split evenly over kShards); the least recently used entries of
// a shard are evicted to make room, and a body larger than a shard's share
// is not kept.
//
// Thread safety: every member from any thread (a mutex per shard; bodies are
// shared immutable strings, copied out of the lock).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace reservoir::api {

class QueryCache {
 public:
  static constexpr size_t kBytesDefault = size_t{64} << 20;
  // Shards spread the lock over the HTTP threads.
  static constexpr size_t kShards = 16;
  // Charged per entry besides its key and body (list and map nodes, the
  // string headers), so many tiny answers are bounded too.
  static constexpr size_t kEntryOverheadBytes = 160;

  struct Stamp {
    size_t stripe = 0;
    uint64_t version = 0;
    // The answer is the same for any time in [valid_from_ms, valid_until_ms).
    int64_t valid_from_ms = std::numeric_limits<int64_t>::min();
    int64_t valid_until_ms = std::numeric_limits<int64_t>::max();

    // For an answer that changes at time `change_ms` (it reads "now >=
    // change_ms"): narrows the window to the side of it `now_ms` is on.
    void split_at(int64_t change_ms, int64_t now_ms) {
      if (change_ms <= now_ms) {
        valid_from_ms = std::max(valid_from_ms, change_ms);
      } else {
        valid_until_ms = std::min(valid_until_ms, change_ms);
      }
    }
  };

  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
    size_t entries = 0;
    size_t bytes = 0;  // as charged against bytes_max
  };

  explicit QueryCache(size_t bytes_max = kBytesDefault);

  // The body stored under `key` if its stamp has this stripe and version and
  // `now_ms` lies in its window; nullptr otherwise (a miss).
  std::shared_ptr<const std::string> find(std::string_view key, size_t stripe, uint64_t version,
                                          int64_t now_ms);

  // Keeps `body` under `key`, replacing an older entry; an entry of the same
  // stripe with a newer version stays (a slow reader must not put back an
  // answer that an apply has already outdated).
  void store(const std::string& key, const Stamp& stamp, std::string body);

  Stats stats() const;

 private:
  struct Entry {
    std::string key;
    Stamp stamp;
    std::shared_ptr<const std::string> body;
    size_t charged = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Entry> lru;  // most recently used first
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // keys live in lru
    size_t bytes = 0;
  };

  Shard& shard_of(std::string_view key);
  static void erase(Shard& s, std::list<Entry>::iterator it);

  const size_t shard_bytes_max_;
  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

}  // namespace reservoir::api
