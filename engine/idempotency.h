// IdempotencyTable: the remembered answers of idempotent commands, keyed by
// (scope, key). It is engine state, rebuilt from IdempotencyRecorded events,
// so answers survive restarts. Entries are kept `retention_ms` (25 h: the
// contract promises at least 24 h) after they were recorded, judged by event
// time so that replay prunes exactly as the live engine did.
//
// Thread safety: none; owned by the single writer.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/reply.h"
#include "events/engine_events.h"

namespace reservoir {

class IdempotencyTable {
 public:
  static constexpr int64_t kRetentionMs = 25LL * 3600 * 1000;

  struct Entry {
    int64_t fingerprint = 0;
    Rendered answer;  // as recorded: a redacted secret is still kSecretMark
    int64_t recorded_at = 0;
    std::string redacted;  // IdempotencyRecorded::redacted
  };

  // nullptr when the key was never used by this scope (or has been pruned).
  const Entry* find(const std::string& scope, const std::string& key) const;
  // The same for a command at `now_ms`: also nullptr for an entry past its
  // retention that no later record has pruned yet (pruning runs only as
  // records are applied). Past it, what the answer names (a token, a
  // reservation) may be gone from the engine's state (docs/MEMORY.md), so
  // the command is decided afresh instead of replaying it.
  const Entry* find(const std::string& scope, const std::string& key, int64_t now_ms) const;

  void apply(const events::IdempotencyRecorded& e, int64_t time_ms);

  size_t size() const { return entries_.size(); }

  // The live entries oldest first, as the events that recorded them (with
  // their times): applying them in order rebuilds this table (snapshots).
  std::vector<std::pair<events::IdempotencyRecorded, int64_t>> entries() const;
  void clear();

 private:
  static std::string map_key(const std::string& scope, const std::string& key);
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::pair<int64_t, std::string>> by_time_;  // (recorded at, map key), oldest first
};

}  // namespace reservoir
