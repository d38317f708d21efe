// api/dialect.h's Router and api/listeners.h: route matching, 404/405
// ownership, collisions between dialects and the listener plan (SPEC §5.1).
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <variant>

#include "api/dialect.h"
#include "api/listeners.h"
#include "api/openapi.h"

namespace reservoir::api {
namespace {

std::vector<const Dialect*> dialects(std::initializer_list<const char*> names) {
  std::vector<const Dialect*> out;
  for (const char* n : names) {
    const Dialect* d = find_dialect(n);
    REQUIRE(d != nullptr);
    out.push_back(d);
  }
  return out;
}

std::string plan_error(std::string_view api, int port, const std::vector<std::string>& extra) {
  auto plan = plan_listeners(api, port, extra);
  return std::holds_alternative<std::string>(plan) ? std::get<std::string>(plan) : "";
}

TEST_CASE("routes: concert-events collides with canonical on exactly four routes") {
  const Dialect& canonical = *find_dialect("canonical");
  const Dialect& ce = *find_dialect("concert-events");
  std::set<std::string> colliding;
  for (const RouteSpec& a : canonical.routes) {
    for (const RouteSpec& b : ce.routes) {
      if (patterns_collide(a.pattern, b.pattern)) {
        colliding.insert(std::string(b.method) + " " + b.pattern);
      }
    }
  }
  CHECK(colliding == std::set<std::string>{"POST /api/v1/queue/token", "GET /api/v1/queue/status",
                                           "POST /api/v1/payments",
                                           "GET /api/v1/users/{userId}/payments"});
}

TEST_CASE("routes: queue-tokens collides with neither; the pattern rule") {
  for (const char* other : {"canonical", "concert-events"}) {
    CAPTURE(other);
    CHECK_FALSE(find_route_collision(dialects({"queue-tokens", other}), 8080));
  }
  CHECK(patterns_collide("/a/{x}/c", "/a/b/{y}"));
  CHECK(patterns_collide("/a/{x}", "/a/{y}"));
  CHECK_FALSE(patterns_collide("/a/{x}", "/a/{x}/c"));
  CHECK_FALSE(patterns_collide("/a/b", "/a/c"));
  CHECK(find_route_collision(dialects({"canonical", "concert-events"}), 8080) ==
        "route collision on port 8080: POST /api/v1/payments (canonical, concert-events)");
}

TEST_CASE("listeners: the plan, the --port listener first") {
  auto plan = plan_listeners("canonical,queue-tokens", 8080,
                             {"concert-events=8081", "concert-events=0", "queue-tokens=0"});
  REQUIRE(std::holds_alternative<std::vector<ListenerSpec>>(plan));
  const auto& listeners = std::get<std::vector<ListenerSpec>>(plan);
  REQUIRE(listeners.size() == 4);
  CHECK(listeners[0].port == 8080);
  CHECK(listeners[0].dialects == dialects({"canonical", "queue-tokens"}));
  CHECK(listeners[1].port == 8081);
  CHECK(listeners[1].dialects == dialects({"concert-events"}));
  CHECK(listeners[2].port == 0);
  CHECK(std::holds_alternative<std::vector<ListenerSpec>>(plan_listeners(kDefaultApis, 0, {})));
}

TEST_CASE("listeners: what serve refuses with exit 2") {
  CHECK(plan_error("canonical,billing", 8080, {}).find("unknown dialect 'billing'") !=
        std::string::npos);
  CHECK(plan_error("canonical", 8080, {"nope=9000"}).find("unknown dialect 'nope'") !=
        std::string::npos);
  CHECK(plan_error("canonical,canonical", 8080, {}).find("listed twice") != std::string::npos);
  CHECK(plan_error("canonical", 8080, {"concert-events=8080"}) == "port 8080 is used twice");
  CHECK(plan_error("canonical", 8080, {"concert-events=8081", "queue-tokens=8081"}) ==
        "port 8081 is used twice");
  CHECK(plan_error("canonical", 8080, {"concert-events"}).find("DIALECT=PORT") !=
        std::string::npos);
  CHECK(plan_error("canonical", 8080, {"concert-events=70000"}).find("DIALECT=PORT") !=
        std::string::npos);
  CHECK(plan_error("canonical,concert-events", 8080, {}) ==
        "route collision on port 8080: POST /api/v1/payments (canonical, concert-events)");
  CHECK(plan_error("", 8080, {}).find("unknown dialect ''") != std::string::npos);
}

TEST_CASE("router: routes, parameters, shared routes, 404 and 405 by prefix owner") {
  Router router(dialects({"queue-tokens", "canonical"}));
  auto m = router.match("GET", "/v1/concerts/1/schedules/s-2/seats");
  REQUIRE(m.kind == Router::Kind::kRoute);
  CHECK(m.dialect->name == "queue-tokens");
  CHECK(std::string(m.route->pattern) == "/v1/concerts/{concertId}/schedules/{scheduleId}/seats");
  REQUIRE(m.params.size == 2);
  CHECK(m.params[0] == "1");
  CHECK(m.params[1] == "s-2");
  m = router.match("POST", "/api/v1/balance/charge");
  CHECK(m.kind == Router::Kind::kRoute);
  CHECK(m.dialect->name == "canonical");
  CHECK(router.match("GET", "/healthz").kind == Router::Kind::kHealth);
  CHECK(router.match("GET", "/metrics").kind == Router::Kind::kMetrics);
  CHECK(router.match("GET", "/v3/api-docs").kind == Router::Kind::kApiDocs);
  CHECK(router.match("POST", "/healthz").kind == Router::Kind::kMethodNotAllowed);
  m = router.match("GET", "/api/v1/nothing");
  CHECK(m.kind == Router::Kind::kNotFound);
  CHECK(m.dialect->name == "canonical");  // owns /api/v1/
  m = router.match("DELETE", "/v1/balance/users/1");
  CHECK(m.kind == Router::Kind::kMethodNotAllowed);
  CHECK(m.dialect->name == "queue-tokens");
  CHECK(router.match("GET", "/elsewhere").dialect->name == "queue-tokens");  // first listed
  CHECK(router.match("GET", "/a/b/c/d/e/f/g/h/i").kind == Router::Kind::kNotFound);
  CHECK(router.names() == std::vector<std::string>{"queue-tokens", "canonical"});
}

TEST_CASE("router: every route has its own metrics slot and name") {
  std::set<std::string> names;
  for (size_t slot = 0; slot < Router::counter_slots(); ++slot) {
    CHECK(names.insert(Router::counter_name(slot)).second);
  }
  CHECK(names.count("charge") == 1);
  CHECK(names.count("ce_occupy") == 1);
  CHECK(names.count("qt_recharge") == 1);
  CHECK(names.count("not_found") == 1);
}

TEST_CASE("routes: each dialect serves exactly the routes its OpenAPI document lists") {
  for (const Dialect* d : all_dialects()) {
    CAPTURE(d->name);
    auto served = served_routes(std::string(d->name));
    auto documented = openapi_routes(std::string(d->name));
    std::sort(served.begin(), served.end());
    std::sort(documented.begin(), documented.end());
    CHECK(served.size() == d->routes.size());
    CHECK(served == documented);
  }
}

}  // namespace
}  // namespace reservoir::api
