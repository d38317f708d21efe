// Opening the event log for the audit and operations tools (replay,
// rebuild): read-only, so they may run beside a server on the same --data
// (or the same Kafka topic).
#pragma once

#include <memory>
#include <string>

#include "events/event_log.h"
#include "events/status.h"
#include "tools/flags.h"

namespace reservoir::tools {

// Each domain has a log of its own (docs/ARCHITECTURE.md, "Domains").
enum class LogDomain { kConcert, kClinic };

// Where the logs are: the embedded logs under `data` (`<data>/log`, and the
// clinic's `<data>/clinic/log`), or Kafka topics when kafka_brokers is set
// (`kafka_topic`, and the clinic's `kafka_clinic_topic`, by default
// `<kafka_topic>-clinic` as serve derives it).
struct LogSource {
  std::string data = "./reservoir-data";
  std::string kafka_brokers;
  std::string kafka_topic = "reservoir-events";
  std::string kafka_clinic_topic;  // empty: <kafka_topic>-clinic
  int64_t kafka_timeout_ms = 30'000;

  bool kafka() const { return !kafka_brokers.empty(); }
  std::string clinic_topic() const {
    return kafka_clinic_topic.empty() ? kafka_topic + "-clinic" : kafka_clinic_topic;
  }
  // The directory under which a domain keeps its projections (and, embedded, its log).
  std::string root(LogDomain d) const { return d == LogDomain::kClinic ? data + "/clinic" : data; }
  // Whether the domain's log may exist: on the embedded log, its directory
  // exists; on Kafka, always (opening tells).
  bool may_have(LogDomain d) const;
  // "--data DIR" or "Kafka topic T at B", for messages.
  std::string describe(LogDomain d = LogDomain::kConcert) const;
};

// Declares --kafka-brokers, --kafka-topic, --kafka-clinic-topic and
// --kafka-timeout (--data is the caller's, as its meaning differs).
void declare_kafka_flags(Flags& f, LogSource& source);

// The log of `source` for domain `d`, opened read-only.
Result<std::unique_ptr<EventLog>> open_log_read_only(const LogSource& source,
                                                     LogDomain d = LogDomain::kConcert);

}  // namespace reservoir::tools
