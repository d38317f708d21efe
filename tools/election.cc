#include "tools/election.h"

#include <librdkafka/rdkafka.h>

#include <chrono>

#include "events/kafka_log.h"

namespace reservoir::tools {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A client with `pairs` set; takes the conf in every case.
Result<rd_kafka_t*> client(rd_kafka_type_t type,
                           std::initializer_list<std::pair<const char*, std::string>> pairs) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [name, value] : pairs) {
    if (rd_kafka_conf_set(conf, name, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::InvalidArgument(std::string("kafka setting ") + name + ": " + err);
    }
  }
  route_kafka_logs(conf);  // its lines in the operator's log format
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("cannot create a Kafka client: ") + err);
  }
  return rk;
}

Status ensure(const ElectionConfig& c) {
  KafkaLogConfig kc;
  kc.brokers = c.brokers;
  kc.topic = c.topic;
  return KafkaLog::ensure_topic(kc);
}

}  // namespace

Result<std::unique_ptr<Heartbeat>> Heartbeat::start(const ElectionConfig& config,
                                                    int64_t interval_ms) {
  if (Status s = ensure(config); !s.ok()) return s;
  auto rk = client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", config.brokers},
                                       {"linger.ms", "0"},
                                       {"message.timeout.ms", std::to_string(interval_ms * 2)}});
  if (!rk.ok()) return rk.status();
  std::unique_ptr<Heartbeat> h(new Heartbeat());
  h->rk_ = *rk;
  h->thread_ = std::thread(&Heartbeat::run, h.get(), config.topic, config.node, interval_ms);
  return h;
}

void Heartbeat::run(std::string topic, std::string node, int64_t interval_ms) {
  auto* rk = static_cast<rd_kafka_t*>(rk_);
  while (!stop_.load()) {
    // A failed produce is a missed heartbeat; the next one tries again.
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                      RD_KAFKA_V_VALUE(node.data(), node.size()),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    const int64_t until = now_ms() + interval_ms;
    while (!stop_.load() && now_ms() < until) rd_kafka_poll(rk, 50);
  }
}

Heartbeat::~Heartbeat() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  auto* rk = static_cast<rd_kafka_t*>(rk_);
  rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_destroy(rk);
}

Result<std::unique_ptr<HeartbeatWatch>> HeartbeatWatch::open(const ElectionConfig& config) {
  if (Status s = ensure(config); !s.ok()) return s;
  auto rk = client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", config.brokers},
                                       {"group.id", config.topic + "-watch"},
                                       {"enable.auto.commit", "false"},
                                       {"fetch.wait.max.ms", "50"}});
  if (!rk.ok()) return rk.status();
  std::unique_ptr<HeartbeatWatch> w(new HeartbeatWatch());
  w->rk_ = *rk;
  rd_kafka_poll_set_consumer(*rk);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, config.topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_END;
  const rd_kafka_resp_err_t err = rd_kafka_assign(*rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string("cannot watch ") + config.topic + ": " +
                               rd_kafka_err2str(err));
  }
  w->last_ms_ = now_ms();
  return w;
}

HeartbeatWatch::~HeartbeatWatch() {
  rd_kafka_destroy_flags(static_cast<rd_kafka_t*>(rk_), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

int64_t HeartbeatWatch::silent_ms(int64_t wait_ms) {
  auto* rk = static_cast<rd_kafka_t*>(rk_);
  for (int timeout = static_cast<int>(wait_ms);; timeout = 0) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, timeout);
    if (m == nullptr) break;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      last_ms_ = now_ms();
      last_node_.assign(static_cast<const char*>(m->payload), m->len);
    }
    rd_kafka_message_destroy(m);
  }
  return now_ms() - last_ms_;
}

void HeartbeatWatch::reset() {
  last_ms_ = now_ms();
}

}  // namespace reservoir::tools
