// `reservoir bench --scenario replica` (docs/BENCHMARKS.md, "Replicas") on a
// writer and a replica of one `reservoir kafka-mock`: a short run completes
// and reports both parts, with every probe sample read at its own offset and
// no failed query; a run without a replica is refused before it starts.
// The figures themselves are not asserted: speed is shown by the bench.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "support/server_process.h"

namespace reservoir::test {
namespace {

constexpr const char* kAdminKey = "k";

TEST_CASE("bench replica: a short run reports the replica's query ratio and lag") {
  // Given a writer and a replica on the mock cluster
  auto mock = std::make_shared<KafkaMock>();
  ServerProcess writer{ServerOptions().on_mock(mock).admin(kAdminKey).no_demo()};
  ServerProcess replica{
      ServerOptions().on_mock(mock).admin(kAdminKey).no_demo().with({"--role", "replica"})};
  const std::string w = "http://127.0.0.1:" + std::to_string(writer.port());
  const std::string r = "http://127.0.0.1:" + std::to_string(replica.port());
  // When the scenario runs briefly
  const RunResult run =
      run_reservoir({"bench",   "--scenario",    "replica", "--url",
                     w,         "--replica-url", r,         "--admin-key",
                     kAdminKey, "--connections", "2",       "--users",
                     "4",       "--schedules",   "2",       "--seats-per-schedule",
                     "10",      "--duration",    "1s",      "--warmup",
                     "1s",      "--json"},
                    std::chrono::seconds(120));
  INFO(tail(run.out) << tail(run.err));
  // Then it completes with both parts' figures, every probe read at its offset
  REQUIRE(run.status == 0);
  CHECK(run.out.find("\"ratio_to_ceiling\":") != std::string::npos);
  CHECK(run.out.find("\"lag_p99_ms\":") != std::string::npos);
  CHECK(run.out.find("\"replica_query_errors\":0,") != std::string::npos);
  CHECK(run.out.find("\"lag_probe_errors\":0,") != std::string::npos);
  CHECK(run.out.find("\"lag_samples\":0,") == std::string::npos);
}

TEST_CASE("bench replica: without --replica-url the run is refused with exit code 2") {
  const RunResult run = run_reservoir({"bench", "--scenario", "replica", "--admin-key", "k"});
  CHECK(run.status == 2);
  CHECK(run.err.find("--replica-url") != std::string::npos);
  const RunResult same =
      run_reservoir({"bench", "--scenario", "replica", "--admin-key", "k", "--url",
                     "http://127.0.0.1:1", "--replica-url", "http://127.0.0.1:1"});
  CHECK(same.status == 2);
  CHECK(same.err.find("must differ") != std::string::npos);
}

}  // namespace
}  // namespace reservoir::test
