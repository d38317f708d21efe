#include "engine/concert/decide.h"

#include <algorithm>
#include <cassert>
#include <climits>
#include <unordered_set>

#include "engine/uuid.h"

namespace reservoir::concert {
namespace {

DomainError error(ErrorCode code, std::string message) {
  return {code, std::move(message)};
}

// The token checks shared by hold, pay and cancel (SPEC §2 check order:
// TOKEN_EXPIRED, then token state, then a body userId that is not the
// token's). On success `*token` is the token's Id.
std::optional<DomainError> check_token(const State& s, const std::string& token_id,
                                       bool need_active,
                                       const std::optional<std::string>& claimed_user, Id* token) {
  *token = s.tokens.find(token_id);  // the writer resolved it already; decide stands alone too
  if (*token == kNoId) return error(ErrorCode::INVALID_TOKEN, "unknown queue token");
  const Token& t = s.tokens[*token];
  if (t.state == TokenState::kExpired) return error(ErrorCode::TOKEN_EXPIRED, "token has expired");
  if (need_active && t.state != TokenState::kActive) {
    return error(ErrorCode::TOKEN_NOT_ACTIVE, "token is still waiting in the queue");
  }
  if (claimed_user && *claimed_user != s.users.key(t.user)) {
    return error(ErrorCode::FORBIDDEN, "userId does not match the token's user");
  }
  return std::nullopt;
}

// Reservation lookup + ownership (404 before 403 FORBIDDEN).
std::variant<Id, DomainError> owned_reservation(const State& s, Id token, const std::string& id) {
  const Id r = s.reservations.find(id);
  if (r == kNoId) {
    return error(ErrorCode::RESERVATION_NOT_FOUND, "reservation '" + id + "' not found");
  }
  if (s.reservations[r].user != s.tokens[token].user) {
    return error(ErrorCode::FORBIDDEN, "reservation belongs to another user");
  }
  return r;
}

Reply decide_register(const State& s, const RegisterUser& c, Events& out) {
  if (s.users.contains(c.user_id)) return error(ErrorCode::USER_EXISTS, "user already exists");
  out.push_back(events::UserRegistered{c.user_id, c.name});
  return UserReply{c.user_id};
}

std::optional<DomainError> check_catalog_ids(const State& s, const events::ConcertCreated& e) {
  if (s.concerts.contains(e.concert_id)) {
    return error(ErrorCode::CONCERT_EXISTS, "concert '" + e.concert_id + "' already exists");
  }
  std::unordered_set<std::string> schedule_ids;
  for (const auto& sc : e.schedules) {
    if (s.schedules.contains(sc.schedule_id) || !schedule_ids.insert(sc.schedule_id).second) {
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
  e.concert_id = c.concert_id.empty() ? new_uuid(ctx.random) : c.concert_id;
  e.title = c.title;
  for (const auto& in : c.schedules) {
    events::ScheduleSpec spec;
    spec.schedule_id = in.schedule_id.empty() ? new_uuid(ctx.random) : in.schedule_id;
    spec.starts_at = in.starts_at;
    for (const auto& seat : in.seats) {
      spec.seats.push_back(
          {seat.seat_id.empty() ? new_uuid(ctx.random) : seat.seat_id, seat.number, seat.price});
    }
    e.schedules.push_back(std::move(spec));
  }
  if (auto err = check_catalog_ids(s, e)) return *err;
  out.push_back(e);
  return ConcertReply{std::move(e)};
}

TokenReply token_reply_of(const State& s, Id token, const Limits& limits) {
  const Token& t = s.tokens[token];
  TokenReply reply{std::string(s.tokens.key(token)), t.state, 0, 0, t.expires_at};
  if (t.state == TokenState::kWaiting) {
    reply.position = t.seq - s.admitted_seq;
    reply.estimated_wait_seconds =
        (reply.position * limits.token_ttl_ms / limits.active_tokens_max + 999) / 1000;
  }
  return reply;
}

Reply decide_issue_token(const State& s, const IssueToken& c, Context& ctx, Events& out) {
  const Id user = s.users.find(c.user_id);
  if (user == kNoId) return error(ErrorCode::USER_NOT_FOUND, "user not found");
  if (s.users[user].live_token != kNoId) {
    return token_reply_of(s, s.users[user].live_token, ctx.limits);  // the same token back
  }
  std::string token = new_uuid(ctx.random);
  out.push_back(events::TokenIssued{token, c.user_id, s.next_seq, ctx.now_ms});
  if (s.waiting.empty() && s.active_tokens < ctx.limits.active_tokens_max) {
    const int64_t expires = ctx.now_ms + ctx.limits.token_ttl_ms;
    out.push_back(events::TokenActivated{token, c.user_id, s.next_seq, ctx.now_ms, expires});
    return TokenReply{std::move(token), TokenState::kActive, 0, 0, expires};
  }
  TokenReply reply{std::move(token), TokenState::kWaiting, s.next_seq - s.admitted_seq, 0, 0};
  reply.estimated_wait_seconds =
      (reply.position * ctx.limits.token_ttl_ms / ctx.limits.active_tokens_max + 999) / 1000;
  return reply;
}

std::optional<DomainError> check_hold_request(const HoldSeats& c, const Limits& limits) {
  const auto n = static_cast<int64_t>(c.seat_ids.size());
  bool distinct = n >= 1 && n <= limits.seats_per_user_max && c.seat_ids.size() <= kHoldSeatsMax;
  // At most kHoldSeatsMax ids: comparing pairs is cheaper than hashing them.
  for (size_t i = 0; distinct && i < c.seat_ids.size(); ++i) {
    for (size_t j = 0; j < i; ++j) distinct = distinct && c.seat_ids[i] != c.seat_ids[j];
  }
  if (!distinct) {
    return error(ErrorCode::INVALID_REQUEST, "seatIds must hold 1 to " +
                                                 std::to_string(limits.seats_per_user_max) +
                                                 " distinct seat ids");
  }
  return std::nullopt;
}

Reply decide_hold(const State& s, const HoldSeats& c, Context& ctx, Events& out) {
  Id token = kNoId;
  if (auto err = check_token(s, c.token, true, c.user_id, &token)) return *err;
  if (auto err = check_hold_request(c, ctx.limits)) return *err;
  const Id sched = s.schedules.find(c.schedule_id);
  if (sched == kNoId) return error(ErrorCode::SCHEDULE_NOT_FOUND, "schedule not found");
  const Schedule& schedule = s.schedules[sched];
  Id seats[kHoldSeatsMax];
  events::SeatsHeld e;
  e.seats.reserve(c.seat_ids.size());
  for (size_t i = 0; i < c.seat_ids.size(); ++i) {
    seats[i] = schedule.find_seat(c.seat_ids[i]);
    if (seats[i] == kNoId) {
      return error(ErrorCode::SEAT_NOT_FOUND,
                   "seat '" + c.seat_ids[i] + "' not found in this schedule");
    }
    const Seat& seat = schedule.seats[seats[i]];
    e.seats.push_back({seat.seat_id, seat.number, seat.price});
    e.total_price += seat.price;
  }
  if (ctx.now_ms >= schedule.starts_at) {
    return error(ErrorCode::SCHEDULE_CLOSED, "the performance has started");
  }
  const Id user = s.tokens[token].user;
  if (s.live_seats(user, sched) + static_cast<int64_t>(c.seat_ids.size()) >
      ctx.limits.seats_per_user_max) {
    return error(ErrorCode::SEAT_LIMIT_EXCEEDED, "at most " +
                                                     std::to_string(ctx.limits.seats_per_user_max) +
                                                     " seats per user in a schedule");
  }
  for (size_t i = 0; i < c.seat_ids.size(); ++i) {
    if (schedule.seats[seats[i]].holder != kNoId) {
      return error(ErrorCode::SEAT_UNAVAILABLE, "seat '" + c.seat_ids[i] + "' is not available");
    }
  }
  e.reservation_id = new_uuid(ctx.random);
  e.user_id = s.users.key(user);
  e.concert_id = s.concerts.key(schedule.concert);
  e.schedule_id = c.schedule_id;
  e.created_at = ctx.now_ms;
  e.expires_at = ctx.now_ms + ctx.limits.hold_ttl_ms;
  ReservationReply reply{e.reservation_id, e.user_id, e.schedule_id, e.seats,
                         e.total_price,    {},        e.created_at,  e.expires_at};
  out.push_back(std::move(e));
  return reply;
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
  if (now >= s.schedules[r.schedule].starts_at) {
    return error(ErrorCode::SCHEDULE_CLOSED, "the performance has started");
  }
  if (s.users[r.user].balance < r.total_price) {
    return error(ErrorCode::INSUFFICIENT_BALANCE, "balance is lower than the total price");
  }
  return std::nullopt;
}

Reply decide_pay(const State& s, const PayReservation& c, Context& ctx, Events& out) {
  Id token = kNoId;
  if (auto err = check_token(s, c.token, true, c.user_id, &token)) return *err;
  auto found = owned_reservation(s, token, c.reservation_id);
  if (auto* err = std::get_if<DomainError>(&found)) return *err;
  const Reservation& r = s.reservations[std::get<Id>(found)];
  if (auto err = check_payable(s, r, ctx.now_ms)) return *err;
  const int64_t balance = s.users[r.user].balance - r.total_price;
  const std::string_view user_id = s.users.key(r.user);
  std::string payment_id = new_uuid(ctx.random);
  out.push_back(events::PaymentCompleted{payment_id, c.reservation_id, std::string(user_id),
                                         std::string(s.schedules.key(r.schedule)), s.seat_refs(r),
                                         r.total_price, ctx.now_ms, balance});
  // Paying spends the token: its ACTIVE place goes to the next in line.
  out.push_back(events::TokenExpired{c.token, std::string(user_id), "PAID", true, ctx.now_ms});
  return PaymentReply{std::move(payment_id), c.reservation_id, r.total_price, ctx.now_ms, balance};
}

ReservationReply reservation_reply_of(const State& s, const std::string& id, const Reservation& r) {
  return ReservationReply{id,
                          std::string(s.users.key(r.user)),
                          std::string(s.schedules.key(r.schedule)),
                          s.seat_refs(r),
                          r.total_price,
                          r.state,
                          r.created_at,
                          r.expires_at,
                          r.paid_at};
}

Reply decide_cancel(const State& s, const CancelReservation& c, Context& ctx, Events& out) {
  Id token = kNoId;
  if (auto err = check_token(s, c.token, false, std::nullopt, &token)) return *err;
  auto found = owned_reservation(s, token, c.reservation_id);
  if (auto* err = std::get_if<DomainError>(&found)) return *err;
  const Reservation& r = s.reservations[std::get<Id>(found)];
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
      break;
    case ReservationState::kConfirmed:
      if (ctx.now_ms >= s.schedules[r.schedule].starts_at) {
        return error(ErrorCode::SCHEDULE_CLOSED, "the performance has started; no refunds");
      }
      if (s.users[r.user].balance + r.total_price > kBalanceMax) {
        return error(ErrorCode::BALANCE_LIMIT_EXCEEDED,
                     "the refund would exceed the balance limit");
      }
      break;
  }
  ReservationReply reply = reservation_reply_of(s, c.reservation_id, r);
  if (r.state == ReservationState::kPendingPayment) {
    out.push_back(events::ReservationCancelled{
        {c.reservation_id, reply.user_id, reply.schedule_id, reply.seats, ctx.now_ms}});
    reply.state = ReservationState::kCancelled;
    return reply;
  }
  const int64_t balance = s.users[r.user].balance + r.total_price;
  out.push_back(events::ReservationRefunded{c.reservation_id, std::string(s.payment_id(r)),
                                            reply.user_id, reply.schedule_id, reply.seats,
                                            r.total_price, ctx.now_ms, balance});
  reply.state = ReservationState::kRefunded;
  return reply;
}

Reply decide_charge(const State& s, const ChargeBalance& c, Events& out, int64_t now) {
  if (c.amount < 1 || c.amount > kChargeMax) {
    return error(ErrorCode::INVALID_AMOUNT, "amount must be an integer in 1..1000000000");
  }
  const Id user = s.users.find(c.user_id);
  if (user == kNoId) return error(ErrorCode::USER_NOT_FOUND, "user not found");
  const int64_t balance = s.users[user].balance + c.amount;
  if (balance > kBalanceMax) {
    return error(ErrorCode::BALANCE_LIMIT_EXCEEDED, "the charge would exceed the balance limit");
  }
  out.push_back(events::BalanceCharged{c.user_id, c.amount, balance, now});
  return BalanceReply{c.user_id, balance};
}

}  // namespace

std::variant<std::string, DomainError> actor_of(const State& state, const Command& command) {
  auto by_token = [&](const std::string& token) -> std::variant<std::string, DomainError> {
    const Id t = state.tokens.find(token);
    if (t == kNoId) return error(ErrorCode::INVALID_TOKEN, "unknown queue token");
    return std::string(state.token_user(t));
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
  if (!s.hold_deadlines.empty() && s.hold_deadlines.top().first <= now) {
    const Id id = s.hold_deadlines.top().second;
    const Reservation& r = s.reservations[id];
    return events::HoldExpired{{std::string(s.reservations.key(id)),
                                std::string(s.users.key(r.user)),
                                std::string(s.schedules.key(r.schedule)), s.seat_refs(r), now}};
  }
  if (!s.token_deadlines.empty() && s.token_deadlines.top().first <= now) {
    const Id token = s.token_deadlines.top().second;
    return events::TokenExpired{std::string(s.tokens.key(token)), std::string(s.token_user(token)),
                                "TTL", true, now};
  }
  if (!s.waiting.empty() && s.active_tokens < limits.active_tokens_max) {
    const Id token = s.waiting.front();
    const Token& t = s.tokens[token];
    return events::TokenActivated{std::string(s.tokens.key(token)),
                                  std::string(s.users.key(t.user)), t.seq, now,
                                  now + limits.token_ttl_ms};
  }
  return std::nullopt;
}

int64_t next_due_ms(const State& s, const Limits& limits) {
  if (!s.waiting.empty() && s.active_tokens < limits.active_tokens_max) return INT64_MIN;
  int64_t due = INT64_MAX;
  if (!s.hold_deadlines.empty()) due = std::min(due, s.hold_deadlines.top().first);
  if (!s.token_deadlines.empty()) due = std::min(due, s.token_deadlines.top().first);
  return due;
}

ReservationReply reservation_reply(const State& s, std::string_view id) {
  const Id r = s.reservations.find(id);
  assert(r != kNoId);
  return reservation_reply_of(s, std::string(id), s.reservations[r]);
}

TokenReply token_reply(const State& s, std::string_view token, const Limits& limits) {
  const Id t = s.tokens.find(token);
  assert(t != kNoId);
  return token_reply_of(s, t, limits);
}

}  // namespace reservoir::concert
