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
//   add<E>() hands out a cleared E in place (every string and vector empty
//   but keeping its capacity, every number zero) for decide to fill.
// - Spares: the same for replies, which decide returns by value: take<T>()
//   a cleared reply, give() it back once rendered.
//
// What decide writes never depends on what a spare held before: it is
// cleared first. Each keeps at most kSparesPerType of a type, so the memory
// held is bounded whatever the workload.
//
// Thread safety: none; one per single writer (or bench/tool thread).
#pragma once

#include <array>
#include <cstddef>
#include <iterator>
#include <memory>
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

// Empties a value, keeping the capacity of its strings and vectors.
struct Clear {
  template <class V>
  void operator()(const char*, V& v) const {
    clear(v);
  }
  template <class V>
  static void clear(V& v) {
    if constexpr (std::is_same_v<V, std::string> || IsVector<V>::value) {
      v.clear();
    } else if constexpr (std::is_arithmetic_v<V> || std::is_enum_v<V>) {
      v = V{};
    } else {
      V::fields(v, Clear{});  // an event (codec field list)
    }
  }
};

inline void clear(TokenReply& r) {
  r.token.clear();
  r.state = TokenState::kWaiting;
  r.position = r.estimated_wait_seconds = r.expires_at = 0;
}
inline void clear(ReservationReply& r) {
  r.reservation_id.clear();
  r.user_id.clear();
  r.schedule_id.clear();
  r.seats.clear();
  r.state = ReservationState::kPendingPayment;
  r.total_price = r.created_at = r.expires_at = r.paid_at = 0;
}
inline void clear(PaymentReply& r) {
  r.payment_id.clear();
  r.reservation_id.clear();
  r.amount = r.paid_at = r.balance = 0;
}
inline void clear(BalanceReply& r) {
  r.user_id.clear();
  r.balance = 0;
}
template <class E>
void clear(E& e) {
  Clear::clear(e);
}

}  // namespace spares_detail

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
      spares_detail::clear(std::get<E>(*node));
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
    spares_detail::clear(t);
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
