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
// Format 5 (issue 16 item 4, retention) stores the token and reservation
// tables with their holes and free lists, the retention queues, and the
// reservation and payment counters that numbers no longer follow from.
constexpr int64_t kFormat = 5;  // the first field, a zigzag varint in every format

// The shared snapshot byte format (engine/snapshot_codec.h).
using Out = SnapshotOut;
using In = SnapshotIn;

void encode_schedules(const State& s, Out& o) {
  o.u(s.schedules.size());  // schedules are never evicted: no holes
  for (Id id = 0; id < s.schedules.id_end(); ++id) {
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

// A table whose records may be evicted: how many ids it has handed out and
// its free list in order, so a restore gives the next records the ids the
// live state would have (engine/id_table.h). The holes are the free ids.
template <class T>
void encode_shape(const IdTable<T>& table, Out& o) {
  o.u(table.id_end());
  o.u(table.free_ids().size());
  for (Id id : table.free_ids()) o.id(id);
}

void encode_users_and_tokens(const State& s, Out& o) {
  o.u(s.users.size());  // users are never evicted: no holes
  for (Id id = 0; id < s.users.id_end(); ++id) {
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
  encode_shape(s.tokens, o);
  for (Id id = 0; id < s.tokens.id_end(); ++id) {
    if (!s.tokens.live(id)) continue;
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
  encode_shape(s.reservations, o);
  for (Id id = 0; id < s.reservations.id_end(); ++id) {
    if (!s.reservations.live(id)) continue;
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

// The retention queues in order (when each record finished): eviction order
// decides which ids the free lists hand out next.
void encode_retention(const State& s, Out& o) {
  for (const auto* queue : {&s.expired_tokens, &s.finished_reservations}) {
    o.u(queue->size());
    for (const auto& [finished_at, id] : *queue) {
      o.id(id);
      o.i(finished_at);
    }
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
    if (!s.concerts.live(sc.concert)) return false;
    const size_t seats = in.count();
    sc.seats.reserve(seats);
    sc.seat_index.reserve(seats);
    for (size_t i = 0; i < seats && in.ok(); ++i) {
      Seat seat;
      seat.seat_id = in.s();
      seat.number = in.i();
      seat.price = in.i();
      seat.holder = in.id();  // checked against the reservations by derive_indexes()
      if (!in.ok() || sc.find_seat(seat.seat_id) != kNoId) return false;
      sc.add_seat(std::move(seat));
    }
  }
  return in.ok();
}

// Reads a table encoded by encode_shape + its live records in id order:
// holes where the free list says, each record by `record` (which inserts
// it, so it gets the next id), then the free list itself.
template <class T, class F>
bool decode_table(In& in, IdTable<T>& table, F&& record) {
  const size_t end = in.count();
  const size_t free = in.count();
  if (!in.ok() || free > end) return false;
  std::vector<Id> ids(free);
  std::vector<bool> hole(end, false);
  for (Id& id : ids) {
    id = in.id();
    if (!in.ok() || id >= end || hole[id]) return false;
    hole[id] = true;
  }
  for (size_t id = 0; id < end && in.ok(); ++id) {
    if (hole[id]) {
      table.add_hole();
    } else if (!record()) {
      return false;
    }
  }
  return in.ok() && table.restore_free_ids(std::move(ids));
}

bool decode_token(In& in, State& s) {
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
  if (!s.users.live(t.user) || state > static_cast<uint64_t>(TokenState::kExpired) ||
      seal.size() > t.seal.size()) {
    return false;
  }
  t.set_seal(seal);
  t.state = static_cast<TokenState>(state);
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
      if (!s.schedules.live(schedule) || count <= 0) return false;
      u.live_seats.emplace_back(schedule, count);
    }
  }
  if (!decode_table(in, s.tokens, [&] { return decode_token(in, s); })) return false;
  for (Id u = 0; u < s.users.id_end(); ++u) {
    const Id t = s.users[u].live_token;
    if (t != kNoId && !s.tokens.live(t)) return false;
  }
  const size_t waiting = in.count();
  for (size_t k = 0; k < waiting && in.ok(); ++k) {
    const Id t = in.id();
    if (!s.tokens.live(t)) return false;
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
  if (!s.users.live(r.user) || !s.schedules.live(r.schedule) ||
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

// One retention queue; false unless it names each record in `finished`
// state exactly once (so each is evicted once, and none is forgotten).
template <class T, class Finished>
bool decode_queue(In& in, const IdTable<T>& table, std::deque<std::pair<int64_t, Id>>& queue,
                  Finished&& finished) {
  const size_t n = in.count();
  std::vector<bool> seen(table.id_end(), false);
  for (size_t k = 0; k < n && in.ok(); ++k) {
    const Id id = in.id();
    const int64_t at = in.i();
    if (!table.live(id) || seen[id] || !finished(table[id])) return false;
    seen[id] = true;
    queue.emplace_back(at, id);
  }
  size_t all = 0;
  for (Id id = 0; id < table.id_end(); ++id) all += table.live(id) && finished(table[id]) ? 1 : 0;
  return in.ok() && all == n;
}

bool decode_retention(In& in, State& s) {
  return decode_queue(in, s.tokens, s.expired_tokens,
                      [](const Token& t) { return t.state == TokenState::kExpired; }) &&
         decode_queue(in, s.reservations, s.finished_reservations, [](const Reservation& r) {
           return r.state == ReservationState::kExpired ||
                  r.state == ReservationState::kCancelled || r.state == ReservationState::kRefunded;
         });
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
  for (int64_t v :
       {s.active_tokens, s.next_seq, s.admitted_seq, s.reservations_made, s.payments_made}) {
    o.i(v);
  }
  o.u(s.concerts.size());
  for (Id id = 0; id < s.concerts.id_end(); ++id) {
    o.s(s.concerts.key(id));
    o.s(s.concerts[id].title);
  }
  encode_schedules(s, o);
  encode_users_and_tokens(s, o);
  encode_reservations(s, o);
  encode_retention(s, o);
  return out;
}

bool decode_state(std::string_view bytes, State& s) {
  s = State();
  In in(bytes);
  if (in.i() != kFormat) return false;
  Limits& l = s.recorded_limits;
  for (int64_t* v :
       {&l.hold_ttl_ms, &l.token_ttl_ms, &l.active_tokens_max, &l.seats_per_user_max,
        &s.active_tokens, &s.next_seq, &s.admitted_seq, &s.reservations_made, &s.payments_made}) {
    *v = in.i();
  }
  const size_t concerts = in.count();
  for (size_t k = 0; k < concerts && in.ok(); ++k) {
    const std::string_view key = in.s();
    if (!in.ok() || s.concerts.contains(key)) return false;
    s.concerts[s.concerts.insert(key)].title = in.s();
  }
  return decode_schedules(in, s) && decode_users_and_tokens(in, s) &&
         decode_table(in, s.reservations, [&] { return decode_reservation(in, s); }) &&
         decode_retention(in, s) && in.done() && s.derive_indexes();
}

}  // namespace reservoir::concert
