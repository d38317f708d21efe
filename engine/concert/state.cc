#include "engine/concert/state.h"

#include <cassert>

namespace reservoir::concert {

void State::apply(const events::ConcertEvent& event) {
  std::visit([this](const auto& e) { on(e); }, event);
}

void State::on(const events::UserRegistered& e) {
  const bool inserted = users.try_emplace(e.user_id).second;
  assert(inserted);
  (void)inserted;
}

void State::on(const events::ConcertCreated& e) {
  concert_ids.insert(e.concert_id);
  for (const auto& spec : e.schedules) {
    Schedule& s = schedules[spec.schedule_id];
    s.concert_id = e.concert_id;
    s.starts_at = spec.starts_at;
    s.seats.reserve(spec.seats.size());
    for (const auto& seat : spec.seats) {
      s.seat_index.emplace(seat.seat_id, static_cast<uint32_t>(s.seats.size()));
      s.seats.push_back(Seat{seat.seat_id, seat.number, seat.price, {}});
    }
  }
}

void State::on(const events::TokenIssued& e) {
  Token& t = tokens[e.token];
  t.user_id = e.user_id;
  t.seq = e.seq;
  users[e.user_id].live_token = e.token;
  waiting.push_back(e.token);
  next_seq = e.seq + 1;
}

void State::on(const events::TokenActivated& e) {
  Token& t = tokens.at(e.token);
  assert(t.state == TokenState::kWaiting);
  assert(!waiting.empty() && waiting.front() == e.token);
  waiting.pop_front();
  t.state = TokenState::kActive;
  t.expires_at = e.expires_at;
  token_deadlines.emplace(e.expires_at, e.token);
  ++active_tokens;
  if (e.seq > admitted_seq) admitted_seq = e.seq;
}

void State::on(const events::TokenExpired& e) {
  Token& t = tokens.at(e.token);
  assert(t.state == TokenState::kActive);  // WAITING tokens do not expire
  token_deadlines.erase({t.expires_at, e.token});
  --active_tokens;
  t.state = TokenState::kExpired;
  t.expires_at = e.expired_at;
  User& u = users.at(e.user_id);
  if (u.live_token == e.token) u.live_token.clear();
}

void State::set_holder(const std::string& schedule_id, const std::vector<events::SeatRef>& seats,
                       const std::string& holder) {
  Schedule& s = schedules.at(schedule_id);
  for (const auto& ref : seats) {
    Seat& seat = s.seats[s.seat_index.at(ref.seat_id)];
    assert(holder.empty() != seat.holder.empty());  // a seat has at most one live holder
    seat.holder = holder;
  }
}

void State::on(const events::SeatsHeld& e) {
  set_holder(e.schedule_id, e.seats, e.reservation_id);
  Reservation& r = reservations[e.reservation_id];
  r.user_id = e.user_id;
  r.schedule_id = e.schedule_id;
  r.seats = e.seats;
  r.total_price = e.total_price;
  r.created_at = e.created_at;
  r.expires_at = e.expires_at;
  hold_deadlines.emplace(e.expires_at, e.reservation_id);
  users.at(e.user_id).live_seats[e.schedule_id] += static_cast<int64_t>(e.seats.size());
}

void State::release(const events::HoldReleased& e, ReservationState to) {
  Reservation& r = reservations.at(e.reservation_id);
  assert(r.state == ReservationState::kPendingPayment);
  hold_deadlines.erase({r.expires_at, e.reservation_id});
  set_holder(e.schedule_id, e.seats, {});
  r.state = to;
  users.at(e.user_id).live_seats[e.schedule_id] -= static_cast<int64_t>(e.seats.size());
}

void State::on(const events::HoldExpired& e) {
  release(e, ReservationState::kExpired);
}

void State::on(const events::ReservationCancelled& e) {
  release(e, ReservationState::kCancelled);
}

void State::on(const events::PaymentCompleted& e) {
  Reservation& r = reservations.at(e.reservation_id);
  assert(r.state == ReservationState::kPendingPayment);
  hold_deadlines.erase({r.expires_at, e.reservation_id});
  r.state = ReservationState::kConfirmed;
  r.paid_at = e.paid_at;
  r.payment_id = e.payment_id;
  User& u = users.at(e.user_id);
  assert(e.balance_after == u.balance - e.amount && e.balance_after >= 0);
  u.balance = e.balance_after;
}

void State::on(const events::ReservationRefunded& e) {
  Reservation& r = reservations.at(e.reservation_id);
  assert(r.state == ReservationState::kConfirmed);
  set_holder(e.schedule_id, e.seats, {});
  r.state = ReservationState::kRefunded;
  User& u = users.at(e.user_id);
  assert(e.balance_after == u.balance + e.amount && e.balance_after <= kBalanceMax);
  u.balance = e.balance_after;
  u.live_seats[e.schedule_id] -= static_cast<int64_t>(e.seats.size());
}

void State::on(const events::BalanceCharged& e) {
  User& u = users.at(e.user_id);
  assert(e.balance_after == u.balance + e.amount && e.balance_after <= kBalanceMax);
  u.balance = e.balance_after;
}

void State::on(const events::LimitsConfigured& e) {
  recorded_limits = {e.hold_ttl_ms, e.token_ttl_ms, e.active_tokens_max, e.seats_per_user_max};
}

}  // namespace reservoir::concert
