// The writer's liveness signal for its standbys (SPEC §7, docs/SCALING.md
// "Standby and failover"): heartbeats on the one-partition topic
// TOPIC-election.
//
// - Heartbeat: the writer (serve --ha, or a standby that took over)
//   produces one message (value: its node name) every interval_ms from a
//   thread of its own, with a plain (non-transactional) producer.
// - HeartbeatWatch: a standby's consumer of that topic from its end;
//   silent_ms() is how long no heartbeat arrived (counted from open).
//
// Liveness only: who may write is decided by the epoch markers in the log
// (events/kafka_log.h); a heartbeat that lies (a paused writer) costs a
// later takeover, never a double decision. Why heartbeats and not a Kafka
// consumer group: docs/SCALING.md.
//
// Thread safety: Heartbeat runs by itself (stopped by its destructor);
// HeartbeatWatch from one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "events/status.h"

namespace reservoir::tools {

struct ElectionConfig {
  std::string brokers;
  std::string topic;  // TOPIC-election
  std::string node;   // this node's name
};

class Heartbeat {
 public:
  // Creates the topic when missing (KafkaLog::ensure_topic), then starts.
  static Result<std::unique_ptr<Heartbeat>> start(const ElectionConfig& config,
                                                  int64_t interval_ms);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

 private:
  Heartbeat() = default;
  void run(std::string topic, std::string node, int64_t interval_ms);
  void* rk_ = nullptr;  // rd_kafka_t*
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class HeartbeatWatch {
 public:
  static Result<std::unique_ptr<HeartbeatWatch>> open(const ElectionConfig& config);
  ~HeartbeatWatch();
  HeartbeatWatch(const HeartbeatWatch&) = delete;
  HeartbeatWatch& operator=(const HeartbeatWatch&) = delete;

  // Takes the heartbeats that arrived (waiting at most wait_ms for one);
  // returns how long ago the last one came (or the watch opened, or reset()).
  int64_t silent_ms(int64_t wait_ms);
  void reset();  // counts silence from now (a takeover lost: watch again)
  const std::string& last_node() const { return last_node_; }

 private:
  HeartbeatWatch() = default;
  void* rk_ = nullptr;  // rd_kafka_t*
  int64_t last_ms_ = 0;
  std::string last_node_;
};

}  // namespace reservoir::tools
