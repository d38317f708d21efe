#include "api/render.h"

#include "events/time_format.h"

namespace reservoir::api {
namespace {

void write_str(JsonWriter& w, const char* key, const std::string& v) {
  w.Key(key);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}
void write_int(JsonWriter& w, const char* key, int64_t v) {
  w.Key(key);
  w.Int64(v);
}
void write_time_or_null(JsonWriter& w, const char* key, int64_t unix_ms) {
  w.Key(key);
  if (unix_ms == 0) {
    w.Null();
  } else {
    write_time(w, unix_ms);
  }
}

const char* token_status_name(concert::TokenState s) {
  switch (s) {
    case concert::TokenState::kWaiting:
      return "WAITING";
    case concert::TokenState::kActive:
      return "ACTIVE";
    case concert::TokenState::kExpired:
      return "EXPIRED";
  }
  return "EXPIRED";
}

const char* reservation_status_name(concert::ReservationState s) {
  switch (s) {
    case concert::ReservationState::kPendingPayment:
      return "PENDING_PAYMENT";
    case concert::ReservationState::kConfirmed:
      return "CONFIRMED";
    case concert::ReservationState::kExpired:
      return "EXPIRED";
    case concert::ReservationState::kCancelled:
      return "CANCELLED";
    case concert::ReservationState::kRefunded:
      return "REFUNDED";
  }
  return "EXPIRED";
}

// One shape for a reservation, whoever answers it.
struct ReservationFields {
  const std::string& id;
  const std::string& user_id;
  const std::string& schedule_id;
  const std::vector<events::SeatRef>& seats;
  int64_t total_price;
  const char* status;
  int64_t created_at, expires_at, paid_at;
};

void write_reservation_fields(JsonWriter& w, const ReservationFields& r) {
  w.StartObject();
  write_str(w, "reservationId", r.id);
  write_str(w, "userId", r.user_id);
  write_str(w, "concertScheduleId", r.schedule_id);
  w.Key("seats");
  w.StartArray();
  for (const auto& s : r.seats) {
    w.StartObject();
    write_str(w, "seatId", s.seat_id);
    write_int(w, "number", s.number);
    write_int(w, "price", s.price);
    w.EndObject();
  }
  w.EndArray();
  write_int(w, "totalPrice", r.total_price);
  w.Key("status");
  w.String(r.status);
  w.Key("createdAt");
  write_time(w, r.created_at);
  w.Key("expiresAt");
  write_time(w, r.expires_at);
  write_time_or_null(w, "paidAt", r.paid_at);
  w.EndObject();
}

void write_concert_created(JsonWriter& w, const events::ConcertCreated& c) {
  w.StartObject();
  write_str(w, "concertId", c.concert_id);
  w.Key("schedules");
  w.StartArray();
  for (const auto& s : c.schedules) {
    w.StartObject();
    write_str(w, "concertScheduleId", s.schedule_id);
    w.Key("seats");
    w.StartArray();
    for (const auto& seat : s.seats) {
      w.StartObject();
      write_str(w, "seatId", seat.seat_id);
      write_int(w, "number", seat.number);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void write_token_reply(JsonWriter& w, const concert::TokenReply& t) {
  w.StartObject();
  write_str(w, "token", t.token);
  w.Key("tokenStatus");
  w.String(token_status_name(t.state));
  w.Key("position");
  t.state == concert::TokenState::kExpired ? w.Null() : w.Int64(t.position);
  w.Key("estimatedWaitSeconds");
  t.state == concert::TokenState::kExpired ? w.Null() : w.Int64(t.estimated_wait_seconds);
  write_time_or_null(w, "expiresAt", t.expires_at);
  w.EndObject();
}

}  // namespace

void write_time(JsonWriter& w, int64_t unix_ms) {
  const std::string s = format_iso8601_ms(unix_ms);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::INVALID_REQUEST:
    case ErrorCode::INVALID_AMOUNT:
      return 400;
    case ErrorCode::INVALID_TOKEN:
    case ErrorCode::TOKEN_EXPIRED:
    case ErrorCode::ADMIN_KEY_REQUIRED:
      return 401;
    case ErrorCode::TOKEN_NOT_ACTIVE:
    case ErrorCode::FORBIDDEN:
    case ErrorCode::ADMIN_DISABLED:
      return 403;
    case ErrorCode::USER_NOT_FOUND:
    case ErrorCode::CONCERT_NOT_FOUND:
    case ErrorCode::SCHEDULE_NOT_FOUND:
    case ErrorCode::SEAT_NOT_FOUND:
    case ErrorCode::RESERVATION_NOT_FOUND:
    case ErrorCode::NOT_FOUND:
      return 404;
    case ErrorCode::METHOD_NOT_ALLOWED:
      return 405;
    case ErrorCode::USER_EXISTS:
    case ErrorCode::CONCERT_EXISTS:
    case ErrorCode::SEAT_UNAVAILABLE:
    case ErrorCode::SCHEDULE_CLOSED:
    case ErrorCode::SCHEDULE_NOT_OPEN:
    case ErrorCode::SEAT_LIMIT_EXCEEDED:
    case ErrorCode::RESERVATION_EXPIRED:
    case ErrorCode::RESERVATION_CANCELLED:
    case ErrorCode::ALREADY_PAID:
    case ErrorCode::INSUFFICIENT_BALANCE:
    case ErrorCode::BALANCE_LIMIT_EXCEEDED:
      return 409;
    case ErrorCode::PAYLOAD_TOO_LARGE:
      return 413;
    case ErrorCode::UNSUPPORTED_MEDIA_TYPE:
      return 415;
    case ErrorCode::IDEMPOTENCY_KEY_REUSED:
      return 422;
    case ErrorCode::OVERLOADED:
    case ErrorCode::UNAVAILABLE:
      return 503;
    case ErrorCode::INTERNAL:
      return 500;
    case ErrorCode::NOT_WRITER:  // a command sent to a query replica (SPEC §7)
      return 421;
  }
  return 500;
}

Rendered render_error_envelope(int status, std::string_view code, std::string_view message) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("result");
  w.String("ERROR");
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

Rendered render_error(ErrorCode code, const std::string& message) {
  if (code == ErrorCode::INTERNAL) {
    return render_error_envelope(500, kServerErrorCode, kServerErrorMessage);
  }
  return render_error_envelope(http_status(code), error_name(code), message);
}

Rendered render_reply(const concert::Reply& reply) {
  return std::visit(
      [](const auto& r) -> Rendered {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, DomainError>) {
          return render_error(r.code, r.message);
        } else {
          return render_success([&](JsonWriter& w) {
            if constexpr (std::is_same_v<R, concert::UserReply>) {
              w.StartObject();
              write_str(w, "userId", r.user_id);
              w.EndObject();
            } else if constexpr (std::is_same_v<R, concert::ConcertReply>) {
              write_concert_created(w, r.created);
            } else if constexpr (std::is_same_v<R, concert::TokenReply>) {
              write_token_reply(w, r);
            } else if constexpr (std::is_same_v<R, concert::ReservationReply>) {
              write_reservation_fields(
                  w, {r.reservation_id, r.user_id, r.schedule_id, r.seats, r.total_price,
                      reservation_status_name(r.state), r.created_at, r.expires_at, r.paid_at});
            } else if constexpr (std::is_same_v<R, concert::PaymentReply>) {
              w.StartObject();
              write_str(w, "paymentId", r.payment_id);
              write_str(w, "reservationId", r.reservation_id);
              write_int(w, "amount", r.amount);
              w.Key("status");
              w.String("COMPLETED");
              w.Key("paidAt");
              write_time(w, r.paid_at);
              write_int(w, "balance", r.balance);
              w.EndObject();
            } else if constexpr (std::is_same_v<R, concert::BalanceReply>) {
              w.StartObject();
              write_str(w, "userId", r.user_id);
              write_int(w, "balance", r.balance);
              w.EndObject();
            }
          });
        }
      },
      reply);
}

void write_token(JsonWriter& w, const projections::TokenView& t, int64_t position,
                 int64_t estimated_wait_seconds) {
  concert::TokenReply reply{t.token, concert::TokenState::kWaiting, position,
                            estimated_wait_seconds, t.expires_at};
  if (t.status == projections::TokenStatus::kActive) reply.state = concert::TokenState::kActive;
  if (t.status == projections::TokenStatus::kExpired) reply.state = concert::TokenState::kExpired;
  write_token_reply(w, reply);
}

void write_reservation(JsonWriter& w, const projections::ReservationView& r) {
  static constexpr concert::ReservationState kMap[] = {
      concert::ReservationState::kPendingPayment, concert::ReservationState::kConfirmed,
      concert::ReservationState::kExpired, concert::ReservationState::kCancelled,
      concert::ReservationState::kRefunded};
  write_reservation_fields(w, {r.reservation_id, r.user_id, r.schedule_id, r.seats, r.total_price,
                               reservation_status_name(kMap[static_cast<int>(r.status)]),
                               r.created_at, r.expires_at, r.paid_at});
}

void write_payment(JsonWriter& w, const projections::PaymentView& p) {
  w.StartObject();
  write_str(w, "paymentId", p.payment_id);
  write_str(w, "reservationId", p.reservation_id);
  write_int(w, "amount", p.amount);
  w.Key("status");
  w.String(p.status == projections::PaymentStatus::kCompleted ? "COMPLETED" : "REFUNDED");
  w.Key("paidAt");
  write_time(w, p.paid_at);
  w.EndObject();
}

}  // namespace reservoir::api
