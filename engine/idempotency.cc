#include "engine/idempotency.h"

namespace reservoir {

std::string IdempotencyTable::map_key(const std::string& scope, const std::string& key) {
  std::string k;
  k.reserve(scope.size() + key.size() + 1);
  k.append(scope).push_back('\n');  // neither scopes nor keys contain '\n'
  k.append(key);
  return k;
}

const IdempotencyTable::Entry* IdempotencyTable::find(const std::string& scope,
                                                      const std::string& key) const {
  auto it = entries_.find(map_key(scope, key));
  return it == entries_.end() ? nullptr : &it->second;
}

const IdempotencyTable::Entry* IdempotencyTable::find(const std::string& scope,
                                                      const std::string& key,
                                                      int64_t now_ms) const {
  const Entry* e = find(scope, key);
  return e != nullptr && e->recorded_at + kRetentionMs >= now_ms ? e : nullptr;
}

void IdempotencyTable::apply(const events::IdempotencyRecorded& e, int64_t time_ms) {
  while (!by_time_.empty() && by_time_.front().first + kRetentionMs < time_ms) {
    // A key reused after aging out has a newer entry: keep that one.
    auto it = entries_.find(by_time_.front().second);
    if (it != entries_.end() && it->second.recorded_at == by_time_.front().first)
      entries_.erase(it);
    by_time_.pop_front();
  }
  std::string k = map_key(e.scope, e.key);
  entries_[k] =
      Entry{e.fingerprint, Rendered{static_cast<int>(e.status), e.body}, time_ms, e.redacted};
  by_time_.emplace_back(time_ms, std::move(k));
}

std::vector<std::pair<events::IdempotencyRecorded, int64_t>> IdempotencyTable::entries() const {
  std::vector<std::pair<events::IdempotencyRecorded, int64_t>> out;
  out.reserve(entries_.size());
  for (const auto& [time, k] : by_time_) {
    auto it = entries_.find(k);
    if (it == entries_.end() || it->second.recorded_at != time) continue;  // superseded
    const size_t cut = k.find('\n');
    const Entry& e = it->second;
    out.push_back({events::IdempotencyRecorded{k.substr(0, cut), k.substr(cut + 1), e.fingerprint,
                                               e.answer.status, e.answer.body, e.redacted},
                   time});
  }
  return out;
}

void IdempotencyTable::clear() {
  entries_.clear();
  by_time_.clear();
}

}  // namespace reservoir
