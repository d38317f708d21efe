#include "engine/concert/decide.h"

#include <algorithm>
#include <cassert>
#include <climits>
#include <unordered_set>

namespace reservoir::concert {
namespace {

DomainError error(ErrorCode code, std::string message) {
  return {code, std::move(message)};
}

// The token checks shared by hold, pay and cancel (SPEC §2 check order:
// TOKEN_EXPIRED, then token state, then a body userId that is not the token's).
std::optional<DomainError> check_token(const State& s, const std::string& token, bool need_active,
                                       const std::optional<std::string>& claimed_user) {
  auto it = s.tokens.find(token);  // the writer resolved it already; decide stands alone too
  if (it == s.tokens.end()) return error(ErrorCode::INVALID_TOKEN, "unknown queue token");
  const Token& t = it->second;
  if (t.state == TokenState::kExpired) return error(ErrorCode::TOKEN_EXPIRED, "token has expired");
  if (need_active && t.state != TokenState::kActive) {
    return error(ErrorCode::TOKEN_NOT_ACTIVE, "token is still waiting in the queue");
  }
  if (claimed_user && *claimed_user != t.user_id) {
    return error(ErrorCode::FORBIDDEN, "userId does not match the token's user");
  }
  return std::nullopt;
}

// Reservation lookup + ownership (404 before 403 FORBIDDEN).
std::variant<const Reservation*, DomainError> owned_reservation(const State& s,
                                                                const std::string& token,
                                                                const std::string& id) {
  auto it = s.reservations.find(id);
  if (it == s.reservations.end()) {
    return error(ErrorCode::RESERVATION_NOT_FOUND, "reservation '" + id + "' not found");
  }
  if (it->second.user_id != s.tokens.at(token).user_id) {
    return error(ErrorCode::FORBIDDEN, "reservation belongs to another user");
  }
  return &it->second;
}

Reply decide_register(const State& s, const RegisterUser& c, Events& out) {
  if (s.users.count(c.user_id)) return error(ErrorCode::USER_EXISTS, "user already exists");
  out.push_back(events::UserRegistered{c.user_id, c.name});
  return UserReply{c.user_id};
}

std::optional<DomainError> check_catalog_ids(const State& s, const events::ConcertCreated& e) {
  if (s.concert_ids.count(e.concert_id)) {
    return error(ErrorCode::CONCERT_EXISTS, "concert '" + e.concert_id + "' already exists");
  }
  std::unordered_set<std::string> schedule_ids;
  for (const auto& sc : e.schedules) {
    if (s.schedules.count(sc.schedule_id) || !schedule_ids.insert(sc.schedule_id).second) {
      return error(ErrorCode::CONCERT_EXISTS, "schedule '" + sc.schedule_id + "' already exists");
    }
    std::unordered_set<std::string> seat_ids;
    for (const auto& seat : sc.seats) {
      if (!seat_ids.insert(seat.seat_id).second) {
        return error(ErrorCode::INVALID_REQUEST, "seat id '" + seat.seat_id + "' repeated");
      }
    }
  }
  return std::nullopt;
}

Reply decide_create_concert(const State& s, const CreateConcert& c, Context& ctx, Events& out) {
  events::ConcertCreated e;
  e.concert_id = c.concert_id.empty() ? ctx.random.uuid() : c.concert_id;
  e.title = c.title;
  for (const auto& in : c.schedules) {
    events::ScheduleSpec spec;
    spec.schedule_id = in.schedule_id.empty() ? ctx.random.uuid() : in.schedule_id;
    spec.starts_at = in.starts_at;
    for (const auto& seat : in.seats) {
      spec.seats.push_back(
          {seat.seat_id.empty() ? ctx.random.uuid() : seat.seat_id, seat.number, seat.price});
    }
    e.schedules.push_back(std::move(spec));
  }
  if (auto err = check_catalog_ids(s, e)) return *err;
  out.push_back(e);
  return ConcertReply{std::move(e)};
}

Reply decide_issue_token(const State& s, const IssueToken& c, Context& ctx, Events& out) {
  auto user = s.users.find(c.user_id);
  if (user == s.users.end()) return error(ErrorCode::USER_NOT_FOUND, "user not found");
  if (!user->second.live_token.empty()) {
    return token_reply(s, user->second.live_token, ctx.limits);  // the same token back
  }
  const std::string token = ctx.random.uuid();
  out.push_back(events::TokenIssued{token, c.user_id, s.next_seq, ctx.now_ms});
  TokenReply reply{token, TokenState::kWaiting, s.next_seq - s.admitted_seq, 0, 0};
  if (s.waiting.empty() && s.active_tokens < ctx.limits.active_tokens_max) {
    const int64_t expires = ctx.now_ms + ctx.limits.token_ttl_ms;
    out.push_back(events::TokenActivated{token, c.user_id, s.next_seq, ctx.now_ms, expires});
    return TokenReply{token, TokenState::kActive, 0, 0, expires};
  }
  reply.estimated_wait_seconds =
      (reply.position * ctx.limits.token_ttl_ms / ctx.limits.active_tokens_max + 999) / 1000;
  return reply;
}

std::optional<DomainError> check_hold_request(const HoldSeats& c, const Limits& limits) {
  std::unordered_set<std::string_view> distinct(c.seat_ids.begin(), c.seat_ids.end());
  const auto n = static_cast<int64_t>(c.seat_ids.size());
  if (n == 0 || n > limits.seats_per_user_max || c.seat_ids.size() > kHoldSeatsMax ||
      distinct.size() != c.seat_ids.size()) {
    return error(ErrorCode::INVALID_REQUEST, "seatIds must hold 1 to " +
                                                 std::to_string(limits.seats_per_user_max) +
                                                 " distinct seat ids");
  }
  return std::nullopt;
}

Reply decide_hold(const State& s, const HoldSeats& c, Context& ctx, Events& out) {
  if (auto err = check_token(s, c.token, true, c.user_id)) return *err;
  if (auto err = check_hold_request(c, ctx.limits)) return *err;
  auto sched = s.schedules.find(c.schedule_id);
  if (sched == s.schedules.end()) return error(ErrorCode::SCHEDULE_NOT_FOUND, "schedule not found");
  const Schedule& schedule = sched->second;
  events::SeatsHeld e;
  for (const auto& id : c.seat_ids) {
    auto it = schedule.seat_index.find(id);
    if (it == schedule.seat_index.end()) {
      return error(ErrorCode::SEAT_NOT_FOUND, "seat '" + id + "' not found in this schedule");
    }
    const Seat& seat = schedule.seats[it->second];
    e.seats.push_back({seat.seat_id, seat.number, seat.price});
    e.total_price += seat.price;
  }
  if (ctx.now_ms >= schedule.starts_at) {
    return error(ErrorCode::SCHEDULE_CLOSED, "the performance has started");
  }
  const std::string& user_id = s.tokens.at(c.token).user_id;
  const User& user = s.users.at(user_id);
  auto live = user.live_seats.find(c.schedule_id);
  const int64_t have = live == user.live_seats.end() ? 0 : live->second;
  if (have + static_cast<int64_t>(c.seat_ids.size()) > ctx.limits.seats_per_user_max) {
    return error(ErrorCode::SEAT_LIMIT_EXCEEDED, "at most " +
                                                     std::to_string(ctx.limits.seats_per_user_max) +
                                                     " seats per user in a schedule");
  }
  for (const auto& ref : e.seats) {
    if (!schedule.seats[schedule.seat_index.at(ref.seat_id)].holder.empty()) {
      return error(ErrorCode::SEAT_UNAVAILABLE, "seat '" + ref.seat_id + "' is not available");
    }
  }
  e.reservation_id = ctx.random.uuid();
  e.user_id = user_id;
  e.concert_id = schedule.concert_id;
  e.schedule_id = c.schedule_id;
  e.created_at = ctx.now_ms;
  e.expires_at = ctx.now_ms + ctx.limits.hold_ttl_ms;
  out.push_back(e);
  return ReservationReply{e.reservation_id, e.user_id, e.schedule_id, e.seats,
                          e.total_price,    {},        e.created_at,  e.expires_at};
}

std::optional<DomainError> check_payable(const State& s, const Reservation& r, int64_t now) {
  switch (r.state) {
    case ReservationState::kConfirmed:
    case ReservationState::kRefunded:
      return error(ErrorCode::ALREADY_PAID, "reservation is already paid");
    case ReservationState::kCancelled:
      return error(ErrorCode::RESERVATION_CANCELLED, "reservation was cancelled");
    case ReservationState::kExpired:
      return error(ErrorCode::RESERVATION_EXPIRED, "reservation has expired");
    case ReservationState::kPendingPayment:
      break;
  }
  if (now >= r.expires_at) return error(ErrorCode::RESERVATION_EXPIRED, "reservation has expired");
  if (now >= s.schedules.at(r.schedule_id).starts_at) {
    return error(ErrorCode::SCHEDULE_CLOSED, "the performance has started");
  }
  if (s.users.at(r.user_id).balance < r.total_price) {
    return error(ErrorCode::INSUFFICIENT_BALANCE, "balance is lower than the total price");
  }
  return std::nullopt;
}

Reply decide_pay(const State& s, const PayReservation& c, Context& ctx, Events& out) {
  if (auto err = check_token(s, c.token, true, c.user_id)) return *err;
  auto found = owned_reservation(s, c.token, c.reservation_id);
  if (auto* err = std::get_if<DomainError>(&found)) return *err;
  const Reservation& r = *std::get<const Reservation*>(found);
  if (auto err = check_payable(s, r, ctx.now_ms)) return *err;
  const int64_t balance = s.users.at(r.user_id).balance - r.total_price;
  const std::string payment_id = ctx.random.uuid();
  out.push_back(events::PaymentCompleted{payment_id, c.reservation_id, r.user_id, r.schedule_id,
                                         r.seats, r.total_price, ctx.now_ms, balance});
  // Paying spends the token: its ACTIVE place goes to the next in line.
  out.push_back(events::TokenExpired{c.token, r.user_id, "PAID", true, ctx.now_ms});
  return PaymentReply{payment_id, c.reservation_id, r.total_price, ctx.now_ms, balance};
}

Reply decide_cancel(const State& s, const CancelReservation& c, Context& ctx, Events& out) {
  if (auto err = check_token(s, c.token, false, std::nullopt)) return *err;
  auto found = owned_reservation(s, c.token, c.reservation_id);
  if (auto* err = std::get_if<DomainError>(&found)) return *err;
  const Reservation& r = *std::get<const Reservation*>(found);
  ReservationReply reply = reservation_reply(c.reservation_id, r);
  switch (r.state) {
    case ReservationState::kCancelled:
    case ReservationState::kRefunded:
      return error(ErrorCode::RESERVATION_CANCELLED, "reservation is already cancelled");
    case ReservationState::kExpired:
      return error(ErrorCode::RESERVATION_EXPIRED, "reservation has expired");
    case ReservationState::kPendingPayment:
      if (ctx.now_ms >= r.expires_at) {
        return error(ErrorCode::RESERVATION_EXPIRED, "reservation has expired");
      }
      out.push_back(events::ReservationCancelled{
          {c.reservation_id, r.user_id, r.schedule_id, r.seats, ctx.now_ms}});
      reply.state = ReservationState::kCancelled;
      return reply;
    case ReservationState::kConfirmed:
      break;
  }
  if (ctx.now_ms >= s.schedules.at(r.schedule_id).starts_at) {
    return error(ErrorCode::SCHEDULE_CLOSED, "the performance has started; no refunds");
  }
  const int64_t balance = s.users.at(r.user_id).balance + r.total_price;
  if (balance > kBalanceMax) {
    return error(ErrorCode::BALANCE_LIMIT_EXCEEDED, "the refund would exceed the balance limit");
  }
  out.push_back(events::ReservationRefunded{c.reservation_id, r.payment_id, r.user_id,
                                            r.schedule_id, r.seats, r.total_price, ctx.now_ms,
                                            balance});
  reply.state = ReservationState::kRefunded;
  return reply;
}

Reply decide_charge(const State& s, const ChargeBalance& c, Events& out, int64_t now) {
  if (c.amount < 1 || c.amount > kChargeMax) {
    return error(ErrorCode::INVALID_AMOUNT, "amount must be an integer in 1..1000000000");
  }
  auto user = s.users.find(c.user_id);
  if (user == s.users.end()) return error(ErrorCode::USER_NOT_FOUND, "user not found");
  const int64_t balance = user->second.balance + c.amount;
  if (balance > kBalanceMax) {
    return error(ErrorCode::BALANCE_LIMIT_EXCEEDED, "the charge would exceed the balance limit");
  }
  out.push_back(events::BalanceCharged{c.user_id, c.amount, balance, now});
  return BalanceReply{c.user_id, balance};
}

}  // namespace

std::variant<std::string, DomainError> actor_of(const State& state, const Command& command) {
  auto by_token = [&](const std::string& token) -> std::variant<std::string, DomainError> {
    auto it = state.tokens.find(token);
    if (it == state.tokens.end()) return error(ErrorCode::INVALID_TOKEN, "unknown queue token");
    return it->second.user_id;
  };
  return std::visit(
      [&](const auto& c) -> std::variant<std::string, DomainError> {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, RegisterUser> || std::is_same_v<C, CreateConcert>) {
          return std::string(kAdminScope);
        } else if constexpr (std::is_same_v<C, IssueToken> || std::is_same_v<C, ChargeBalance>) {
          return c.user_id;
        } else {
          return by_token(c.token);
        }
      },
      command);
}

Reply decide(const State& state, const Command& command, Context& ctx, Events& out) {
  return std::visit(
      [&](const auto& c) -> Reply {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, RegisterUser>) return decide_register(state, c, out);
        if constexpr (std::is_same_v<C, CreateConcert>) {
          return decide_create_concert(state, c, ctx, out);
        }
        if constexpr (std::is_same_v<C, IssueToken>) return decide_issue_token(state, c, ctx, out);
        if constexpr (std::is_same_v<C, HoldSeats>) return decide_hold(state, c, ctx, out);
        if constexpr (std::is_same_v<C, PayReservation>) return decide_pay(state, c, ctx, out);
        if constexpr (std::is_same_v<C, CancelReservation>)
          return decide_cancel(state, c, ctx, out);
        if constexpr (std::is_same_v<C, ChargeBalance>) {
          return decide_charge(state, c, out, ctx.now_ms);
        }
      },
      command);
}

std::optional<events::ConcertEvent> next_clock_event(const State& s, int64_t now,
                                                     const Limits& limits) {
  if (!s.hold_deadlines.empty() && s.hold_deadlines.begin()->first <= now) {
    const std::string& id = s.hold_deadlines.begin()->second;
    const Reservation& r = s.reservations.at(id);
    return events::HoldExpired{{id, r.user_id, r.schedule_id, r.seats, now}};
  }
  if (!s.token_deadlines.empty() && s.token_deadlines.begin()->first <= now) {
    const std::string& token = s.token_deadlines.begin()->second;
    return events::TokenExpired{token, s.tokens.at(token).user_id, "TTL", true, now};
  }
  if (!s.waiting.empty() && s.active_tokens < limits.active_tokens_max) {
    const std::string& token = s.waiting.front();
    const Token& t = s.tokens.at(token);
    return events::TokenActivated{token, t.user_id, t.seq, now, now + limits.token_ttl_ms};
  }
  return std::nullopt;
}

int64_t next_due_ms(const State& s, const Limits& limits) {
  if (!s.waiting.empty() && s.active_tokens < limits.active_tokens_max) return INT64_MIN;
  int64_t due = INT64_MAX;
  if (!s.hold_deadlines.empty()) due = std::min(due, s.hold_deadlines.begin()->first);
  if (!s.token_deadlines.empty()) due = std::min(due, s.token_deadlines.begin()->first);
  return due;
}

ReservationReply reservation_reply(const std::string& id, const Reservation& r) {
  return ReservationReply{id,      r.user_id,    r.schedule_id, r.seats,  r.total_price,
                          r.state, r.created_at, r.expires_at,  r.paid_at};
}

TokenReply token_reply(const State& s, const std::string& token, const Limits& limits) {
  const Token& t = s.tokens.at(token);
  TokenReply reply{token, t.state, 0, 0, t.expires_at};
  if (t.state == TokenState::kWaiting) {
    reply.position = t.seq - s.admitted_seq;
    reply.estimated_wait_seconds =
        (reply.position * limits.token_ttl_ms / limits.active_tokens_max + 999) / 1000;
  }
  return reply;
}

}  // namespace reservoir::concert
