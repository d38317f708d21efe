#include "engine/concert/state.h"

#include <cassert>

namespace reservoir::concert {
namespace {

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
  std::visit([this](const auto& e) { on(e); }, event);
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
  // Tokens are interned in issue order, so seq - 1 is the Id unless a log
  // skipped numbers: the entry's key says whether the hint came true.
  char digest[secrets::kDigestBytes];
  const std::string_view key = token_key(hash, digest);
  const uint64_t hint = static_cast<uint64_t>(seq - 1);
  if (seq >= 1 && hint < tokens.size() && equal_keys(tokens.key(static_cast<Id>(hint)), key)) {
    return static_cast<Id>(hint);
  }
  const Id t = tokens.find(key);
  assert(t != kNoId);
  return t;
}

Id State::find_token(std::string_view token) const {
  if (token.empty()) return kNoId;
  char bytes[secrets::kTokenBytes];
  const bool uuid = secrets::token_bytes(token, bytes);
  if (uuid) {
    const Id t = recent_tokens_.hint(bytes);
    if (t < tokens.size() && tokens[t].has_clear && same_token(tokens[t].clear, bytes)) return t;
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

namespace {

// A tokenId as the key of State::token_id_index: its 8 bytes, where the
// token record holds them, so the index stores no key of its own.
std::string_view token_id_key(const int64_t& token_id) {
  return {reinterpret_cast<const char*>(&token_id), sizeof token_id};
}

}  // namespace

Id State::find_token_id(int64_t token_id) const {
  if (token_id == 0) return kNoId;
  return token_id_index.find(token_id_key(token_id),
                             [this](Id t) { return token_id_key(tokens[t].token_id); });
}

void State::index_token_id(Id token) {
  const int64_t& token_id = tokens[token].token_id;
  if (token_id == 0) return;
  // decide never issues a tokenId twice; keeping the first on a clash
  // (only a forged or hand-built log has one) keeps lookups well defined.
  token_id_index.find_or_insert(token_id_key(token_id), token,
                                [this](Id t) { return token_id_key(tokens[t].token_id); });
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
  reservation_by_seq.push_back(id);
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
  assert(e.reservation_seq == 0 || e.reservation_seq == r.seq);
  r.payment = payment_ids.add(e.payment_id);
  User& u = users[r.user];
  assert(e.balance_after == u.balance - e.amount && e.balance_after >= 0);
  u.balance = e.balance_after;
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
}

void State::on(const events::BalanceCharged& e) {
  User& u = users[must_find_user(e.user_id)];
  assert(e.balance_after == u.balance + e.amount && e.balance_after <= kBalanceMax);
  u.balance = e.balance_after;
}

void State::on(const events::LimitsConfigured& e) {
  recorded_limits = {e.hold_ttl_ms, e.token_ttl_ms, e.active_tokens_max, e.seats_per_user_max};
}

}  // namespace reservoir::concert
