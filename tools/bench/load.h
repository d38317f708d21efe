// The HTTP load generator: one thread and one keep-alive httplib::Client
// (TCP_NODELAY) per connection, each driving a Flow. Closed loop by default:
// a connection sends its next request as soon as the last is answered. With a
// rate, open loop: request k of a connection is due at a fixed time and its
// latency counts from then, so a stalled server shows up as latency instead
// of as fewer requests (no coordinated omission).
//
// Phases: set-up (users and catalog through the canonical admin API at
// `url`, or the clinic's visitors, zones and groups through its admin API;
// every connection its share), warm-up (sent but not counted), then the measured duration.
// A progress line goes to stderr once a second.
//
// Thread safety: run_load blocks its caller and owns every thread it starts.
#pragma once

#include <cstdint>
#include <string>

#include "tools/bench/flows.h"
#include "tools/bench/report.h"

namespace reservoir::tools::bench {

struct LoadPlan {
  std::string scenario;  // the flow: booking | charge | query | hot | clinic | clinic-hot
  std::string label;     // on the progress line and in the report ("ceiling" or the scenario)
  std::string url;       // http://host:port: set-up (admin API) and /metrics, canonical
  std::string flow_url;  // where the flows go, "" for `url` (a dialect's own listener)
  Dialect dialect = Dialect::kCanonical;  // the flows' (booking, charge)
  std::string admin_key;
  int connections = 64;
  int64_t warmup_ms = 0;
  int64_t duration_ms = 0;
  int64_t rate = 0;  // requests/s in total; 0: closed loop
  uint64_t seed = 1;
  bool scrape_metrics = true;  // read the server's /metrics before and after
  bool ceiling = false;        // against the in-process ceiling: no domain figures
  Catalog catalog;
};

// Runs the plan and fills `report`. False (with `error`) when the set-up
// failed or the server could not be reached.
bool run_load(const LoadPlan& plan, Report& report, std::string& error);

// Whether the scenario needs concerts (not only users).
bool needs_catalog(const std::string& scenario);

}  // namespace reservoir::tools::bench
