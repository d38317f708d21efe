// KafkaLog: the EventLog on a Kafka topic with exactly one partition.
//
// Contract (as EventLog, see event_log.h):
// - append() is one Kafka transaction (idempotent producer, acks=all,
//   transactional.id = config.transactional_id, by default topic +
//   "-writer", so that exactly one engine writes the topic: a second one
//   fences the first). It returns OK only once the transaction committed; only then
//   does end_offset() advance.
// - Each Kafka message holds a run of consecutive events of one batch (its
//   value: envelope_codec.h; a batch is split over several messages only when
//   it is larger than message_bytes_max) and the header "reservoir" = u64
//   first event offset, u32 event count, u64 event offset after the whole
//   batch (little-endian). After an aborted batch the log commits a "void"
//   message (no value, count 0, first = batch end = the aborted batch's first
//   event offset): readers drop any batch from there on that a broker still
//   showed them. Kafka offsets skip transaction markers and aborted
//   records; event offsets stay 0-based and consecutive because a failed batch
//   is retried at the same event offsets and the headers say where each
//   message belongs. An in-memory index (batch's first event offset -> Kafka
//   offset of its first message), built by the scan at open() and extended
//   by every commit, lets read() seek.
// - Readers consume with isolation.level=read_committed. A reader that meets a
//   batch re-using the event offsets of an earlier one takes the later one (a
//   broker that shows aborted records, like librdkafka 2.0.2's mock cluster,
//   is read correctly once a retry or a void marker followed); any other
//   break in the numbering is Corruption naming the event and Kafka offsets.
// - Failures: a commit that times out leaves the transaction undecided:
//   append() returns Unavailable and settle() retries the commit (or aborts
//   it when the broker says so) until it is decided. An abortable error is
//   aborted at once. A fenced producer (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH,
//   or librdkafka's _FENCED) makes append() and settle() return Fenced from
//   then on. Any other fatal producer error recreates the producer in
//   settle() (its init_transactions ends whatever was left open) and re-reads
//   the topic's tail, so end_offset() is what Kafka committed.
// - Time: append() returns within 3 * append_timeout_ms (commit, abort,
//   void marker), settle() within 4 * append_timeout_ms, read()
//   within read_timeout_ms (Unavailable when Kafka does not answer), open()
//   within about open_timeout_ms per step (connect, topic, producer), and its
//   scan fails after open_timeout_ms without progress (a long topic takes as
//   long as it takes).
// - The topic must have exactly one partition (one total order). open()
//   creates a missing topic with CreateTopics: 1 partition, replication
//   factor min(3, brokers), min.insync.replicas min(2, brokers),
//   cleanup.policy=delete, retention.ms=-1 (never compacted, never expired).
//   librdkafka's mock cluster implements no CreateTopics: on a cluster that
//   has the topic kKafkaMockRequestTopic (`reservoir kafka-mock`), open()
//   instead produces the topic's name there, the mock creates it with one
//   partition, and open() waits until the metadata shows it.
//
// - Failover (docs/KAFKA.md, "Failover"): every message carries the header
//   "reservoir-epoch" = u64 epoch of its writer (absent: 0). take_over()
//   commits a takeover marker (a "reservoir" header with count 0, plus
//   "reservoir-marker" = the node's name, epoch = highest valid + 1). The
//   reader rule, applied by the scan before the re-use rule above: a marker
//   is valid only if its epoch is above the highest valid epoch so far; a
//   message whose epoch is below it is void (skipped). With
//   confirm_appends, append() reads the topic up to its batch and returns
//   Fenced (nothing acknowledged) when a valid higher marker precedes it.
//
// - Following (kReadOnly): the scan's consumer stays assigned at the topic's
//   tail and wait_beyond() long-polls it: a batch is indexed as soon as the
//   broker delivers it (read_committed; the reader rules above apply), not at
//   the next look. One waiter at a time polls, at most kTailWaitMax per
//   poll; the others wait to be woken by what it publishes. close_waiters()
//   wakes the poll at once.
// - librdkafka's own log lines go through oplog (event "kafka_client"), in
//   the operator's log format, on every client this process creates
//   (route_kafka_logs()).
//
// Thread safety: as EventLog: one appender (append, settle) at a time; any
// number of concurrent readers and waiters. Each concurrent read() uses a
// consumer of its own from a small pool (kReadersMax).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "events/event_log.h"
#include "events/histogram.h"
#include "events/published_end.h"

struct rd_kafka_conf_s;
struct rd_kafka_message_s;

namespace reservoir {

// Sends the log lines of the librdkafka client made from `conf` to oplog
// (event "kafka_client", syslog levels 0-3 error, 4 warn, 5-7 info; fields
// facility and message) instead of librdkafka's own stderr lines, which
// ignore --log-format. Call before rd_kafka_new(). librdkafka's lines name
// brokers, topics and errors, never a configuration value such as
// sasl.password.
void route_kafka_logs(rd_kafka_conf_s* conf);

// The topic on which `reservoir kafka-mock` takes topic names to create (the
// mock implements no CreateTopics); its presence marks a cluster as the mock.
inline constexpr const char* kKafkaMockRequestTopic = "__reservoir-kafka-mock-create-topic";

struct KafkaLogConfig {
  std::string brokers;           // bootstrap.servers
  std::string topic;             // one partition
  std::string transactional_id;  // empty: topic + "-writer"
  int replication_factor_max = 3;
  int min_insync_replicas_max = 2;
  int64_t transaction_timeout_ms = 60'000;  // the coordinator aborts a transaction older than this
  int64_t append_timeout_ms = 5'000;        // one commit, abort or settle step
  int64_t read_timeout_ms = 5'000;          // one read()
  int64_t open_timeout_ms = 30'000;         // each step of open(); the scan: without progress
  size_t message_bytes_max = 900 * 1024;    // events per message, under the broker's 1 MB default
  // A standby may take over (serve --ha, --role standby): each append is
  // confirmed valid (no higher takeover marker precedes it) before append()
  // returns OK, at the cost of one read-back per append.
  bool confirm_appends = false;
};

class KafkaLog final : public EventLog {
 public:
  enum class Mode { kReadWrite, kReadOnly };

  static constexpr size_t kReadersMax = 4;  // consumers for concurrent read() calls
  static constexpr size_t kHeaderBytes = 20;
  static constexpr const char* kHeaderKey = "reservoir";
  static constexpr const char* kEpochHeaderKey = "reservoir-epoch";    // u64, little-endian
  static constexpr const char* kMarkerHeaderKey = "reservoir-marker";  // the node's name
  // kReadOnly wait_beyond(): the longest single long-poll of the topic's tail
  // (it returns as soon as data arrives); between polls the waiter looks at
  // its deadline and at take_over(), which waits for the scan lock.
  static constexpr std::chrono::milliseconds kTailWaitMax{100};
  static constexpr int kFetchWaitMaxMs = 10;  // an idle fetch's wait: follower latency
  // After a fetch error (a broker down), the next fetch; librdkafka's
  // default is 500 ms, which a replica would add to its lag on recovery.
  static constexpr int kFetchErrorBackoffMs = 50;

  // kReadWrite creates a missing topic, initialises the transactional
  // producer and reads the topic to its end; kReadOnly never writes and
  // fails with NotFound when the topic is missing. InvalidArgument when the
  // topic has more than one partition; Unavailable when Kafka cannot be
  // reached in time; Corruption when the topic holds what we did not write.
  static Result<std::unique_ptr<KafkaLog>> open(const KafkaLogConfig& config, Mode mode);

  // Creates config.topic (1 partition) when it is missing, as open() does,
  // for a topic that is not an event log (serve's election topic).
  static Status ensure_topic(const KafkaLogConfig& config);

  ~KafkaLog() override;
  KafkaLog(const KafkaLog&) = delete;
  KafkaLog& operator=(const KafkaLog&) = delete;

  Status append(std::vector<EventEnvelope>& batch) override;
  Status settle() override;
  uint64_t end_offset() const override;
  Status read(uint64_t from, size_t max_events, std::vector<EventEnvelope>* out) override;
  uint64_t wait_beyond(uint64_t offset, std::chrono::milliseconds timeout) override;
  void close_waiters() override;
  uint64_t rewrites() const override { return rewrites_.load(std::memory_order_relaxed); }

  // A log opened kReadOnly becomes the writer (SPEC §7 takeover): starts a
  // transactional producer (init_transactions fences the old one on a real
  // broker), commits a takeover marker with epoch = highest valid + 1,
  // reads the topic to its end and checks that its marker is valid. OK: the
  // log is kReadWrite from here on, end_offset() is the log's end. Aborted:
  // another node's marker won the race (the log stays kReadOnly).
  // Unavailable: Kafka did not answer in time (it stays kReadOnly). From the
  // owning thread, with no concurrent append.
  Status take_over(const std::string& node);
  // The highest valid epoch this log has seen (its own, once it writes).
  uint64_t epoch() const { return epoch_.load(std::memory_order_relaxed); }
  // Messages skipped as void by the epoch rule.
  uint64_t voided() const { return voided_.load(std::memory_order_relaxed); }

  const std::string& transactional_id() const { return config_.transactional_id; }
  // The duration (ns) of each append's flush and transaction commit, while
  // metrics_on() (events/histogram.h).
  const Histogram& commit_durations() const { return commit_ns_; }
  const std::string& topic() const { return config_.topic; }
  // Transactions committed and aborted by this log (for metrics and tests).
  uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  uint64_t aborts() const { return aborts_.load(std::memory_order_relaxed); }

  struct IndexEntry {
    uint64_t first_offset;  // event offset of the batch's first event
    int64_t kafka_offset;   // Kafka offset of the batch's first message
    // The highest valid epoch where the batch lies: a message below it
    // among the batch's messages (an old writer's, void) is skipped by read().
    uint64_t epoch = 0;
  };
  struct Reader;    // a consumer with its position
  struct Scan;      // the scan's state between calls
  struct Producer;  // the transactional producer and its delivery reports
  struct ReadPlan;  // the batches a read() consumes

 private:
  enum class TxnState { kReady, kCommitPending, kAbortPending, kBroken, kFenced };

  KafkaLog(KafkaLogConfig config, Mode mode);

  Status connect();
  Status scan_to_end(int64_t timeout_ms);
  Status accept_message(Scan& scan, int64_t kafka_offset, uint64_t first, uint32_t count,
                        uint64_t batch_end);
  Status accept_void(Scan& scan, int64_t kafka_offset, uint64_t first);
  bool is_batch_start(uint64_t event_offset) const;
  void truncate_to(uint64_t event_offset);
  Status accept_epoch(Scan& scan, const void* message, uint64_t first, uint32_t count,
                      uint64_t batch_end);
  Status confirm(int64_t batch_kafka, int64_t next_kafka);
  Status commit_marker(const std::string& node, uint64_t epoch, int64_t* kafka_offset);
  void publish(const IndexEntry& entry, uint64_t end_offset, int64_t next_kafka);
  Status produce_batch(const std::vector<EventEnvelope>& batch, uint64_t first);
  Status finish_commit(int64_t timeout_ms);
  Status finish_abort(int64_t timeout_ms);
  void write_void(uint64_t at);
  Status settle_failed() const;
  Status recreate_producer();
  Status classify(const char* step, void* error);  // rd_kafka_error_t*, destroyed here
  Status fenced_status() const;
  bool plan_read(uint64_t from, size_t max_events, ReadPlan* plan) const;
  Status read_plan(Reader& reader, const ReadPlan& plan, std::vector<EventEnvelope>* out) const;
  Status take_message(const void* message, const ReadPlan& plan, size_t j, uint64_t& next_event,
                      std::vector<EventEnvelope>* out) const;
  Result<std::unique_ptr<Reader>> take_reader(int64_t kafka_offset);
  void give_back(std::unique_ptr<Reader> reader);
  Status follow(int64_t wait_ms);
  Status take_scanned(rd_kafka_message_s** msgs, size_t n, Status* last_error);

  KafkaLogConfig config_;
  std::atomic<Mode> mode_;

  // The published log: index_ and end_offset_ change together under index_mu_.
  mutable std::shared_mutex index_mu_;
  std::vector<IndexEntry> index_;
  PublishedEnd end_offset_;  // also wakes wait_beyond()
  std::atomic<bool> waiters_closed_{false};
  std::atomic<int64_t> tail_kafka_{0};  // Kafka offset after the last indexed message

  // The scan (open, kReadOnly follow, rescan after a producer was recreated).
  std::mutex scan_mu_;
  std::unique_ptr<Scan> scan_;

  // Idle consumers for read().
  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Reader>> idle_readers_;
  size_t readers_open_ = 0;

  // The appender's own state (one appender at a time).
  std::unique_ptr<Producer> producer_;
  TxnState txn_state_ = TxnState::kReady;
  std::string fenced_why_;
  // The batch of an undecided commit: published if the commit completes.
  uint64_t pending_first_ = 0;
  uint64_t pending_count_ = 0;

  std::atomic<uint64_t> commits_{0}, aborts_{0};
  std::atomic<uint64_t> epoch_{0};     // highest valid epoch seen (the scan's)
  std::atomic<uint64_t> voided_{0};    // messages skipped by the epoch rule
  std::atomic<uint64_t> rewrites_{0};  // truncate_to calls (EventLog::rewrites)
  uint64_t write_epoch_ = 0;           // the appender's epoch, carried by its messages
  int64_t confirmed_kafka_ = 0;        // confirm_appends: checked up to here
  Histogram commit_ns_{kDurationBoundsNs};
};

}  // namespace reservoir
