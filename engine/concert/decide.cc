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

// A cleared reply to fill: recycled storage when the caller gave some
// (Context::spares), so a steady stream of commands allocates nothing.
template <class T>
T take(Context& ctx) {
  return ctx.spares != nullptr ? ctx.spares->take<T>() : T{};
}

// A reservation's seats as events and replies name them, into `out`.
void fill_seat_refs(const State& s, const Reservation& r, std::vector<events::SeatRef>& out) {
  const Schedule& schedule = s.schedules[r.schedule];
  out.resize(r.seat_count);
  size_t i = 0;
  for (Id seat : s.seats_of(r)) {
    set(out[i].seat_id, schedule.seats[seat].seat_id);
    out[i].number = schedule.seats[seat].number;
    out[i].price = schedule.seats[seat].price;
    ++i;
  }
}

// How a command names its token and user (commands.h): the token string;
// or, when that is empty, the numeric tokenId; and, for queue-tokens, the
// user its path or body names.
struct TokenRef {
  const std::string& token;
  int64_t token_id = 0;
  const std::optional<std::string>* named_user = nullptr;
};

template <class C>
TokenRef token_ref(const C& c) {
  if constexpr (std::is_same_v<C, HoldSeats> || std::is_same_v<C, PayReservation>) {
    return {c.token, c.token_id, &c.named_user};
  } else {
    return {c.token};
  }
}

// The token a command carries (SPEC §5.2 "Tokens"), or the error that
// identifying it gives: with a named user, USER_NOT_FOUND when nobody has
// that id, then INVALID_TOKEN for a token that is missing, unknown or
// another user's; without one, INVALID_TOKEN for a missing or unknown one.
// actor_of answers these before the idempotency key, so none is remembered.
std::variant<Id, DomainError> identify(const State& s, const TokenRef& ref) {
  const bool named = ref.named_user != nullptr && ref.named_user->has_value();
  Id user = kNoId;
  if (named) {
    user = s.users.find(**ref.named_user);
    if (user == kNoId) return error(ErrorCode::USER_NOT_FOUND, "user not found");
  }
  const Id token = !ref.token.empty() ? s.find_token(ref.token) : s.find_token_id(ref.token_id);
  if (token == kNoId) return error(ErrorCode::INVALID_TOKEN, "unknown queue token");
  if (named && s.tokens[token].user != user) {
    return error(ErrorCode::INVALID_TOKEN, "the token is not the named user's");
  }
  return token;
}

// The token checks shared by hold, pay, cancel and find (SPEC §2 check
// order: TOKEN_EXPIRED, then token state, then a body userId that is not
// the token's). On success `*token` is the token's Id.
std::optional<DomainError> check_token(const State& s, const TokenRef& ref, bool need_active,
                                       const std::optional<std::string>& claimed_user, Id* token) {
  // The writer identified the token already (actor_of); decide stands alone too.
  auto found = identify(s, ref);
  if (auto* err = std::get_if<DomainError>(&found)) return *err;
  *token = std::get<Id>(found);
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

// Reservation lookup + ownership (404 before 403 FORBIDDEN): by sequence
// number when `seq` > 0 (the dialects' name), else by canonical id.
std::variant<Id, DomainError> owned_reservation(const State& s, Id token, const std::string& id,
                                                int64_t seq = 0) {
  const Id r = seq > 0 ? s.find_reservation_seq(seq) : s.reservations.find(id);
  if (r == kNoId) {
    const std::string name = seq > 0 ? std::to_string(seq) : "'" + id + "'";
    return error(ErrorCode::RESERVATION_NOT_FOUND, "reservation " + name + " not found");
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
    // An opening time left out opens the schedule at once (SPEC §5.1).
    if (in.opens_at != 0 && in.opens_at >= in.starts_at) {
      return error(ErrorCode::INVALID_REQUEST, "reservationOpensAt must be before startsAt");
    }
    events::ScheduleSpec spec;
    spec.schedule_id = in.schedule_id.empty() ? new_uuid(ctx.random) : in.schedule_id;
    spec.starts_at = in.starts_at;
    spec.opens_at = in.opens_at != 0 ? in.opens_at : ctx.now_ms;
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

// Everything of a token's reply but the token itself, which the state
// holds only sealed.
void fill_token_reply(const State& s, Id token, const Limits& limits, TokenReply& reply) {
  const Token& t = s.tokens[token];
  reply.state = t.state;
  reply.expires_at = t.expires_at;
  reply.token_id = t.token_id;
  reply.seq = t.seq;
  reply.issued_at = t.issued_at;
  if (t.state == TokenState::kWaiting) {
    reply.position = t.seq - s.admitted_seq;
    reply.estimated_wait_seconds =
        (reply.position * limits.token_ttl_ms / limits.active_tokens_max + 999) / 1000;
  }
}

// tokenIds are random in [1, 2^53): 53 bits, so a JSON number (a double)
// holds every one exactly.
inline constexpr int kTokenIdBits = 53;

// A tokenId no token ever had: redrawn on a clash, which at 2^53 values
// takes a second draw about once in 10^9 issues at a million tokens.
int64_t new_token_id(const State& s, Random& random) {
  for (;;) {
    uint64_t bits = 0;
    random.fill(&bits, sizeof bits);
    const auto id = static_cast<int64_t>(bits >> (64 - kTokenIdBits));
    if (id != 0 && s.find_token_id(id) == kNoId) return id;
  }
}

Reply decide_issue_token(const State& s, const IssueToken& c, Context& ctx, Events& out) {
  const Id user = s.users.find(c.user_id);
  if (user == kNoId) return error(ErrorCode::USER_NOT_FOUND, "user not found");
  auto reply = take<TokenReply>(ctx);
  if (const Id live = s.users[user].live_token; live != kNoId) {
    // The same token back (SPEC §2): as this process remembers it, else
    // opened from its seal.
    if (!s.clear_token(live, reply.token) &&
        !secrets::open_into(ctx.key, s.tokens[live].seal_text(), s.tokens.key(live), reply.token)) {
      return error(ErrorCode::INTERNAL,
                   "the token key does not open this user's live token (see docs/SECURITY.md)");
    }
    fill_token_reply(s, live, ctx.limits, reply);
    return reply;
  }
  auto& issued = out.add<events::TokenIssued>();
  new_uuid(ctx.random, reply.token);  // 122 random bits (SPEC §1)
  char digest[secrets::kDigestBytes];
  secrets::token_hash_into(reply.token, digest, issued.token_hash);
  // Its index slot loads while the tokenId probe below waits for its own.
  s.prefetch_new_token({digest, sizeof digest});
  set(issued.user_id, c.user_id);
  issued.seq = s.next_seq;
  issued.issued_at = ctx.now_ms;
  issued.token_id = new_token_id(s, ctx.random);
  secrets::seal_into(ctx.key, reply.token, issued.token_seal);
  reply.token_id = issued.token_id;
  reply.seq = issued.seq;
  reply.issued_at = issued.issued_at;
  if (s.waiting.empty() && s.active_tokens < ctx.limits.active_tokens_max) {
    auto& activated = out.add<events::TokenActivated>();
    set(activated.token_hash, issued.token_hash);
    set(activated.user_id, c.user_id);
    activated.seq = s.next_seq;
    activated.activated_at = ctx.now_ms;
    activated.expires_at = ctx.now_ms + ctx.limits.token_ttl_ms;
    reply.state = TokenState::kActive;
    reply.expires_at = activated.expires_at;
    return reply;
  }
  reply.state = TokenState::kWaiting;
  reply.position = s.next_seq - s.admitted_seq;
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

// Hold checks past the token and request shape (SPEC §2 order: 404, then
// the 409s); on success `seats` holds the seats' indexes in the schedule.
std::optional<DomainError> check_holdable(const State& s, const HoldSeats& c, Id token, Id sched,
                                          const Limits& limits, int64_t now, Id* seats) {
  const Schedule& schedule = s.schedules[sched];
  for (size_t i = 0; i < c.seat_ids.size(); ++i) {
    seats[i] = schedule.find_seat(c.seat_ids[i]);
    if (seats[i] == kNoId) {
      return error(ErrorCode::SEAT_NOT_FOUND,
                   "seat '" + c.seat_ids[i] + "' not found in this schedule");
    }
  }
  // Whether the schedule takes holds now, before any seat's own state.
  if (now < schedule.opens_at) {
    return error(ErrorCode::SCHEDULE_NOT_OPEN, "reservations for this schedule are not open yet");
  }
  if (now >= schedule.starts_at) {
    return error(ErrorCode::SCHEDULE_CLOSED, "the performance has started");
  }
  if (s.live_seats(s.tokens[token].user, sched) + static_cast<int64_t>(c.seat_ids.size()) >
      limits.seats_per_user_max) {
    return error(
        ErrorCode::SEAT_LIMIT_EXCEEDED,
        "at most " + std::to_string(limits.seats_per_user_max) + " seats per user in a schedule");
  }
  for (size_t i = 0; i < c.seat_ids.size(); ++i) {
    if (schedule.seats[seats[i]].holder != kNoId) {
      return error(ErrorCode::SEAT_UNAVAILABLE, "seat '" + c.seat_ids[i] + "' is not available");
    }
  }
  return std::nullopt;
}

// The schedule a hold names (404s): with a concert named too (queue-tokens),
// an unknown concert is CONCERT_NOT_FOUND and another concert's schedule
// SCHEDULE_NOT_FOUND. On success `*sched` is the schedule's Id.
std::optional<DomainError> find_hold_schedule(const State& s, const HoldSeats& c, Id* sched) {
  Id concert = kNoId;
  if (c.concert_id) {
    concert = s.concerts.find(*c.concert_id);
    if (concert == kNoId) return error(ErrorCode::CONCERT_NOT_FOUND, "concert not found");
  }
  *sched = s.schedules.find(c.schedule_id);
  if (*sched == kNoId || (c.concert_id && s.schedules[*sched].concert != concert)) {
    return error(ErrorCode::SCHEDULE_NOT_FOUND, "schedule not found");
  }
  return std::nullopt;
}

// What a reservation's reply says of its concert and schedule.
void fill_concert_fields(const State& s, Id sched, ReservationReply& reply) {
  const Schedule& schedule = s.schedules[sched];
  set(reply.schedule_id, s.schedules.key(sched));
  set(reply.concert_id, s.concerts.key(schedule.concert));
  set(reply.concert_title, s.concerts[schedule.concert].title);
  reply.starts_at = schedule.starts_at;
}

Reply decide_hold(const State& s, const HoldSeats& c, Context& ctx, Events& out) {
  Id token = kNoId;
  if (auto err = check_token(s, token_ref(c), true, c.user_id, &token)) return *err;
  if (auto err = check_hold_request(c, ctx.limits)) return *err;
  Id sched = kNoId;
  if (auto err = find_hold_schedule(s, c, &sched)) return *err;
  Id seats[kHoldSeatsMax];
  if (auto err = check_holdable(s, c, token, sched, ctx.limits, ctx.now_ms, seats)) return *err;
  const Schedule& schedule = s.schedules[sched];
  auto& held = out.add<events::SeatsHeld>();
  held.seats.resize(c.seat_ids.size());
  for (size_t i = 0; i < c.seat_ids.size(); ++i) {
    const Seat& seat = schedule.seats[seats[i]];
    set(held.seats[i].seat_id, seat.seat_id);
    held.seats[i].number = seat.number;
    held.seats[i].price = seat.price;
    held.total_price += seat.price;
  }
  new_locating_uuid(ctx.random, s.reservations.next_id(), held.reservation_id);
  set(held.user_id, s.users.key(s.tokens[token].user));
  set(held.concert_id, s.concerts.key(schedule.concert));
  set(held.schedule_id, c.schedule_id);
  held.created_at = ctx.now_ms;
  held.expires_at = ctx.now_ms + ctx.limits.hold_ttl_ms;
  held.seq = s.next_reservation_seq();
  auto reply = take<ReservationReply>(ctx);
  set(reply.reservation_id, held.reservation_id);
  set(reply.user_id, held.user_id);
  fill_concert_fields(s, sched, reply);
  set_seats(reply.seats, held.seats);
  reply.total_price = held.total_price;
  reply.state = ReservationState::kPendingPayment;
  reply.created_at = held.created_at;
  reply.expires_at = held.expires_at;
  reply.seq = held.seq;
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
  if (auto err = check_token(s, token_ref(c), true, c.user_id, &token)) return *err;
  auto found = owned_reservation(s, token, c.reservation_id, c.reservation_seq);
  if (auto* err = std::get_if<DomainError>(&found)) return *err;
  const Id rid = std::get<Id>(found);
  const Reservation& r = s.reservations[rid];
  if (auto err = check_payable(s, r, ctx.now_ms)) return *err;
  auto& paid = out.add<events::PaymentCompleted>();
  new_uuid(ctx.random, paid.payment_id);
  set(paid.reservation_id, s.reservations.key(rid));  // canonical, whichever name was sent
  set(paid.user_id, s.users.key(r.user));
  set(paid.schedule_id, s.schedules.key(r.schedule));
  fill_seat_refs(s, r, paid.seats);
  paid.amount = r.total_price;
  paid.paid_at = ctx.now_ms;
  paid.balance_after = s.users[r.user].balance - r.total_price;
  paid.seq = s.next_payment_seq();
  paid.reservation_seq = r.seq;
  // Paying spends the token: its ACTIVE place goes to the next in line.
  auto& spent = out.add<events::TokenExpired>();
  secrets::hex_into(s.tokens.key(token), spent.token_hash);
  spent.seq = s.tokens[token].seq;
  set(spent.user_id, paid.user_id);
  set(spent.reason, "PAID");
  spent.was_active = true;
  spent.expired_at = ctx.now_ms;
  auto reply = take<PaymentReply>(ctx);
  set(reply.payment_id, paid.payment_id);
  set(reply.reservation_id, paid.reservation_id);
  reply.amount = r.total_price;
  reply.paid_at = ctx.now_ms;
  reply.balance = paid.balance_after;
  reply.seq = paid.seq;
  reply.reservation_seq = paid.reservation_seq;
  return reply;
}

void fill_reservation_reply(const State& s, std::string_view id, const Reservation& r,
                            ReservationReply& reply) {
  set(reply.reservation_id, id);
  set(reply.user_id, s.users.key(r.user));
  fill_concert_fields(s, r.schedule, reply);
  fill_seat_refs(s, r, reply.seats);
  reply.total_price = r.total_price;
  reply.state = r.state;
  reply.created_at = r.created_at;
  reply.expires_at = r.expires_at;
  reply.paid_at = r.paid_at;
  reply.seq = r.seq;
}

// CancelReservation's 409s, by the reservation's state.
std::optional<DomainError> check_cancellable(const State& s, const Reservation& r, int64_t now) {
  switch (r.state) {
    case ReservationState::kCancelled:
    case ReservationState::kRefunded:
      return error(ErrorCode::RESERVATION_CANCELLED, "reservation is already cancelled");
    case ReservationState::kExpired:
      return error(ErrorCode::RESERVATION_EXPIRED, "reservation has expired");
    case ReservationState::kPendingPayment:
      if (now >= r.expires_at) {
        return error(ErrorCode::RESERVATION_EXPIRED, "reservation has expired");
      }
      break;
    case ReservationState::kConfirmed:
      if (now >= s.schedules[r.schedule].starts_at) {
        return error(ErrorCode::SCHEDULE_CLOSED, "the performance has started; no refunds");
      }
      if (s.users[r.user].balance + r.total_price > kBalanceMax) {
        return error(ErrorCode::BALANCE_LIMIT_EXCEEDED,
                     "the refund would exceed the balance limit");
      }
      break;
  }
  return std::nullopt;
}

Reply decide_cancel(const State& s, const CancelReservation& c, Context& ctx, Events& out) {
  Id token = kNoId;
  if (auto err = check_token(s, token_ref(c), false, std::nullopt, &token)) return *err;
  auto found = owned_reservation(s, token, c.reservation_id);
  if (auto* err = std::get_if<DomainError>(&found)) return *err;
  const Reservation& r = s.reservations[std::get<Id>(found)];
  if (auto err = check_cancellable(s, r, ctx.now_ms)) return *err;
  auto reply = take<ReservationReply>(ctx);
  fill_reservation_reply(s, c.reservation_id, r, reply);
  if (r.state == ReservationState::kPendingPayment) {
    auto& cancelled = out.add<events::ReservationCancelled>();
    set(cancelled.reservation_id, c.reservation_id);
    set(cancelled.user_id, reply.user_id);
    set(cancelled.schedule_id, reply.schedule_id);
    set_seats(cancelled.seats, reply.seats);
    cancelled.released_at = ctx.now_ms;
    reply.state = ReservationState::kCancelled;
    return reply;
  }
  auto& refunded = out.add<events::ReservationRefunded>();
  set(refunded.reservation_id, c.reservation_id);
  set(refunded.payment_id, s.payment_id(r));
  set(refunded.user_id, reply.user_id);
  set(refunded.schedule_id, reply.schedule_id);
  set_seats(refunded.seats, reply.seats);
  refunded.amount = r.total_price;
  refunded.refunded_at = ctx.now_ms;
  refunded.balance_after = s.users[r.user].balance + r.total_price;
  reply.state = ReservationState::kRefunded;
  return reply;
}

// The newest reservation of `user` in `sched` holding seat index `seat`,
// or kNoId. Scans the user's own reservations, newest first: a handful for
// most users, never the whole table.
Id newest_holding(const State& s, Id user, Id sched, Id seat) {
  const auto& mine = s.users[user].reservations;
  for (auto it = mine.rbegin(); it != mine.rend(); ++it) {
    const Reservation& r = s.reservations[*it];
    if (r.schedule != sched) continue;
    const auto seats = s.seats_of(r);
    if (std::find(seats.begin(), seats.end(), seat) != seats.end()) return *it;
  }
  return kNoId;
}

// concert-events `reserve` (SPEC §5.3): reads; writes no event.
Reply decide_find_reservation(const State& s, const FindReservation& c, Context& ctx) {
  Id token = kNoId;
  if (auto err = check_token(s, token_ref(c), false, std::nullopt, &token)) return *err;
  const Id sched = s.schedules.find(c.schedule_id);
  if (sched == kNoId) return error(ErrorCode::SCHEDULE_NOT_FOUND, "schedule not found");
  const Id seat = s.schedules[sched].find_seat(c.seat_id);
  if (seat == kNoId) {
    return error(ErrorCode::SEAT_NOT_FOUND, "seat '" + c.seat_id + "' not found in this schedule");
  }
  const Id rid = newest_holding(s, s.tokens[token].user, sched, seat);
  if (rid == kNoId) {
    return error(ErrorCode::RESERVATION_NOT_FOUND, "no reservation of yours holds that seat");
  }
  const Reservation& r = s.reservations[rid];
  switch (r.state) {
    case ReservationState::kPendingPayment:
      // Judged at the command's time, whether or not the expiry ran yet.
      if (ctx.now_ms >= r.expires_at) {
        return error(ErrorCode::RESERVATION_EXPIRED, "reservation has expired");
      }
      break;
    case ReservationState::kConfirmed:
      break;
    case ReservationState::kExpired:
      return error(ErrorCode::RESERVATION_EXPIRED, "reservation has expired");
    case ReservationState::kCancelled:
    case ReservationState::kRefunded:
      return error(ErrorCode::RESERVATION_CANCELLED, "reservation was cancelled");
  }
  auto reply = take<ReservationReply>(ctx);
  fill_reservation_reply(s, s.reservations.key(rid), r, reply);
  return reply;
}

Reply decide_charge(const State& s, const ChargeBalance& c, Context& ctx, Events& out) {
  if (c.amount < 1 || c.amount > kChargeMax) {
    return error(ErrorCode::INVALID_AMOUNT, "amount must be an integer in 1..1000000000");
  }
  const Id user = s.users.find(c.user_id);
  if (user == kNoId) return error(ErrorCode::USER_NOT_FOUND, "user not found");
  const int64_t balance = s.users[user].balance + c.amount;
  if (balance > kBalanceMax) {
    return error(ErrorCode::BALANCE_LIMIT_EXCEEDED, "the charge would exceed the balance limit");
  }
  auto& charged = out.add<events::BalanceCharged>();
  set(charged.user_id, c.user_id);
  charged.amount = c.amount;
  charged.balance_after = balance;
  charged.charged_at = ctx.now_ms;
  auto reply = take<BalanceReply>(ctx);
  set(reply.user_id, c.user_id);
  reply.balance = balance;
  return reply;
}

}  // namespace

std::variant<std::string, DomainError> actor_of(const State& state, const Command& command) {
  return std::visit(
      [&](const auto& c) -> std::variant<std::string, DomainError> {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, RegisterUser> || std::is_same_v<C, CreateConcert>) {
          return std::string(kAdminScope);
        } else if constexpr (std::is_same_v<C, IssueToken> || std::is_same_v<C, ChargeBalance>) {
          if (c.user_first && state.users.find(c.user_id) == kNoId) {
            return error(ErrorCode::USER_NOT_FOUND, "user not found");
          }
          return c.user_id;
        } else {
          auto token = identify(state, token_ref(c));
          if (auto* err = std::get_if<DomainError>(&token)) return *err;
          return std::string(state.token_user(std::get<Id>(token)));
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
          return decide_charge(state, c, ctx, out);
        }
        if constexpr (std::is_same_v<C, FindReservation>) {
          return decide_find_reservation(state, c, ctx);
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
    return events::TokenExpired{
        s.token_hash(token), std::string(s.token_user(token)), "TTL", true, now, {},
        s.tokens[token].seq};
  }
  if (!s.waiting.empty() && s.active_tokens < limits.active_tokens_max) {
    const Id token = s.waiting.front();
    const Token& t = s.tokens[token];
    return events::TokenActivated{s.token_hash(token), std::string(s.users.key(t.user)), t.seq, now,
                                  now + limits.token_ttl_ms};
  }
  return std::nullopt;
}

void apply_decided(State& s, const Events& events, const Reply& reply) {
  for (const auto& e : events) {
    s.apply(e);
    // Only decide_issue_token issues, and its reply shows the token.
    if (std::holds_alternative<events::TokenIssued>(e)) {
      s.remember_token(s.newest_token, std::get<TokenReply>(reply).token);
    }
  }
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
  ReservationReply reply;
  fill_reservation_reply(s, id, s.reservations[r], reply);
  return reply;
}

TokenReply token_reply(const State& s, std::string_view token, const Limits& limits) {
  const Id t = s.find_token(token);
  assert(t != kNoId);
  TokenReply reply;
  fill_token_reply(s, t, limits, reply);
  reply.token = token;
  return reply;
}

}  // namespace reservoir::concert
