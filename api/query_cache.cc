#include "api/query_cache.h"

#include <functional>

namespace reservoir::api {

QueryCache::QueryCache(size_t bytes_max) : shard_bytes_max_(bytes_max / kShards) {}

QueryCache::Shard& QueryCache::shard_of(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

void QueryCache::erase(Shard& s, std::list<Entry>::iterator it) {
  s.bytes -= it->charged;
  s.index.erase(std::string_view(it->key));
  s.lru.erase(it);
}

std::shared_ptr<const std::string> QueryCache::find(std::string_view key, size_t stripe,
                                                    uint64_t version, int64_t now_ms) {
  Shard& s = shard_of(key);
  std::shared_ptr<const std::string> body;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.index.find(key);
    if (it != s.index.end()) {
      const Stamp& st = it->second->stamp;
      if (st.stripe == stripe && st.version == version && st.valid_from_ms <= now_ms &&
          now_ms < st.valid_until_ms) {
        s.lru.splice(s.lru.begin(), s.lru, it->second);
        body = it->second->body;
      }
    }
  }
  (body ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  return body;
}

void QueryCache::store(const std::string& key, const Stamp& stamp, std::string body) {
  const size_t charged = key.size() + body.size() + kEntryOverheadBytes;
  if (charged > shard_bytes_max_) return;
  auto shared = std::make_shared<const std::string>(std::move(body));
  Shard& s = shard_of(key);
  std::lock_guard<std::mutex> lock(s.mu);
  if (auto it = s.index.find(key); it != s.index.end()) {
    const Stamp& old = it->second->stamp;
    if (old.stripe == stamp.stripe && old.version > stamp.version) return;
    erase(s, it->second);
  }
  while (s.bytes + charged > shard_bytes_max_) erase(s, std::prev(s.lru.end()));
  s.lru.push_front(Entry{key, stamp, std::move(shared), charged});
  s.index.emplace(std::string_view(s.lru.front().key), s.lru.begin());
  s.bytes += charged;
}

QueryCache::Stats QueryCache::stats() const {
  Stats out;
  out.hits = hits_.load(std::memory_order_relaxed);
  out.misses = misses_.load(std::memory_order_relaxed);
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    out.entries += s.lru.size();
    out.bytes += s.bytes;
  }
  return out;
}

}  // namespace reservoir::api
