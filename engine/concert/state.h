// State of the concert domain and apply(): the pure fold of events into
// state. apply holds no business logic: it records what an event says and
// keeps the indexes decide needs (deadline heaps, per-user seat counts). It
// asserts what must already be true, since decide checked it.
//
// Layout: every record kind (users, concerts, schedules, reservations,
// tokens) is an IdTable that interns its string id to a dense uint32 Id in
// order of creation; records refer to each other by Id, never by string.
// So after one lookup of a command's string id, decide and apply follow
// 4-byte ids through vectors: no string hashing, copying or allocation per
// reference. Events, commands and replies keep their string ids (the log
// and the wire are unchanged); Ids never leave the process except inside
// snapshots, which store them in creation order (snapshot.h).
//
// Tokens are keyed by the raw SHA-256 of the token (events/secrets.h), the
// name the log gives them, and keep their seal, which decide opens with the
// engine's key when it must answer with the token itself; nothing that
// snapshots encode holds a token in clear. Only Token::clear, a cache in
// memory that RecentTokens indexes, does (docs/SECURITY.md).
//
// Thread safety: none; owned by the single writer (or a replaying tool).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/concert/replies.h"
#include "engine/deadline_heap.h"
#include "engine/id_table.h"
#include "events/concert_events.h"

namespace reservoir::concert {

// Business limits; durations in milliseconds.
struct Limits {
  int64_t hold_ttl_ms = 5 * 60 * 1000;
  int64_t token_ttl_ms = 10 * 60 * 1000;
  int64_t active_tokens_max = 1000;
  int64_t seats_per_user_max = 4;  // per schedule, pending + confirmed
  bool operator==(const Limits&) const = default;
};

inline constexpr int64_t kBalanceMax = 1'000'000'000'000;  // KRW, SPEC invariant 2
inline constexpr int64_t kChargeMax = 1'000'000'000;       // KRW per charge
inline constexpr size_t kHoldSeatsMax = 64;                // hard cap whatever --max-seats says

struct Seat {
  std::string seat_id;
  int64_t number = 0;
  int64_t price = 0;
  Id holder = kNoId;  // reservation while PENDING_PAYMENT or CONFIRMED, else kNoId
};

struct Schedule {
  Id concert = kNoId;
  int64_t starts_at = 0;
  int64_t opens_at = 0;  // reservationOpensAt: holds are refused before it
  std::vector<Seat> seats;
  FlatIndex seat_index;  // seat id -> index in seats

  // Index in `seats` of the seat with that id, or kNoId.
  Id find_seat(std::string_view seat_id) const {
    return seat_index.find(seat_id, [this](Id i) { return std::string_view(seats[i].seat_id); });
  }
  void add_seat(Seat seat) {
    const auto id = static_cast<Id>(seats.size());
    seats.push_back(std::move(seat));
    seat_index.insert(seats.back().seat_id, id,
                      [this](Id i) { return std::string_view(seats[i].seat_id); });
  }
};

struct Reservation {
  Id user = kNoId;
  Id schedule = kNoId;
  uint32_t seat_count = 0;
  uint32_t payment = kNoId;  // index in State::payment_ids once paid
  uint64_t seats_at = 0;     // its seats: State::reservation_seats[seats_at, + seat_count)
  int64_t total_price = 0;
  int64_t created_at = 0;
  int64_t expires_at = 0;
  int64_t paid_at = 0;
  int64_t seq = 0;          // sequence number, 1, 2, 3, ... in log order (SPEC §5.1)
  int64_t payment_seq = 0;  // its payment's sequence number once paid, else 0
  ReservationState state = ReservationState::kPendingPayment;
};

struct Token {
  Id user = kNoId;
  TokenState state = TokenState::kWaiting;
  int64_t seq = 0;         // issue number
  int64_t expires_at = 0;  // 0 while WAITING; when it expires (ACTIVE) or expired (EXPIRED)
  int64_t issued_at = 0;
  int64_t token_id = 0;  // the numeric name (SPEC §5.1); 0 only in hand-built test events
  // tokenSeal (events/secrets.h): its first seal_len hex digits; none when
  // 0 (a token no writer could seal).
  std::array<char, secrets::kSealChars> seal{};
  uint8_t seal_len = 0;
  std::string_view seal_text() const { return {seal.data(), seal_len}; }
  void set_seal(std::string_view text) {
    if (text.size() > seal.size()) return;  // not a seal: none
    std::copy(text.begin(), text.end(), seal.begin());
    seal_len = static_cast<uint8_t>(text.size());
  }
  // The token in clear, once this process issued it or had it presented
  // (State::remember_token): memory only, never in snapshots. Mutable: a
  // cache that a lookup may fill.
  mutable char clear[secrets::kTokenBytes] = {};
  mutable bool has_clear = false;
};

struct User {
  int64_t balance = 0;
  Id live_token = kNoId;  // WAITING or ACTIVE token, kNoId if none
  // (schedule, pending + confirmed seats) for every schedule where that is
  // not zero; a handful at most (a user holds few schedules at once).
  std::vector<std::pair<Id, int64_t>> live_seats;
  // Every reservation of the user, oldest first, for concert-events
  // `reserve` (the newest one holding a seat). Memory per reservation: 4
  // bytes here (8 at worst while the vector has grown and not filled), on
  // top of the Reservation record (80 bytes) and its seats (4 bytes each).
  std::vector<Id> reservations;
};

struct Concert {
  std::string title;
};

// In memory only: the Ids of the tokens this process issued or was shown
// most recently, by their clear form. The writer issues a token and gets it
// presented back a few commands later; finding it here costs one slot of a
// table that stays in the CPU's caches (256 KiB), where a SHA-256 (about
// 70 ns) and a probe of the index of every token ever issued (a cache and
// TLB miss, about 200 ns on this VM) would be paid otherwise. A slot holds
// the last token whose bytes picked it (the token's random bytes pick it:
// no hash-flooding vector) and is only a hint: the caller confirms the
// token against Token::clear. A token whose slot was taken since is simply
// not found here, and find_token takes the SHA-256 way. A copy starts
// empty.
class RecentTokens {
 public:
  static constexpr size_t kSlots = size_t{1} << 16;

  RecentTokens() = default;
  RecentTokens(const RecentTokens&) {}
  RecentTokens& operator=(const RecentTokens&) {
    slots_.reset();
    return *this;
  }
  RecentTokens(RecentTokens&&) noexcept = default;
  RecentTokens& operator=(RecentTokens&&) noexcept = default;

  // The Id last put for a token whose bytes pick the same slot, or kNoId.
  Id hint(const char (&token)[secrets::kTokenBytes]) const {
    return slots_ ? slots_[slot_of(token)] : kNoId;
  }
  void put(const char (&token)[secrets::kTokenBytes], Id id) {
    if (!slots_) {
      slots_ = std::make_unique<Id[]>(kSlots);
      std::fill(slots_.get(), slots_.get() + kSlots, kNoId);
    }
    slots_[slot_of(token)] = id;
  }

 private:
  static size_t slot_of(const char (&token)[secrets::kTokenBytes]) { return load4(token) % kSlots; }

  std::unique_ptr<Id[]> slots_;  // kSlots, made on the first put
};

class State {
 public:
  void apply(const events::ConcertEvent& event);

  IdTable<User> users;
  IdTable<Concert> concerts;
  IdTable<Schedule> schedules;
  IdTable<Reservation> reservations;
  IdTable<Token> tokens;              // by token digest (secrets::token_digest)
  std::deque<Id> waiting;             // WAITING tokens in seq order
  DeadlineHeap hold_deadlines;        // PENDING_PAYMENT reservations by expires_at
  DeadlineHeap token_deadlines;       // ACTIVE tokens by expires_at
  std::vector<Id> reservation_seats;  // seat indexes (in their schedule) of every reservation
  StringList payment_ids;
  std::vector<Id> reservation_by_seq;  // [seq - 1] -> reservation
  FlatIndex token_id_index;            // tokenId -> token (keys: Token::token_id's bytes)
  int64_t active_tokens = 0;
  int64_t next_seq = 1;
  int64_t admitted_seq = 0;            // highest seq ever ACTIVE
  Limits recorded_limits{0, 0, 0, 0};  // as the last LimitsConfigured said

  // Seat indexes (in its schedule) of a reservation's seats.
  std::span<const Id> seats_of(const Reservation& r) const {
    return {reservation_seats.data() + r.seats_at, r.seat_count};
  }
  // A reservation's seats as events and replies name them.
  std::vector<events::SeatRef> seat_refs(const Reservation& r) const;
  std::string_view payment_id(const Reservation& r) const {
    return r.payment == kNoId ? std::string_view() : payment_ids[r.payment];
  }
  std::string_view token_user(Id token) const { return users.key(tokens[token].user); }
  // The token presented in clear (a command's), or kNoId: among the tokens
  // remembered in clear, else by its SHA-256.
  Id find_token(std::string_view token) const;
  // Remembers `clear`, the token this process just issued as `token` (the
  // writer does once it has applied the issue: apply_decided), so that
  // find_token finds it without a SHA-256 and clear_token gives it back
  // without opening its seal (docs/SECURITY.md: memory only).
  void remember_token(Id token, std::string_view clear) const;
  // The token in clear into `out`, if remembered; false otherwise (then its
  // seal holds it).
  bool clear_token(Id token, std::string& out) const;
  // Starts loading the index slot a new token's digest goes into once
  // applied: a cache miss in a large state, which decide overlaps with
  // other work.
  [[gnu::always_inline]] void prefetch_new_token(std::string_view digest) const {
    tokens.prefetch(digest);
  }
  // The token an event names by tokenHash, or kNoId.
  Id find_token_hash(std::string_view hash) const;
  // tokenHash of a token, as events name it.
  std::string token_hash(Id token) const { return secrets::hex_of(tokens.key(token)); }
  // The token with that tokenId, or kNoId (0 names none).
  Id find_token_id(int64_t token_id) const;
  // The reservation with that sequence number, or kNoId.
  Id find_reservation_seq(int64_t seq) const {
    if (seq < 1 || static_cast<uint64_t>(seq) > reservation_by_seq.size()) return kNoId;
    return reservation_by_seq[static_cast<size_t>(seq - 1)];
  }
  // The numbers the next reservation, payment and token get (SPEC §5.1).
  int64_t next_reservation_seq() const {
    return static_cast<int64_t>(reservation_by_seq.size()) + 1;
  }
  int64_t next_payment_seq() const { return static_cast<int64_t>(payment_ids.size()) + 1; }
  // Indexes `token` under its token_id (kept: the first token that had it).
  void index_token_id(Id token);
  // Seats pending or confirmed for `user` in `schedule`.
  int64_t live_seats(Id user, Id schedule) const;

 private:
  void on(const events::UserRegistered& e);
  void on(const events::ConcertCreated& e);
  void on(const events::TokenIssued& e);
  void on(const events::TokenActivated& e);
  void on(const events::TokenExpired& e);
  void on(const events::SeatsHeld& e);
  void on(const events::HoldExpired& e);
  void on(const events::ReservationCancelled& e);
  void on(const events::PaymentCompleted& e);
  void on(const events::ReservationRefunded& e);
  void on(const events::BalanceCharged& e);
  void on(const events::LimitsConfigured& e);
  void release(const events::HoldReleased& e, ReservationState to);
  void set_holder(const Reservation& r, Id holder);
  void add_live_seats(Id user, Id schedule, int64_t n);
  Id must_find_user(std::string_view id) const;
  Id must_find_reservation(std::string_view id) const;
  Id must_find_token(std::string_view hash, int64_t seq) const;
  // A cache, so a const lookup may fill it (the state has one thread).
  mutable RecentTokens recent_tokens_;
};

}  // namespace reservoir::concert
