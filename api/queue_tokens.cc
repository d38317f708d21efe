// The queue-tokens dialect (SPEC §5.4, seed 002): bare objects, errors
// {"code":404,"message":"user not found"}; the numeric tokenId in `TOKEN-ID`,
// checked against the user the path or body names; reservations and
// payments named by their sequence numbers; times "2024-07-04T10:00:00".
#include <algorithm>
#include <unordered_set>

#include "api/dialect_command.h"
#include "api/dialect_values.h"
#include "api/json_util.h"
#include "api/render.h"

namespace reservoir::api {

const Dialect& queue_tokens_dialect();

namespace {

using projections::TokenStatus;

Rendered envelope(int status, std::string_view, std::string_view message) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("code");
  w.Int(status);
  w.Key("message");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  return Rendered{status, std::string(buf.GetString(), buf.GetSize())};
}

template <class F>
Rendered render_bare(F&& f) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  f(w);
  return Rendered{200, std::string(buf.GetString(), buf.GetSize())};
}

void write_time(JsonWriter& w, int64_t unix_ms) {
  const std::string s = format_qt_time(unix_ms);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void write_str(JsonWriter& w, const char* key, std::string_view v) {
  w.Key(key);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

// An internal fault on payments and recharge has its own words (SPEC §5.5).
constexpr ErrorRow kPaymentFailed[] = {{ErrorCode::INTERNAL, 500, nullptr, "payment failed"}};
constexpr ErrorRow kRechargeFailed[] = {{ErrorCode::INTERNAL, 500, nullptr, "recharge failed"}};
// Only GET /v1/queue-tokens/users/{userId} has it: the user never had a token.
constexpr ErrorRow kTokenNotFound = {ErrorCode::NOT_FOUND, 404, nullptr, "token not found"};

// Reply renderers, one per command route (the writer keeps their answers for replays).
template <class R, void (*Write)(JsonWriter&, const R&), const ErrorRow* Override = nullptr>
Rendered reply(const concert::Reply& r) {
  const auto overrides =
      Override != nullptr ? std::span<const ErrorRow>(Override, 1) : std::span<const ErrorRow>();
  if (const auto* e = std::get_if<DomainError>(&r)) {
    return render_dialect_error(queue_tokens_dialect(), e->code, e->message, overrides);
  }
  const auto* ok = std::get_if<R>(&r);
  if (ok == nullptr) {
    return render_dialect_error(queue_tokens_dialect(), ErrorCode::INTERNAL, "unexpected reply",
                                overrides);
  }
  return render_bare([&](JsonWriter& w) { Write(w, *ok); });
}

void write_token_fields(JsonWriter& w, int64_t token_id, int64_t issued_at, int64_t expires_at) {
  w.StartObject();
  w.Key("tokenId");
  w.Int64(token_id);
  w.Key("createdAt");
  write_time(w, issued_at);
  w.Key("expiredAt");
  if (expires_at == 0) {
    w.Null();  // WAITING
  } else {
    write_time(w, expires_at);
  }
  w.EndObject();
}

void write_token(JsonWriter& w, const concert::TokenReply& t) {
  write_token_fields(w, t.token_id, t.issued_at, t.expires_at);
}

void write_reservation(JsonWriter& w, const concert::ReservationReply& r) {
  std::vector<std::pair<int64_t, int64_t>> seats;  // number, price: by number
  for (const auto& s : r.seats) seats.emplace_back(s.number, s.price);
  std::sort(seats.begin(), seats.end());
  w.StartObject();
  w.Key("reservationId");
  w.Int64(r.seq);
  w.Key("concertId");
  write_dialect_id(w, r.concert_id);
  write_str(w, "concertName", r.concert_title);
  w.Key("concertAt");
  write_time(w, r.starts_at);
  w.Key("seats");
  w.StartArray();
  for (const auto& [number, price] : seats) {
    w.StartObject();
    w.Key("seatNumber");
    w.Int64(number);
    w.Key("price");
    w.Int64(price);
    w.EndObject();
  }
  w.EndArray();
  w.Key("totalPrice");
  w.Int64(r.total_price);
  w.Key("reservationStatus");
  w.String("PAYMENT_PENDING");  // seed 002's word for canonical PENDING_PAYMENT
  w.EndObject();
}

void write_payment(JsonWriter& w, const concert::PaymentReply& p) {
  w.StartObject();
  w.Key("paymentId");
  w.Int64(p.seq);
  w.Key("amount");
  w.Int64(p.amount);
  w.Key("paymentStatus");
  w.String("COMPLETED");
  w.EndObject();
}

void write_balance(JsonWriter& w, const concert::BalanceReply& b) {
  w.StartObject();
  w.Key("userId");
  write_dialect_id(w, b.user_id);
  w.Key("currentAmount");
  w.Int64(b.balance);
  w.EndObject();
}

Rendered invalid_token(const Call& c) {
  return render_row(c.dialect, c.dialect.token_absent, "");
}

// The TOKEN-ID's tokenId; 0 (which names no token) when absent or not a
// canonical decimal.
int64_t token_id_of(const Request& req) {
  if (!req.token_id) return 0;
  return canonical_decimal(*req.token_id).value_or(0);
}

// A query's user named in the path: it must exist (404, before the token).
std::optional<Rendered> check_user(const Call& c, const std::string& user) {
  if (c.service.views().user(user)) return std::nullopt;
  return c.error(ErrorCode::USER_NOT_FOUND, "user not found");
}

// The TOKEN-ID's token for a query: 401 unless it names a token (of `user`
// when given); with `live`, an EXPIRED one is 401 token expired.
std::variant<projections::TokenView, Rendered> query_token(const Call& c, const std::string* user,
                                                           bool live) {
  const int64_t id = token_id_of(c.req);
  auto t = id > 0 ? c.service.views().token_by_id(id) : std::nullopt;
  if (!t || (user != nullptr && t->user_id != *user)) return invalid_token(c);
  if (live && c.service.queue_place(*t).status == TokenStatus::kExpired) {
    return c.error(ErrorCode::TOKEN_EXPIRED, "token has expired");
  }
  return *t;
}

Answer issue_token(Call& c) {
  return run_command(c, {.render = &reply<concert::TokenReply, write_token>, .has_body = false},
                     [&](const rapidjson::Value*) -> Built {
                       if (auto stop = check_path_id(c, 0, "userId")) return std::move(*stop);
                       return concert::IssueToken{std::string(c.params[0]), /*user_first=*/true};
                     });
}

Answer find_token(Call& c) {
  if (auto stop = check_path_id(c, 0, "userId")) return std::move(*stop);
  if (auto stop = c.service.await_writes(c)) return std::move(*stop);
  const std::string user(c.params[0]);
  if (auto stop = check_user(c, user)) return std::move(*stop);
  auto t = c.service.views().user_token(user);
  if (!t) return render_row(c.dialect, kTokenNotFound, "");
  const int64_t expires = t->status == TokenStatus::kWaiting ? 0 : t->expires_at;
  return render_bare(
      [&](JsonWriter& w) { write_token_fields(w, t->token_id, t->issued_at, expires); });
}

const char* status_name(TokenStatus s) {
  switch (s) {
    case TokenStatus::kWaiting:
      return "WAITING";
    case TokenStatus::kActive:
      return "ACTIVE";
    case TokenStatus::kExpired:
      return "EXPIRED";
  }
  return "EXPIRED";
}

Answer queue_status(Call& c) {
  if (auto stop = check_path_id(c, 0, "userId")) return std::move(*stop);
  if (auto stop = c.service.await_writes(c)) return std::move(*stop);
  const std::string user(c.params[0]);
  if (auto stop = check_user(c, user)) return std::move(*stop);
  auto token = query_token(c, &user, false);
  if (auto* stop = std::get_if<Rendered>(&token)) return std::move(*stop);
  const auto& t = std::get<projections::TokenView>(token);
  const QueuePlace place = c.service.queue_place(t);
  return render_bare([&](JsonWriter& w) {
    w.StartObject();
    w.Key("queueId");
    w.Int64(t.seq);
    w.Key("joinAt");
    write_time(w, t.issued_at);
    w.Key("status");
    w.String(status_name(place.status));
    w.Key("remainingWaitListCount");
    w.Int64(place.status == TokenStatus::kWaiting ? place.position - 1 : 0);
    w.EndObject();
  });
}

Answer schedules(Call& c) {
  if (auto stop = check_path_id(c, 0, "concertId")) return std::move(*stop);
  if (auto stop = c.service.await_writes(c)) return std::move(*stop);
  auto token = query_token(c, nullptr, true);
  if (auto* stop = std::get_if<Rendered>(&token)) return std::move(*stop);
  auto list = c.service.views().schedules(std::string(c.params[0]));
  if (!list) return c.error(ErrorCode::CONCERT_NOT_FOUND, "concert not found");
  const int64_t now = c.service.now_ms();
  return render_bare([&](JsonWriter& w) {
    w.StartObject();
    w.Key("concertId");
    write_dialect_id(w, c.params[0]);
    w.Key("events");
    w.StartArray();
    for (const auto& s : *list) {
      if (s.starts_at <= now) continue;  // not yet started, open or not (SPEC §5.6)
      w.StartObject();
      w.Key("scheduleId");
      write_dialect_id(w, s.schedule_id);
      w.Key("concertAt");
      write_time(w, s.starts_at);
      w.Key("reservationAt");
      write_time(w, s.opens_at);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  });
}

Answer seats(Call& c) {
  if (auto stop = check_path_id(c, 0, "concertId")) return std::move(*stop);
  if (auto stop = check_path_id(c, 1, "scheduleId")) return std::move(*stop);
  if (auto stop = c.service.await_writes(c)) return std::move(*stop);
  auto token = query_token(c, nullptr, true);
  if (auto* stop = std::get_if<Rendered>(&token)) return std::move(*stop);
  const std::string concert(c.params[0]);
  if (!c.service.views().schedules(concert)) {
    return c.error(ErrorCode::CONCERT_NOT_FOUND, "concert not found");
  }
  auto schedule = c.service.views().schedule(std::string(c.params[1]));
  auto list = schedule ? c.service.views().seats(schedule->schedule_id) : std::nullopt;
  if (!schedule || schedule->concert_id != concert || !list) {
    return c.error(ErrorCode::SCHEDULE_NOT_FOUND, "schedule not found");
  }
  return render_bare([&](JsonWriter& w) {
    w.StartObject();
    w.Key("concertId");
    write_dialect_id(w, concert);
    w.Key("concertAt");
    write_time(w, schedule->starts_at);
    w.Key("seats");
    w.StartArray();
    for (const auto& s : *list) {
      w.StartObject();
      w.Key("seatId");
      write_dialect_id(w, s.seat_id);
      w.Key("seatNumber");
      w.Int64(s.number);
      w.Key("seatStatus");
      w.String(s.status == projections::SeatStatus::kAvailable ? "AVAILABLE" : "UNAVAILABLE");
      w.Key("seatPrice");
      w.Int64(s.price);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  });
}

// seatIds: 1..max distinct ids, each by the body id rule; an item at fault
// is named by its path (`seatIds[2]`).
std::variant<std::vector<std::string>, DomainError> seat_ids(const rapidjson::Value& body,
                                                             size_t max) {
  auto it = body.FindMember("seatIds");
  if (it == body.MemberEnd() || !it->value.IsArray() || it->value.Empty() ||
      it->value.Size() > max) {
    return DomainError{ErrorCode::INVALID_REQUEST, "field 'seatIds' must be an array of 1 to " +
                                                       std::to_string(max) + " distinct seat ids"};
  }
  std::vector<std::string> out;
  std::unordered_set<std::string> distinct;
  for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
    const std::string at = item_path("seatIds", i);
    auto id = id_value(it->value[i], at.c_str());
    if (std::holds_alternative<DomainError>(id)) return std::get<DomainError>(id);
    if (!distinct.insert(std::get<std::string>(id)).second) {
      return DomainError{ErrorCode::INVALID_REQUEST, "field '" + at + "' repeats a seat id"};
    }
    out.push_back(std::move(std::get<std::string>(id)));
  }
  return out;
}

Built build_hold(const Call& c, const rapidjson::Value& body) {
  auto user = body_id(body, "userId");
  auto concert = body_id(body, "concertId");
  auto schedule = body_id(body, "scheduleId");
  for (const auto* id : {&user, &concert, &schedule}) {
    if (const auto* e = std::get_if<DomainError>(id)) return c.error(e->code, e->message);
  }
  auto seats = seat_ids(body, static_cast<size_t>(c.service.config().limits.seats_per_user_max));
  if (auto* e = std::get_if<DomainError>(&seats)) return c.error(e->code, e->message);
  concert::HoldSeats cmd;
  cmd.schedule_id = std::move(std::get<std::string>(schedule));
  cmd.seat_ids = std::move(std::get<std::vector<std::string>>(seats));
  cmd.token_id = token_id_of(c.req);
  cmd.named_user = std::move(std::get<std::string>(user));
  cmd.concert_id = std::move(std::get<std::string>(concert));
  return cmd;
}

Answer hold(Call& c) {
  return run_command(c, {.render = &reply<concert::ReservationReply, write_reservation>},
                     [&](const rapidjson::Value* body) { return build_hold(c, *body); });
}

Answer pay(Call& c) {
  return run_command(c, {.render = &reply<concert::PaymentReply, write_payment, kPaymentFailed>},
                     [&](const rapidjson::Value* body) -> Built {
                       if (auto stop = check_path_id(c, 0, "userId")) return std::move(*stop);
                       auto ref = reservation_ref(*body, "reservationId");
                       if (auto* e = std::get_if<DomainError>(&ref))
                         return c.error(e->code, e->message);
                       auto& r = std::get<ReservationRef>(ref);
                       concert::PayReservation cmd;
                       cmd.reservation_id = std::move(r.id);
                       cmd.reservation_seq = r.seq;
                       cmd.token_id = token_id_of(c.req);
                       cmd.named_user = std::string(c.params[0]);
                       return cmd;
                     });
}

Answer recharge(Call& c) {
  return run_command(c,
                     {.render = &reply<concert::BalanceReply, write_balance, kRechargeFailed>,
                      .amount_key = "amount"},
                     [&](const rapidjson::Value* body) -> Built {
                       if (auto stop = check_path_id(c, 0, "userId")) return std::move(*stop);
                       int64_t amount = 0;
                       switch (read_amount(*body, "amount", 1, concert::kChargeMax, &amount)) {
                         case AmountCheck::kMissingOrNotNumber:
                           return c.error(ErrorCode::INVALID_REQUEST,
                                          "field 'amount' is required and must be a number");
                         case AmountCheck::kOutOfRange:
                           return c.error(ErrorCode::INVALID_AMOUNT,
                                          "amount must be an integer in 1..1000000000");
                         case AmountCheck::kOk:
                           break;
                       }
                       return concert::ChargeBalance{std::string(c.params[0]), amount,
                                                     /*user_first=*/true};
                     });
}

Answer balance(Call& c) {
  if (auto stop = check_path_id(c, 0, "userId")) return std::move(*stop);
  if (auto stop = c.service.await_writes(c)) return std::move(*stop);
  auto user = c.service.views().user(std::string(c.params[0]));
  if (!user) return c.error(ErrorCode::USER_NOT_FOUND, "user not found");
  return render_bare([&](JsonWriter& w) { write_balance(w, {user->user_id, user->balance}); });
}

constexpr RouteSpec kRoutes[] = {
    inline_command("POST", "/v1/queue-tokens/users/{userId}", "qt_issue_token", &issue_token),
    {"GET", "/v1/queue-tokens/users/{userId}", "qt_find_token", &find_token},
    {"GET", "/v1/queue-status/users/{userId}", "qt_queue_status", &queue_status},
    {"GET", "/v1/concerts/{concertId}/schedules", "qt_schedules", &schedules},
    {"GET", "/v1/concerts/{concertId}/schedules/{scheduleId}/seats", "qt_seats", &seats},
    inline_command("POST", "/v1/reservations", "qt_hold", &hold),
    inline_command("POST", "/v1/payments/users/{userId}", "qt_pay", &pay, kPaymentFailed),
    inline_command("POST", "/v1/balance/users/{userId}/recharge", "qt_recharge", &recharge,
                   kRechargeFailed),
    {"GET", "/v1/balance/users/{userId}", "qt_balance", &balance},
};

// SPEC §5.5, queue-tokens' column. Business refusals are 400, as the seed has them.
constexpr ErrorRow kErrors[] = {
    {ErrorCode::INVALID_REQUEST, 400, nullptr, "invalid request: {field}"},
    {ErrorCode::INVALID_AMOUNT, 400, nullptr, "invalid recharge amount"},
    {ErrorCode::INVALID_TOKEN, 401, nullptr, "invalid token"},
    {ErrorCode::TOKEN_EXPIRED, 401, nullptr, "token expired"},
    {ErrorCode::TOKEN_NOT_ACTIVE, 403, nullptr, "token not active"},
    {ErrorCode::FORBIDDEN, 403, nullptr, "forbidden"},
    {ErrorCode::USER_NOT_FOUND, 404, nullptr, "user not found"},
    {ErrorCode::CONCERT_NOT_FOUND, 404, nullptr, "concert not found"},
    {ErrorCode::SCHEDULE_NOT_FOUND, 404, nullptr, "schedule not found"},
    {ErrorCode::SEAT_NOT_FOUND, 404, nullptr, "seat not found"},
    {ErrorCode::RESERVATION_NOT_FOUND, 404, nullptr, "reservation not found"},
    {ErrorCode::SEAT_UNAVAILABLE, 400, nullptr, "reservation failed"},
    {ErrorCode::SCHEDULE_CLOSED, 400, nullptr, "schedule closed"},
    {ErrorCode::SCHEDULE_NOT_OPEN, 400, nullptr, "schedule not open"},
    {ErrorCode::SEAT_LIMIT_EXCEEDED, 400, nullptr, "seat limit exceeded"},
    {ErrorCode::RESERVATION_EXPIRED, 400, nullptr, "reservation expired"},
    {ErrorCode::ALREADY_PAID, 400, nullptr, "already paid"},
    {ErrorCode::RESERVATION_CANCELLED, 400, nullptr, "reservation cancelled"},
    {ErrorCode::INSUFFICIENT_BALANCE, 400, nullptr, "not enough balance"},
    {ErrorCode::BALANCE_LIMIT_EXCEEDED, 400, nullptr, "balance limit exceeded"},
    {ErrorCode::IDEMPOTENCY_KEY_REUSED, 422, nullptr, "idempotency key reused"},
    {ErrorCode::PAYLOAD_TOO_LARGE, 413, nullptr, "payload too large"},
    {ErrorCode::UNSUPPORTED_MEDIA_TYPE, 415, nullptr, "unsupported media type"},
    {ErrorCode::NOT_FOUND, 404, nullptr, "not found"},
    {ErrorCode::METHOD_NOT_ALLOWED, 405, nullptr, "method not allowed"},
    {ErrorCode::OVERLOADED, 503, nullptr, "server overloaded"},
    // The seed has one 503; a stopping engine or lagging projections answer it too.
    {ErrorCode::UNAVAILABLE, 503, nullptr, "server overloaded"},
    {ErrorCode::INTERNAL, 500, nullptr, "internal server error"},
    {ErrorCode::NOT_WRITER, 421, nullptr, "not the writer"},
};

}  // namespace

const Dialect& queue_tokens_dialect() {
  static const Dialect kDialect{"queue-tokens",
                                "/v1/",
                                kRoutes,
                                kErrors,
                                {ErrorCode::INVALID_TOKEN, 401, nullptr, "invalid token"},
                                &envelope,
                                Domain::kConcert};
  return kDialect;
}

}  // namespace reservoir::api
