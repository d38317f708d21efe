// The concert-events dialect (SPEC §5.3, seed 001): objects in {"data":…},
// lists in a top-level {"list":[…]}, errors {"error":{"code","message"}};
// the canonical token in `User-Token`; reservations and payments named by
// their sequence numbers; times "2023-07-01T12:05:00Z".
#include <charconv>

#include "api/dialect_command.h"
#include "api/dialect_values.h"
#include "api/render.h"
#include "events/time_format.h"

namespace reservoir::api {

const Dialect& concert_events_dialect();

namespace {

using projections::TokenStatus;

constexpr size_t kPaymentsDefault = 100;
constexpr size_t kPaymentsMax = 100;
constexpr int64_t kSecondsPerMinute = 60;

Rendered envelope(int status, std::string_view code, std::string_view message) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("error");
  w.StartObject();
  w.Key("code");
  w.String(code.data(), static_cast<rapidjson::SizeType>(code.size()));
  w.Key("message");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  w.EndObject();
  return Rendered{status, std::string(buf.GetString(), buf.GetSize())};
}

// {"data": what `f` writes} or {"list":[what `f` writes]}, status 200.
template <class F>
Rendered render_wrapped(const char* key, bool list, F&& f) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key(key);
  if (list) w.StartArray();
  f(w);
  if (list) w.EndArray();
  w.EndObject();
  return Rendered{200, std::string(buf.GetString(), buf.GetSize())};
}
template <class F>
Rendered render_data(F&& f) {
  return render_wrapped("data", false, std::forward<F>(f));
}
template <class F>
Rendered render_list(F&& f) {
  return render_wrapped("list", true, std::forward<F>(f));
}

void write_time(JsonWriter& w, int64_t unix_ms) {
  const std::string s = format_ce_time(unix_ms);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// Reply renderers, one per command route (the writer keeps their answers for replays).
template <class R, void (*Write)(JsonWriter&, const R&)>
Rendered reply(const concert::Reply& r) {
  if (const auto* e = std::get_if<DomainError>(&r)) {
    return render_dialect_error(concert_events_dialect(), e->code, e->message);
  }
  const auto* ok = std::get_if<R>(&r);
  if (ok == nullptr) {
    return render_dialect_error(concert_events_dialect(), ErrorCode::INTERNAL, "unexpected reply");
  }
  return render_data([&](JsonWriter& w) { Write(w, *ok); });
}

int64_t wait_minutes(int64_t seconds) {
  return (seconds + kSecondsPerMinute - 1) / kSecondsPerMinute;
}

void write_token(JsonWriter& w, const concert::TokenReply& t) {
  w.StartObject();
  w.Key("token");
  w.String(t.token.data(), static_cast<rapidjson::SizeType>(t.token.size()));
  w.Key("estimatedWaitingTime");
  w.Int64(t.state == concert::TokenState::kWaiting ? wait_minutes(t.estimated_wait_seconds) : 0);
  w.EndObject();
}

void write_seat_number(JsonWriter& w, int64_t number) {
  const std::string s = std::to_string(number);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// occupy holds one seat: the answer describes it.
void write_occupation(JsonWriter& w, const concert::ReservationReply& r) {
  w.StartObject();
  if (!r.seats.empty()) {
    w.Key("id");
    write_dialect_id(w, r.seats.front().seat_id);
    w.Key("seatNumber");
    write_seat_number(w, r.seats.front().number);
    w.Key("price");
    w.Int64(r.seats.front().price);
  }
  w.Key("expirationTime");
  write_time(w, r.expires_at);
  w.EndObject();
}

void write_reserved(JsonWriter& w, const concert::ReservationReply& r) {
  w.StartObject();
  w.Key("id");
  w.Int64(r.seq);
  w.Key("concertEventId");
  write_dialect_id(w, r.schedule_id);
  w.Key("totalSeats");
  w.Int64(static_cast<int64_t>(r.seats.size()));
  w.Key("totalAmount");
  w.Int64(r.total_price);
  w.Key("createdAt");
  write_time(w, r.created_at);
  w.EndObject();
}

void write_payment_fields(JsonWriter& w, int64_t seq, int64_t reservation_seq, int64_t amount,
                          const char* status, int64_t paid_at) {
  w.StartObject();
  w.Key("id");
  w.Int64(seq);
  w.Key("reservationId");
  w.Int64(reservation_seq);
  w.Key("amount");
  w.Int64(amount);
  w.Key("status");
  w.String(status);
  w.Key("paidAt");
  write_time(w, paid_at);
  w.EndObject();
}

void write_paid(JsonWriter& w, const concert::PaymentReply& p) {
  write_payment_fields(w, p.seq, p.reservation_seq, p.amount, "success", p.paid_at);
}

void write_balance(JsonWriter& w, const concert::BalanceReply& b) {
  w.StartObject();
  w.Key("balance");
  w.Int64(b.balance);
  w.EndObject();
}

// The User-Token's token for a query: 401 when absent, 400 unknown; with
// `live`, an EXPIRED one is TOKEN_EXPIRED.
std::variant<projections::TokenView, Rendered> query_token(const Call& c, bool live) {
  if (!c.req.user_token) return render_row(c.dialect, c.dialect.token_absent, "");
  auto t = c.service.views().token(std::string(*c.req.user_token));
  if (!t) return c.error(ErrorCode::INVALID_TOKEN, "unknown queue token");
  if (live && c.service.queue_place(*t).status == TokenStatus::kExpired) {
    return c.error(ErrorCode::TOKEN_EXPIRED, "token has expired");
  }
  return *t;
}

// The User-Token of a command; the engine resolves it (not remembered).
std::optional<Rendered> command_token(const Call& c, std::string* token) {
  if (!c.req.user_token) return render_row(c.dialect, c.dialect.token_absent, "");
  *token = std::string(*c.req.user_token);
  return std::nullopt;
}

Answer issue_token(Call& c) {
  return run_command(c, {.render = &reply<concert::TokenReply, write_token>},
                     [&](const rapidjson::Value* body) -> Built {
                       auto user = body_id(*body, "userId");
                       if (auto* e = std::get_if<DomainError>(&user)) {
                         return c.error(e->code, e->message);
                       }
                       return concert::IssueToken{std::get<std::string>(user)};
                     });
}

Answer queue_status(Call& c) {
  if (auto stop = c.service.await_writes(c)) return std::move(*stop);
  auto token = query_token(c, false);
  if (auto* stop = std::get_if<Rendered>(&token)) return std::move(*stop);
  const QueuePlace place = c.service.queue_place(std::get<projections::TokenView>(token));
  if (place.status == TokenStatus::kExpired) {
    return c.error(ErrorCode::TOKEN_EXPIRED, "token has expired");
  }
  return render_data([&](JsonWriter& w) {
    w.StartObject();
    w.Key("queuePosition");
    w.Int64(place.position);
    w.Key("estimatedWaitingTime");
    w.Int64(wait_minutes(place.wait_seconds));
    w.EndObject();
  });
}

Answer available_events(Call& c) {
  if (auto stop = check_path_id(c, 0, "concertId")) return std::move(*stop);
  if (auto stop = c.service.await_writes(c)) return std::move(*stop);
  auto token = query_token(c, true);
  if (auto* stop = std::get_if<Rendered>(&token)) return std::move(*stop);
  auto list = c.service.views().schedules(std::string(c.params[0]));
  if (!list) return c.error(ErrorCode::CONCERT_NOT_FOUND, "concert not found");
  const int64_t now = c.service.now_ms();
  return render_list([&](JsonWriter& w) {
    for (const auto& s : *list) {
      if (!schedule_bookable(s, now)) continue;
      w.StartObject();
      w.Key("id");
      write_dialect_id(w, s.schedule_id);
      w.Key("date");
      const std::string date = format_date(s.starts_at);
      w.String(date.data(), static_cast<rapidjson::SizeType>(date.size()));
      w.EndObject();
    }
  });
}

Answer available_seats(Call& c) {
  if (auto stop = check_path_id(c, 0, "concertEventId")) return std::move(*stop);
  if (auto stop = c.service.await_writes(c)) return std::move(*stop);
  auto token = query_token(c, true);
  if (auto* stop = std::get_if<Rendered>(&token)) return std::move(*stop);
  auto seats = c.service.views().seats(std::string(c.params[0]));
  if (!seats) return c.error(ErrorCode::SCHEDULE_NOT_FOUND, "schedule not found");
  return render_list([&](JsonWriter& w) {
    for (const auto& s : *seats) {
      if (s.status != projections::SeatStatus::kAvailable) continue;
      w.StartObject();
      w.Key("id");
      write_dialect_id(w, s.seat_id);
      w.Key("seatNumber");
      write_seat_number(w, s.number);
      w.Key("price");
      w.Int64(s.price);
      w.EndObject();
    }
  });
}

// occupy and reserve: {seatId} on the schedule the path names.
template <class Make>
Built seat_command(Call& c, const rapidjson::Value* body, Make&& make) {
  if (auto stop = check_path_id(c, 0, "concertEventId")) return std::move(*stop);
  auto seat = body_id(*body, "seatId");
  if (auto* e = std::get_if<DomainError>(&seat)) return c.error(e->code, e->message);
  std::string token;
  if (auto stop = command_token(c, &token)) return std::move(*stop);
  return make(std::move(token), std::string(c.params[0]), std::move(std::get<std::string>(seat)));
}

Answer occupy(Call& c) {
  return run_command(
      c, {.render = &reply<concert::ReservationReply, write_occupation>},
      [&](const rapidjson::Value* body) {
        return seat_command(c, body, [](std::string token, std::string schedule, std::string seat) {
          return concert::HoldSeats{
              std::move(token), std::nullopt, std::move(schedule), {std::move(seat)}};
        });
      });
}

Answer reserve(Call& c) {
  return run_command(
      c, {.render = &reply<concert::ReservationReply, write_reserved>},
      [&](const rapidjson::Value* body) {
        return seat_command(c, body, [](std::string token, std::string schedule, std::string seat) {
          return concert::FindReservation{std::move(token), std::move(schedule), std::move(seat)};
        });
      });
}

Answer pay(Call& c) {
  return run_command(c, {.render = &reply<concert::PaymentReply, write_paid>},
                     [&](const rapidjson::Value* body) -> Built {
                       auto ref = reservation_ref(*body, "reservationId");
                       if (auto* e = std::get_if<DomainError>(&ref)) {
                         return c.error(e->code, e->message);
                       }
                       std::string token;
                       if (auto stop = command_token(c, &token)) return std::move(*stop);
                       auto& r = std::get<ReservationRef>(ref);
                       concert::PayReservation cmd{std::move(token), std::nullopt, std::move(r.id)};
                       cmd.reservation_seq = r.seq;
                       return cmd;
                     });
}

// limit: 1..100, default 100 (seed 001 pages nothing).
std::optional<size_t> payments_limit(const Request& req) {
  auto raw = query_param(req, "limit");
  if (!raw) return kPaymentsDefault;
  size_t n = 0;
  auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), n);
  if (ec != std::errc() || end != raw->data() + raw->size() || n < 1 || n > kPaymentsMax) {
    return std::nullopt;
  }
  return n;
}

Answer payments(Call& c) {
  if (auto stop = check_path_id(c, 0, "userId")) return std::move(*stop);
  auto limit = payments_limit(c.req);
  if (!limit) return c.error(ErrorCode::INVALID_REQUEST, "'limit' must be an integer in 1..100");
  if (auto stop = c.service.await_writes(c)) return std::move(*stop);
  const std::string user(c.params[0]);
  if (!c.service.views().user(user)) return c.error(ErrorCode::USER_NOT_FOUND, "user not found");
  auto page = c.service.views().user_payments(user, *limit, "");
  if (!page.ok()) return c.error(ErrorCode::USER_NOT_FOUND, "user not found");
  return render_list([&](JsonWriter& w) {
    for (const auto& p : page->items) {
      const bool refunded = p.status == projections::PaymentStatus::kRefunded;
      write_payment_fields(w, p.seq, p.reservation_seq, p.amount, refunded ? "refunded" : "success",
                           p.paid_at);
    }
  });
}

Answer wallet(Call& c) {
  if (auto stop = check_path_id(c, 0, "userId")) return std::move(*stop);
  if (auto stop = c.service.await_writes(c)) return std::move(*stop);
  auto user = c.service.views().user(std::string(c.params[0]));
  if (!user) return c.error(ErrorCode::USER_NOT_FOUND, "user not found");
  return render_data([&](JsonWriter& w) { write_balance(w, {user->user_id, user->balance}); });
}

Answer charge(Call& c) {
  return run_command(
      c, {.render = &reply<concert::BalanceReply, write_balance>, .amount_key = "amount"},
      [&](const rapidjson::Value* body) -> Built {
        if (auto stop = check_path_id(c, 0, "userId")) return std::move(*stop);
        int64_t amount = 0;
        switch (read_amount(*body, "amount", 1, concert::kChargeMax, &amount)) {
          case AmountCheck::kMissingOrNotNumber:
            return c.error(ErrorCode::INVALID_REQUEST,
                           "field 'amount' is required and must be a number");
          case AmountCheck::kOutOfRange:
            return c.error(ErrorCode::INVALID_AMOUNT, "amount must be an integer in 1..1000000000");
          case AmountCheck::kOk:
            break;
        }
        return concert::ChargeBalance{std::string(c.params[0]), amount};
      });
}

// queue/status answers an EXPIRED token with "not in the queue" (SPEC §5.5).
constexpr ErrorRow kStatusErrors[] = {
    {ErrorCode::TOKEN_EXPIRED, 404, "not_found_in_queue",
     "해당 토큰으로 대기 중인 정보를 찾을 수 없습니다."},
};

constexpr RouteSpec kRoutes[] = {
    inline_command("POST", "/api/v1/queue/token", "ce_queue_token", &issue_token),
    {"GET", "/api/v1/queue/status", "ce_queue_status", &queue_status, kStatusErrors},
    {"GET", "/api/v1/concerts/{concertId}/available-events", "ce_available_events",
     &available_events},
    {"GET", "/api/v1/concert-events/{concertEventId}/available-seats", "ce_available_seats",
     &available_seats},
    inline_command("POST", "/api/v1/concert-events/{concertEventId}/occupy", "ce_occupy", &occupy),
    inline_command("POST", "/api/v1/concert-events/{concertEventId}/reserve", "ce_reserve",
                   &reserve),
    inline_command("POST", "/api/v1/payments", "ce_pay", &pay),
    {"GET", "/api/v1/users/{userId}/payments", "ce_payments", &payments},
    {"GET", "/api/v1/users/{userId}/wallet", "ce_wallet", &wallet},
    inline_command("PATCH", "/api/v1/users/{userId}/wallet/charge", "ce_wallet_charge", &charge),
};

// SPEC §5.5, concert-events' column.
constexpr ErrorRow kErrors[] = {
    {ErrorCode::INVALID_REQUEST, 400, "invalid_request", "잘못된 요청입니다: {field}"},
    {ErrorCode::INVALID_AMOUNT, 400, "invalid_amount", "유효하지 않은 충전 금액입니다."},
    {ErrorCode::INVALID_TOKEN, 400, "invalid_token", "유효하지 않은 token 입니다."},
    {ErrorCode::TOKEN_EXPIRED, 400, "expired_token", "만료된 token 입니다."},
    {ErrorCode::TOKEN_NOT_ACTIVE, 400, "invalid_token_status",
     "아직 활성화되지 않은 token 입니다."},
    {ErrorCode::FORBIDDEN, 403, "forbidden", "접근 권한이 없습니다."},
    {ErrorCode::USER_NOT_FOUND, 404, "not_found_user", "요청한 사용자를 찾을 수 없습니다."},
    {ErrorCode::CONCERT_NOT_FOUND, 404, "not_found_concert", "요청한 콘서트를 찾을 수 없습니다."},
    {ErrorCode::SCHEDULE_NOT_FOUND, 404, "not_found_concert_event",
     "요청한 콘서트 이벤트를 찾을 수 없습니다."},
    {ErrorCode::SEAT_NOT_FOUND, 404, "not_found_seat", "요청한 좌석을 찾을 수 없습니다."},
    {ErrorCode::RESERVATION_NOT_FOUND, 404, "not_found_reservation",
     "요청한 예약을 찾을 수 없습니다."},
    {ErrorCode::SEAT_UNAVAILABLE, 400, "invalid_seat_status",
     "이미 점유되었거나 예약된 좌석입니다."},
    {ErrorCode::SCHEDULE_CLOSED, 400, "closed_concert_event", "이미 시작된 콘서트 이벤트입니다."},
    {ErrorCode::SCHEDULE_NOT_OPEN, 400, "not_opened_concert_event",
     "아직 예약이 열리지 않은 콘서트 이벤트입니다."},
    {ErrorCode::SEAT_LIMIT_EXCEEDED, 400, "exceeded_seat_limit",
     "예약 가능한 좌석 수를 초과했습니다."},
    {ErrorCode::RESERVATION_EXPIRED, 400, "occupation_expired", "좌석 점유 시간이 만료되었습니다."},
    {ErrorCode::ALREADY_PAID, 400, "already_paid", "이미 결제된 예약입니다."},
    {ErrorCode::RESERVATION_CANCELLED, 400, "cancelled_reservation", "취소된 예약입니다."},
    {ErrorCode::INSUFFICIENT_BALANCE, 400, "insufficient_balance", "잔액이 부족합니다."},
    {ErrorCode::BALANCE_LIMIT_EXCEEDED, 400, "exceeded_balance_limit", "잔액 한도를 초과합니다."},
    {ErrorCode::IDEMPOTENCY_KEY_REUSED, 422, "reused_idempotency_key",
     "다른 요청에 이미 사용된 Idempotency-Key 입니다."},
    {ErrorCode::PAYLOAD_TOO_LARGE, 413, "payload_too_large", "요청 본문이 너무 큽니다."},
    {ErrorCode::UNSUPPORTED_MEDIA_TYPE, 415, "unsupported_media_type",
     "Content-Type 은 application/json 이어야 합니다."},
    {ErrorCode::NOT_FOUND, 404, "not_found", "요청한 경로를 찾을 수 없습니다."},
    {ErrorCode::METHOD_NOT_ALLOWED, 405, "method_not_allowed", "허용되지 않은 메서드입니다."},
    {ErrorCode::OVERLOADED, 503, "overloaded", "요청이 많습니다. 잠시 후 다시 시도해 주세요."},
    // The seed has one 503; a stopping engine or lagging projections answer it too.
    {ErrorCode::UNAVAILABLE, 503, "overloaded", "요청이 많습니다. 잠시 후 다시 시도해 주세요."},
    {ErrorCode::INTERNAL, 500, "internal_server_error", "서버 내부 오류가 발생했습니다."},
    {ErrorCode::NOT_WRITER, 421, "not_writer", "명령은 쓰기 노드에서만 처리됩니다."},
};

}  // namespace

const Dialect& concert_events_dialect() {
  static const Dialect kDialect{
      "concert-events",
      "/api/v1/",
      kRoutes,
      kErrors,
      {ErrorCode::INVALID_TOKEN, 401, "unauthorized", "User-Token 헤더가 필요합니다."},
      &envelope,
      Domain::kConcert};
  return kDialect;
}

}  // namespace reservoir::api
