// ConcertDriver: the concert domain (SPEC §1) in the simulator
// (simulation.h). Few users, two schedules of few seats and small balances,
// so clients race: holds on the same seats, payments against balances that
// barely cover them, tokens past active_tokens_max and TTLs the clock runs
// through. About a third of the commands are invalid (unknown tokens, users,
// seats, reservations; foreign reservations; bad amounts; duplicate users).
//
// Effects (each at most once in the log; acknowledged ones exactly once):
//   user:<id> (UserRegistered), hold:<reservation> (SeatsHeld),
//   pay:<reservation> (PaymentCompleted), cancel:<reservation>
//   (ReservationCancelled or ReservationRefunded), charge:<user>:<amount>
//   (BalanceCharged; every charge request has an amount of its own).
//
// Answers are rendered by a plain renderer of its own ("OK token <t> ...",
// "ERROR <CODE> <message>"): clients read ids out of them, and the writer
// stores and replays the bytes whatever renderer made them.
//
// Thread safety: none; one per simulation.
#pragma once

#include <algorithm>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "engine/audit/checker.h"
#include "engine/concert/module.h"
#include "sim_random.h"
#include "simulation.h"

namespace reservoir::sim {

class ConcertDriver {
 public:
  using Module = concert::Module;
  using Checker = audit::ConcertChecker;
  using Req = Request<concert::Command>;

  static constexpr int kUsers = 4;
  static constexpr int kSeats = 5;
  static constexpr int64_t kSeatPrice = 10'000;  // KRW

  static concert::Limits limits() {
    concert::Limits l;
    l.hold_ttl_ms = 5 * 60'000;
    l.token_ttl_ms = 10 * 60'000;
    l.active_tokens_max = 2;  // tokens wait, and are admitted as others expire or pay
    l.seats_per_user_max = 2;
    return l;
  }

  std::unique_ptr<Module> make_module() const { return std::make_unique<Module>(limits()); }

  static Rendered render(const concert::Reply& reply);

  void setup(std::vector<Req>& out);
  void generate(SimRng& rng, Req& r);
  void on_answer(const Req& r, const Rendered& a, std::set<std::string>& acked);
  void effects(const EventEnvelope& env, std::vector<std::string>& keys) const;
  std::string check_queries(const Module& m, const Checker& c) const;

 private:
  struct Known {
    std::string reservation;
    int user = 0;
  };
  std::string user(int i) const { return "u" + std::to_string(i); }
  std::string token_of(SimRng& rng, int u) const;
  std::string reservation_for(SimRng& rng, int u) const;
  concert::Command hold(SimRng& rng, int u) const;

  std::string tokens_[kUsers];  // the last token each user was answered
  std::vector<Known> reservations_;
  uint64_t charges_ = 0;  // makes every charge's amount unique
};

inline Rendered ConcertDriver::render(const concert::Reply& reply) {
  using namespace concert;
  std::ostringstream b;
  int status = 200;
  std::visit(
      [&](const auto& r) {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, DomainError>) {
          status = r.code == ErrorCode::UNAVAILABLE || r.code == ErrorCode::OVERLOADED ? 503
                   : r.code == ErrorCode::IDEMPOTENCY_KEY_REUSED                       ? 422
                                                                                       : 409;
          b << "ERROR " << error_name(r.code) << ' ' << r.message;
        } else if constexpr (std::is_same_v<R, UserReply>) {
          b << "OK user " << r.user_id;
        } else if constexpr (std::is_same_v<R, ConcertReply>) {
          b << "OK concert " << r.created.concert_id;
        } else if constexpr (std::is_same_v<R, TokenReply>) {
          b << "OK token " << r.token << ' ' << static_cast<int>(r.state) << ' ' << r.position
            << ' ' << r.expires_at << ' ' << r.token_id;
        } else if constexpr (std::is_same_v<R, ReservationReply>) {
          b << "OK reservation " << r.reservation_id << ' ' << r.user_id << ' '
            << static_cast<int>(r.state) << ' ' << r.total_price << ' ' << r.expires_at << ' '
            << r.seq;
        } else if constexpr (std::is_same_v<R, PaymentReply>) {
          b << "OK payment " << r.payment_id << ' ' << r.reservation_id << ' ' << r.amount << ' '
            << r.balance << ' ' << r.seq;
        } else if constexpr (std::is_same_v<R, BalanceReply>) {
          b << "OK balance " << r.user_id << ' ' << r.balance;
        }
      },
      reply);
  return Rendered{status, b.str()};
}

inline void ConcertDriver::setup(std::vector<Req>& out) {
  for (int i = 0; i < kUsers; ++i) {
    out.push_back(Req{
        0, concert::RegisterUser{user(i), "user " + std::to_string(i)}, {}, "register " + user(i)});
  }
  concert::CreateConcert c{"c1", "sim concert", {}};
  // s1 is open at once and plays in 30 days; s2 opens in an hour and starts
  // in three, so holds meet SCHEDULE_NOT_OPEN, then succeed, then SCHEDULE_CLOSED.
  const int64_t t0 = kSimStartMs;
  concert::ScheduleInput s1{"s1", t0 + 30LL * 24 * 3600'000, {}, 0};
  concert::ScheduleInput s2{"s2", t0 + 3 * 3600'000, {}, t0 + 3600'000};
  for (int i = 1; i <= kSeats; ++i) {
    s1.seats.push_back({"A" + std::to_string(i), i, kSeatPrice});
    s2.seats.push_back({"B" + std::to_string(i), i, kSeatPrice * 2});
  }
  c.schedules = {s1, s2};
  out.push_back(Req{0, c, {}, "create concert c1"});
}

inline std::string ConcertDriver::token_of(SimRng& rng, int u) const {
  if (tokens_[u].empty() || rng.chance(80)) return "not-a-token-" + std::to_string(rng.below(3));
  return tokens_[u];
}

inline std::string ConcertDriver::reservation_for(SimRng& rng, int u) const {
  if (reservations_.empty() || rng.chance(60)) return "no-such-reservation";
  // Mostly one of the user's own, sometimes anyone's (FORBIDDEN / not found).
  for (int tries = 0; tries < 4; ++tries) {
    const Known& k = rng.pick(reservations_);
    if (k.user == u || rng.chance(150)) return k.reservation;
  }
  return reservations_.back().reservation;
}

inline concert::Command ConcertDriver::hold(SimRng& rng, int u) const {
  concert::HoldSeats h;
  h.token = token_of(rng, u);
  const uint64_t which = rng.below(10);
  const bool s2 = which >= 7;
  h.schedule_id = which == 9 ? "s9" : s2 ? "s2" : "s1";
  const int n = 1 + static_cast<int>(rng.below(2));
  for (int i = 0; i < n; ++i) {
    std::string seat = (s2 ? "B" : "A") + std::to_string(1 + rng.below(kSeats));
    if (rng.chance(40)) seat = "Z9";
    if (std::find(h.seat_ids.begin(), h.seat_ids.end(), seat) == h.seat_ids.end()) {
      h.seat_ids.push_back(seat);
    }
  }
  return h;
}

inline void ConcertDriver::generate(SimRng& rng, Req& r) {
  const int u = static_cast<int>(rng.below(kUsers));
  const uint64_t roll = rng.below(100);
  if (roll < 20) {
    const bool ghost = rng.chance(50);
    r.command = concert::IssueToken{ghost ? "ghost" : user(u)};
    r.what = "issue token for " + (ghost ? std::string("ghost") : user(u));
  } else if (roll < 50) {
    r.command = hold(rng, u);
    r.what = "hold by " + user(u);
  } else if (roll < 65) {
    r.command = concert::PayReservation{token_of(rng, u), std::nullopt, reservation_for(rng, u)};
    r.what = "pay by " + user(u);
  } else if (roll < 75) {
    r.command = concert::CancelReservation{token_of(rng, u), reservation_for(rng, u)};
    r.what = "cancel by " + user(u);
  } else if (roll < 95) {
    // Unique amounts make each charge's effect traceable in the log.
    int64_t amount =
        kSeatPrice * static_cast<int64_t>(1 + rng.below(3)) + static_cast<int64_t>(++charges_);
    if (rng.chance(50)) amount = rng.chance(500) ? 0 : concert::kChargeMax + 1;
    const bool ghost = rng.chance(30);
    r.command = concert::ChargeBalance{ghost ? "ghost" : user(u), amount};
    r.what = "charge " + std::to_string(amount) + " to " + (ghost ? "ghost" : user(u));
  } else {
    r.command = concert::RegisterUser{user(u), "again"};  // USER_EXISTS
    r.what = "register " + user(u) + " again";
  }
}

inline void ConcertDriver::on_answer(const Req& r, const Rendered& a,
                                     std::set<std::string>& acked) {
  if (a.status != 200) return;
  std::istringstream in(a.body);
  std::string ok, kind, id;
  in >> ok >> kind >> id;
  if (kind == "token") {
    const auto& c = std::get<concert::IssueToken>(r.command);
    for (int i = 0; i < kUsers; ++i) {
      if (c.user_id == user(i)) tokens_[i] = id;
    }
  } else if (kind == "user") {
    acked.insert("user:" + id);
  } else if (kind == "reservation" && std::holds_alternative<concert::HoldSeats>(r.command)) {
    std::string owner;
    in >> owner;
    reservations_.push_back(Known{id, owner[1] - '0'});
    acked.insert("hold:" + id);
  } else if (kind == "reservation") {
    acked.insert("cancel:" + id);
  } else if (kind == "payment") {
    std::string reservation;
    in >> reservation;
    acked.insert("pay:" + reservation);
  } else if (kind == "balance") {
    const auto& c = std::get<concert::ChargeBalance>(r.command);
    acked.insert("charge:" + c.user_id + ":" + std::to_string(c.amount));
  }
}

inline void ConcertDriver::effects(const EventEnvelope& env, std::vector<std::string>& keys) const {
  auto e = Module::decode(env);
  if (!e.ok()) return;
  std::visit(
      [&](const auto& ev) {
        using E = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<E, events::UserRegistered>) {
          keys.push_back("user:" + ev.user_id);
        } else if constexpr (std::is_same_v<E, events::SeatsHeld>) {
          keys.push_back("hold:" + ev.reservation_id);
        } else if constexpr (std::is_same_v<E, events::PaymentCompleted>) {
          keys.push_back("pay:" + ev.reservation_id);
        } else if constexpr (std::is_same_v<E, events::ReservationCancelled> ||
                             std::is_same_v<E, events::ReservationRefunded>) {
          keys.push_back("cancel:" + ev.reservation_id);
        } else if constexpr (std::is_same_v<E, events::BalanceCharged>) {
          keys.push_back("charge:" + ev.user_id + ":" + std::to_string(ev.amount));
        }
      },
      *e);
}

// What the balance and availability queries would answer, from the engine's
// state, against the checker's independent account.
inline std::string ConcertDriver::check_queries(const Module& m, const Checker& c) const {
  const concert::State& s = m.state();
  int64_t balance = 0;
  for (reservoir::Id i = 0; i < s.users.size(); ++i) balance += s.users[i].balance;
  size_t held = 0;
  for (reservoir::Id i = 0; i < s.schedules.size(); ++i) {
    for (const auto& seat : s.schedules[i].seats) held += seat.holder != reservoir::kNoId ? 1 : 0;
  }
  std::ostringstream out;
  if (s.users.size() != c.users()) out << "users " << s.users.size() << " vs " << c.users() << "; ";
  if (balance != c.total_balance()) {
    out << "total balance " << balance << " vs " << c.total_balance() << "; ";
  }
  if (held != c.live_seats()) out << "held seats " << held << " vs " << c.live_seats() << "; ";
  return out.str();
}

}  // namespace reservoir::sim
