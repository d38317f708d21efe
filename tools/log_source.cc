#include "tools/log_source.h"

#include <filesystem>

#include "events/embedded_log.h"
#include "events/kafka_log.h"

namespace reservoir::tools {

std::string LogSource::describe(LogDomain d) const {
  if (kafka()) {
    return "Kafka topic '" + (d == LogDomain::kClinic ? clinic_topic() : kafka_topic) + "' at " +
           kafka_brokers;
  }
  return "the log under " + root(d);
}

bool LogSource::may_have(LogDomain d) const {
  if (kafka()) return true;
  std::error_code ec;
  return std::filesystem::exists(root(d) + "/log", ec);
}

void declare_kafka_flags(Flags& f, LogSource& source) {
  f.add_string("kafka-brokers", &source.kafka_brokers,
               "read the log from this Kafka cluster instead of --data");
  f.add_string("kafka-topic", &source.kafka_topic, "Kafka topic of the event log");
  f.add_string("kafka-clinic-topic", &source.kafka_clinic_topic,
               "Kafka topic of the clinic domain's log (empty: KAFKA_TOPIC-clinic)");
  f.add_duration("kafka-timeout", &source.kafka_timeout_ms,
                 "bound on reaching Kafka and on each read");
}

Result<std::unique_ptr<EventLog>> open_log_read_only(const LogSource& source, LogDomain d) {
  if (source.kafka()) {
    KafkaLogConfig c;
    c.brokers = source.kafka_brokers;
    c.topic = d == LogDomain::kClinic ? source.clinic_topic() : source.kafka_topic;
    c.read_timeout_ms = c.open_timeout_ms = source.kafka_timeout_ms;
    auto log = KafkaLog::open(c, KafkaLog::Mode::kReadOnly);
    if (!log.ok()) return log.status();
    return std::unique_ptr<EventLog>(std::move(*log));
  }
  auto log = EmbeddedLog::open(source.root(d) + "/log", EmbeddedLog::Mode::kReadOnly);
  if (!log.ok()) return log.status();
  return std::unique_ptr<EventLog>(std::move(*log));
}

}  // namespace reservoir::tools
