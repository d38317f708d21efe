// Recycled storage for what decide builds per command, so that deciding a
// command allocates (and frees) nothing in steady state.
//
// Events and replies carry string ids (a token or reservation id is 36
// characters, past std::string's inline capacity): built fresh, each would
// cost a heap allocation and a free per command, which was a third of the
// core's instructions (callgrind, core bench).
//
// - EventList: the events decided for one command, in order. Each event
//   lives in a node of its own that clear() keeps as a spare of its type;
//   add<E>() hands out a recycled E in place for decide to fill.
// - Spares: the same for replies, which decide returns by value: take<T>()
//   a recycled reply, give() it back once rendered.
//
// A recycled value comes back with its numbers and states zeroed and its
// strings and vectors as they were: decide overwrites every string and
// vector of what it emits, through set() / set_seats(), which copy an id in
// place when it has the length of the one it replaces (the common case).
// So what decide writes never depends on what a spare held before (tested:
// decide with spares == decide without). Each keeps at most kSparesPerType
// of a type, so the memory held is bounded whatever the workload.
//
// Thread safety: none; one per single writer (or bench/tool thread).
#pragma once

#include <array>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "engine/concert/replies.h"
#include "events/concert_events.h"

namespace reservoir::concert {

namespace spares_detail {

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

// Readies a recycled value for reuse: numbers, flags and states go to zero;
// strings and vectors keep their content, because decide overwrites every
// one it emits (set(), set_seats() below). Keeping them lets an id be
// overwritten in place when it has the same length as the last one.
struct Reset {
  template <class V>
  void operator()(const char*, V& v, uint32_t = 1, uint32_t = codec::kLive) const {
    reset(v);
  }
  template <class V>
  static void reset(V& v) {
    if constexpr (std::is_same_v<V, std::string> || IsVector<V>::value) {
      // overwritten by decide
    } else if constexpr (std::is_arithmetic_v<V> || std::is_enum_v<V>) {
      v = V{};
    } else {
      V::fields(v, Reset{});  // an event (codec field list)
    }
  }
};

inline void reset(TokenReply& r) {
  r.state = TokenState::kWaiting;
  r.position = r.estimated_wait_seconds = r.expires_at = 0;
  r.token_id = r.seq = r.issued_at = 0;
}
inline void reset(ReservationReply& r) {
  r.state = ReservationState::kPendingPayment;
  r.total_price = r.created_at = r.expires_at = r.paid_at = 0;
  r.seq = r.starts_at = 0;
}
inline void reset(PaymentReply& r) {
  r.amount = r.paid_at = r.balance = 0;
  r.seq = r.reservation_seq = 0;
}
inline void reset(BalanceReply& r) {
  r.balance = 0;
}
template <class E>
void reset(E& e) {
  Reset::reset(e);
}

inline void copy_bytes(char* d, const char* p, size_t n) {
  if (n >= 16) {
    for (size_t i = 0; i + 16 < n; i += 16) std::memcpy(d + i, p + i, 16);
    std::memcpy(d + n - 16, p + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(d, p, 8);
    std::memcpy(d + n - 8, p + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(d, p, 4);
    std::memcpy(d + n - 4, p + n - 4, 4);
  } else {
    for (size_t i = 0; i < n; ++i) d[i] = p[i];
  }
}

}  // namespace spares_detail

// Overwrites `dst` with `src` (which must not overlap it). Ids of one kind
// have one length, so a recycled string usually has the new id's length:
// then the bytes are copied inline in place, else std::string::assign.
inline void set(std::string& dst, std::string_view src) {
  if (dst.size() == src.size()) {
    spares_detail::copy_bytes(dst.data(), src.data(), src.size());
  } else {
    dst.assign(src);
  }
}

inline void set_seats(std::vector<events::SeatRef>& dst, const std::vector<events::SeatRef>& src) {
  dst.resize(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    set(dst[i].seat_id, src[i].seat_id);
    dst[i].number = src[i].number;
    dst[i].price = src[i].price;
  }
}

inline constexpr size_t kSparesPerType = 16;

class EventList {
 public:
  using Event = events::ConcertEvent;

  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Event;
    using difference_type = std::ptrdiff_t;
    using pointer = const Event*;
    using reference = const Event&;
    explicit Iterator(std::vector<std::unique_ptr<Event>>::const_iterator it) : it_(it) {}
    const Event& operator*() const { return **it_; }
    const Event* operator->() const { return it_->get(); }
    Iterator& operator++() {
      ++it_;
      return *this;
    }
    bool operator==(const Iterator&) const = default;

   private:
    std::vector<std::unique_ptr<Event>>::const_iterator it_;
  };

  EventList() = default;
  EventList(const EventList& o) { *this = o; }
  EventList& operator=(const EventList& o) {
    if (this == &o) return *this;
    clear();
    for (const Event& e : o) push_back(e);
    return *this;
  }
  EventList(EventList&&) noexcept = default;
  EventList& operator=(EventList&&) noexcept = default;

  // Appends a cleared E and returns it, to fill in place. The reference
  // stays valid until clear().
  template <class E>
  E& add() {
    auto& spares = spares_[kIndex<E>];
    std::unique_ptr<Event> node;
    if (spares.empty()) {
      node = std::make_unique<Event>(std::in_place_type<E>);
    } else {
      node = std::move(spares.back());
      spares.pop_back();
      spares_detail::reset(std::get<E>(*node));
    }
    items_.push_back(std::move(node));
    return std::get<E>(*items_.back());
  }

  void push_back(const Event& e) {
    std::visit([this](const auto& x) { add<std::decay_t<decltype(x)>>() = x; }, e);
  }
  void push_back(Event&& e) {
    std::visit([this](auto& x) { add<std::decay_t<decltype(x)>>() = std::move(x); }, e);
  }

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const Event& operator[](size_t i) const { return *items_[i]; }
  const Event& back() const { return *items_.back(); }
  Iterator begin() const { return Iterator(items_.begin()); }
  Iterator end() const { return Iterator(items_.end()); }

  // Empties the list; the events' storage is kept for later add()s.
  void clear() {
    for (auto& node : items_) {
      auto& spares = spares_[node->index()];
      if (spares.size() < kSparesPerType) spares.push_back(std::move(node));
    }
    items_.clear();
  }

 private:
  template <class E, size_t I = 0>
  static constexpr size_t index_of() {
    if constexpr (std::is_same_v<std::variant_alternative_t<I, Event>, E>) {
      return I;
    } else {
      return index_of<E, I + 1>();
    }
  }
  template <class E>
  static constexpr size_t kIndex = index_of<E>();

  std::vector<std::unique_ptr<Event>> items_;
  std::array<std::vector<std::unique_ptr<Event>>, std::variant_size_v<Event>> spares_;
};

class Spares {
 public:
  // A cleared reply: recycled storage when there is some.
  template <class T>
  T take() {
    auto& pool = std::get<std::vector<T>>(replies_);
    if (pool.empty()) return T{};
    T t = std::move(pool.back());
    pool.pop_back();
    spares_detail::reset(t);
    return t;
  }

  // Keeps a reply's storage for a later take().
  void give(Reply&& reply) {
    std::visit(
        [this](auto& r) {
          using R = std::decay_t<decltype(r)>;
          if constexpr (kRecycled<R>) {
            auto& pool = std::get<std::vector<R>>(replies_);
            if (pool.size() < kSparesPerType) pool.push_back(std::move(r));
          }
        },
        reply);
  }

 private:
  template <class R>
  static constexpr bool kRecycled =
      std::is_same_v<R, TokenReply> || std::is_same_v<R, ReservationReply> ||
      std::is_same_v<R, PaymentReply> || std::is_same_v<R, BalanceReply>;

  std::tuple<std::vector<TokenReply>, std::vector<ReservationReply>, std::vector<PaymentReply>,
             std::vector<BalanceReply>>
      replies_;
};

}  // namespace reservoir::concert
