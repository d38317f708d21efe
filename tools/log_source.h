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

// Where the log is: the embedded log under `data` (`<data>/log`), or a Kafka
// topic when kafka_brokers is set.
struct LogSource {
  std::string data = "./reservoir-data";
  std::string kafka_brokers;
  std::string kafka_topic = "reservoir-events";
  int64_t kafka_timeout_ms = 30'000;

  bool kafka() const { return !kafka_brokers.empty(); }
  // "--data DIR" or "Kafka topic T at B", for messages.
  std::string describe() const;
};

// Declares --kafka-brokers, --kafka-topic and --kafka-timeout (--data is the
// caller's, as its meaning differs).
void declare_kafka_flags(Flags& f, LogSource& source);

// The log of `source`, opened read-only.
Result<std::unique_ptr<EventLog>> open_log_read_only(const LogSource& source);

}  // namespace reservoir::tools
