#include "engine/audit/checker.h"

#include <algorithm>
#include <iterator>

#include "events/engine_events.h"

namespace reservoir::audit {
namespace {

constexpr int64_t kBalanceMax = 1'000'000'000'000;
constexpr int64_t kTokenIdEnd = int64_t{1} << 53;  // tokenIds lie in [1, kTokenIdEnd)

}  // namespace

const char* ConcertChecker::invariant_name(int i) {
  static constexpr const char* kNames[] = {
      "",
      "a seat belongs to at most one live reservation",
      "balances stay in 0..10^12 and equal charges - payments + refunds",
      "a reservation is paid at most once, by its owner, before expiresAt",
      "at most --active-tokens ACTIVE tokens; no user with two live tokens",
      "every command's events are in the log, whole (consecutive offsets, whole batches)",
      "no hold before reservationOpensAt; reservation and payment numbers 1, 2, 3, ...; "
      "tokenIds in [1, 2^53), unique"};
  static_assert(std::size(kNames) == kInvariants + 1);
  return i >= 1 && i <= kInvariants ? kNames[i] : "?";
}

Result<ConcertChecker::Decoded> ConcertChecker::decode(const EventEnvelope& env) {
  if (events::EngineCatalog::knows(env.type)) {
    auto answer = events::EngineCatalog::decode(env);
    if (answer.ok()) return Decoded();
    return Status::Corruption("offset " + std::to_string(env.offset) + ": " +
                              answer.status().message());
  }
  auto decoded = events::ConcertCatalog::decode(env);
  if (!decoded.ok()) {
    return Status::Corruption("offset " + std::to_string(env.offset) + ": " +
                              decoded.status().message());
  }
  return Decoded(std::move(*decoded));
}

Status ConcertChecker::feed(const EventEnvelope& env) {
  auto decoded = decode(env);
  if (!decoded.ok()) return decoded.status();
  feed(env, *decoded);
  return Status::OK();
}

void ConcertChecker::feed(const EventEnvelope& env, const Decoded& decoded) {
  current_offset_ = env.offset;
  current_type_ = env.type.c_str();
  current_version_ = env.version;
  if (env.offset != next_offset_) {
    violate(5, "expected offset " + std::to_string(next_offset_));
  }
  next_offset_ = env.offset + 1;
  if (decoded) check(*decoded, env.time_ms);
}

void ConcertChecker::check(const events::ConcertEvent& e, int64_t time_ms) {
  std::visit([&](const auto& ev) { on(ev, time_ms); }, e);
}

void ConcertChecker::violate(int invariant, std::string detail) {
  ++violation_count_;
  if (violations_.size() < config_.violations_kept_max) {
    violations_.push_back({current_offset_, current_type_, invariant, std::move(detail)});
  }
}

int64_t ConcertChecker::total_balance() const {
  int64_t sum = 0;
  for (const auto& [id, user] : users_) sum += user.balance;
  return sum;
}

ConcertChecker::Reservation* ConcertChecker::find_reservation(const std::string& id,
                                                              uint32_t* index) {
  auto it = reservation_index_.find(id);
  if (it == reservation_index_.end()) {
    violate(1, "unknown reservation " + id);
    return nullptr;
  }
  *index = it->second;
  return &reservations_[it->second];
}

void ConcertChecker::move_money(const std::string& user_id, int64_t delta, int64_t claimed_after) {
  auto it = users_.find(user_id);
  if (it == users_.end()) {
    violate(2, "money event for unknown user " + user_id);
    return;
  }
  int64_t& balance = it->second.balance;
  balance += delta;
  if (balance < 0) violate(2, "balance of " + user_id + " is negative: " + std::to_string(balance));
  if (balance > kBalanceMax) violate(2, "balance of " + user_id + " exceeds 10^12");
  if (claimed_after != balance) {
    violate(2, "balanceAfter " + std::to_string(claimed_after) +
                   " but charges - payments + refunds = " + std::to_string(balance) + " for " +
                   user_id);
  }
}

void ConcertChecker::check_seq(const char* what, int64_t claimed, uint32_t version,
                               int64_t* counter) {
  ++*counter;
  // Version 1 had no numbers: its 0 means "the next one", as apply counts.
  if (claimed == 0 && version < 2) return;
  if (claimed != *counter) {
    violate(6, std::string(what) + " number " + std::to_string(claimed) + ", expected " +
                   std::to_string(*counter));
  }
}

void ConcertChecker::check_token_id(const events::TokenIssued& e) {
  if (e.token_id < 1 || e.token_id >= kTokenIdEnd) {
    violate(6, "token " + e.token_hash + " has tokenId " + std::to_string(e.token_id) +
                   ", outside [1, 2^53)");
  } else if (!token_ids_.insert(e.token_id).second) {
    violate(6, "token " + e.token_hash + " reuses tokenId " + std::to_string(e.token_id));
  }
}

void ConcertChecker::on(const events::UserRegistered& e, int64_t) {
  if (!users_.try_emplace(e.user_id).second) violate(2, "user " + e.user_id + " registered twice");
}

void ConcertChecker::on(const events::ConcertCreated& e, int64_t) {
  for (const auto& s : e.schedules) {
    auto [it, fresh] = schedules_.try_emplace(s.schedule_id);
    if (!fresh) {  // decide refuses a known schedule id: its seats are not re-created
      violate(1, "schedule " + s.schedule_id + " created twice");
      continue;
    }
    it->second.opens_at = s.opens_at;
    ScheduleSeats& seats = it->second.seats;
    seats.reserve(s.seats.size());
    for (const auto& seat : s.seats) seats.push_back({seat.seat_id, Seat{seat.price, kFree}});
    std::sort(seats.begin(), seats.end(),
              [](const CatalogSeat& a, const CatalogSeat& b) { return a.id < b.id; });
    const auto dup = std::adjacent_find(seats.begin(), seats.end(),
                                        [](const auto& a, const auto& b) { return a.id == b.id; });
    if (dup != seats.end()) violate(1, "seat " + s.schedule_id + "/" + dup->id + " listed twice");
  }
}

void ConcertChecker::on(const events::LimitsConfigured& e, int64_t) {
  config_.active_tokens_max = e.active_tokens_max;
}

void ConcertChecker::on(const events::TokenIssued& e, int64_t) {
  check_token_id(e);
  auto user = users_.find(e.user_id);
  if (user == users_.end()) {
    violate(4, "token issued to unknown user " + e.user_id);
    return;
  }
  if (user->second.live_token != nullptr) {
    violate(4, "user " + e.user_id + " got a second live token");
  }
  auto [token, fresh] = tokens_.try_emplace(e.token_hash, Tok::kWaiting);
  if (!fresh) violate(4, "token " + e.token_hash + " issued twice");
  token->second = Tok::kWaiting;
  user->second.live_token = &token->first;
}

void ConcertChecker::on(const events::TokenActivated& e, int64_t) {
  auto it = tokens_.find(e.token_hash);
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

void ConcertChecker::on(const events::TokenExpired& e, int64_t) {
  auto it = tokens_.find(e.token_hash);
  if (it == tokens_.end() || it->second == Tok::kExpired) {
    violate(4, "token expired that was not live");
    return;
  }
  if (it->second == Tok::kActive) --active_tokens_;
  it->second = Tok::kExpired;
  auto user = users_.find(e.user_id);
  if (user != users_.end() && user->second.live_token == &it->first) {
    user->second.live_token = nullptr;
  }
}

// The catalog seat `ref` names, now held by reservation `index`; nullptr
// (and a violation) when it cannot be.
ConcertChecker::Seat* ConcertChecker::hold_seat(ScheduleSeats* seats, const events::SeatsHeld& e,
                                                const events::SeatRef& ref, uint32_t index) {
  const auto where = [&] { return e.schedule_id + "/" + ref.seat_id; };
  ScheduleSeats::iterator it;
  if (seats != nullptr) {
    it = std::lower_bound(seats->begin(), seats->end(), ref.seat_id,
                          [](const CatalogSeat& s, const std::string& id) { return s.id < id; });
  }
  if (seats == nullptr || it == seats->end() || it->id != ref.seat_id) {
    violate(1, "seat " + where() + " is not in the catalog");
    return nullptr;
  }
  Seat* seat = &it->seat;
  if (seat->price != ref.price) violate(1, "seat " + where() + " held at a wrong price");
  if (seat->holder != kFree) {
    // holder == index: the same hold names the seat twice (not yet stored).
    const std::string& live =
        seat->holder == index ? e.reservation_id : *reservations_[seat->holder].id;
    violate(1, "seat " + where() + " held by " + e.reservation_id + " while live in " + live);
    return nullptr;
  }
  seat->holder = index;
  ++live_seats_;
  return seat;
}

void ConcertChecker::on(const events::SeatsHeld& e, int64_t t) {
  check_seq("reservation", e.seq, current_version_, &reservations_counted_);
  auto [entry, fresh] =
      reservation_index_.try_emplace(e.reservation_id, static_cast<uint32_t>(reservations_.size()));
  if (!fresh) {
    violate(1, "reservation id " + e.reservation_id + " reused");
    return;
  }
  auto user = users_.find(e.user_id);
  if (user == users_.end()) violate(1, "seats held by unknown user " + e.user_id);
  Reservation r{&entry->first,
                user == users_.end() ? nullptr : &user->first,
                {},
                0,
                e.expires_at,
                reservations_counted_,
                Res::kPending};
  r.seats.reserve(e.seats.size());
  auto sched = schedules_.find(e.schedule_id);
  ScheduleSeats* seats = sched == schedules_.end() ? nullptr : &sched->second.seats;
  if (sched != schedules_.end() && t < sched->second.opens_at) {
    violate(6, "seats of " + e.schedule_id + " held before it opens at " +
                   std::to_string(sched->second.opens_at));
  }
  for (const auto& ref : e.seats) {
    r.total += ref.price;
    if (Seat* seat = hold_seat(seats, e, ref, entry->second)) r.seats.push_back(seat);
  }
  if (r.total != e.total_price) violate(1, "totalPrice is not the sum of the seat prices");
  reservations_.push_back(std::move(r));
}

void ConcertChecker::free_seats(uint32_t index) {
  for (Seat* seat : reservations_[index].seats) {
    if (seat->holder == index) {
      seat->holder = kFree;
      --live_seats_;
    }
  }
}

void ConcertChecker::release(const events::HoldReleased& e, Res to) {
  uint32_t index = 0;
  Reservation* r = find_reservation(e.reservation_id, &index);
  if (r == nullptr) return;
  if (r->state != Res::kPending) violate(1, "released a reservation that was not pending");
  free_seats(index);
  r->state = to;
}

void ConcertChecker::on(const events::HoldExpired& e, int64_t) {
  release(e, Res::kExpired);
}

void ConcertChecker::on(const events::ReservationCancelled& e, int64_t) {
  release(e, Res::kCancelled);
}

void ConcertChecker::on(const events::PaymentCompleted& e, int64_t t) {
  check_seq("payment", e.seq, current_version_, &payments_counted_);
  uint32_t index = 0;
  Reservation* r = find_reservation(e.reservation_id, &index);
  if (r == nullptr) return;
  if (e.reservation_seq != r->seq && (e.reservation_seq != 0 || current_version_ >= 2)) {
    violate(6, "payment names reservation number " + std::to_string(e.reservation_seq) + ", not " +
                   std::to_string(r->seq));
  }
  if (r->state == Res::kConfirmed || r->state == Res::kRefunded) {
    violate(3, "reservation " + e.reservation_id + " paid twice");
  } else if (r->state != Res::kPending) {
    violate(3, "reservation " + e.reservation_id + " paid after it was released");
  }
  if (r->user_id == nullptr || e.user_id != *r->user_id) {
    violate(3, "paid by " + e.user_id + ", not its owner " +
                   (r->user_id == nullptr ? std::string("(unknown)") : *r->user_id));
  }
  if (e.paid_at >= r->expires_at || t >= r->expires_at) {
    violate(3, "paid at or after expiresAt");
  }
  if (e.amount != r->total) violate(2, "payment amount differs from the reservation total");
  r->state = Res::kConfirmed;
  move_money(e.user_id, -e.amount, e.balance_after);
}

void ConcertChecker::on(const events::ReservationRefunded& e, int64_t) {
  uint32_t index = 0;
  Reservation* r = find_reservation(e.reservation_id, &index);
  if (r == nullptr) return;
  if (r->state != Res::kConfirmed) violate(3, "refund of a reservation that was not confirmed");
  free_seats(index);
  r->state = Res::kRefunded;
  if (e.amount != r->total) violate(2, "refund amount differs from the reservation total");
  move_money(e.user_id, e.amount, e.balance_after);
}

void ConcertChecker::on(const events::BalanceCharged& e, int64_t) {
  if (e.amount < 1 || e.amount > 1'000'000'000) violate(2, "charge amount out of 1..10^9");
  move_money(e.user_id, e.amount, e.balance_after);
}

}  // namespace reservoir::audit
