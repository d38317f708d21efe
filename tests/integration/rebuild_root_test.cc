// `reservoir rebuild` removes stale stores only directly under its own root
// (--data for the concert views), never another domain's root below it
// (e.g. <data>/clinic, docs/CLINIC-DESIGN.md (b)).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "events/concert_events.h"
#include "events/embedded_log.h"
#include "events/envelope.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace reservoir::test {
namespace {

namespace ev = reservoir::events;
namespace fs = std::filesystem;

TEST_CASE("rebuild: stale stores under --data go; another root's stores stay") {
  TempDir dir;
  const std::string data = dir.path();
  {
    auto log = EmbeddedLog::open(data + "/log", EmbeddedLog::Mode::kReadWrite);
    REQUIRE(log.ok());
    std::vector<EventEnvelope> batch = {
        ev::ConcertCatalog::encode(ev::UserRegistered{"alice", "Alice"}, 1'700'000'000'000)};
    REQUIRE((*log)->append(batch).ok());
  }
  fs::create_directories(data + "/projections-1");         // left by an earlier rebuild
  fs::create_directories(data + "/clinic/projections-1");  // another domain's store
  std::ofstream(data + "/clinic/projections-1/marker") << "clinic";

  const RunResult r = run_reservoir({"rebuild", "--data", data});
  INFO("stderr: ", r.err);
  REQUIRE(r.status == 0);
  CHECK_FALSE(fs::exists(data + "/projections-1"));
  CHECK(fs::exists(data + "/clinic/projections-1/marker"));
  CHECK(fs::exists(data + "/PROJECTIONS"));
  CHECK_FALSE(fs::exists(data + "/clinic/PROJECTIONS"));
}

}  // namespace
}  // namespace reservoir::test
