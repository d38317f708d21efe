// Listeners: which dialects `reservoir serve` serves on which port (SPEC
// §5.1, "listeners"). `--api LIST` names the dialects of the --port
// listener; each `--api-port DIALECT=PORT` adds a listener of one dialect.
//
//   plan_listeners("canonical,queue-tokens", 8080, {"concert-events=8081"})
//     -> {8080: canonical, queue-tokens}, {8081: concert-events}
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/dialect.h"

namespace reservoir::api {

// The dialects --api serves when not given (SPEC §5.1 and §6).
inline constexpr const char* kDefaultApis = "canonical,queue-tokens,clinic";

struct ListenerSpec {
  int port = 0;  // 0: any free port
  std::vector<const Dialect*> dialects;
};

// The listeners, the --port one first; or what is wrong (serve exits 2): an
// unknown dialect, a dialect listed twice for one listener, a malformed
// DIALECT=PORT, a port used twice (port 0 aside), routes that collide.
std::variant<std::vector<ListenerSpec>, std::string> plan_listeners(
    std::string_view api, int port, const std::vector<std::string>& api_ports);

// The first two routes of different dialects one request path could match,
// as "route collision on port P: METHOD PATTERN (A, B)"; nullopt if none.
std::optional<std::string> find_route_collision(const std::vector<const Dialect*>& dialects,
                                                int port);

}  // namespace reservoir::api
