// The dialects' requests and answers for the booking loop (see dialect.h).
// Every builder assigns or appends into buffers the request keeps between
// calls, so a steady flow allocates nothing here once they have grown: the
// load generator shares two cores with the server.
#include "tools/bench/dialect.h"

#include <charconv>

namespace reservoir::tools::bench {
namespace {

using Method = HttpRequest::Method;

void start(HttpRequest& r, Method method, Dialect d, std::string_view path,
           const std::string& token) {
  r.method = method;
  r.path.assign(path);
  r.token.assign(token);
  r.token_header = token_header_of(d);
  r.body.clear();
}

void append_int(std::string& out, int64_t v) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, v).ptr;
  out.append(digits, end);
}

// out += "\"key\":\"value\"" (key and value need no escaping: ids of the id rule).
void append_string_member(std::string& out, std::string_view key, std::string_view value) {
  out += '"';
  out += key;
  out += "\":\"";
  out += value;
  out += '"';
}

// The text of a string member: key is "\"name\":\"".
std::string_view string_field(std::string_view body, std::string_view key) {
  const size_t at = body.find(key);
  if (at == std::string_view::npos) return {};
  const size_t from = at + key.size();
  const size_t to = body.find('"', from);
  return to == std::string_view::npos ? std::string_view() : body.substr(from, to - from);
}

// The digits of an integer member: key is "\"name\":".
std::string_view digits_field(std::string_view body, std::string_view key) {
  const size_t at = body.find(key);
  if (at == std::string_view::npos) return {};
  const size_t from = at + key.size();
  size_t to = from;
  while (to < body.size() && body[to] >= '0' && body[to] <= '9') ++to;
  return body.substr(from, to - from);
}

int64_t int_field(std::string_view body, std::string_view key) {
  const std::string_view digits = digits_field(body, key);
  int64_t v = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), v);
  return v;
}

bool is_token_code(std::string_view code) {
  return code == "invalid_token" || code == "expired_token" || code == "invalid_token_status";
}

}  // namespace

const char* dialect_name(Dialect d) {
  switch (d) {
    case Dialect::kCanonical:
      return "canonical";
    case Dialect::kConcertEvents:
      return "concert-events";
    case Dialect::kQueueTokens:
      return "queue-tokens";
  }
  return "canonical";
}

std::optional<Dialect> parse_dialect(std::string_view name) {
  for (Dialect d : {Dialect::kCanonical, Dialect::kConcertEvents, Dialect::kQueueTokens}) {
    if (name == dialect_name(d)) return d;
  }
  return std::nullopt;
}

const char* token_header_of(Dialect d) {
  switch (d) {
    case Dialect::kCanonical:
      return "Queue-Token";
    case Dialect::kConcertEvents:
      return "User-Token";
    case Dialect::kQueueTokens:
      return "TOKEN-ID";
  }
  return "Queue-Token";
}

void token_request(HttpRequest& r, Dialect d, const std::string& user) {
  if (d == Dialect::kQueueTokens) {
    start(r, Method::kPost, d, "/v1/queue-tokens/users/", {});
    r.path += user;
    return;  // no body: the path names the user
  }
  start(r, Method::kPost, d, "/api/v1/queue/token", {});
  r.body += '{';
  append_string_member(r.body, "userId", user);
  r.body += '}';
}

void hold_request(HttpRequest& r, Dialect d, const std::string& user, const std::string& token,
                  std::string_view concert, std::string_view schedule, int64_t seat) {
  char digits[24];
  const std::string_view seat_id(digits, std::to_chars(digits, digits + sizeof digits, seat).ptr);
  switch (d) {
    case Dialect::kCanonical:
      start(r, Method::kPost, d, "/api/v1/reservations", token);
      r.body += '{';
      append_string_member(r.body, "concertScheduleId", schedule);
      r.body += ',';
      append_string_member(r.body, "seatId", seat_id);
      r.body += '}';
      return;
    case Dialect::kConcertEvents:
      start(r, Method::kPost, d, "/api/v1/concert-events/", token);
      r.path += schedule;
      r.path += "/occupy";
      r.body += '{';
      append_string_member(r.body, "seatId", seat_id);
      r.body += '}';
      return;
    case Dialect::kQueueTokens:
      start(r, Method::kPost, d, "/v1/reservations", token);
      r.body += '{';
      append_string_member(r.body, "userId", user);
      r.body += ',';
      append_string_member(r.body, "concertId", concert);
      r.body += ',';
      append_string_member(r.body, "scheduleId", schedule);
      r.body += ",\"seatIds\":[\"";
      r.body += seat_id;
      r.body += "\"]}";
      return;
  }
}

void reserve_request(HttpRequest& r, const std::string& token, std::string_view schedule,
                     int64_t seat) {
  start(r, Method::kPost, Dialect::kConcertEvents, "/api/v1/concert-events/", token);
  r.path += schedule;
  r.path += "/reserve";
  r.body += "{\"seatId\":\"";
  append_int(r.body, seat);
  r.body += "\"}";
}

void charge_request(HttpRequest& r, Dialect d, const std::string& user, int64_t amount) {
  switch (d) {
    case Dialect::kCanonical:
      start(r, Method::kPost, d, "/api/v1/balance/charge", {});
      r.body += '{';
      append_string_member(r.body, "userId", user);
      r.body += ',';
      break;
    case Dialect::kConcertEvents:
      start(r, Method::kPatch, d, "/api/v1/users/", {});
      r.path += user;
      r.path += "/wallet/charge";
      r.body += '{';
      break;
    case Dialect::kQueueTokens:
      start(r, Method::kPost, d, "/v1/balance/users/", {});
      r.path += user;
      r.path += "/recharge";
      r.body += '{';
      break;
  }
  r.body += "\"amount\":";
  append_int(r.body, amount);
  r.body += '}';
}

void pay_request(HttpRequest& r, Dialect d, const std::string& user, const std::string& token,
                 const std::string& reservation) {
  if (d == Dialect::kQueueTokens) {
    start(r, Method::kPost, d, "/v1/payments/users/", token);
    r.path += user;
  } else {
    start(r, Method::kPost, d, "/api/v1/payments", token);
  }
  if (d == Dialect::kCanonical) {
    r.body += '{';
    append_string_member(r.body, "reservationId", reservation);
    r.body += '}';
    return;
  }
  r.body += "{\"reservationId\":";  // the sequence number, a JSON integer
  r.body += reservation;
  r.body += '}';
}

bool read_token(Dialect d, std::string_view body, std::string& token) {
  switch (d) {
    case Dialect::kCanonical:
      token = string_field(body, "\"token\":\"");
      return string_field(body, "\"tokenStatus\":\"") == "ACTIVE";
    case Dialect::kConcertEvents:
      token = string_field(body, "\"token\":\"");
      return int_field(body, "\"estimatedWaitingTime\":") == 0;
    case Dialect::kQueueTokens:
      token = digits_field(body, "\"tokenId\":");
      // expiredAt is null while WAITING, a time once ACTIVE (SPEC §5.2).
      return !string_field(body, "\"expiredAt\":\"").empty();
  }
  return false;
}

void read_reservation(Dialect d, std::string_view body, std::string& reservation, int64_t& price) {
  switch (d) {
    case Dialect::kCanonical:
      reservation = string_field(body, "\"reservationId\":\"");
      price = int_field(body, "\"totalPrice\":");
      break;
    case Dialect::kConcertEvents:  // reserve: {"data":{"id",…,"totalAmount",…}}
      reservation = digits_field(body, "\"id\":");
      price = int_field(body, "\"totalAmount\":");
      break;
    case Dialect::kQueueTokens:
      reservation = digits_field(body, "\"reservationId\":");
      price = int_field(body, "\"totalPrice\":");
      break;
  }
}

Refusal refusal(Dialect d, int status, std::string_view code) {
  switch (d) {
    case Dialect::kCanonical:
      if (status == 409 && code == "SEAT_UNAVAILABLE") return Refusal::kSeatTaken;
      if (status == 409 && code == "SEAT_LIMIT_EXCEEDED") return Refusal::kSeatLimit;
      if (status == 401 || status == 403) return Refusal::kTokenRefused;
      break;
    case Dialect::kConcertEvents:
      if (status == 400 && code == "invalid_seat_status") return Refusal::kSeatTaken;
      if (status == 400 && code == "exceeded_seat_limit") return Refusal::kSeatLimit;
      if (status == 401 || status == 403 || (status == 400 && is_token_code(code))) {
        return Refusal::kTokenRefused;
      }
      break;
    case Dialect::kQueueTokens:
      if (status == 400 && code == "reservation failed") return Refusal::kSeatTaken;
      if (status == 400 && code == "seat limit exceeded") return Refusal::kSeatLimit;
      if (status == 401 || status == 403) return Refusal::kTokenRefused;
      break;
  }
  return Refusal::kOther;
}

bool token_gone(Dialect d, int status, std::string_view code) {
  if (status == 401) return true;
  return d == Dialect::kConcertEvents && status == 400 &&
         (code == "invalid_token" || code == "expired_token");
}

std::string_view error_code(std::string_view body, Dialect d) {
  return string_field(body, d == Dialect::kQueueTokens ? "\"message\":\"" : "\"code\":\"");
}

}  // namespace reservoir::tools::bench
