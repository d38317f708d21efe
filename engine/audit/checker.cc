#include "engine/audit/checker.h"

#include "events/engine_events.h"

namespace reservoir::audit {
namespace {

constexpr int64_t kBalanceMax = 1'000'000'000'000;

}  // namespace

Status Checker::feed(const EventEnvelope& env) {
  current_offset_ = env.offset;
  current_type_ = env.type.c_str();
  if (env.offset != next_offset_) {
    violate(5, "expected offset " + std::to_string(next_offset_));
  }
  next_offset_ = env.offset + 1;
  if (events::EngineCatalog::knows(env.type)) {  // an answer, not a state change: decode only
    auto answer = events::EngineCatalog::decode(env);
    if (answer.ok()) return Status::OK();
    return Status::Corruption("offset " + std::to_string(env.offset) + ": " +
                              answer.status().message());
  }
  auto decoded = events::ConcertCatalog::decode(env);
  if (!decoded.ok()) {
    return Status::Corruption("offset " + std::to_string(env.offset) + ": " +
                              decoded.status().message());
  }
  check(*decoded, env.time_ms);
  return Status::OK();
}

void Checker::check(const events::ConcertEvent& e, int64_t time_ms) {
  std::visit([&](const auto& ev) { on(ev, time_ms); }, e);
}

void Checker::violate(int invariant, std::string detail) {
  ++violation_count_;
  if (violations_.size() < config_.violations_kept_max) {
    violations_.push_back({current_offset_, current_type_, invariant, std::move(detail)});
  }
}

int64_t Checker::total_balance() const {
  int64_t sum = 0;
  for (const auto& [user, balance] : balances_) sum += balance;
  return sum;
}

Checker::Reservation* Checker::find_reservation(const std::string& id) {
  auto it = reservations_.find(id);
  if (it == reservations_.end()) {
    violate(1, "unknown reservation " + id);
    return nullptr;
  }
  return &it->second;
}

void Checker::move_money(const std::string& user, int64_t delta, int64_t claimed_after) {
  auto it = balances_.find(user);
  if (it == balances_.end()) {
    violate(2, "money event for unknown user " + user);
    return;
  }
  it->second += delta;
  if (it->second < 0)
    violate(2, "balance of " + user + " is negative: " + std::to_string(it->second));
  if (it->second > kBalanceMax) violate(2, "balance of " + user + " exceeds 10^12");
  if (claimed_after != it->second) {
    violate(2, "balanceAfter " + std::to_string(claimed_after) +
                   " but charges - payments + "
                   "refunds = " +
                   std::to_string(it->second) + " for " + user);
  }
}

void Checker::on(const events::UserRegistered& e, int64_t) {
  if (!balances_.emplace(e.user_id, 0).second)
    violate(2, "user " + e.user_id + " registered twice");
}

void Checker::on(const events::ConcertCreated& e, int64_t) {
  for (const auto& s : e.schedules) {
    ScheduleSeats& seats = schedules_[s.schedule_id];
    seats.reserve(s.seats.size());
    for (const auto& seat : s.seats) seats[seat.seat_id].price = seat.price;
  }
}

void Checker::on(const events::LimitsConfigured& e, int64_t) {
  config_.active_tokens_max = e.active_tokens_max;
}

void Checker::on(const events::TokenIssued& e, int64_t) {
  if (live_token_.count(e.user_id)) violate(4, "user " + e.user_id + " got a second live token");
  live_token_[e.user_id] = e.token;
  tokens_[e.token] = Tok::kWaiting;
}

void Checker::on(const events::TokenActivated& e, int64_t) {
  auto it = tokens_.find(e.token);
  if (it == tokens_.end() || it->second != Tok::kWaiting) {
    violate(4, "token activated that was not WAITING");
    return;
  }
  it->second = Tok::kActive;
  if (++active_tokens_ > config_.active_tokens_max) {
    violate(4, std::to_string(active_tokens_) + " ACTIVE tokens, more than " +
                   std::to_string(config_.active_tokens_max));
  }
}

void Checker::on(const events::TokenExpired& e, int64_t) {
  auto it = tokens_.find(e.token);
  if (it == tokens_.end() || it->second == Tok::kExpired) {
    violate(4, "token expired that was not live");
    return;
  }
  if (it->second == Tok::kActive) --active_tokens_;
  it->second = Tok::kExpired;
  auto live = live_token_.find(e.user_id);
  if (live != live_token_.end() && live->second == e.token) live_token_.erase(live);
}

void Checker::on(const events::SeatsHeld& e, int64_t) {
  Reservation r{e.user_id, e.schedule_id, {}, 0, e.expires_at, Res::kPending};
  auto sched = schedules_.find(e.schedule_id);
  for (const auto& ref : e.seats) {
    r.total += ref.price;
    r.seat_ids.push_back(ref.seat_id);
    Seat* seat = nullptr;
    if (sched != schedules_.end()) {
      auto it = sched->second.find(ref.seat_id);
      if (it != sched->second.end()) seat = &it->second;
    }
    const std::string where = e.schedule_id + "/" + ref.seat_id;
    if (seat == nullptr) {
      violate(1, "seat " + where + " is not in the catalog");
      continue;
    }
    if (seat->price != ref.price) violate(1, "seat " + where + " held at a wrong price");
    if (!seat->holder.empty()) {
      violate(1,
              "seat " + where + " held by " + e.reservation_id + " while live in " + seat->holder);
      continue;
    }
    seat->holder = e.reservation_id;
    ++live_seats_;
  }
  if (r.total != e.total_price) violate(1, "totalPrice is not the sum of the seat prices");
  if (!reservations_.emplace(e.reservation_id, std::move(r)).second) {
    violate(1, "reservation id " + e.reservation_id + " reused");
  }
}

void Checker::free_seats(const std::string& reservation_id, const Reservation& r) {
  auto sched = schedules_.find(r.schedule_id);
  if (sched == schedules_.end()) return;
  for (const auto& id : r.seat_ids) {
    auto it = sched->second.find(id);
    if (it != sched->second.end() && it->second.holder == reservation_id) {
      it->second.holder.clear();
      --live_seats_;
    }
  }
}

void Checker::release(const events::HoldReleased& e, Res to) {
  Reservation* r = find_reservation(e.reservation_id);
  if (r == nullptr) return;
  if (r->state != Res::kPending) violate(1, "released a reservation that was not pending");
  free_seats(e.reservation_id, *r);
  r->state = to;
}

void Checker::on(const events::HoldExpired& e, int64_t) {
  release(e, Res::kExpired);
}

void Checker::on(const events::ReservationCancelled& e, int64_t) {
  release(e, Res::kCancelled);
}

void Checker::on(const events::PaymentCompleted& e, int64_t t) {
  Reservation* r = find_reservation(e.reservation_id);
  if (r == nullptr) return;
  if (r->state == Res::kConfirmed || r->state == Res::kRefunded) {
    violate(3, "reservation " + e.reservation_id + " paid twice");
  } else if (r->state != Res::kPending) {
    violate(3, "reservation " + e.reservation_id + " paid after it was released");
  }
  if (e.user_id != r->user_id) violate(3, "paid by " + e.user_id + ", not its owner " + r->user_id);
  if (e.paid_at >= r->expires_at || t >= r->expires_at) {
    violate(3, "paid at or after expiresAt");
  }
  if (e.amount != r->total) violate(2, "payment amount differs from the reservation total");
  r->state = Res::kConfirmed;
  move_money(e.user_id, -e.amount, e.balance_after);
}

void Checker::on(const events::ReservationRefunded& e, int64_t) {
  Reservation* r = find_reservation(e.reservation_id);
  if (r == nullptr) return;
  if (r->state != Res::kConfirmed) violate(3, "refund of a reservation that was not confirmed");
  free_seats(e.reservation_id, *r);
  r->state = Res::kRefunded;
  if (e.amount != r->total) violate(2, "refund amount differs from the reservation total");
  move_money(e.user_id, e.amount, e.balance_after);
}

void Checker::on(const events::BalanceCharged& e, int64_t) {
  if (e.amount < 1 || e.amount > 1'000'000'000) violate(2, "charge amount out of 1..10^9");
  move_money(e.user_id, e.amount, e.balance_after);
}

}  // namespace reservoir::audit
