// reservoir kafka-mock: librdkafka's mock Kafka cluster on loopback, for
// local development and tests (in memory, not durable). Prints the bootstrap
// address as the first line of stdout and runs until SIGINT/SIGTERM.
//
// A development and test tool, not a broker: it pre-creates --topic,
// --topic-clinic and --topic-election with one partition. The mock implements no CreateTopics,
// and the topics it creates by itself have 4 partitions, so it creates any
// other topic a client names in a message on kKafkaMockRequestTopic
// (KafkaLog does so for a missing topic: serve --kafka-topic NAME just
// works). It reads commands on stdin, one a line, answering "ok ..." or
// "error ..." on stdout:
//   down [ID]   a broker (default: all) drops its connections and refuses new ones
//   up [ID]     it accepts connections again
//   rtt ID MS   a broker answers MS milliseconds late (0: normally)
//   fence       the next EndTxn fails with PRODUCER_FENCED (the mock does
//               not fence a second producer by itself)
//   abort       the next EndTxn fails with UNKNOWN_PRODUCER_ID (abortable)
//   topic NAME  creates another one-partition topic
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "events/kafka_log.h"
#include "tools/subcommands.h"

namespace reservoir::tools {
namespace {

constexpr int16_t kApiEndTxn = 26;  // Kafka protocol API key (rdkafka_protocol.h is not installed)
constexpr int kReplicasMax = 3;

struct Mock {
  rd_kafka_t* host = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  int brokers = 0;
};

bool create_topic(const Mock& m, const std::string& name) {
  return rd_kafka_mock_topic_create(m.cluster, name.c_str(), 1,
                                    std::min(m.brokers, kReplicasMax)) ==
         RD_KAFKA_RESP_ERR_NO_ERROR;
}

// One stdin command; the answer line.
std::string run_command(const Mock& m, const std::string& line) {
  std::istringstream in(line);
  std::string verb;
  in >> verb;
  int32_t id = -1;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (verb == "down" || verb == "up") {
    in >> id;
    err = verb == "down" ? rd_kafka_mock_broker_set_down(m.cluster, id)
                         : rd_kafka_mock_broker_set_up(m.cluster, id);
  } else if (verb == "rtt") {
    int ms = 0;
    if (!(in >> id >> ms)) return "error usage: rtt ID MS";
    err = rd_kafka_mock_broker_set_rtt(m.cluster, id, ms);
  } else if (verb == "fence" || verb == "abort") {
    rd_kafka_mock_push_request_errors(m.cluster, kApiEndTxn, 1,
                                      verb == "fence" ? RD_KAFKA_RESP_ERR_PRODUCER_FENCED
                                                      : RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID);
  } else if (verb == "topic") {
    std::string name;
    if (!(in >> name) || !create_topic(m, name)) return "error cannot create the topic";
  } else {
    return "error unknown command '" + verb + "' (down, up, rtt, fence, abort, topic)";
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return std::string("error ") + rd_kafka_err2str(err);
  return "ok " + line;
}

// Reads kKafkaMockRequestTopic from its start, on a client of the mock
// itself, and creates each topic a message names (one that exists stays
// as it is). Runs for the life of the process.
void serve_topic_requests(const Mock& m, std::string bootstraps) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::pair<const char*, const char*> settings[] = {{"bootstrap.servers", bootstraps.c_str()},
                                                          {"group.id", "reservoir-kafka-mock"},
                                                          {"enable.auto.commit", "false"},
                                                          {"log_level", "3"},
                                                          {"fetch.wait.max.ms", "20"}};
  for (const auto& [name, value] : settings) rd_kafka_conf_set(conf, name, value, err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    std::fprintf(stderr, "kafka-mock: cannot read topic requests: %s\n", err);
    return;
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, kKafkaMockRequestTopic, 0)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  for (;;) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 1000);
    if (msg == nullptr) continue;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR && msg->len > 0) {
      const std::string name(static_cast<const char*>(msg->payload), msg->len);
      if (create_topic(m, name))
        std::fprintf(stderr, "kafka-mock: created topic '%s'\n", name.c_str());
    }
    rd_kafka_message_destroy(msg);
  }
}

void serve_stdin(const Mock& m) {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    const std::string answer = run_command(m, line);
    std::printf("%s\n", answer.c_str());
    std::fflush(stdout);
  }
}

int run_kafka_mock(int argc, char** argv) {
  int64_t brokers = 3;
  std::string topic = "reservoir-events";
  Flags f("kafka-mock",
          "Starts librdkafka's mock Kafka cluster on loopback (in memory, not durable), prints\n"
          "its bootstrap address as the first line of stdout, and runs until SIGINT/SIGTERM.\n"
          "Creates --topic, --topic-clinic (the clinic domain's log, which serve derives\n"
          "from --kafka-topic) and --topic-election (the writer's heartbeats for standbys)\n"
          "with one partition each, and any topic a client asks for\n"
          "(serve --kafka-topic NAME creates NAME and NAME-clinic here). Reads fault commands on "
          "stdin (see\n"
          "docs/KAFKA.md): down [ID], up [ID], rtt ID MS, fence, abort, topic NAME.");
  f.add_int("brokers", &brokers, 1, 16, "number of mock brokers");
  f.add_string("topic", &topic, "topic to create with one partition at start");
  if (int rc = handle_flags(f, argc, argv); rc >= 0) return rc;
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before any thread starts
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  Mock m;
  m.host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (m.host == nullptr) return fail(1, std::string("cannot create the mock cluster: ") + err);
  m.brokers = static_cast<int>(brokers);
  m.cluster = rd_kafka_mock_cluster_new(m.host, m.brokers);
  if (m.cluster == nullptr) return fail(1, "cannot create the mock cluster");
  if (!topic.empty() && !create_topic(m, topic)) return fail(1, "cannot create topic " + topic);
  const std::string clinic_topic = topic.empty() ? "" : topic + "-clinic";
  if (!clinic_topic.empty() && !create_topic(m, clinic_topic)) {
    return fail(1, "cannot create topic " + clinic_topic);
  }
  // The writer's heartbeats for its standbys (serve --ha, --role standby).
  const std::string election_topic = topic.empty() ? "" : topic + "-election";
  if (!election_topic.empty() && !create_topic(m, election_topic)) {
    return fail(1, "cannot create topic " + election_topic);
  }
  if (!create_topic(m, kKafkaMockRequestTopic)) {
    return fail(1, std::string("cannot create topic ") + kKafkaMockRequestTopic);
  }
  std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(m.cluster));
  std::fflush(stdout);
  std::fprintf(stderr,
               "kafka-mock: %d broker(s), topics '%s' and '%s' (1 partition each); Ctrl-C "
               "stops\n",
               m.brokers, topic.c_str(), clinic_topic.c_str());
  std::thread(serve_stdin, std::cref(m)).detach();  // ends with the process
  std::thread(serve_topic_requests, std::cref(m),
              std::string(rd_kafka_mock_cluster_bootstraps(m.cluster)))
      .detach();
  int sig = 0;
  sigwait(&stop, &sig);
  std::fprintf(stderr, "kafka-mock: signal %d, stopping\n", sig);
  std::fflush(stdout);
  std::_Exit(0);  // the stdin reader may be blocked in read(); the cluster is memory only
}

const SubcommandRegistration kKafkaMock{"kafka-mock", "run a mock Kafka cluster for development",
                                        &run_kafka_mock};

}  // namespace
}  // namespace reservoir::tools
