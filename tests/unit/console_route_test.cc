// Which requests the console (api/console.h) answers: a GET of its page,
// its files and its admin routes, on every listener whatever its dialects,
// counted under one metrics slot of its own.
#include <doctest/doctest.h>

#include <cstring>

#include "api/console.h"
#include "api/dialect.h"

namespace reservoir::api {
namespace {

TEST_CASE("console: its paths, and only those") {
  for (const char* path : {"/console", "/console/console.js", "/admin/events",
                           "/admin/waiting-room", "/admin/clinic/zones/zone-1/day"}) {
    CAPTURE(path);
    CHECK(is_console_path(path));
  }
  for (const char* path : {"/consoles", "/admin", "/admin/events/1", "/admin/clinic/zones//day",
                           "/admin/clinic/zones/day", "/api/v1/admin/users", "/metrics"}) {
    CAPTURE(path);
    CHECK_FALSE(is_console_path(path));
  }
}

TEST_CASE("console: every listener routes a GET of its paths to it, under the slot `console`") {
  for (const Dialect* d : all_dialects()) {
    CAPTURE(d->name);
    const Router router({d});
    const Router::Match m = router.match("GET", "/admin/events");
    CHECK(m.kind == Router::Kind::kConsole);
    CHECK(std::strcmp(Router::counter_name(m.counter), "console") == 0);
    CHECK(router.match("GET", "/console").kind == Router::Kind::kConsole);
    CHECK(router.match("POST", "/admin/events").kind == Router::Kind::kNotFound);
  }
}

}  // namespace
}  // namespace reservoir::api
