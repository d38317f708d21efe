// The shared flow of a dialect's command route (SPEC §5.2 check order):
// body (413, 415, 400) -> Idempotency-Key (400) -> the handler's build step
// (400 for fields and path ids, the dialect's answer to a missing token) ->
// the engine, whose answers the route's RenderFn renders. Queries have no
// such flow: they are await_writes() -> projection reads -> render.
//
//   return run_command(c, {.render = &charge_reply, .amount_key = "amount"},
//                      [&](const rapidjson::Value* body) -> Built { ... });
//
// Thread safety: as Service::handle (one request per calling thread).
#pragma once

#include <variant>

#include "api/json_util.h"
#include "api/service.h"

namespace reservoir::api {

// A command, or the answer that ends the request instead.
using Built = std::variant<concert::Command, Rendered>;

struct CommandOptions {
  ConcertWriter::RenderFn render = nullptr;
  bool has_body = true;              // false: the route reads no body (none is fingerprinted)
  const char* amount_key = nullptr;  // a too-big number there is INVALID_AMOUNT
};

template <class Build>
Answer run_command(Call& c, const CommandOptions& o, Build&& build) {
  rapidjson::Document doc(&thread_parse_arena());
  const rapidjson::Value* body = nullptr;
  if (c.req.body.size() > kBodyBytesMax) {
    return c.error(ErrorCode::PAYLOAD_TOO_LARGE, "the body is larger than 64 KiB");
  }
  if (o.has_body) {
    if (auto stop = c.service.read_body(c, doc, o.amount_key)) return std::move(*stop);
    body = &doc;
  }
  std::optional<IdempotencyRequest> idem;
  if (auto stop = c.service.idempotency(c, body, &idem)) return std::move(*stop);
  Built built = build(body);
  if (auto* stop = std::get_if<Rendered>(&built)) return std::move(*stop);
  return c.service.execute(std::move(std::get<concert::Command>(built)), std::move(idem), o.render);
}

// A path parameter that must follow the id rule (400 naming it otherwise).
inline std::optional<Rendered> check_path_id(const Call& c, size_t index, const char* name) {
  if (valid_id(c.params[index])) return std::nullopt;
  return c.error(
      ErrorCode::INVALID_REQUEST,
      std::string("path parameter '") + name + "' must be 1-64 characters of " + "[A-Za-z0-9._:-]");
}

// The value of query parameter `name`, if sent.
inline std::optional<std::string> query_param(const Request& req, const char* name) {
  if (req.params == nullptr) return std::nullopt;
  auto it = req.params->find(name);
  if (it == req.params->end()) return std::nullopt;
  return it->second;
}

}  // namespace reservoir::api
