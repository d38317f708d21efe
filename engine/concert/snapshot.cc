#include "engine/concert/snapshot.h"

#include <algorithm>

#include "events/codec.h"

namespace reservoir::concert {
namespace {

struct SnapSeat {
  std::string seat_id, holder;
  int64_t number = 0, price = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("seatId", s.seat_id);
    f("holder", s.holder);
    f("number", s.number);
    f("price", s.price);
  }
};

struct SnapSchedule {
  std::string schedule_id, concert_id;
  int64_t starts_at = 0;
  std::vector<SnapSeat> seats;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("scheduleId", s.schedule_id);
    f("concertId", s.concert_id);
    f("startsAt", s.starts_at);
    f("seats", s.seats);
  }
};

struct SnapReservation {
  std::string id, user_id, schedule_id, payment_id;
  std::vector<events::SeatRef> seats;
  int64_t total_price = 0, created_at = 0, expires_at = 0, paid_at = 0, state = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("id", s.id);
    f("userId", s.user_id);
    f("scheduleId", s.schedule_id);
    f("paymentId", s.payment_id);
    f("seats", s.seats);
    f("totalPrice", s.total_price);
    f("createdAt", s.created_at);
    f("expiresAt", s.expires_at);
    f("paidAt", s.paid_at);
    f("state", s.state);
  }
};

struct SnapToken {
  std::string token, user_id;
  int64_t state = 0, seq = 0, expires_at = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("token", s.token);
    f("userId", s.user_id);
    f("state", s.state);
    f("seq", s.seq);
    f("expiresAt", s.expires_at);
  }
};

struct SnapCount {
  std::string schedule_id;
  int64_t count = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("scheduleId", s.schedule_id);
    f("count", s.count);
  }
};

struct SnapUser {
  std::string user_id, live_token;
  int64_t balance = 0;
  std::vector<SnapCount> live_seats;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("userId", s.user_id);
    f("liveToken", s.live_token);
    f("balance", s.balance);
    f("liveSeats", s.live_seats);
  }
};

struct SnapState {
  int64_t format = 1;
  std::vector<SnapUser> users;
  std::vector<std::string> concert_ids, waiting;
  std::vector<SnapSchedule> schedules;
  std::vector<SnapReservation> reservations;
  std::vector<SnapToken> tokens;
  int64_t active_tokens = 0, next_seq = 1, admitted_seq = 0;
  std::vector<int64_t> limits;  // hold, token ttl, active max, seats max
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("format", s.format);
    f("limits", s.limits);
    f("users", s.users);
    f("concertIds", s.concert_ids);
    f("waiting", s.waiting);
    f("schedules", s.schedules);
    f("reservations", s.reservations);
    f("tokens", s.tokens);
    f("activeTokens", s.active_tokens);
    f("nextSeq", s.next_seq);
    f("admittedSeq", s.admitted_seq);
  }
};

template <class T, class Key>
void sort_by(std::vector<T>& v, Key key) {
  std::sort(v.begin(), v.end(), [&](const T& a, const T& b) { return key(a) < key(b); });
}

SnapState to_snap(const State& s) {
  SnapState out;
  for (const auto& [id, u] : s.users) {
    SnapUser su{id, u.live_token, u.balance, {}};
    for (const auto& [sched, n] : u.live_seats) {
      if (n != 0) su.live_seats.push_back({sched, n});
    }
    sort_by(su.live_seats, [](const SnapCount& c) { return c.schedule_id; });
    out.users.push_back(std::move(su));
  }
  out.concert_ids.assign(s.concert_ids.begin(), s.concert_ids.end());
  std::sort(out.concert_ids.begin(), out.concert_ids.end());
  out.waiting.assign(s.waiting.begin(), s.waiting.end());
  for (const auto& [id, sc] : s.schedules) {
    SnapSchedule ss{id, sc.concert_id, sc.starts_at, {}};
    for (const auto& seat : sc.seats)
      ss.seats.push_back({seat.seat_id, seat.holder, seat.number, seat.price});
    out.schedules.push_back(std::move(ss));
  }
  for (const auto& [id, r] : s.reservations) {
    out.reservations.push_back({id, r.user_id, r.schedule_id, r.payment_id, r.seats, r.total_price,
                                r.created_at, r.expires_at, r.paid_at,
                                static_cast<int64_t>(r.state)});
  }
  for (const auto& [token, t] : s.tokens) {
    out.tokens.push_back({token, t.user_id, static_cast<int64_t>(t.state), t.seq, t.expires_at});
  }
  sort_by(out.users, [](const SnapUser& u) { return u.user_id; });
  sort_by(out.schedules, [](const SnapSchedule& x) { return x.schedule_id; });
  sort_by(out.reservations, [](const SnapReservation& r) { return r.id; });
  sort_by(out.tokens, [](const SnapToken& t) { return t.token; });
  out.active_tokens = s.active_tokens;
  out.next_seq = s.next_seq;
  out.admitted_seq = s.admitted_seq;
  const Limits& l = s.recorded_limits;
  out.limits = {l.hold_ttl_ms, l.token_ttl_ms, l.active_tokens_max, l.seats_per_user_max};
  return out;
}

void from_snap(SnapState& in, State& s) {
  s = State();
  for (auto& u : in.users) {
    User& user = s.users[u.user_id];
    user.balance = u.balance;
    user.live_token = std::move(u.live_token);
    for (auto& c : u.live_seats) user.live_seats[c.schedule_id] = c.count;
  }
  s.concert_ids.insert(in.concert_ids.begin(), in.concert_ids.end());
  s.waiting.assign(in.waiting.begin(), in.waiting.end());
  for (auto& sc : in.schedules) {
    Schedule& schedule = s.schedules[sc.schedule_id];
    schedule.concert_id = std::move(sc.concert_id);
    schedule.starts_at = sc.starts_at;
    for (auto& seat : sc.seats) {
      schedule.seat_index.emplace(seat.seat_id, static_cast<uint32_t>(schedule.seats.size()));
      schedule.seats.push_back(
          {std::move(seat.seat_id), seat.number, seat.price, std::move(seat.holder)});
    }
  }
  for (auto& r : in.reservations) {
    Reservation& res = s.reservations[r.id];
    res = {r.user_id,          r.schedule_id, r.payment_id,
           std::move(r.seats), r.total_price, r.created_at,
           r.expires_at,       r.paid_at,     static_cast<ReservationState>(r.state)};
    if (res.state == ReservationState::kPendingPayment)
      s.hold_deadlines.emplace(r.expires_at, r.id);
  }
  for (auto& t : in.tokens) {
    Token& token = s.tokens[t.token];
    token = {t.user_id, static_cast<TokenState>(t.state), t.seq, t.expires_at};
    if (token.state == TokenState::kActive) s.token_deadlines.emplace(t.expires_at, t.token);
  }
  s.active_tokens = in.active_tokens;
  s.next_seq = in.next_seq;
  s.admitted_seq = in.admitted_seq;
  if (in.limits.size() == 4)
    s.recorded_limits = {in.limits[0], in.limits[1], in.limits[2], in.limits[3]};
}

}  // namespace

std::string encode_state(const State& state) {
  std::string out;
  codec::encode(to_snap(state), out);
  return out;
}

bool decode_state(std::string_view bytes, State& state) {
  SnapState snap;
  if (!codec::decode(bytes, snap) || snap.format != 1) return false;
  from_snap(snap, state);
  return true;
}

}  // namespace reservoir::concert
