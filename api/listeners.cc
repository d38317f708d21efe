#include "api/listeners.h"

#include <charconv>

namespace reservoir::api {
namespace {

constexpr int kPortMax = 65535;

std::string known_dialects() {
  std::string out;
  for (const Dialect* d : all_dialects()) out += (out.empty() ? "" : ", ") + std::string(d->name);
  return out;
}

// One --api list: names separated by commas, each known and listed once.
std::variant<std::vector<const Dialect*>, std::string> parse_list(std::string_view list) {
  std::vector<const Dialect*> out;
  size_t i = 0;
  do {
    const size_t comma = std::min(list.find(',', i), list.size());
    const std::string_view name = list.substr(i, comma - i);
    const Dialect* d = find_dialect(name);
    if (d == nullptr) {
      return "unknown dialect '" + std::string(name) + "' (known: " + known_dialects() + ")";
    }
    for (const Dialect* seen : out) {
      if (seen == d) return "dialect " + std::string(name) + " is listed twice for one listener";
    }
    out.push_back(d);
    i = comma + 1;
  } while (i <= list.size());
  return out;
}

// DIALECT=PORT
std::variant<ListenerSpec, std::string> parse_api_port(std::string_view value) {
  const size_t eq = value.find('=');
  const std::string_view port = eq == std::string_view::npos ? "" : value.substr(eq + 1);
  int n = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (eq == std::string_view::npos || port.empty() || ec != std::errc() ||
      end != port.data() + port.size() || n < 0 || n > kPortMax) {
    return "--api-port: '" + std::string(value) + "' is not DIALECT=PORT (PORT in 0.." +
           std::to_string(kPortMax) + ")";
  }
  const Dialect* d = find_dialect(value.substr(0, eq));
  if (d == nullptr) {
    return "unknown dialect '" + std::string(value.substr(0, eq)) +
           "' (known: " + known_dialects() + ")";
  }
  return ListenerSpec{n, {d}};
}

}  // namespace

std::optional<std::string> find_route_collision(const std::vector<const Dialect*>& dialects,
                                                int port) {
  for (size_t i = 0; i < dialects.size(); ++i) {
    for (size_t j = i + 1; j < dialects.size(); ++j) {
      for (const RouteSpec& a : dialects[i]->routes) {
        for (const RouteSpec& b : dialects[j]->routes) {
          if (!patterns_collide(a.pattern, b.pattern)) continue;
          return "route collision on port " + std::to_string(port) + ": " + a.method + " " +
                 a.pattern + " (" + std::string(dialects[i]->name) + ", " +
                 std::string(dialects[j]->name) + ")";
        }
      }
    }
  }
  return std::nullopt;
}

std::variant<std::vector<ListenerSpec>, std::string> plan_listeners(
    std::string_view api, int port, const std::vector<std::string>& api_ports) {
  auto main = parse_list(api);
  if (auto* error = std::get_if<std::string>(&main)) return "--api: " + *error;
  std::vector<ListenerSpec> out = {{port, std::move(std::get<std::vector<const Dialect*>>(main))}};
  for (const std::string& value : api_ports) {
    auto spec = parse_api_port(value);
    if (auto* error = std::get_if<std::string>(&spec)) return *error;
    out.push_back(std::move(std::get<ListenerSpec>(spec)));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (out[i].port != 0 && out[i].port == out[j].port) {
        return "port " + std::to_string(out[i].port) + " is used twice";
      }
    }
    if (auto collision = find_route_collision(out[i].dialects, out[i].port)) return *collision;
  }
  return out;
}

}  // namespace reservoir::api
