#include "engine/concert/snapshot.h"

#include <algorithm>

#include "engine/snapshot_codec.h"
#include "events/codec.h"

namespace reservoir::concert {
namespace {

// Format 1 (before dense ids) stored codec records sorted by string id;
// format 2 lacked SPEC §5.1's fields (concert titles, opening times,
// tokenIds, issue times, sequence numbers), which no event after the
// snapshot could restore. Neither is read any more: such a snapshot does
// not decode, and the writer falls back to an older snapshot or a full
// replay (which derives them from the log), then writes the current one.
// Format 3 keyed tokens by the token in clear; format 4 (issue 16) keys them
// by its SHA-256 and keeps its seal, so a snapshot holds no token in clear.
constexpr int64_t kFormat = 4;  // the first field, a zigzag varint in every format

// The shared snapshot byte format (engine/snapshot_codec.h).
using Out = SnapshotOut;
using In = SnapshotIn;

void encode_schedules(const State& s, Out& o) {
  o.u(s.schedules.size());
  for (Id id = 0; id < s.schedules.size(); ++id) {
    const Schedule& sc = s.schedules[id];
    o.s(s.schedules.key(id));
    o.id(sc.concert);
    o.i(sc.starts_at);
    o.i(sc.opens_at);
    o.u(sc.seats.size());
    for (const Seat& seat : sc.seats) {
      o.s(seat.seat_id);
      o.i(seat.number);
      o.i(seat.price);
      o.id(seat.holder);
    }
  }
}

void encode_users_and_tokens(const State& s, Out& o) {
  o.u(s.users.size());
  for (Id id = 0; id < s.users.size(); ++id) {
    const User& u = s.users[id];
    o.s(s.users.key(id));
    o.i(u.balance);
    o.id(u.live_token);
    // Sorted, so the bytes do not depend on the order counts went to zero.
    auto live = u.live_seats;
    std::sort(live.begin(), live.end());
    o.u(live.size());
    for (const auto& [schedule, n] : live) {
      o.id(schedule);
      o.i(n);
    }
  }
  o.u(s.tokens.size());
  for (Id id = 0; id < s.tokens.size(); ++id) {
    const Token& t = s.tokens[id];
    o.s(s.tokens.key(id));
    o.id(t.user);
    o.u(static_cast<uint64_t>(t.state));
    o.i(t.seq);
    o.i(t.expires_at);
    o.i(t.issued_at);
    o.i(t.token_id);
    o.s(t.seal_text());
  }
  o.u(s.waiting.size());
  for (Id t : s.waiting) o.id(t);
}

void encode_reservations(const State& s, Out& o) {
  o.u(s.reservations.size());
  for (Id id = 0; id < s.reservations.size(); ++id) {
    const Reservation& r = s.reservations[id];
    o.s(s.reservations.key(id));
    o.id(r.user);
    o.id(r.schedule);
    o.u(static_cast<uint64_t>(r.state));
    o.i(r.total_price);
    o.i(r.created_at);
    o.i(r.expires_at);
    o.i(r.paid_at);
    o.i(r.seq);
    o.i(r.payment_seq);
    o.u(r.payment == kNoId ? 0 : 1);
    if (r.payment != kNoId) o.s(s.payment_id(r));
    o.u(r.seat_count);
    for (Id seat : s.seats_of(r)) o.u(seat);
  }
}

bool decode_schedules(In& in, State& s) {
  const size_t n = in.count();
  for (size_t k = 0; k < n && in.ok(); ++k) {
    const std::string_view key = in.s();
    if (!in.ok() || s.schedules.contains(key)) return false;
    Schedule& sc = s.schedules[s.schedules.insert(key)];
    sc.concert = in.id();
    sc.starts_at = in.i();
    sc.opens_at = in.i();
    if (sc.concert >= s.concerts.size()) return false;
    const size_t seats = in.count();
    sc.seats.reserve(seats);
    sc.seat_index.reserve(seats);
    for (size_t i = 0; i < seats && in.ok(); ++i) {
      Seat seat;
      seat.seat_id = in.s();
      seat.number = in.i();
      seat.price = in.i();
      seat.holder = in.id();
      if (!in.ok() || sc.find_seat(seat.seat_id) != kNoId) return false;
      sc.add_seat(std::move(seat));
    }
  }
  return in.ok();
}

bool decode_users_and_tokens(In& in, State& s) {
  const size_t users = in.count();
  for (size_t k = 0; k < users && in.ok(); ++k) {
    const std::string_view key = in.s();
    if (!in.ok() || s.users.contains(key)) return false;
    User& u = s.users[s.users.insert(key)];
    u.balance = in.i();
    u.live_token = in.id();  // checked against the tokens below
    const size_t live = in.count();
    for (size_t i = 0; i < live && in.ok(); ++i) {
      const Id schedule = in.id();
      const int64_t count = in.i();
      if (schedule >= s.schedules.size() || count <= 0) return false;
      u.live_seats.emplace_back(schedule, count);
    }
  }
  // No index reserve for reservations: the engine's own ids locate
  // themselves (engine/id_table.h); token digests do not.
  const size_t tokens = in.count();
  s.tokens.reserve(tokens);
  for (size_t k = 0; k < tokens && in.ok(); ++k) {
    const std::string_view key = in.s();
    if (!in.ok() || s.tokens.contains(key)) return false;
    Token& t = s.tokens[s.tokens.insert(key)];
    t.user = in.id();
    const uint64_t state = in.u();
    t.seq = in.i();
    t.expires_at = in.i();
    t.issued_at = in.i();
    t.token_id = in.i();
    const std::string_view seal = in.s();
    if (t.user >= s.users.size() || state > static_cast<uint64_t>(TokenState::kExpired) ||
        seal.size() > t.seal.size()) {
      return false;
    }
    t.set_seal(seal);
    t.state = static_cast<TokenState>(state);
  }
  for (Id u = 0; u < s.users.size(); ++u) {
    const Id t = s.users[u].live_token;
    if (t != kNoId && t >= s.tokens.size()) return false;
  }
  const size_t waiting = in.count();
  for (size_t k = 0; k < waiting && in.ok(); ++k) {
    const Id t = in.id();
    if (t >= s.tokens.size()) return false;
    s.waiting.push_back(t);
  }
  return in.ok();
}

bool decode_reservation(In& in, State& s) {
  const std::string_view key = in.s();
  if (!in.ok() || s.reservations.contains(key)) return false;
  Reservation& r = s.reservations[s.reservations.insert(key)];
  r.user = in.id();
  r.schedule = in.id();
  const uint64_t state = in.u();
  r.total_price = in.i();
  r.created_at = in.i();
  r.expires_at = in.i();
  r.paid_at = in.i();
  r.seq = in.i();
  r.payment_seq = in.i();
  if (r.user >= s.users.size() || r.schedule >= s.schedules.size() ||
      state > static_cast<uint64_t>(ReservationState::kRefunded)) {
    return false;
  }
  r.state = static_cast<ReservationState>(state);
  if (in.u() == 1) r.payment = s.payment_ids.add(in.s());
  r.seat_count = static_cast<uint32_t>(in.count());
  r.seats_at = s.reservation_seats.size();
  const size_t seats = s.schedules[r.schedule].seats.size();
  for (uint32_t i = 0; i < r.seat_count && in.ok(); ++i) {
    const uint64_t seat = in.u();
    if (seat >= seats) return false;
    s.reservation_seats.push_back(static_cast<Id>(seat));
  }
  return in.ok();
}

bool decode_reservations(In& in, State& s) {
  const size_t n = in.count();
  for (size_t k = 0; k < n && in.ok(); ++k) {
    if (!decode_reservation(in, s)) return false;
  }
  return in.ok();
}

// The indexes by sequence number and per user, which follow from the
// reservations; false unless their numbers are exactly 1..n, as apply
// gives them.
bool derive_reservation_indexes(State& s) {
  const size_t n = s.reservations.size();
  s.reservation_by_seq.assign(n, kNoId);
  for (Id id = 0; id < n; ++id) {
    const Reservation& r = s.reservations[id];
    if (r.seq < 1 || static_cast<uint64_t>(r.seq) > n) return false;
    Id& slot = s.reservation_by_seq[static_cast<size_t>(r.seq - 1)];
    if (slot != kNoId) return false;
    slot = id;
    s.users[r.user].reservations.push_back(id);  // in Id order: oldest first, as apply
  }
  return true;
}

// What the snapshot leaves out because it follows from the rest: the
// deadline heaps and the indexes by number. Also checks the seats'
// holders, which name reservations.
bool derive(State& s) {
  for (Id id = 0; id < s.schedules.size(); ++id) {
    for (const Seat& seat : s.schedules[id].seats) {
      if (seat.holder != kNoId && seat.holder >= s.reservations.size()) return false;
    }
  }
  if (!derive_reservation_indexes(s)) return false;
  for (Id id = 0; id < s.reservations.size(); ++id) {
    const Reservation& r = s.reservations[id];
    if (r.state == ReservationState::kPendingPayment) s.hold_deadlines.push(r.expires_at, id);
  }
  for (Id id = 0; id < s.tokens.size(); ++id) {
    const Token& t = s.tokens[id];
    if (t.state == TokenState::kActive) s.token_deadlines.push(t.expires_at, id);
    s.index_token_id(id);  // in Id order, as apply: the same token wins a clash
  }
  return true;
}

}  // namespace

std::string encode_state(const State& s) {
  std::string out;
  Out o(out);
  o.i(kFormat);
  const Limits& l = s.recorded_limits;
  for (int64_t v : {l.hold_ttl_ms, l.token_ttl_ms, l.active_tokens_max, l.seats_per_user_max}) {
    o.i(v);
  }
  for (int64_t v : {s.active_tokens, s.next_seq, s.admitted_seq}) o.i(v);
  o.u(s.concerts.size());
  for (Id id = 0; id < s.concerts.size(); ++id) {
    o.s(s.concerts.key(id));
    o.s(s.concerts[id].title);
  }
  encode_schedules(s, o);
  encode_users_and_tokens(s, o);
  encode_reservations(s, o);
  return out;
}

bool decode_state(std::string_view bytes, State& s) {
  s = State();
  In in(bytes);
  if (in.i() != kFormat) return false;
  Limits& l = s.recorded_limits;
  for (int64_t* v : {&l.hold_ttl_ms, &l.token_ttl_ms, &l.active_tokens_max, &l.seats_per_user_max,
                     &s.active_tokens, &s.next_seq, &s.admitted_seq}) {
    *v = in.i();
  }
  const size_t concerts = in.count();
  for (size_t k = 0; k < concerts && in.ok(); ++k) {
    const std::string_view key = in.s();
    if (!in.ok() || s.concerts.contains(key)) return false;
    s.concerts[s.concerts.insert(key)].title = in.s();
  }
  return decode_schedules(in, s) && decode_users_and_tokens(in, s) && decode_reservations(in, s) &&
         in.done() && derive(s);
}

}  // namespace reservoir::concert
