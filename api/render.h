// Rendering: the JSON envelope of SPEC §2 for engine replies, projection
// views and errors. One writer per shape, so a reservation looks the same
// whether a command or a query answers it.
//
// Thread safety: pure functions.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>

#include "engine/concert/replies.h"
#include "engine/reply.h"
#include "projections/views.h"

namespace reservoir::api {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

int http_status(ErrorCode code);
Rendered render_error(ErrorCode code, const std::string& message);

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
