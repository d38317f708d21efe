// Rendering: the JSON envelope of SPEC §2 for engine replies, projection
// views and errors. One writer per shape, so a reservation looks the same
// whether a command or a query answers it.
//
// Thread safety: pure functions.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <string_view>

#include "engine/concert/replies.h"
#include "engine/reply.h"
#include "projections/views.h"

namespace reservoir::api {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

int http_status(ErrorCode code);
// The canonical error envelope: {"result":"ERROR","error":{"code","message"}}.
Rendered render_error_envelope(int status, std::string_view code, std::string_view message);
// `code` in the canonical envelope with `message`; INTERNAL (an unexpected
// fault) answers 500 in seed 000's own words instead (SPEC §5.1).
Rendered render_error(ErrorCode code, const std::string& message);
inline constexpr const char* kServerErrorCode = "SERVER_ERROR";
inline constexpr const char* kServerErrorMessage = "서버 에러가 발생했습니다.";

// The engine's renderer: reply -> HTTP status + body (stored for idempotent replays).
Rendered render_reply(const concert::Reply& reply);

// Wraps what `data` writes in {"result":"SUCCESS","data":…} with status 200.
template <class F>
Rendered render_success(F&& data) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("result");
  w.String("SUCCESS");
  w.Key("data");
  data(w);
  w.EndObject();
  return Rendered{200, std::string(buf.GetString(), buf.GetSize())};
}

void write_token(JsonWriter& w, const projections::TokenView& t, int64_t position,
                 int64_t estimated_wait_seconds);
void write_reservation(JsonWriter& w, const projections::ReservationView& r);
void write_payment(JsonWriter& w, const projections::PaymentView& p);
void write_time(JsonWriter& w, int64_t unix_ms);

}  // namespace reservoir::api
