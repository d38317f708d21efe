#include "events/kafka_log.h"
#include "events/oplog.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <deque>
#include <thread>
#include <utility>

#include "events/envelope_codec.h"
#include "events/epoch_rule.h"

namespace reservoir {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kReaderGroup = "reservoir-reader";  // assign-only: never joins nor commits
constexpr size_t kConsumeBatchMax = 256;                  // messages per consume call
constexpr const char* kReaderQueueKBytes = "16384";       // prefetch per reader (16 MiB)
// settle(): commit or abort, then a void marker's commit, then one more try.
constexpr int kSettleStepsMax = 3;
// A reader this close before the offset it wants reads on instead of seeking.
constexpr int64_t kSkipInsteadOfSeekMax = 16;
// A broker that comes back is found within a second (librdkafka: up to 10 s).
constexpr const char* kReconnectBackoffMaxMs = "1000";

void put_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void put_u64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

// The "reservoir" header of a message: which events it holds.
struct MessageHeader {
  uint64_t first = 0;      // event offset of the message's first event
  uint32_t count = 0;      // events in the message
  uint64_t batch_end = 0;  // event offset after the message's batch
};

void encode_header(const MessageHeader& h, char* out) {
  put_u64(out, h.first);
  put_u32(out + 8, h.count);
  put_u64(out + 12, h.batch_end);
}

bool decode_header(const char* p, size_t n, MessageHeader* h) {
  if (p == nullptr || n != KafkaLog::kHeaderBytes) return false;
  *h = MessageHeader{get_u64(p), get_u32(p + 8), get_u64(p + 12)};
  if (h->count == 0) return h->first == h->batch_end;  // a void marker (KafkaLog::write_void)
  return h->first + h->count <= h->batch_end;
}

// Reads the header of `m`; false when it has none or a malformed one.
bool message_header(const rd_kafka_message_t* m, MessageHeader* h) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(m, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(headers, KafkaLog::kHeaderKey, &value, &size) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return false;
  }
  return decode_header(static_cast<const char*>(value), size, h);
}

// The epoch and takeover-marker headers of `m` (absent epoch: 0, a topic
// written before failover existed).
struct EpochTag {
  uint64_t epoch = 0;
  bool marker = false;  // a takeover marker (KafkaLog::take_over)
  std::string node;     // the marker's node name
};

EpochTag epoch_tag(const rd_kafka_message_t* m) {
  EpochTag t;
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(m, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return t;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(headers, KafkaLog::kEpochHeaderKey, &value, &size) ==
          RD_KAFKA_RESP_ERR_NO_ERROR &&
      size == 8) {
    t.epoch = get_u64(static_cast<const char*>(value));
  }
  if (rd_kafka_header_get_last(headers, KafkaLog::kMarkerHeaderKey, &value, &size) ==
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    t.marker = true;
    if (value != nullptr) t.node.assign(static_cast<const char*>(value), size);
  }
  return t;
}

int64_t ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max<int64_t>(0, left.count());
}

bool is_fence(rd_kafka_resp_err_t code) {
  return code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
         code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
}

// Sets `conf` pairs; an unknown name or a bad value is a programming error
// here except for the user's brokers, reported as InvalidArgument.
Status set_all(rd_kafka_conf_t* conf,
               std::initializer_list<std::pair<const char*, std::string>> pairs) {
  char err[512];
  for (const auto& [name, value] : pairs) {
    if (rd_kafka_conf_set(conf, name, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return Status::InvalidArgument(std::string("kafka setting ") + name + ": " + err);
    }
  }
  return Status::OK();
}

// Creates a client; takes `conf` in every case.
Result<rd_kafka_t*> new_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  route_kafka_logs(conf);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("cannot create a Kafka client: ") + err);
  }
  return rk;
}

std::string kafka_where(const KafkaLogConfig& c) {
  return "Kafka topic '" + c.topic + "' at " + c.brokers;
}

// librdkafka's log_cb: runs on its internal threads, so it calls no
// librdkafka function and does one write (oplog::log_event).
void kafka_log_line(const rd_kafka_t*, int level, const char* facility, const char* line) {
  const oplog::Level ours = level <= 3   ? oplog::Level::kError  // emerg, alert, crit, err
                            : level == 4 ? oplog::Level::kWarn   // warning
                                         : oplog::Level::kInfo;  // notice, info, debug
  oplog::log_event(ours, "kafka_client",
                   {{"facility", facility != nullptr ? facility : ""},
                    {"message", line != nullptr ? line : ""}});
}

}  // namespace

void route_kafka_logs(rd_kafka_conf_s* conf) {
  rd_kafka_conf_set_log_cb(conf, &kafka_log_line);
}

// ------------------------------------------------------------ consumers ---

// One read_committed consumer, assigned to partition 0 from `next` on (or
// unassigned while next < 0).
struct KafkaLog::Reader {
  rd_kafka_t* rk = nullptr;
  rd_kafka_queue_t* queue = nullptr;  // the consumer's queue: close_waiters() yields it
  int64_t next = -1;                  // the Kafka offset it delivers next; -1: unassigned
  std::string topic;
  // Polled but not used by the last read: the next poll returns them first.
  std::deque<rd_kafka_message_t*> stash;

  ~Reader() {
    drop_stash();
    if (queue != nullptr) rd_kafka_queue_destroy(queue);
    if (rk != nullptr) rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }

  void drop_stash() {
    for (rd_kafka_message_t* m : stash) rd_kafka_message_destroy(m);
    stash.clear();
  }
  // Gives back msgs[from, n), unused, for the next poll.
  void keep(rd_kafka_message_t** msgs, size_t from, size_t n) {
    stash.insert(stash.end(), msgs + from, msgs + n);
  }

  static Result<std::unique_ptr<Reader>> create(const KafkaLogConfig& c) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    Status s = set_all(conf, {{"bootstrap.servers", c.brokers},
                              {"group.id", kReaderGroup},
                              {"enable.auto.commit", "false"},
                              {"enable.auto.offset.store", "false"},
                              {"isolation.level", "read_committed"},
                              {"enable.partition.eof", "true"},
                              {"auto.offset.reset", "error"},
                              {"fetch.wait.max.ms", std::to_string(kFetchWaitMaxMs)},
                              {"fetch.error.backoff.ms", std::to_string(kFetchErrorBackoffMs)},
                              {"queued.max.messages.kbytes", kReaderQueueKBytes},
                              {"socket.nagle.disable", "true"},
                              {"reconnect.backoff.max.ms", kReconnectBackoffMaxMs},
                              {"log.connection.close", "false"}});
    if (!s.ok()) {
      rd_kafka_conf_destroy(conf);
      return s;
    }
    auto rk = new_client(RD_KAFKA_CONSUMER, conf);
    if (!rk.ok()) return rk.status();
    auto r = std::make_unique<Reader>();
    r->rk = *rk;
    rd_kafka_poll_set_consumer(r->rk);
    r->queue = rd_kafka_queue_get_consumer(r->rk);
    r->topic = c.topic;
    return r;
  }

  // Whether reading on reaches `offset` without a seek: it is at most a few
  // offsets ahead (a transaction marker on a real broker), which read_plan()
  // skips, keeping what the consumer fetched ahead.
  bool reaches(int64_t offset) const {
    return next >= 0 && next <= offset && offset - next <= kSkipInsteadOfSeekMax;
  }

  // Positions the consumer at or just before `offset` (see reaches()).
  Status seek(int64_t offset) {
    if (reaches(offset)) return Status::OK();
    drop_stash();
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), 0)->offset = offset;
    const rd_kafka_resp_err_t err = rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      next = -1;
      return Status::Unavailable(std::string("cannot assign the topic: ") + rd_kafka_err2str(err));
    }
    next = offset;
    return Status::OK();
  }

  // Waits up to `timeout_ms` for a first message, then takes what else is
  // there, up to `max`. (rd_kafka_consume_batch_queue waits to fill the batch.)
  size_t poll(int timeout_ms, rd_kafka_message_t** out, size_t max) {
    size_t n = 0;
    for (; n < max && !stash.empty(); ++n) {
      out[n] = stash.front();
      stash.pop_front();
    }
    while (n < max) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, n == 0 ? timeout_ms : 0);
      if (m == nullptr) break;
      out[n++] = m;
    }
    return n;
  }

  void unassign() {
    drop_stash();
    if (next < 0) return;
    rd_kafka_assign(rk, nullptr);
    next = -1;
  }
};

// Fetch errors: which stop a read at once, and which librdkafka retries.
static Status consume_error(const rd_kafka_message_t* m, const std::string& where) {
  const std::string what = rd_kafka_message_errstr(m);
  switch (m->err) {
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
      return Status::Corruption(where + ": Kafka offset " + std::to_string(m->offset) +
                                " is gone from the topic (" + what +
                                "); was it compacted or expired?");
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return Status::NotFound(where + ": " + what);
    default:
      return Status::Unavailable(where + ": " + what);  // retried until the deadline
  }
}

// ------------------------------------------------------------- producer ---

struct KafkaLog::Producer {
  struct Delivery {
    int64_t offset = -1;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__IN_PROGRESS;
  };
  rd_kafka_t* rk = nullptr;
  uint32_t generation = 0;  // of `deliveries`; stale reports are ignored
  std::vector<Delivery> deliveries;

  ~Producer() {
    if (rk == nullptr) return;
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk, 0);
    rd_kafka_destroy(rk);
  }

  // Runs on the thread that polls or flushes: the appender's.
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Producer*>(opaque);
    const auto tag = reinterpret_cast<uintptr_t>(m->_private);
    const auto generation = static_cast<uint32_t>(tag >> 32);
    const auto index = static_cast<size_t>(tag & 0xffffffffu);
    if (generation != self->generation || index >= self->deliveries.size()) return;
    self->deliveries[index] = Delivery{m->offset, m->err};
  }

  static Result<std::unique_ptr<Producer>> create(const KafkaLogConfig& c) {
    auto p = std::make_unique<Producer>();
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    const std::string txn_timeout = std::to_string(c.transaction_timeout_ms);
    Status s = set_all(conf, {{"bootstrap.servers", c.brokers},
                              {"transactional.id", c.transactional_id},
                              {"enable.idempotence", "true"},
                              {"acks", "all"},
                              {"transaction.timeout.ms", txn_timeout},
                              {"message.timeout.ms", txn_timeout},
                              {"linger.ms", "0"},
                              {"socket.nagle.disable", "true"},
                              {"reconnect.backoff.max.ms", kReconnectBackoffMaxMs},
                              {"log.connection.close", "false"}});
    if (!s.ok()) {
      rd_kafka_conf_destroy(conf);
      return s;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, &Producer::on_delivery);
    rd_kafka_conf_set_opaque(conf, p.get());
    auto rk = new_client(RD_KAFKA_PRODUCER, conf);
    if (!rk.ok()) return rk.status();
    p->rk = *rk;
    return p;
  }

  // Starts a new set of delivery reports for `n` messages.
  void expect(size_t n) {
    ++generation;
    deliveries.assign(n, Delivery{});
  }
  void* tag(size_t index) const {
    return reinterpret_cast<void*>((static_cast<uintptr_t>(generation) << 32) | index);
  }
};

// -------------------------------------------------------------- the scan ---

struct KafkaLog::Scan {
  std::unique_ptr<Reader> reader;
  int64_t next_kafka = 0;  // where the scan resumes
  // The batch being assembled from its messages (in_batch).
  bool in_batch = false;
  uint64_t batch_first = 0, batch_end = 0, next_event = 0;
  int64_t batch_kafka = 0;
  // The highest valid epoch so far and where its marker is (-1: none).
  uint64_t epoch = 0;
  int64_t epoch_kafka = -1;
};

struct KafkaLog::ReadPlan {
  uint64_t from = 0, until = 0;     // events [from, until)
  std::vector<IndexEntry> batches;  // the batches holding them, in order
  std::vector<uint64_t> ends;       // each batch's end event offset
};

KafkaLog::KafkaLog(KafkaLogConfig config, Mode mode)
    : config_(std::move(config)), mode_(mode), scan_(std::make_unique<Scan>()) {
  if (config_.transactional_id.empty()) config_.transactional_id = config_.topic + "-writer";
}

KafkaLog::~KafkaLog() = default;

Result<std::unique_ptr<KafkaLog>> KafkaLog::open(const KafkaLogConfig& config, Mode mode) {
  if (config.brokers.empty()) return Status::InvalidArgument("no Kafka brokers given");
  if (config.topic.empty()) return Status::InvalidArgument("no Kafka topic given");
  if (config.append_timeout_ms <= 0 || config.read_timeout_ms <= 0 || config.open_timeout_ms <= 0 ||
      config.message_bytes_max == 0) {
    return Status::InvalidArgument("Kafka timeouts and message size must be positive");
  }
  std::unique_ptr<KafkaLog> log(new KafkaLog(config, mode));
  if (Status s = log->connect(); !s.ok()) return s;
  std::lock_guard lock(log->scan_mu_);
  if (Status s = log->scan_to_end(config.open_timeout_ms); !s.ok()) return s;
  if (mode == Mode::kReadWrite) {
    // A batch left incomplete at the end never committed: our first append
    // takes its event offsets.
    log->scan_->in_batch = false;
    log->scan_->reader->unassign();
    log->write_epoch_ = log->scan_->epoch;  // a writer restarted after a takeover
    log->confirmed_kafka_ = log->scan_->next_kafka;
  }
  return log;
}

// ---------------------------------------------------------------- open ---

namespace {

// What the cluster's metadata says of the topic.
struct TopicLookup {
  int partitions = -1;  // -1: no such topic
  int brokers = 0;
  bool mock = false;  // the cluster is `reservoir kafka-mock` (it has kKafkaMockRequestTopic)
};

TopicLookup lookup_of(const rd_kafka_metadata_t& md, const std::string& topic) {
  TopicLookup out;
  out.brokers = md.broker_cnt;
  for (int i = 0; i < md.topic_cnt; ++i) {
    if (md.topics[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    if (topic == md.topics[i].topic) out.partitions = md.topics[i].partition_cnt;
    if (std::strcmp(kKafkaMockRequestTopic, md.topics[i].topic) == 0) out.mock = true;
  }
  return out;
}

Result<TopicLookup> lookup_topic(rd_kafka_t* rk, const KafkaLogConfig& c) {
  const rd_kafka_metadata_t* md = nullptr;
  // All topics: asking for one by name could auto-create it with the
  // broker's default partition count.
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk, 1, nullptr, &md, static_cast<int>(c.open_timeout_ms));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("cannot reach Kafka at " + c.brokers + ": " + rd_kafka_err2str(err));
  }
  const TopicLookup out = lookup_of(*md, c.topic);
  rd_kafka_metadata_destroy(md);
  return out;
}

// librdkafka's mock cluster has no CreateTopics, and the topics it creates
// by itself (on a Metadata request naming one) have 4 partitions: so
// `reservoir kafka-mock` creates the topic a message on its request topic
// names, and this waits until the metadata shows it.
Status create_on_mock(rd_kafka_t* rk, const KafkaLogConfig& c) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (Status s = set_all(conf, {{"bootstrap.servers", c.brokers}, {"linger.ms", "0"}}); !s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s;
  }
  auto asker = new_client(RD_KAFKA_PRODUCER, conf);
  if (!asker.ok()) return asker.status();
  rd_kafka_resp_err_t err =
      rd_kafka_producev(*asker, RD_KAFKA_V_TOPIC(kKafkaMockRequestTopic),
                        RD_KAFKA_V_VALUE(const_cast<char*>(c.topic.data()), c.topic.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    err = rd_kafka_flush(*asker, static_cast<int>(c.open_timeout_ms));
  }
  rd_kafka_destroy(*asker);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string("cannot ask kafka-mock for it: ") +
                               rd_kafka_err2str(err));
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(c.open_timeout_ms);
  while (Clock::now() < deadline) {
    auto found = lookup_topic(rk, c);
    if (!found.ok()) return found.status();
    if (found->partitions >= 0) return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Unavailable("kafka-mock did not create it in time");
}

// CreateTopics with the settings of the header comment.
Status create_topic(rd_kafka_t* rk, const KafkaLogConfig& c, int brokers) {
  const int replicas = std::max(1, std::min(c.replication_factor_max, brokers));
  const int min_isr = std::max(1, std::min(c.min_insync_replicas_max, brokers));
  char err[512];
  rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(c.topic.c_str(), 1, replicas, err, sizeof err);
  if (topic == nullptr) return Status::InvalidArgument("bad topic '" + c.topic + "': " + err);
  rd_kafka_NewTopic_set_config(topic, "min.insync.replicas", std::to_string(min_isr).c_str());
  rd_kafka_NewTopic_set_config(topic, "cleanup.policy", "delete");
  rd_kafka_NewTopic_set_config(topic, "retention.ms", "-1");
  rd_kafka_NewTopic_set_config(topic, "retention.bytes", "-1");
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, static_cast<int>(c.open_timeout_ms), err,
                                            sizeof err);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &topic, 1, options, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, static_cast<int>(c.open_timeout_ms) + 1000);
  Status s = Status::Unavailable("no answer to CreateTopics");
  if (ev != nullptr && rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    s = Status::Unavailable(rd_kafka_event_error_string(ev));
  } else if (ev != nullptr) {
    size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    const rd_kafka_resp_err_t e =
        n == 1 ? rd_kafka_topic_result_error(results[0]) : RD_KAFKA_RESP_ERR__BAD_MSG;
    s = e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS
            ? Status::OK()
            : Status::Unavailable(n == 1 && rd_kafka_topic_result_error_string(results[0])
                                      ? rd_kafka_topic_result_error_string(results[0])
                                      : rd_kafka_err2str(e));
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(queue);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy(topic);
  if (!s.ok()) {
    return Status::Unavailable("cannot create " + kafka_where(c) + ": " + s.message() +
                               " (create it with exactly 1 partition)");
  }
  oplog::log_event(oplog::Level::kInfo, "kafka_topic_created",
                   {{"topic", c.topic},
                    {"partitions", "1"},
                    {"replication_factor", std::to_string(replicas)},
                    {"min_insync_replicas", std::to_string(min_isr)},
                    {"cleanup_policy", "delete"},
                    {"retention_ms", "-1"}});
  return Status::OK();
}

}  // namespace

Status KafkaLog::ensure_topic(const KafkaLogConfig& config) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (Status s = set_all(conf, {{"bootstrap.servers", config.brokers}}); !s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s;
  }
  auto rk = new_client(RD_KAFKA_PRODUCER, conf);
  if (!rk.ok()) return rk.status();
  auto found = lookup_topic(*rk, config);
  Status s = found.status();
  if (found.ok() && found->partitions < 0) {
    s = found->mock ? create_on_mock(*rk, config) : create_topic(*rk, config, found->brokers);
  }
  rd_kafka_destroy(*rk);
  return s;
}

// Checks (kReadWrite: creates) the topic; kReadWrite then starts the
// transactional producer, which fences any older one.
Status KafkaLog::connect() {
  auto reader = Reader::create(config_);
  if (!reader.ok()) return reader.status();
  scan_->reader = std::move(*reader);
  rd_kafka_t* rk = scan_->reader->rk;
  if (mode_ == Mode::kReadWrite) {
    auto producer = Producer::create(config_);
    if (!producer.ok()) return producer.status();
    producer_ = std::move(*producer);
    rk = producer_->rk;
  }
  auto found = lookup_topic(rk, config_);
  if (!found.ok()) return found.status();
  if (found->partitions < 0 && mode_ == Mode::kReadOnly) {
    return Status::NotFound("no " + kafka_where(config_));
  }
  if (found->partitions < 0 && found->mock) {
    if (Status s = create_on_mock(rk, config_); !s.ok()) {
      return Status::Unavailable("cannot create " + kafka_where(config_) + ": " + s.message());
    }
    oplog::log_event(oplog::Level::kInfo, "kafka_topic_created",
                     {{"topic", config_.topic}, {"partitions", "1"}, {"on", "kafka-mock"}});
  } else if (found->partitions < 0) {
    if (Status s = create_topic(rk, config_, found->brokers); !s.ok()) return s;
  } else if (found->partitions != 1) {
    return Status::InvalidArgument(kafka_where(config_) + " has " +
                                   std::to_string(found->partitions) +
                                   " partitions; the event log needs exactly 1 (one total order)");
  }
  if (mode_ == Mode::kReadOnly) return Status::OK();
  rd_kafka_error_t* err =
      rd_kafka_init_transactions(producer_->rk, static_cast<int>(config_.open_timeout_ms));
  if (err == nullptr) return Status::OK();
  Status s = classify("init_transactions", err);
  return s.code() == Status::Code::kFenced
             ? s
             : Status::Unavailable("cannot start the transactional producer on " +
                                   kafka_where(config_) + ": " + s.message());
}

// ---------------------------------------------------------------- scan ---

namespace {

// The partition's first and end offsets, by the deadline. Not through
// rd_kafka_query_watermark_offsets: before librdkafka 2.3 it never returns
// while the partition's leader is unreachable (librdkafka issues #2588 and
// #4460), which kept a replica from stopping with Kafka down.
// rd_kafka_offsets_for_times sends the same ListOffsets requests (timestamps
// -2 and -1, the consumer's isolation level) and keeps to its timeout.
rd_kafka_resp_err_t watermarks(rd_kafka_t* rk, const std::string& topic, Clock::time_point deadline,
                               int64_t* low, int64_t* high) {
  const std::pair<int64_t, int64_t*> asks[] = {{RD_KAFKA_OFFSET_BEGINNING, low},
                                               {RD_KAFKA_OFFSET_END, high}};
  for (const auto& [timestamp, out] : asks) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), 0)->offset = timestamp;
    const int timeout_ms = static_cast<int>(std::max<int64_t>(1, ms_left(deadline)));
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, list, timeout_ms);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = list->elems[0].err;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) *out = list->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return err;
  }
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

}  // namespace

// Reads the topic from scan_->next_kafka to its end (the last stable offset
// when asked), indexing every complete batch; Unavailable after timeout_ms
// without a message. Callers hold scan_mu_.
Status KafkaLog::scan_to_end(int64_t timeout_ms) {
  Scan& scan = *scan_;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int64_t low = 0, high = 0;
  rd_kafka_resp_err_t err = watermarks(scan.reader->rk, config_.topic, deadline, &low, &high);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("cannot read the end of " + kafka_where(config_) + ": " +
                               rd_kafka_err2str(err));
  }
  if (low > scan.next_kafka && scan.next_kafka == 0 && high > low) {
    return Status::Corruption(kafka_where(config_) + " starts at Kafka offset " +
                              std::to_string(low) + ", not 0: events were deleted");
  }
  if (scan.next_kafka >= high) return Status::OK();
  if (Status s = scan.reader->seek(scan.next_kafka); !s.ok()) return s;
  rd_kafka_message_t* msgs[kConsumeBatchMax];
  Status last_error;
  while (scan.next_kafka < high) {
    const int64_t left = ms_left(deadline);  // without progress
    if (left == 0) {
      scan.reader->unassign();
      return Status::Unavailable("timed out reading " + kafka_where(config_) + " at Kafka offset " +
                                 std::to_string(scan.next_kafka) +
                                 (last_error.ok() ? "" : ": " + last_error.message()));
    }
    const size_t n = scan.reader->poll(static_cast<int>(left), msgs, kConsumeBatchMax);
    const int64_t before = scan.next_kafka;
    if (Status s = take_scanned(msgs, n, &last_error); !s.ok()) {
      scan.reader->unassign();
      return s;
    }
    if (scan.next_kafka > before) deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  }
  scan.reader->next = scan.next_kafka;
  return Status::OK();
}

// The scan's part of what the reader polled: indexes msgs[0, n) from
// scan_->next_kafka on and destroys them all. A fetch error librdkafka
// retries (Unavailable) goes to *last_error; any other stops the scan.
Status KafkaLog::take_scanned(rd_kafka_message_s** msgs, size_t n, Status* last_error) {
  Scan& scan = *scan_;
  Status s;
  for (size_t i = 0; i < n; ++i) {
    const rd_kafka_message_t* m = msgs[i];
    if (s.ok() && m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      scan.next_kafka = std::max(scan.next_kafka, m->offset);  // past any markers
    } else if (s.ok() && m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      *last_error = consume_error(m, "scan of " + kafka_where(config_));
      if (last_error->code() != Status::Code::kUnavailable) s = *last_error;
    } else if (s.ok() && m->offset >= scan.next_kafka) {
      MessageHeader h;
      s = message_header(m, &h)
              ? accept_epoch(scan, m, h.first, h.count, h.batch_end)
              : Status::Corruption(kafka_where(config_) + ": Kafka offset " +
                                   std::to_string(m->offset) +
                                   " has no valid 'reservoir' header (not written by us)");
      scan.next_kafka = m->offset + 1;
    }
    rd_kafka_message_destroy(msgs[i]);
  }
  return s;
}

// The reader rule of epochs (docs/KAFKA.md, "Failover"), checked before
// any other: a takeover marker is valid only if its epoch is above the
// highest valid one so far (else a node that raced to the same epoch lost);
// a message whose epoch is below it is void, written by a fenced writer.
Status KafkaLog::accept_epoch(Scan& scan, const void* message, uint64_t first, uint32_t count,
                              uint64_t batch_end) {
  const auto* m = static_cast<const rd_kafka_message_t*>(message);
  const EpochTag tag = epoch_tag(m);
  const EpochVerdict verdict = epoch_verdict(scan.epoch, tag.epoch, tag.marker);
  if (tag.marker) {
    if (verdict == EpochVerdict::kTakeover) {
      scan.epoch = tag.epoch;
      scan.epoch_kafka = m->offset;
      scan.in_batch = false;  // the rest of an old writer's batch is void
      epoch_.store(tag.epoch, std::memory_order_relaxed);
      oplog::log_event(oplog::Level::kWarn, "failover",
                       {{"kind", "marker_seen"},
                        {"log", kafka_where(config_)},
                        {"node", tag.node},
                        {"epoch", std::to_string(tag.epoch)}});
    }
    return Status::OK();  // a marker holds no events and voids none
  }
  if (verdict == EpochVerdict::kVoid) {
    voided_.fetch_add(1, std::memory_order_relaxed);
    return Status::OK();  // a fenced writer's message: skipped, as if aborted
  }
  return accept_message(scan, m->offset, first, count, batch_end);
}

// One message of the scan. It continues the batch being assembled, or starts
// a batch at the log's end, or at an earlier batch's start: the later batch
// re-uses the event offsets of one that was aborted but still shown.
Status KafkaLog::accept_message(Scan& scan, int64_t kafka_offset, uint64_t first, uint32_t count,
                                uint64_t batch_end) {
  const uint64_t end = end_offset_.load(std::memory_order_relaxed);
  if (count == 0) return accept_void(scan, kafka_offset, first);
  const bool continues = scan.in_batch && first == scan.next_event && batch_end == scan.batch_end;
  if (!continues) {
    if (first > end || (first < end && !is_batch_start(first))) {
      return Status::Corruption(kafka_where(config_) + ": event offsets break at Kafka offset " +
                                std::to_string(kafka_offset) + ": expected event offset " +
                                std::to_string(scan.in_batch ? scan.next_event : end) + ", found " +
                                std::to_string(first));
    }
    if (first < end) truncate_to(first);
    scan.in_batch = true;
    scan.batch_first = scan.next_event = first;
    scan.batch_end = batch_end;
    scan.batch_kafka = kafka_offset;
  }
  scan.next_event += count;
  if (scan.next_event > scan.batch_end) {
    return Status::Corruption(kafka_where(config_) + ": Kafka offset " +
                              std::to_string(kafka_offset) + " runs past its batch's end " +
                              std::to_string(scan.batch_end));
  }
  if (scan.next_event == scan.batch_end) {
    // scan.epoch is the batch's: a valid marker in it would have ended it.
    publish(IndexEntry{scan.batch_first, scan.batch_kafka, scan.epoch}, scan.batch_end,
            kafka_offset + 1);
    scan.in_batch = false;
  }
  return Status::OK();
}

// A void marker at `first`: the batch written from `first` on was aborted.
// Where the broker hid it (read_committed) this changes nothing; where it
// showed it, the batch goes.
Status KafkaLog::accept_void(Scan& scan, int64_t kafka_offset, uint64_t first) {
  const uint64_t end = end_offset_.load(std::memory_order_relaxed);
  if (first > end || (first < end && !is_batch_start(first))) {
    return Status::Corruption(kafka_where(config_) + ": the void marker at Kafka offset " +
                              std::to_string(kafka_offset) + " names event offset " +
                              std::to_string(first) + ", not a batch's start");
  }
  if (first < end) truncate_to(first);
  scan.in_batch = false;
  return Status::OK();
}

bool KafkaLog::is_batch_start(uint64_t event_offset) const {
  std::shared_lock lock(index_mu_);
  const auto it = std::lower_bound(
      index_.begin(), index_.end(), event_offset,
      [](const IndexEntry& e, uint64_t offset) { return e.first_offset < offset; });
  return it != index_.end() && it->first_offset == event_offset;
}

// Drops the batches from `event_offset` on (a broker showed us an aborted
// batch, and a later one takes its offsets).
void KafkaLog::truncate_to(uint64_t event_offset) {
  std::unique_lock lock(index_mu_);
  rewrites_.fetch_add(1, std::memory_order_relaxed);
  const uint64_t old_end = end_offset_.load(std::memory_order_relaxed);
  while (!index_.empty() && index_.back().first_offset >= event_offset) index_.pop_back();
  end_offset_.publish(event_offset);
  oplog::log_event(oplog::Level::kWarn, "kafka_aborted_batch_dropped",
                   {{"log", kafka_where(config_)},
                    {"from", std::to_string(event_offset)},
                    {"to", std::to_string(old_end - 1)}});
}

void KafkaLog::publish(const IndexEntry& entry, uint64_t end_offset, int64_t next_kafka) {
  {
    std::unique_lock lock(index_mu_);
    assert(index_.empty() || entry.first_offset > index_.back().first_offset);
    assert(entry.first_offset == end_offset_.load(std::memory_order_relaxed));
    index_.push_back(entry);
    tail_kafka_.store(next_kafka, std::memory_order_relaxed);
    end_offset_.set(end_offset);  // under the lock: ends stay in order with truncate_to
  }
  end_offset_.wake();  // outside it, as EmbeddedLog::publish does, and for the same reason
}

// -------------------------------------------------------------- append ---

Status KafkaLog::append(std::vector<EventEnvelope>& batch) {
  if (mode_ != Mode::kReadWrite) {
    return Status::InvalidArgument(kafka_where(config_) + " is open read-only");
  }
  if (txn_state_ == TxnState::kFenced) return fenced_status();
  if (txn_state_ != TxnState::kReady) {
    return Status::Unavailable("an earlier transaction on " + kafka_where(config_) +
                               " is undecided; settle() first");
  }
  if (batch.empty()) return Status::OK();
  const uint64_t first = end_offset_.load(std::memory_order_relaxed);  // we are its only writer
  if (rd_kafka_error_t* err = rd_kafka_begin_transaction(producer_->rk); err != nullptr) {
    Status s = classify("begin_transaction", err);
    if (txn_state_ == TxnState::kAbortPending) txn_state_ = TxnState::kReady;  // nothing begun
    return s;
  }
  pending_first_ = first;
  pending_count_ = batch.size();
  Status s = produce_batch(batch, first);
  if (!s.ok()) {
    if (txn_state_ == TxnState::kReady) txn_state_ = TxnState::kAbortPending;
    if (txn_state_ == TxnState::kAbortPending) {
      [[maybe_unused]] const Status aborted = finish_abort(config_.append_timeout_ms);
    }
    return s;
  }
  const bool timed = metrics_on();
  const int64_t commit_start_ns = timed ? metrics_now_ns() : 0;
  s = finish_commit(config_.append_timeout_ms);
  if (timed) commit_ns_.observe(metrics_now_ns() - commit_start_ns);
  if (txn_state_ == TxnState::kAbortPending) {
    [[maybe_unused]] const Status aborted = finish_abort(config_.append_timeout_ms);
  }
  if (!s.ok()) return s;
  if (config_.confirm_appends) {
    const auto& d = producer_->deliveries;  // finish_commit checked them
    if (s = confirm(d.front().offset, d.back().offset + 1); !s.ok()) return s;
  }
  for (size_t i = 0; i < batch.size(); ++i) batch[i].offset = first + i;
  return Status::OK();
}

// confirm_appends: reads the topic over [confirmed_kafka_, batch_kafka),
// what others may have committed since our last confirmed batch. A takeover
// marker there with an epoch above ours makes our batch void for every
// reader: Fenced, so that nothing of it is acknowledged. Unavailable when the
// read does not finish in time (nothing acknowledged either; the writer
// recovers from the log).
Status KafkaLog::confirm(int64_t batch_kafka, int64_t next_kafka) {
  uint64_t higher = 0;
  if (batch_kafka > confirmed_kafka_) {
    auto taken = take_reader(confirmed_kafka_);
    if (!taken.ok()) return taken.status();
    Reader& reader = **taken;
    Status s = reader.seek(confirmed_kafka_);
    const auto deadline = Clock::now() + std::chrono::milliseconds(config_.read_timeout_ms);
    rd_kafka_message_t* msgs[kConsumeBatchMax];
    bool done = false;
    while (s.ok() && !done) {
      if (ms_left(deadline) == 0) {
        s = Status::Unavailable("timed out confirming a batch on " + kafka_where(config_));
        break;
      }
      const size_t n = reader.poll(static_cast<int>(ms_left(deadline)), msgs, kConsumeBatchMax);
      for (size_t i = 0; i < n; ++i) {
        const rd_kafka_message_t* m = msgs[i];
        const bool here = m->offset >= confirmed_kafka_ && m->offset < batch_kafka;
        if (m->offset >= batch_kafka) done = true;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && here) {
          const EpochTag tag = epoch_tag(m);
          if (epoch_fences(write_epoch_, tag.epoch, tag.marker))
            higher = std::max(higher, tag.epoch);
        }
        rd_kafka_message_destroy(msgs[i]);
      }
    }
    reader.unassign();
    give_back(std::move(*taken));
    if (!s.ok()) return s;
  }
  if (higher > 0) {
    txn_state_ = TxnState::kFenced;
    fenced_why_ = "a takeover marker with epoch " + std::to_string(higher) + " (ours " +
                  std::to_string(write_epoch_) + ") precedes our batch at Kafka offset " +
                  std::to_string(batch_kafka) + "; it is void";
    return fenced_status();
  }
  confirmed_kafka_ = next_kafka;
  return Status::OK();
}

// ------------------------------------------------------------ takeover ---

// Commits the takeover marker in a transaction of its own; *kafka_offset
// is where it landed.
Status KafkaLog::commit_marker(const std::string& node, uint64_t epoch, int64_t* kafka_offset) {
  if (rd_kafka_error_t* err = rd_kafka_begin_transaction(producer_->rk); err != nullptr) {
    return classify("begin_transaction", err);
  }
  const uint64_t at = end_offset_.load(std::memory_order_relaxed);
  char header[kHeaderBytes];
  encode_header(MessageHeader{at, 0, at}, header);
  char epoch_bytes[8];
  put_u64(epoch_bytes, epoch);
  producer_->expect(1);
  rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_->rk, RD_KAFKA_V_TOPIC(config_.topic.c_str()), RD_KAFKA_V_PARTITION(0),
      RD_KAFKA_V_HEADER(kHeaderKey, header, static_cast<ssize_t>(kHeaderBytes)),
      RD_KAFKA_V_HEADER(kEpochHeaderKey, epoch_bytes, ssize_t{8}),
      RD_KAFKA_V_HEADER(kMarkerHeaderKey, node.data(), static_cast<ssize_t>(node.size())),
      RD_KAFKA_V_OPAQUE(producer_->tag(0)), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string("cannot produce the takeover marker: ") +
                               rd_kafka_err2str(err));
  }
  const int timeout_ms = static_cast<int>(config_.append_timeout_ms);
  rd_kafka_flush(producer_->rk, timeout_ms);
  if (rd_kafka_error_t* e = rd_kafka_commit_transaction(producer_->rk, timeout_ms); e != nullptr) {
    return classify("commit_transaction (takeover marker)", e);
  }
  rd_kafka_poll(producer_->rk, 0);
  const auto& d = producer_->deliveries;
  if (d.empty() || d.front().err != RD_KAFKA_RESP_ERR_NO_ERROR || d.front().offset < 0) {
    return Status::Unavailable("the takeover marker committed without a delivery report");
  }
  *kafka_offset = d.front().offset;
  return Status::OK();
}

Status KafkaLog::take_over(const std::string& node) {
  if (mode_ == Mode::kReadWrite) return Status::InvalidArgument("already the writer");
  const int64_t timeout_ms = config_.open_timeout_ms;
  std::lock_guard lock(scan_mu_);
  Status s = scan_to_end(timeout_ms);
  auto producer = s.ok() ? Producer::create(config_) : Result<std::unique_ptr<Producer>>(s);
  if (!producer.ok()) return producer.status();
  producer_ = std::move(*producer);
  txn_state_ = TxnState::kReady;
  int64_t marker_kafka = -1;
  const uint64_t epoch = scan_->epoch + 1;
  if (rd_kafka_error_t* err =
          rd_kafka_init_transactions(producer_->rk, static_cast<int>(timeout_ms));
      err != nullptr) {
    s = classify("init_transactions", err);
  } else {
    s = commit_marker(node, epoch, &marker_kafka);
  }
  if (s.ok()) s = scan_to_end(timeout_ms);  // (c): to the end, through the reader rule
  scan_->reader->unassign();
  const bool won = s.ok() && scan_->epoch == epoch && scan_->epoch_kafka == marker_kafka;
  if (!won) {
    producer_.reset();
    txn_state_ = TxnState::kReady;
    if (!s.ok())
      return Status::Unavailable("takeover of " + kafka_where(config_) + ": " + s.message());
    return Status::Busy("another node's takeover marker won on " + kafka_where(config_));
  }
  scan_->in_batch =
      false;  // an incomplete batch at the end never committed: ours takes its offsets
  write_epoch_ = epoch;
  confirmed_kafka_ = scan_->next_kafka;
  mode_ = Mode::kReadWrite;
  return Status::OK();
}

// Produces the batch as messages of at most message_bytes_max (at least one
// event each) inside the open transaction.
Status KafkaLog::produce_batch(const std::vector<EventEnvelope>& batch, uint64_t first) {
  std::vector<std::pair<size_t, size_t>> runs;  // [begin, end) of each message
  std::vector<std::string> values(1);
  runs.emplace_back(0, 0);
  for (size_t i = 0; i < batch.size(); ++i) {
    const size_t before = values.back().size();
    envelope_codec::encode(batch[i], values.back());
    if (values.back().size() > config_.message_bytes_max &&
        runs.back().second > runs.back().first) {
      values.back().resize(before);  // this event starts the next message
      values.emplace_back();
      runs.emplace_back(i, i);
      envelope_codec::encode(batch[i], values.back());
    }
    runs.back().second = i + 1;
  }
  producer_->expect(values.size());
  const uint64_t batch_end = first + batch.size();
  char epoch[8];
  put_u64(epoch, write_epoch_);
  for (size_t m = 0; m < values.size(); ++m) {
    char header[kHeaderBytes];
    encode_header(MessageHeader{first + runs[m].first,
                                static_cast<uint32_t>(runs[m].second - runs[m].first), batch_end},
                  header);
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_->rk, RD_KAFKA_V_TOPIC(config_.topic.c_str()), RD_KAFKA_V_PARTITION(0),
        RD_KAFKA_V_VALUE(values[m].data(), values[m].size()),
        RD_KAFKA_V_HEADER(kHeaderKey, header, static_cast<ssize_t>(kHeaderBytes)),
        RD_KAFKA_V_HEADER(kEpochHeaderKey, epoch, ssize_t{8}),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(producer_->tag(m)),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
      return Status::InvalidArgument("an event of " + std::to_string(values[m].size()) +
                                     " bytes is over Kafka's message size limit");
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("cannot produce to " + kafka_where(config_) + ": " +
                                 rd_kafka_err2str(err));
    }
  }
  return Status::OK();
}

// Flushes and commits the open (or undecided) transaction; publishes the
// batch on success.
Status KafkaLog::finish_commit(int64_t timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  // Serves the delivery reports promptly (commit's own flush polls slowly).
  rd_kafka_flush(producer_->rk, static_cast<int>(timeout_ms));
  rd_kafka_error_t* err = rd_kafka_commit_transaction(
      producer_->rk, static_cast<int>(std::max<int64_t>(1, ms_left(deadline))));
  if (err != nullptr) {
    const bool retriable = rd_kafka_error_is_retriable(err);
    const bool abortable = rd_kafka_error_txn_requires_abort(err);
    Status s = classify("commit_transaction", err);
    if (txn_state_ == TxnState::kFenced || txn_state_ == TxnState::kBroken) return s;
    txn_state_ = abortable || !retriable ? TxnState::kAbortPending : TxnState::kCommitPending;
    return Status::Unavailable(s.message() + (abortable || !retriable
                                                  ? " (the transaction is aborted)"
                                                  : " (the commit is undecided; retried later)"));
  }
  rd_kafka_poll(producer_->rk, 0);
  const auto& d = producer_->deliveries;
  if (d.empty() || d.front().err != RD_KAFKA_RESP_ERR_NO_ERROR || d.front().offset < 0 ||
      d.back().offset < 0) {
    // Committed, but where? Re-read the tail to learn it.
    txn_state_ = TxnState::kBroken;
    return Status::Unavailable("committed without a delivery report; re-reading the topic");
  }
  if (pending_count_ > 0) {  // else it was a void marker: nothing to index
    publish(IndexEntry{pending_first_, d.front().offset, write_epoch_},
            pending_first_ + pending_count_, d.back().offset + 1);
  }
  commits_.fetch_add(1, std::memory_order_relaxed);
  txn_state_ = TxnState::kReady;
  return Status::OK();
}

Status KafkaLog::finish_abort(int64_t timeout_ms) {
  rd_kafka_error_t* err = rd_kafka_abort_transaction(producer_->rk, static_cast<int>(timeout_ms));
  if (err != nullptr) {
    Status s = classify("abort_transaction", err);
    if (txn_state_ == TxnState::kFenced || txn_state_ == TxnState::kBroken) return s;
    txn_state_ = TxnState::kAbortPending;
    return s;
  }
  rd_kafka_poll(producer_->rk, 0);
  aborts_.fetch_add(1, std::memory_order_relaxed);
  txn_state_ = TxnState::kReady;
  if (pending_count_ > 0) write_void(pending_first_);
  return Status::OK();
}

// After an abort: commits an empty "void" message at the aborted batch's
// first event offset, so that a reader of a broker that shows aborted
// records (librdkafka's mock cluster) drops them even when no batch follows.
// Best effort: if it fails, the transaction state machine goes on as for a
// batch (settle() decides it), and the next batch at these offsets replaces
// the aborted one anyway.
void KafkaLog::write_void(uint64_t at) {
  pending_first_ = at;
  pending_count_ = 0;
  if (rd_kafka_error_t* err = rd_kafka_begin_transaction(producer_->rk); err != nullptr) {
    [[maybe_unused]] const Status s = classify("begin_transaction", err);
    return;
  }
  char header[kHeaderBytes];
  encode_header(MessageHeader{at, 0, at}, header);
  char epoch[8];
  put_u64(epoch, write_epoch_);
  producer_->expect(1);
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_->rk, RD_KAFKA_V_TOPIC(config_.topic.c_str()), RD_KAFKA_V_PARTITION(0),
      RD_KAFKA_V_HEADER(kHeaderKey, header, static_cast<ssize_t>(kHeaderBytes)),
      RD_KAFKA_V_HEADER(kEpochHeaderKey, epoch, ssize_t{8}), RD_KAFKA_V_OPAQUE(producer_->tag(0)),
      RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    txn_state_ = TxnState::kAbortPending;  // settle() aborts it (and writes no void)
    return;
  }
  [[maybe_unused]] const Status s = finish_commit(config_.append_timeout_ms);
}

// Steps the transaction state machine until it is ready (or fails): an
// undecided commit is retried, an abortable one aborted (then a void marker
// is committed, itself maybe undecided), a broken producer recreated.
Status KafkaLog::settle() {
  for (int step = 0; step < kSettleStepsMax; ++step) {
    switch (txn_state_) {
      case TxnState::kReady:
        return Status::OK();
      case TxnState::kFenced:
        return fenced_status();
      case TxnState::kCommitPending:
        if (!finish_commit(config_.append_timeout_ms).ok() &&
            txn_state_ == TxnState::kCommitPending) {
          return settle_failed();
        }
        break;
      case TxnState::kAbortPending:
        if (!finish_abort(config_.append_timeout_ms).ok()) return settle_failed();
        break;
      case TxnState::kBroken:
        if (Status s = recreate_producer(); !s.ok()) return s;
        break;
    }
  }
  return txn_state_ == TxnState::kReady ? Status::OK() : settle_failed();
}

Status KafkaLog::settle_failed() const {
  if (txn_state_ == TxnState::kFenced) return fenced_status();
  return Status::Unavailable("the last transaction on " + kafka_where(config_) +
                             " is still undecided");
}

// A new producer: its init_transactions ends whatever the old one left open
// (committed or aborted by the coordinator); the tail then says which.
Status KafkaLog::recreate_producer() {
  producer_.reset();
  auto producer = Producer::create(config_);
  if (!producer.ok()) return producer.status();
  producer_ = std::move(*producer);
  rd_kafka_error_t* err =
      rd_kafka_init_transactions(producer_->rk, static_cast<int>(config_.append_timeout_ms));
  if (err != nullptr) {
    Status s = classify("init_transactions", err);
    if (txn_state_ != TxnState::kFenced) txn_state_ = TxnState::kBroken;
    return s;
  }
  std::lock_guard lock(scan_mu_);
  scan_->next_kafka = tail_kafka_.load(std::memory_order_relaxed);
  scan_->in_batch = false;
  Status s = scan_to_end(config_.append_timeout_ms);
  scan_->in_batch = false;
  scan_->reader->unassign();
  txn_state_ = s.ok() ? TxnState::kReady : TxnState::kBroken;
  return s;
}

// Turns a librdkafka error into a Status (and destroys it). Fatal errors
// move the producer to kFenced or kBroken; the caller handles the others.
Status KafkaLog::classify(const char* step, void* error) {
  auto* err = static_cast<rd_kafka_error_t*>(error);
  const rd_kafka_resp_err_t code = rd_kafka_error_code(err);
  const std::string what =
      std::string(step) + " on " + kafka_where(config_) + ": " + rd_kafka_error_string(err);
  const bool fatal = rd_kafka_error_is_fatal(err);
  rd_kafka_error_destroy(err);
  if (!fatal) return Status::Unavailable(what);
  char reason[512] = "";
  const rd_kafka_resp_err_t cause = rd_kafka_fatal_error(producer_->rk, reason, sizeof reason);
  if (is_fence(code) || is_fence(cause)) {
    txn_state_ = TxnState::kFenced;
    fenced_why_ = what;
    return fenced_status();
  }
  txn_state_ = TxnState::kBroken;
  return Status::Unavailable(what + " (fatal: the producer is recreated)");
}

Status KafkaLog::fenced_status() const {
  return Status::Fenced("fenced by another engine with transactional.id '" +
                        config_.transactional_id + "': " + fenced_why_);
}

// ---------------------------------------------------------------- read ---

uint64_t KafkaLog::end_offset() const {
  return end_offset_.load(std::memory_order_acquire);
}

bool KafkaLog::plan_read(uint64_t from, size_t max_events, ReadPlan* plan) const {
  std::shared_lock lock(index_mu_);
  const uint64_t end = end_offset_.load(std::memory_order_relaxed);
  if (from >= end || max_events == 0) return false;
  assert(!index_.empty());
  plan->from = from;
  plan->until = from + std::min<uint64_t>(max_events, end - from);
  const auto by_offset = [](uint64_t offset, const IndexEntry& e) {
    return offset < e.first_offset;
  };
  auto it = std::upper_bound(index_.begin(), index_.end(), from, by_offset) - 1;
  for (; it != index_.end() && it->first_offset < plan->until; ++it) {
    plan->batches.push_back(*it);
    plan->ends.push_back(it + 1 == index_.end() ? end : (it + 1)->first_offset);
  }
  return true;
}

Status KafkaLog::read(uint64_t from, size_t max_events, std::vector<EventEnvelope>* out) {
  assert(out != nullptr);
  ReadPlan plan;
  if (!plan_read(from, max_events, &plan)) return Status::OK();  // at or past the end
  auto reader = take_reader(plan.batches.front().kafka_offset);
  if (!reader.ok()) return reader.status();
  const size_t before = out->size();
  Status s = read_plan(**reader, plan, out);
  if (!s.ok()) {
    out->erase(out->begin() + static_cast<ptrdiff_t>(before), out->end());
    (*reader)->unassign();
  }
  give_back(std::move(*reader));
  return s;
}

namespace {

// Whether `m`, met among the messages of indexed batch `batch`, is not one
// of them though the scan indexed the batch around it: an older writer's
// message committed between two messages of a batch split over several
// (void by the epoch rule), or a takeover marker that lost its race.
bool is_void_in(const rd_kafka_message_t* m, const KafkaLog::IndexEntry& batch) {
  const EpochTag tag = epoch_tag(m);
  return tag.marker || tag.epoch < batch.epoch;
}

}  // namespace

// Consumes the plan's batches: each from its indexed Kafka offset, skipping
// whatever lies between them (aborted records a broker still shows) and,
// within a batch, what the epoch rule voids (is_void_in).
Status KafkaLog::read_plan(Reader& reader, const ReadPlan& plan,
                           std::vector<EventEnvelope>* out) const {
  const auto deadline = Clock::now() + std::chrono::milliseconds(config_.read_timeout_ms);
  if (Status s = reader.seek(plan.batches.front().kafka_offset); !s.ok()) return s;
  size_t j = 0;  // the batch being read
  uint64_t next_event = plan.batches[0].first_offset;
  int64_t wanted = plan.batches[0].kafka_offset;  // no message before it belongs to us
  rd_kafka_message_t* msgs[kConsumeBatchMax];
  Status last_error;
  while (next_event < plan.until) {
    const int64_t left = ms_left(deadline);
    if (left == 0) {
      return Status::Unavailable("timed out reading " + kafka_where(config_) + " at event offset " +
                                 std::to_string(next_event) +
                                 (last_error.ok() ? "" : ": " + last_error.message()));
    }
    const size_t n = reader.poll(static_cast<int>(left), msgs, kConsumeBatchMax);
    Status s;
    for (size_t i = 0; i < n; ++i) {
      if (next_event >= plan.until && s.ok()) {
        reader.keep(msgs, i, n);  // the next read may start right here
        break;
      }
      const rd_kafka_message_t* m = msgs[i];
      if (!s.ok() || m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        last_error = consume_error(m, "read of " + kafka_where(config_));
        if (last_error.code() != Status::Code::kUnavailable) s = last_error;
      } else if (m->offset >= wanted && is_void_in(m, plan.batches[j])) {
        reader.next = m->offset + 1;  // inside the batch, but not of it
      } else if (m->offset >= wanted) {
        reader.next = m->offset + 1;
        s = take_message(m, plan, j, next_event, out);
        if (s.ok()) {
          wanted = m->offset + 1;
          if (next_event == plan.ends[j] && ++j < plan.batches.size()) {
            wanted = plan.batches[j].kafka_offset;
          }
        }
      }
      rd_kafka_message_destroy(msgs[i]);
    }
    if (!s.ok()) return s;
  }
  return Status::OK();
}

// Decodes message `m` of batch j of the plan into *out, advancing next_event.
Status KafkaLog::take_message(const void* message, const ReadPlan& plan, size_t j,
                              uint64_t& next_event, std::vector<EventEnvelope>* out) const {
  const auto* m = static_cast<const rd_kafka_message_t*>(message);
  MessageHeader h;
  const bool valid =
      message_header(m, &h) && h.first == next_event && h.batch_end == plan.ends[j] &&
      envelope_codec::decode(std::string_view(static_cast<const char*>(m->payload), m->len),
                             h.count, h.first, plan.from, plan.until, out);
  if (!valid) {
    return Status::Corruption(
        kafka_where(config_) + ": event offset " + std::to_string(next_event) +
        " is not where the index says (Kafka offset " + std::to_string(m->offset) + ")");
  }
  next_event += h.count;
  return Status::OK();
}

// An idle reader, preferably one already at `kafka_offset`; a new one while
// fewer than kReadersMax exist; else waits for one to come back.
Result<std::unique_ptr<KafkaLog::Reader>> KafkaLog::take_reader(int64_t kafka_offset) {
  {
    std::unique_lock lock(readers_mu_);
    readers_cv_.wait(lock, [&] { return !idle_readers_.empty() || readers_open_ < kReadersMax; });
    if (!idle_readers_.empty()) {
      auto it = std::find_if(idle_readers_.begin(), idle_readers_.end(),
                             [&](const auto& r) { return r->reaches(kafka_offset); });
      if (it == idle_readers_.end()) it = idle_readers_.end() - 1;
      std::unique_ptr<Reader> r = std::move(*it);
      idle_readers_.erase(it);
      return r;
    }
    ++readers_open_;
  }
  auto r = Reader::create(config_);
  if (!r.ok()) {
    std::lock_guard lock(readers_mu_);
    --readers_open_;
    readers_cv_.notify_one();
  }
  return r;
}

// A reader left mid-log would keep prefetching what no one asked for.
void KafkaLog::give_back(std::unique_ptr<Reader> reader) {
  if (reader->next != tail_kafka_.load(std::memory_order_relaxed)) reader->unassign();
  std::lock_guard lock(readers_mu_);
  idle_readers_.push_back(std::move(reader));
  readers_cv_.notify_one();
}

// ---------------------------------------------------------------- wait ---

// kReadOnly: one long-poll of the topic's tail, up to wait_ms. The scan's
// reader stays assigned where the scan stopped and the broker's fetch
// returns as soon as a batch commits, so each batch is indexed (and the
// waiters woken) when it arrives. A reader not at the tail (after open's
// error, a failed poll, or take_over's lost race) first catches up with a
// scan to the topic's end (its watermark), bounded by read_timeout_ms.
// Callers hold scan_mu_.
Status KafkaLog::follow(int64_t wait_ms) {
  Scan& scan = *scan_;
  if (scan.reader->next != scan.next_kafka) {
    Status s = scan_to_end(config_.read_timeout_ms);
    // scan_to_end() seeks only when there was something to read.
    if (s.ok()) s = scan.reader->seek(scan.next_kafka);
    return s;
  }
  rd_kafka_message_t* msgs[kConsumeBatchMax];
  const size_t n = scan.reader->poll(static_cast<int>(wait_ms), msgs, kConsumeBatchMax);
  Status last_error;
  if (Status s = take_scanned(msgs, n, &last_error); !s.ok()) {
    scan.reader->unassign();
    return s;
  }
  scan.reader->next = scan.next_kafka;
  return last_error;  // Unavailable: librdkafka retries the fetch by itself
}

uint64_t KafkaLog::wait_beyond(uint64_t offset, std::chrono::milliseconds timeout) {
  const auto wait = std::clamp<std::chrono::milliseconds>(timeout, std::chrono::milliseconds(0),
                                                          PublishedEnd::kWaitForever);
  const Clock::time_point deadline = Clock::now() + wait;
  for (;;) {
    const uint64_t end = end_offset_.load(std::memory_order_acquire);
    const int64_t left_ms = ms_left(deadline);
    if (end > offset || left_ms == 0 || waiters_closed_.load(std::memory_order_acquire)) return end;
    if (mode_ == Mode::kReadWrite) {
      return end_offset_.wait_beyond(offset, std::chrono::milliseconds(left_ms));
    }
    // No one notifies across processes: one waiter long-polls the topic, the
    // others are woken by what it publishes.
    const auto slice =
        std::min<std::chrono::milliseconds>(std::chrono::milliseconds(left_ms), kTailWaitMax);
    std::unique_lock scan_lock(scan_mu_, std::try_to_lock);
    Status s;
    if (scan_lock.owns_lock() && mode_ == Mode::kReadOnly) s = follow(slice.count());
    if (scan_lock.owns_lock() && s.ok()) continue;
    if (scan_lock.owns_lock()) scan_lock.unlock();
    // Another waiter polls, or the poll failed (Kafka away): wait a slice
    // for a publish rather than spin.
    end_offset_.wait_beyond(offset, slice);
  }
}

void KafkaLog::close_waiters() {
  waiters_closed_.store(true, std::memory_order_release);
  end_offset_.close_waiters();
  // Wakes a long-poll of the scan's reader now (else within kTailWaitMax).
  if (scan_->reader != nullptr && scan_->reader->queue != nullptr) {
    rd_kafka_queue_yield(scan_->reader->queue);
  }
}

}  // namespace reservoir
