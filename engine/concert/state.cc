#include "engine/concert/state.h"

#include <algorithm>
#include <cassert>

namespace reservoir::concert {
namespace {

// Whether retention should run after an event, and at what time: the
// events that carry their decision's time (all but the catalog and
// configuration ones, which are rare).
int64_t event_time(const events::TokenIssued& e) {
  return e.issued_at;
}
int64_t event_time(const events::TokenActivated& e) {
  return e.activated_at;
}
int64_t event_time(const events::TokenExpired& e) {
  return e.expired_at;
}
int64_t event_time(const events::SeatsHeld& e) {
  return e.created_at;
}
int64_t event_time(const events::HoldReleased& e) {
  return e.released_at;
}
int64_t event_time(const events::PaymentCompleted& e) {
  return e.paid_at;
}
int64_t event_time(const events::ReservationRefunded& e) {
  return e.refunded_at;
}
int64_t event_time(const events::BalanceCharged& e) {
  return e.charged_at;
}

// A number as the key of a FlatIndex keyed by a record's own field: its
// 8 bytes, where the record holds them, so the index stores no key of its own.
std::string_view number_key(const int64_t& n) {
  return {reinterpret_cast<const char*>(&n), sizeof n};
}

// Reservation seat entries no reservation owns, below which the list is not
// compacted (a small state would compact every few evictions).
constexpr size_t kCompactSeatsMin = 4096;
// Window entries beyond twice the live ones before the window sheds its
// older half (State::reservation_by_seq).
constexpr size_t kSeqWindowSlack = 4096;

// The key tokens has for a tokenHash: its raw digest, in `buf`. Only a
// hand-built log has a hash that is not 64 hex digits; it is kept as it is,
// so that such a log still folds the same way everywhere.
std::string_view token_key(std::string_view hash, char (&buf)[secrets::kDigestBytes]) {
  if (!secrets::digest_into(hash, buf)) return hash;
  return {buf, sizeof buf};
}

// Two tokens' bytes compared in time independent of where they differ: a
// guess presented learns nothing from how long a miss took.
bool same_token(const char (&a)[secrets::kTokenBytes], const char (&b)[secrets::kTokenBytes]) {
  return ((load8(a) ^ load8(b)) | (load8(a + 8) ^ load8(b + 8))) == 0;
}

}  // namespace

void State::apply(const events::ConcertEvent& event) {
  std::visit(
      [this](const auto& e) {
        on(e);
        // After the event: a reservation decide made named next_id(), which
        // an eviction before it would have moved.
        if constexpr (requires { event_time(e); }) retire(event_time(e));
      },
      event);
}

std::vector<events::SeatRef> State::seat_refs(const Reservation& r) const {
  const Schedule& s = schedules[r.schedule];
  std::vector<events::SeatRef> out;
  out.reserve(r.seat_count);
  for (Id i : seats_of(r)) out.push_back({s.seats[i].seat_id, s.seats[i].number, s.seats[i].price});
  return out;
}

int64_t State::live_seats(Id user, Id schedule) const {
  for (const auto& [sched, n] : users[user].live_seats) {
    if (sched == schedule) return n;
  }
  return 0;
}

// Events name records that an earlier event created: a miss is a log that
// decide did not write.
Id State::must_find_user(std::string_view id) const {
  const Id u = users.find(id);
  assert(u != kNoId);
  return u;
}

Id State::must_find_reservation(std::string_view id) const {
  const Id r = reservations.find(id);
  assert(r != kNoId);
  return r;
}

Id State::must_find_token(std::string_view hash, int64_t seq) const {
  // The window by issue number names the token unless a log skipped
  // numbers: the entry's key says whether the hint came true.
  char digest[secrets::kDigestBytes];
  const std::string_view key = token_key(hash, digest);
  if (const Id hint = token_of_seq(seq); hint != kNoId && equal_keys(tokens.key(hint), key)) {
    return hint;
  }
  const Id t = tokens.find(key);
  assert(t != kNoId);
  return t;
}

Id State::token_of_seq(int64_t seq) const {
  if (seq < token_seq_base || seq - token_seq_base >= static_cast<int64_t>(token_by_seq.size())) {
    return kNoId;
  }
  return token_by_seq[static_cast<size_t>(seq - token_seq_base)];
}

// Issue numbers come in order; a log that skips or repeats one (hand-built
// only) starts the window afresh, which costs those tokens their hint.
void State::index_token_seq(Id token) {
  const int64_t seq = tokens[token].seq;
  if (seq != token_seq_base + static_cast<int64_t>(token_by_seq.size())) {
    token_by_seq.clear();
    token_seq_base = seq;
  }
  token_by_seq.push_back(token);
}

Id State::find_token(std::string_view token) const {
  if (token.empty()) return kNoId;
  char bytes[secrets::kTokenBytes];
  const bool uuid = secrets::token_bytes(token, bytes);
  if (uuid) {
    const Id t = recent_tokens_.hint(bytes);
    if (tokens.live(t) && tokens[t].has_clear && same_token(tokens[t].clear, bytes)) return t;
  }
  char digest[secrets::kDigestBytes];
  secrets::token_digest_into(token, digest);
  const Id t = tokens.find(std::string_view(digest, sizeof digest));
  if (t != kNoId) remember_token(t, token);
  return t;
}

void State::remember_token(Id token, std::string_view clear) const {
  const Token& t = tokens[token];
  if (!secrets::token_bytes(clear, t.clear)) return;
  t.has_clear = true;
  recent_tokens_.put(t.clear, token);
}

bool State::clear_token(Id token, std::string& out) const {
  const Token& t = tokens[token];
  if (!t.has_clear) return false;
  secrets::token_text_into(t.clear, out);
  return true;
}

Id State::find_token_hash(std::string_view hash) const {
  char digest[secrets::kDigestBytes];
  return tokens.find(token_key(hash, digest));
}

Id State::find_token_id(int64_t token_id) const {
  if (token_id == 0) return kNoId;
  return token_id_index.find(number_key(token_id),
                             [this](Id t) { return number_key(tokens[t].token_id); });
}

void State::index_token_id(Id token) {
  const int64_t& token_id = tokens[token].token_id;
  if (token_id == 0) return;
  // decide never issues a tokenId a held token has; keeping the first on a
  // clash (only a forged or hand-built log has one) keeps lookups well defined.
  token_id_index.find_or_insert(number_key(token_id), token,
                                [this](Id t) { return number_key(tokens[t].token_id); });
}

Id State::find_reservation_seq(int64_t seq) const {
  if (seq >= reservation_seq_base) {
    const int64_t at = seq - reservation_seq_base;
    return at < static_cast<int64_t>(reservation_by_seq.size())
               ? reservation_by_seq[static_cast<size_t>(at)]
               : kNoId;
  }
  return reservation_seq_stragglers.find(number_key(seq),
                                         [this](Id r) { return number_key(reservations[r].seq); });
}

// Numbers come in order (apply asserts it), so a new one extends the window.
void State::index_reservation_seq(Id reservation) {
  assert(reservations[reservation].seq ==
         reservation_seq_base + static_cast<int64_t>(reservation_by_seq.size()));
  reservation_by_seq.push_back(reservation);
  ++reservation_by_seq_live;
}

void State::unindex_reservation_seq(Id reservation) {
  const int64_t seq = reservations[reservation].seq;
  if (seq < reservation_seq_base) {
    [[maybe_unused]] const bool was =
        reservation_seq_stragglers.erase(number_key(seq), reservation);
    assert(was);
    return;
  }
  Id& slot = reservation_by_seq[static_cast<size_t>(seq - reservation_seq_base)];
  assert(slot == reservation);
  slot = kNoId;
  --reservation_by_seq_live;
  while (!reservation_by_seq.empty() && reservation_by_seq.front() == kNoId) {
    reservation_by_seq.pop_front();
    ++reservation_seq_base;
  }
  if (reservation_by_seq.size() <= 2 * reservation_by_seq_live + kSeqWindowSlack) return;
  // Sparse: the older half's live entries move to the index.
  const size_t half = reservation_by_seq.size() / 2;
  for (size_t i = 0; i < half; ++i) {
    const Id r = reservation_by_seq.front();
    reservation_by_seq.pop_front();
    ++reservation_seq_base;
    if (r == kNoId) continue;
    --reservation_by_seq_live;
    reservation_seq_stragglers.insert(number_key(reservations[r].seq), r,
                                      [this](Id x) { return number_key(reservations[x].seq); });
  }
}

void State::add_live_seats(Id user, Id schedule, int64_t n) {
  auto& live = users[user].live_seats;
  for (size_t i = 0; i < live.size(); ++i) {
    if (live[i].first != schedule) continue;
    live[i].second += n;
    assert(live[i].second >= 0);
    if (live[i].second == 0) {  // keep only non-zero counts: the list stays short
      live[i] = live.back();
      live.pop_back();
    }
    return;
  }
  assert(n > 0);
  live.emplace_back(schedule, n);
}

void State::on(const events::UserRegistered& e) {
  assert(!users.contains(e.user_id));
  users.insert(e.user_id);
}

void State::on(const events::ConcertCreated& e) {
  const Id concert = concerts.intern(e.concert_id);
  concerts[concert].title = e.title;
  for (const auto& spec : e.schedules) {
    Schedule& s = schedules[schedules.intern(spec.schedule_id)];
    s.concert = concert;
    s.starts_at = spec.starts_at;
    s.opens_at = spec.opens_at;
    s.seats.reserve(s.seats.size() + spec.seats.size());
    s.seat_index.reserve(s.seats.size() + spec.seats.size());
    for (const auto& seat : spec.seats) s.add_seat(Seat{seat.seat_id, seat.number, seat.price});
  }
}

void State::on(const events::TokenIssued& e) {
  char digest[secrets::kDigestBytes];
  const Id id = tokens.intern(token_key(e.token_hash, digest));
  const Id user = must_find_user(e.user_id);
  Token& t = tokens[id];
  t.set_seal(e.token_seal);
  t.user = user;
  t.seq = e.seq;
  t.issued_at = e.issued_at;
  t.token_id = e.token_id;
  index_token_id(id);
  index_token_seq(id);
  newest_token = id;
  users[user].live_token = id;
  waiting.push_back(id);
  next_seq = e.seq + 1;
}

void State::on(const events::TokenActivated& e) {
  const Id id = must_find_token(e.token_hash, e.seq);
  Token& t = tokens[id];
  assert(t.state == TokenState::kWaiting);
  assert(!waiting.empty() && waiting.front() == id);
  waiting.pop_front();
  t.state = TokenState::kActive;
  t.expires_at = e.expires_at;
  token_deadlines.push(e.expires_at, id);
  ++active_tokens;
  if (e.seq > admitted_seq) admitted_seq = e.seq;
}

void State::on(const events::TokenExpired& e) {
  const Id id = must_find_token(e.token_hash, e.seq);
  Token& t = tokens[id];
  assert(t.state == TokenState::kActive);  // WAITING tokens do not expire
  const bool was_pending = token_deadlines.erase(id);
  assert(was_pending);
  (void)was_pending;
  --active_tokens;
  t.state = TokenState::kExpired;
  t.expires_at = e.expired_at;
  User& u = users[t.user];
  if (u.live_token == id) u.live_token = kNoId;
  expired_tokens.emplace_back(e.expired_at, id);
}

void State::set_holder(const Reservation& r, Id holder) {
  Schedule& s = schedules[r.schedule];
  for (Id i : seats_of(r)) {
    Seat& seat = s.seats[i];
    assert((holder == kNoId) != (seat.holder == kNoId));  // at most one live holder
    seat.holder = holder;
  }
}

void State::on(const events::SeatsHeld& e) {
  const Id sched = schedules.find(e.schedule_id);
  assert(sched != kNoId);
  const Id id = reservations.insert(e.reservation_id);
  assert(id < kRetiredHolder);
  Reservation& r = reservations[id];
  r.user = must_find_user(e.user_id);
  r.schedule = sched;
  r.seats_at = reservation_seats.size();
  r.seat_count = static_cast<uint32_t>(e.seats.size());
  const Schedule& s = schedules[sched];
  for (const auto& ref : e.seats) {
    const Id seat = s.find_seat(ref.seat_id);
    assert(seat != kNoId);
    reservation_seats.push_back(seat);
  }
  r.total_price = e.total_price;
  r.created_at = e.created_at;
  r.expires_at = e.expires_at;
  // A version-1 event carries no number (0): counting gives the one decide
  // would have written, so old and new logs number alike.
  r.seq = e.seq != 0 ? e.seq : next_reservation_seq();
  assert(r.seq == next_reservation_seq());
  reservations_made = r.seq;
  index_reservation_seq(id);
  users[r.user].reservations.push_back(id);
  set_holder(r, id);
  hold_deadlines.push(e.expires_at, id);
  add_live_seats(r.user, sched, r.seat_count);
}

void State::release(const events::HoldReleased& e, ReservationState to) {
  const Id id = must_find_reservation(e.reservation_id);
  Reservation& r = reservations[id];
  assert(r.state == ReservationState::kPendingPayment);
  assert(e.seats.size() == r.seat_count);
  hold_deadlines.erase(id);
  set_holder(r, kNoId);
  r.state = to;
  add_live_seats(r.user, r.schedule, -static_cast<int64_t>(r.seat_count));
  finished_reservations.emplace_back(e.released_at, id);
}

void State::on(const events::HoldExpired& e) {
  release(e, ReservationState::kExpired);
}

void State::on(const events::ReservationCancelled& e) {
  release(e, ReservationState::kCancelled);
}

void State::on(const events::PaymentCompleted& e) {
  const Id id = must_find_reservation(e.reservation_id);
  Reservation& r = reservations[id];
  assert(r.state == ReservationState::kPendingPayment);
  hold_deadlines.erase(id);
  r.state = ReservationState::kConfirmed;
  r.paid_at = e.paid_at;
  r.payment_seq = e.seq != 0 ? e.seq : next_payment_seq();  // version 1: by counting
  assert(r.payment_seq == next_payment_seq());
  payments_made = r.payment_seq;
  assert(e.reservation_seq == 0 || e.reservation_seq == r.seq);
  r.payment = payment_ids.add(e.payment_id);
  User& u = users[r.user];
  assert(e.balance_after == u.balance - e.amount && e.balance_after >= 0);
  u.balance = e.balance_after;
  if (!sold_schedules.contains(r.schedule)) {
    sold_schedules.push(schedules[r.schedule].starts_at, r.schedule);
  }
}

void State::on(const events::ReservationRefunded& e) {
  const Id id = must_find_reservation(e.reservation_id);
  Reservation& r = reservations[id];
  assert(r.state == ReservationState::kConfirmed);
  assert(e.seats.size() == r.seat_count);
  set_holder(r, kNoId);
  r.state = ReservationState::kRefunded;
  User& u = users[r.user];
  assert(e.balance_after == u.balance + e.amount && e.balance_after <= kBalanceMax);
  u.balance = e.balance_after;
  add_live_seats(r.user, r.schedule, -static_cast<int64_t>(r.seat_count));
  finished_reservations.emplace_back(e.refunded_at, id);
}

void State::on(const events::BalanceCharged& e) {
  User& u = users[must_find_user(e.user_id)];
  assert(e.balance_after == u.balance + e.amount && e.balance_after <= kBalanceMax);
  u.balance = e.balance_after;
}

void State::on(const events::LimitsConfigured& e) {
  recorded_limits = {e.hold_ttl_ms, e.token_ttl_ms, e.active_tokens_max, e.seats_per_user_max};
}

// --- Retention (state.h) ---------------------------------------------------------------------

// A record is kept while now - finished <= kFinishedRetentionMs, as
// IdempotencyTable keeps its answers. Each queue is in the order records
// finished, which event times follow (the writer's clock never goes back).
void State::retire(int64_t now) {
  const int64_t before = now - kFinishedRetentionMs;  // finished before this: evicted
  while (!expired_tokens.empty() && expired_tokens.front().first < before) {
    evict_token(expired_tokens.front().second);
    expired_tokens.pop_front();
  }
  while (!finished_reservations.empty() && finished_reservations.front().first < before) {
    evict_reservation(finished_reservations.front().second);
    finished_reservations.pop_front();
  }
  while (!sold_schedules.empty() && sold_schedules.top().first < before) {
    const Id schedule = sold_schedules.top().second;
    sold_schedules.erase(schedule);
    evict_sold(schedule);
  }
}

void State::evict_token(Id id) {
  const Token& t = tokens[id];
  assert(t.state == TokenState::kExpired);
  assert(users[t.user].live_token != id && !token_deadlines.contains(id));
  // Its clear form goes with the record; a RecentTokens slot that still
  // names the Id is confirmed against the record before it is believed.
  if (t.token_id != 0 && find_token_id(t.token_id) == id) {
    token_id_index.erase(number_key(t.token_id), id);
  }
  if (token_of_seq(t.seq) == id) {
    token_by_seq[static_cast<size_t>(t.seq - token_seq_base)] = kNoId;
    while (!token_by_seq.empty() && token_by_seq.front() == kNoId) {
      token_by_seq.pop_front();
      ++token_seq_base;
    }
  }
  tokens.erase(id);
}

// The schedule started kFinishedRetentionMs ago: no hold, payment or refund
// can touch its CONFIRMED reservations any more (SCHEDULE_CLOSED), so they
// go; their seats stay sold (kRetiredHolder). A hold still pending (a
// --hold-ttl longer than the retention) goes once it is released.
void State::evict_sold(Id schedule) {
  const std::vector<Seat>& seats = schedules[schedule].seats;
  for (const Seat& seat : seats) {
    const Id holder = seat.holder;
    if (holder == kNoId || holder == kRetiredHolder) continue;
    if (reservations[holder].state == ReservationState::kConfirmed) evict_reservation(holder);
  }
}

void State::evict_reservation(Id id) {
  const Reservation& r = reservations[id];
  if (r.state == ReservationState::kConfirmed) {
    Schedule& s = schedules[r.schedule];
    for (Id i : seats_of(r)) {
      assert(s.seats[i].holder == id);
      s.seats[i].holder = kRetiredHolder;
    }
    add_live_seats(r.user, r.schedule, -static_cast<int64_t>(r.seat_count));
  } else {
    assert(r.state != ReservationState::kPendingPayment && !hold_deadlines.contains(id));
  }
  if (r.payment != kNoId) payment_ids.erase(r.payment);
  dead_seats += r.seat_count;
  unindex_reservation_seq(id);
  std::vector<Id>& mine = users[r.user].reservations;
  const auto it = std::find(mine.begin(), mine.end(), id);  // the oldest, mostly: near the front
  assert(it != mine.end());
  mine.erase(it);
  reservations.erase(id);
  // Compacting walks every id: only once the dead entries pay for it.
  if (dead_seats >= kCompactSeatsMin && dead_seats > reservation_seats.size() - dead_seats &&
      dead_seats >= reservations.id_end() / 2) {
    compact_seats();
  }
}

void State::compact_seats() {
  std::vector<Id> kept;
  kept.reserve(2 * (reservation_seats.size() - dead_seats) + kCompactSeatsMin);
  for (Id id = 0; id < reservations.id_end(); ++id) {
    if (!reservations.live(id)) continue;
    Reservation& r = reservations[id];
    const auto seats = seats_of(r);
    r.seats_at = kept.size();
    kept.insert(kept.end(), seats.begin(), seats.end());
  }
  reservation_seats = std::move(kept);
  dead_seats = 0;
}

// --- Restore (snapshot.h) --------------------------------------------------------------------

namespace {

// Ids of a table's records ordered by a number each holds (their seq).
template <class T>
std::vector<std::pair<int64_t, Id>> by_seq(const IdTable<T>& table) {
  std::vector<std::pair<int64_t, Id>> out;
  out.reserve(table.size());
  for (Id id = 0; id < table.id_end(); ++id) {
    if (table.live(id)) out.emplace_back(table[id].seq, id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

bool State::derive_indexes() {
  for (Id id = 0; id < schedules.id_end(); ++id) {
    for (const Seat& seat : schedules[id].seats) {
      const Id h = seat.holder;
      if (h != kNoId && h != kRetiredHolder && !reservations.live(h)) return false;
    }
  }
  // Reservations in order of creation (their numbers, unique and at most
  // the newest's), as apply met them: users' lists oldest first.
  // The window by number starts where apply's would (at the oldest held) or,
  // when that would be sparse, later: the older ones go to the index.
  const auto ordered = by_seq(reservations);
  const int64_t window = static_cast<int64_t>(2 * ordered.size() + kSeqWindowSlack);
  reservation_seq_base = reservations_made + 1;
  if (!ordered.empty()) {
    reservation_seq_base = std::max(ordered.front().first, reservation_seq_base - window);
  }
  int64_t last = 0;
  for (const auto& [seq, id] : ordered) {
    const Reservation& r = reservations[id];
    if (seq <= last || seq > reservations_made) return false;
    last = seq;
    if (seq < reservation_seq_base) {
      reservation_seq_stragglers.insert(number_key(seq), id,
                                        [this](Id x) { return number_key(reservations[x].seq); });
    } else {
      reservation_by_seq.resize(static_cast<size_t>(seq - reservation_seq_base), kNoId);
      reservation_by_seq.push_back(id);
      ++reservation_by_seq_live;
    }
    users[r.user].reservations.push_back(id);
    if (r.state == ReservationState::kPendingPayment) hold_deadlines.push(r.expires_at, id);
    const bool sold = r.state == ReservationState::kConfirmed;
    if (sold && !sold_schedules.contains(r.schedule)) {
      sold_schedules.push(schedules[r.schedule].starts_at, r.schedule);
    }
  }
  reservation_by_seq.resize(static_cast<size_t>(reservations_made + 1 - reservation_seq_base),
                            kNoId);
  while (!reservation_by_seq.empty() && reservation_by_seq.front() == kNoId) {
    reservation_by_seq.pop_front();
    ++reservation_seq_base;
  }
  // Tokens in issue order: the first of a tokenId clash wins, as in apply.
  const auto tokens_by_seq = by_seq(tokens);
  for (const auto& [seq, id] : tokens_by_seq) {
    if (tokens[id].state == TokenState::kActive) token_deadlines.push(tokens[id].expires_at, id);
    index_token_id(id);
  }
  // The window of hints, unless the numbers are too sparse for one.
  token_seq_base = next_seq;
  if (!tokens_by_seq.empty() && next_seq - tokens_by_seq.front().first <=
                                    2 * static_cast<int64_t>(tokens_by_seq.size()) + 1024) {
    token_seq_base = tokens_by_seq.front().first;
    token_by_seq.assign(static_cast<size_t>(next_seq - token_seq_base), kNoId);
    for (const auto& [seq, id] : tokens_by_seq) {
      if (seq >= next_seq) return false;
      token_by_seq[static_cast<size_t>(seq - token_seq_base)] = id;
    }
  }
  return true;
}

}  // namespace reservoir::concert
