// MockCluster: librdkafka's in-process mock Kafka cluster (real protocol over
// loopback) for tests, one per test case.
//
// Contract: the constructor starts `brokers` brokers (ids 1..N) and, unless
// topic is empty, creates `topic` with one partition (the mock does not
// implement CreateTopics). bootstraps() is the bootstrap.servers list.
// Fault knobs wrap rdkafka_mock.h: push_errors(api, {errors...}) fails the
// next requests of that Kafka API (the constants below; librdkafka does not
// install rdkafka_protocol.h), set_down()/set_up() a broker (-1: all).
//
// Thread safety: the knobs may be called from any thread (librdkafka
// forwards them to the cluster's own thread).
#pragma once

#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace reservoir::test {

// Kafka protocol API keys (the Kafka protocol guide; rdkafka_protocol.h).
inline constexpr int16_t kApiProduce = 0;
inline constexpr int16_t kApiFetch = 1;
inline constexpr int16_t kApiInitProducerId = 22;
inline constexpr int16_t kApiAddPartitionsToTxn = 24;
inline constexpr int16_t kApiEndTxn = 26;

class MockCluster {
 public:
  explicit MockCluster(int brokers = 1, const std::string& topic = "events") {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    REQUIRE_MESSAGE(host_ != nullptr, err);
    cluster_ = rd_kafka_mock_cluster_new(host_, brokers);
    REQUIRE(cluster_ != nullptr);
    if (!topic.empty()) create_topic(topic, 1, std::min(brokers, 3));
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(host_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  rd_kafka_mock_cluster_t* get() const { return cluster_; }

  void create_topic(const std::string& name, int partitions, int replicas) {
    REQUIRE(rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, replicas) ==
            RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  void push_errors(int16_t api, std::initializer_list<rd_kafka_resp_err_t> errors) {
    std::vector<rd_kafka_resp_err_t> all(errors);
    rd_kafka_mock_push_request_errors_array(cluster_, api, all.size(), all.data());
  }
  void set_down(int32_t broker = -1) { rd_kafka_mock_broker_set_down(cluster_, broker); }
  void set_up(int32_t broker = -1) { rd_kafka_mock_broker_set_up(cluster_, broker); }

 private:
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

}  // namespace reservoir::test
