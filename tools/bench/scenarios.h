// The scenarios of `reservoir bench` that are not the HTTP load loop of
// load.h alone: `burst` (many connections opened at once), `core` (the pure
// state machine in process) `slowloris` (the load loop beside slow clients) and `replica`
// (a query replica's rate and lag). Each fills a
// Report, or returns false with why it could not run.
//
// Thread safety: each blocks its caller and owns the threads it starts.
#pragma once

#include <string>

#include "tools/bench/load.h"
#include "tools/bench/options.h"
#include "tools/bench/report.h"

namespace reservoir::tools::bench {

// Opens --connections TCP connections to --url at once (non-blocking
// sockets, a few epoll threads); each sends GET /healthz, reads the answer
// and closes. Counts refused, reset and stalled (> 1 s) connections.
bool run_burst(const BenchOptions& options, Report& report, std::string& error);

// Drives decide + State::apply with a booking-like command mix for
// --duration, in one thread, no I/O; reports commands/s.
bool run_core(const BenchOptions& options, Report& report, std::string& error);

// Drives the booking mix in process over simulated days, so retention
// applies (docs/MEMORY.md); reports resident memory by phase, bytes per
// user, live token, live hold and finished reservation, and live records.
bool run_memory(const BenchOptions& options, Report& report, std::string& error);

// The charge load alone, then beside --slow-connections clients trickling a
// request head a byte a second (issue 16): both runs' p50, p99 and rates,
// and how the server ended the slow connections.
bool run_slowloris(const BenchOptions& options, const LoadPlan& charge, Report& report,
                   std::string& error);

// Against the writer at --url and the query replica at --replica-url (SPEC
// §7): the replica's query rate over the HTTP ceiling of the same run, then
// its lag (writer acknowledgement -> replica answer at that offset) under
// the charge load on the writer.
bool run_replica(const BenchOptions& options, Report& report, std::string& error);

// The load plan of one flow (booking, charge, query, ...) from the options:
// --url, the connections, warm-up, duration, rate and seed, in `dialect`.
LoadPlan plan_for(const BenchOptions& o, const std::string& flow, const Catalog& catalog,
                  Dialect dialect);

// The flow's request stream against the in-process trivial server (the
// HTTP ceiling of SPEC §4), measured into `report`.
bool run_ceiling(const BenchOptions& o, const std::string& flow, const Catalog& catalog,
                 Dialect dialect, Report& report, std::string& error);

// "http://host:port[/]" -> host and port; false when it is not that shape.
bool split_url(const std::string& url, std::string& host, int& port);

}  // namespace reservoir::tools::bench
