// Dense ids for string keys, for the engine's in-memory state.
//
// - hash_id(key): a fast 64-bit hash of a short string (ids are 1-64 bytes).
// - FlatIndex: an open-addressing (linear probing) index from string keys to
//   dense uint32 ids. It stores no keys: callers pass `key_of(id)` to compare,
//   so the keys may live anywhere (an arena, a vector of seats) and may move.
//   Each slot holds the id and 32 bits of the key's hash, so a probe compares
//   keys only when those bits match, and growing never rehashes a key.
//   erase() shifts the slots after a hole back (no tombstones), so probes
//   stay as short after deletions as after inserts alone.
// - IdTable<T>: interns string ids as dense uint32 ids and keeps one T per
//   id. Keys are copied once into their entry (stable addresses), so state
//   can refer to another record by a 4-byte id instead of a string.
// - StringSlots: short strings in numbered slots that are reused once freed
//   (a reservation's payment id, which goes when the reservation goes).
// - locating_id(key): the Id a self-locating key carries (below), or kNoId.
//
// Ids and their reuse. An IdTable hands out ids 0, 1, 2, ... in insertion
// order; erase(id) drops a record and puts its id on a free list, and the
// next insert takes the most recently freed id (LIFO: its entry is the one
// most likely still in cache) before any new one. So the ids a sequence of
// inserts and erases gives depend on that sequence alone: replay and
// snapshot restore rely on it, and a snapshot stores the free list in order
// (free_ids(), restore_free_ids()) beside the records, holes included.
// Memory follows the peak number of live records: entries and index slots
// are reused, never returned.
//
// Self-locating keys. The ids the engine makes itself (reservations:
// engine/uuid.h new_locating_uuid) carry the Id they will get, next_id()
// (the free list's next id, or a new one), so IdTable finds them by reading
// that entry and comparing keys, without the index: a lookup of a cold id
// costs one cache miss instead of two (slot, then entry), an insert touches
// no random slot, and such keys take no index memory. The index holds only
// the other keys (client ids, ids from logs written before this layout, a
// key whose Id did not come true); lookups that miss the entry fall back to
// it, so any key is found either way. A key whose Id was erased and reused
// names an entry that now holds another key: the compare fails and the key
// is absent, as it should be. A key is in the index exactly when the Id it
// names (if any) is not its own, which is how erase() knows to unindex it.
//
// Thread safety: none; owned by one thread (the writer or a replaying tool).
#pragma once

#include <array>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reservoir {

using Id = uint32_t;
inline constexpr Id kNoId = UINT32_MAX;

inline uint64_t hash_mix(uint64_t a, uint64_t b) {
  const __uint128_t m = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(m) ^ static_cast<uint64_t>(m >> 64);
}

inline uint64_t load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint32_t load4(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Fixed-size (overlapping) loads only: a variable-length memcpy would be a
// library call per key.
inline uint64_t hash_id(std::string_view key) {
  constexpr uint64_t kSeed = 0x9e3779b97f4a7c15ULL;
  constexpr uint64_t kMul = 0xbf58476d1ce4e5b9ULL;
  const char* p = key.data();
  const size_t n = key.size();
  uint64_t h = kSeed ^ (n * kMul);
  uint64_t a = 0, b = 0;
  if (n > 16) {
    size_t i = 0;
    for (; i + 16 < n; i += 16) h = hash_mix(load8(p + i) ^ h, load8(p + i + 8) ^ kMul);
    a = load8(p + n - 16);
    b = load8(p + n - 8);
  } else if (n >= 8) {
    a = load8(p);
    b = load8(p + n - 8);
  } else if (n >= 4) {
    a = load4(p);
    b = load4(p + n - 4);
  } else if (n > 0) {
    a = (static_cast<uint64_t>(static_cast<uint8_t>(p[0])) << 16) |
        (static_cast<uint64_t>(static_cast<uint8_t>(p[n / 2])) << 8) |
        static_cast<uint8_t>(p[n - 1]);
  }
  return hash_mix(hash_mix(a ^ h, b ^ kMul), kSeed ^ n);
}

// Self-locating keys are version-8 UUIDs (RFC 9562: "custom" layout),
// lower-case, 36 characters, whose first 4 bytes (text 0-7) are the Id,
// big-endian, XOR the last 4 (text 28-35). The XOR keeps a plain counter out
// of the id; it is no secret.
inline constexpr size_t kLocatingKeyChars = 36;
inline constexpr char kLocatingVersion = '8';  // text[14]: the UUID version

// Hex digit values by character; kNotHex for any other byte.
inline constexpr uint8_t kNotHex = 0xff;
inline constexpr std::array<uint8_t, 256> kHexValue = [] {
  std::array<uint8_t, 256> t{};
  t.fill(kNotHex);
  for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = static_cast<uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[static_cast<size_t>(c)] = static_cast<uint8_t>(c - 'a' + 10);
  return t;
}();

// 8 lower-case hex digits at p; false if any is not one. Table lookups and
// one test at the end: no branch per digit.
inline bool parse_hex32(const char* p, uint32_t* out) {
  uint32_t v = 0;
  uint8_t bad = 0;
  for (int i = 0; i < 8; ++i) {
    const uint8_t d = kHexValue[static_cast<uint8_t>(p[i])];
    bad |= d & 0xf0;
    v = (v << 4) | (d & 0x0f);
  }
  *out = v;
  return bad == 0;
}

// The Id a self-locating key names, or kNoId for any other key. Only the
// entry at that Id can say whether the key is really there.
inline Id locating_id(std::string_view key) {
  if (key.size() != kLocatingKeyChars || key[14] != kLocatingVersion) return kNoId;
  uint32_t head, tail;
  if (!parse_hex32(key.data(), &head) || !parse_hex32(key.data() + 28, &tail)) return kNoId;
  return head ^ tail;
}

// Key equality inline (ids are short): word compares, no library call.
inline bool equal_keys(std::string_view x, std::string_view y) {
  const size_t n = x.size();
  if (n != y.size()) return false;
  const char* p = x.data();
  const char* q = y.data();
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (load8(p + i) != load8(q + i)) return false;
    }
    return load8(p + n - 8) == load8(q + n - 8);
  }
  if (n >= 4) return load4(p) == load4(q) && load4(p + n - 4) == load4(q + n - 4);
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

class FlatIndex {
 public:
  static constexpr size_t kInitialSlots = 16;
  static constexpr size_t kRecentSlots = 64;

  size_t size() const { return size_; }
  void clear() {
    slots_.clear();
    recent_.fill(0);
    size_ = 0;
  }

  // The id whose key equals `key`, or kNoId.
  template <class KeyOf>
  Id find(std::string_view key, const KeyOf& key_of) const {
    if (slots_.empty()) return kNoId;
    const uint32_t tag = tag_of(key);
    const uint64_t recent = recent_[tag % kRecentSlots];
    if (recent != 0 && matches(recent, tag, key, key_of)) return static_cast<Id>(recent) - 1;
    for (size_t i = home(tag);; i = (i + 1) & mask_) {
      const uint64_t slot = slots_[i];
      if (slot == 0) return kNoId;
      if (matches(slot, tag, key, key_of)) return static_cast<Id>(slot) - 1;
    }
  }

  // The id of `key` if indexed; else records `key` as `new_id` and returns
  // it. One hash and one probe either way.
  template <class KeyOf>
  Id find_or_insert(std::string_view key, Id new_id, const KeyOf& key_of) {
    assert(new_id < kNoId);
    if ((size_ + 1) * kLoadDen > slots_.size() * kLoadNum) grow();
    const uint32_t tag = tag_of(key);
    size_t i = home(tag);
    for (; slots_[i] != 0; i = (i + 1) & mask_) {
      if (matches(slots_[i], tag, key, key_of)) return static_cast<Id>(slots_[i]) - 1;
    }
    slots_[i] = (static_cast<uint64_t>(tag) << 32) | (static_cast<uint64_t>(new_id) + 1);
    recent_[tag % kRecentSlots] = slots_[i];
    ++size_;
    return new_id;
  }

  // Records `id` under `key`, which must not be indexed yet.
  template <class KeyOf>
  void insert(std::string_view key, Id id, const KeyOf& key_of) {
    const Id got = find_or_insert(key, id, key_of);
    assert(got == id);  // a key indexed twice is a bug of the caller
    (void)got;
  }

  // Removes `key`, indexed as `id`; false when that pair is not indexed.
  // Compares slots, not keys, so key_of(id) may already name another key.
  // Backward-shift deletion: each later slot of the run that may sit in the
  // hole (the hole is on its probe path, home .. its slot) moves back into
  // it, leaving a new hole behind, until an empty slot ends the run.
  bool erase(std::string_view key, Id id) {
    if (slots_.empty()) return false;
    const uint32_t tag = tag_of(key);
    const uint64_t want = (static_cast<uint64_t>(tag) << 32) | (static_cast<uint64_t>(id) + 1);
    size_t hole = home(tag);
    for (; slots_[hole] != want; hole = (hole + 1) & mask_) {
      if (slots_[hole] == 0) return false;
    }
    if (recent_[tag % kRecentSlots] == want) recent_[tag % kRecentSlots] = 0;
    for (size_t j = (hole + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
      const size_t h = home(static_cast<uint32_t>(slots_[j] >> 32));
      if (((j - h) & mask_) >= ((j - hole) & mask_)) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = 0;
    --size_;
    return true;
  }

  void reserve(size_t n) {
    while (n * kLoadDen > slots_.size() * kLoadNum) grow();
  }

  // Bytes this index holds (its slots), for memory accounting.
  size_t memory_bytes() const { return slots_.capacity() * sizeof(uint64_t) + sizeof(*this); }

  // Starts loading the slot a lookup or insert of `key` probes first, so
  // that its cache miss overlaps other work (a hint: it changes nothing).
  // Always inlined: GCC finds a function that only prefetches free of side
  // effects and drops calls to it.
  [[gnu::always_inline]] void prefetch(std::string_view key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[home(tag_of(key))]);
  }

 private:
  using Slots = std::vector<uint64_t>;
  // Grow past 3/4 full: linear probing stays short at that load.
  static constexpr size_t kLoadNum = 3, kLoadDen = 4;

  static uint32_t tag_of(std::string_view key) { return static_cast<uint32_t>(hash_id(key) >> 32); }
  template <class KeyOf>
  static bool matches(uint64_t slot, uint32_t tag, std::string_view key, const KeyOf& key_of) {
    return static_cast<uint32_t>(slot >> 32) == tag &&
           equal_keys(key_of(static_cast<Id>(slot) - 1), key);
  }
  // The home slot is the top bits of the tag, so growing re-places slots
  // from their stored tags alone.
  size_t home(uint32_t tag) const { return static_cast<size_t>(tag) >> shift_; }
  void place(Slots& slots, size_t mask, uint32_t tag, Id id) const {
    size_t i = static_cast<size_t>(tag) >> shift_;
    while (slots[i] != 0) i = (i + 1) & mask;
    slots[i] = (static_cast<uint64_t>(tag) << 32) | (static_cast<uint64_t>(id) + 1);
  }
  void grow() {
    const size_t n = slots_.empty() ? kInitialSlots : slots_.size() * 2;
    assert(n <= (size_t{1} << 32));  // the home slot comes from a 32-bit tag
    Slots old = std::exchange(slots_, Slots(n, 0));
    mask_ = n - 1;
    shift_ = 32 - static_cast<unsigned>(__builtin_ctzll(n));
    for (uint64_t slot : old) {
      if (slot != 0)
        place(slots_, mask_, static_cast<uint32_t>(slot >> 32), static_cast<Id>(slot) - 1);
    }
  }

  Slots slots_;  // 0: empty; else (32-bit tag << 32) | (id + 1)
  // The last keys inserted, as slots (direct-mapped by tag): a new id (a
  // token, a reservation) is looked up again within a few commands, and in
  // a large index its slot is then a cache (and TLB) miss while this small
  // array stays in L1. Written only by inserts, so find() stays const.
  std::array<uint64_t, kRecentSlots> recent_{};
  size_t mask_ = 0;
  unsigned shift_ = 32;
  size_t size_ = 0;
};

// Append-only storage of short strings at stable addresses, in chunks of
// kChunkBytes (a longer string gets a block of its own), so interning a key
// costs no allocation of its own.
class StringArena {
 public:
  static constexpr size_t kChunkBytes = 256 * 1024;

  std::string_view add(std::string_view s) {
    if (s.empty()) return {};
    char* p = nullptr;
    if (s.size() > kChunkBytes) {
      large_.push_back(std::make_unique<char[]>(s.size()));
      p = large_.back().get();
    } else {
      if (chunks_.empty() || kChunkBytes - used_ < s.size()) {
        chunks_.push_back(std::make_unique<char[]>(kChunkBytes));
        used_ = 0;
      }
      p = chunks_.back().get() + used_;
      used_ += s.size();
    }
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }

 private:
  std::vector<std::unique_ptr<char[]>> chunks_;
  std::vector<std::unique_ptr<char[]>> large_;
  size_t used_ = 0;  // bytes used in the last chunk
};

// Strings by dense index (0, 1, 2, ... in insertion order), stored in a
// StringArena. Copies re-add the strings into the copy's own arena, so no
// view ever points into another object.
class StringList {
 public:
  StringList() = default;
  StringList(const StringList& o) { *this = o; }
  StringList& operator=(const StringList& o) {
    if (this == &o) return *this;
    StringList copy;
    copy.views_.reserve(o.views_.size());
    for (std::string_view s : o.views_) copy.add(s);
    return *this = std::move(copy);
  }
  StringList(StringList&&) noexcept = default;
  StringList& operator=(StringList&&) noexcept = default;

  uint32_t add(std::string_view s) {
    assert(views_.size() < kNoId);
    views_.push_back(arena_.add(s));
    return static_cast<uint32_t>(views_.size() - 1);
  }
  std::string_view operator[](uint32_t i) const { return views_[i]; }
  size_t size() const { return views_.size(); }
  void reserve(size_t n) { views_.reserve(n); }

 private:
  StringArena arena_;
  std::vector<std::string_view> views_;  // into arena_ (stable across moves)
};

// Short strings in numbered slots, reused once freed (the most recently
// freed first), for strings that come and go with records. A string up to
// kInlineBytes long (a UUID) sits inside its slot; a longer one gets a block
// of its own, freed with it. Views are valid until the next add().
class StringSlots {
 public:
  static constexpr size_t kInlineBytes = 36;

  StringSlots() = default;
  StringSlots(const StringSlots& o) { *this = o; }
  StringSlots& operator=(const StringSlots& o) {
    if (this == &o) return *this;
    slots_.clear();
    slots_.resize(o.slots_.size());
    for (size_t i = 0; i < o.slots_.size(); ++i) {
      if (o.slots_[i].size != kFree) set(slots_[i], o[static_cast<uint32_t>(i)]);
    }
    free_ = o.free_;
    live_ = o.live_;
    return *this;
  }
  StringSlots(StringSlots&&) noexcept = default;
  StringSlots& operator=(StringSlots&&) noexcept = default;

  // Stores `s`; returns its slot.
  uint32_t add(std::string_view s) {
    uint32_t at;
    if (!free_.empty()) {
      at = free_.back();
      free_.pop_back();
    } else {
      assert(slots_.size() < kNoId);
      at = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    set(slots_[at], s);
    ++live_;
    return at;
  }
  void erase(uint32_t slot) {
    Slot& e = slots_[slot];
    assert(e.size != kFree);
    e.size = kFree;
    e.far.reset();
    free_.push_back(slot);
    --live_;
  }
  std::string_view operator[](uint32_t slot) const {
    const Slot& e = slots_[slot];
    assert(e.size != kFree);
    return {e.size <= kInlineBytes ? e.bytes : e.far.get(), e.size};
  }
  size_t size() const { return live_; }  // strings held
  // Bytes held (slots, the free list, long strings' blocks not counted).
  size_t memory_bytes() const {
    return slots_.capacity() * sizeof(Slot) + free_.capacity() * sizeof(uint32_t);
  }

 private:
  static constexpr uint32_t kFree = UINT32_MAX;
  struct Slot {
    uint32_t size = kFree;
    char bytes[kInlineBytes];
    std::unique_ptr<char[]> far;  // the string when size > kInlineBytes
  };
  static void set(Slot& e, std::string_view s) {
    e.size = static_cast<uint32_t>(s.size());
    char* to = e.bytes;
    if (s.size() > kInlineBytes) {
      e.far = std::make_unique<char[]>(s.size());
      to = e.far.get();
    }
    if (!s.empty()) std::memcpy(to, s.data(), s.size());
  }

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;  // erased slots; the last is reused first
  size_t live_ = 0;
};

template <class T>
class IdTable {
 public:
  // Keys up to this long (a UUID is 36 characters) are stored inside their
  // entry, beside the value: a lookup of a cold id then costs the index slot
  // and the entry, not also a separate key array and the key's bytes.
  static constexpr size_t kInlineKeyBytes = 36;
  static constexpr size_t kChunkEntries = 1024;  // entries never move: chunks

  IdTable() = default;
  // A copy has the same ids, holes and free list as the original.
  IdTable(const IdTable& o) { *this = o; }
  IdTable& operator=(const IdTable& o) {
    if (this == &o) return *this;
    IdTable copy;
    for (Id id = 0; id < o.id_end(); ++id) {
      if (!o.live(id)) {
        copy.add_hole();
        continue;
      }
      copy.insert(o.key(id));
      copy[id] = o[id];
    }
    copy.free_ = o.free_;
    return *this = std::move(copy);
  }
  IdTable(IdTable&& o) noexcept { *this = std::move(o); }
  IdTable& operator=(IdTable&& o) noexcept {
    chunks_ = std::move(o.chunks_);
    ids_ = std::exchange(o.ids_, 0);  // a moved-from table is empty
    live_ = std::exchange(o.live_, 0);
    free_ = std::move(o.free_);
    o.free_.clear();
    index_ = std::exchange(o.index_, FlatIndex());
    return *this;
  }

  // Records held.
  size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }
  // One past the highest id ever handed out: live ids and holes are below it.
  Id id_end() const { return ids_; }
  // Whether `id` holds a record (false for a hole and beyond id_end()).
  bool live(Id id) const { return id < ids_ && entry(id).size != kHole; }
  // The id the next new key gets.
  Id next_id() const { return free_.empty() ? ids_ : free_.back(); }

  Id find(std::string_view key) const {
    if (const Id at = locating_id(key); live(at) && equal_keys(this->key(at), key)) return at;
    return index_.find(key, [this](Id id) { return this->key(id); });
  }
  bool contains(std::string_view key) const { return find(key) != kNoId; }
  size_t count(std::string_view key) const { return contains(key) ? 1 : 0; }

  // Adds `key` with a default T; `key` must be new. Returns its id, which
  // is next_id().
  Id insert(std::string_view key) {
    [[maybe_unused]] const Id next = next_id();
    const Id id = intern(key);
    assert(id == next);  // a key added twice is a bug of the caller
    return id;
  }
  // The id of `key`, added (with a default T) when new.
  Id intern(std::string_view key) {
    const Id next = next_id();
    assert(next < kNoId);
    const auto key_of = [this](Id i) { return this->key(i); };
    const Id at = locating_id(key);
    if (live(at) && equal_keys(this->key(at), key)) return at;
    // A key that names the next Id needs no slot. The index is asked first
    // only so that a key it already holds is never added twice; while only
    // self-locating keys went in it is empty and answers at once.
    if (at == next && index_.find(key, key_of) == kNoId) {
      add(key);
      return next;
    }
    const Id id = index_.find_or_insert(key, next, key_of);
    if (id == next) add(key);
    return id;
  }

  // Drops the record `id` (its key leaves the index; its T is reset to a
  // default one, releasing what it held); `id` goes on the free list.
  void erase(Id id) {
    assert(live(id));
    Entry& e = entry(id);
    if (locating_id(key(id)) != id) {
      [[maybe_unused]] const bool was = index_.erase(key(id), id);
      assert(was);
    }
    e.value = T{};
    e.far.reset();
    e.size = kHole;
    free_.push_back(id);
    --live_;
  }

  // Valid as long as the record.
  std::string_view key(Id id) const {
    const Entry& e = entry(id);
    assert(e.size != kHole);
    return {e.size <= kInlineKeyBytes ? e.bytes : e.far.get(), e.size};
  }
  T& operator[](Id id) { return entry(id).value; }
  const T& operator[](Id id) const { return entry(id).value; }

  // By key, as std::map::at: throws std::out_of_range for an unknown key.
  const T& at(std::string_view key) const {
    const Id id = find(key);
    if (id == kNoId) throw std::out_of_range("IdTable::at: unknown id '" + std::string(key) + "'");
    return (*this)[id];
  }
  T& at(std::string_view key) { return const_cast<T&>(std::as_const(*this).at(key)); }

  // FlatIndex::prefetch for a key that does not locate itself.
  [[gnu::always_inline]] void prefetch(std::string_view key) const { index_.prefetch(key); }

  // Room in the index for n keys that do not locate themselves.
  void reserve(size_t n) { index_.reserve(n); }
  // Keys held by the index (the rest locate themselves).
  size_t indexed() const { return index_.size(); }
  // Bytes held: entries (chunk by chunk, holes included), the free list and
  // the index; not what a T or a long key holds outside its entry.
  size_t memory_bytes() const {
    return chunks_.size() * kChunkEntries * sizeof(Entry) + free_.capacity() * sizeof(Id) +
           index_.memory_bytes();
  }
  static constexpr size_t entry_bytes() { return sizeof(Entry); }

  // The free list, in order: next_id() is its last element.
  const std::vector<Id>& free_ids() const { return free_; }
  // For a restore: adds a hole at id_end(), as an id that was erased.
  void add_hole() {
    assert(free_.empty());  // holes first, then restore_free_ids()
    slot_for_new();
    ++ids_;
  }
  // For a restore, after its holes and records: the free list, in the order
  // free_ids() gave. False unless it names every hole exactly once.
  bool restore_free_ids(std::vector<Id> ids) {
    if (ids.size() != ids_ - live_) return false;
    std::vector<bool> seen(ids_, false);
    for (Id id : ids) {
      if (id >= ids_ || live(id) || seen[id]) return false;
      seen[id] = true;
    }
    free_ = std::move(ids);
    return true;
  }

 private:
  static constexpr uint32_t kHole = UINT32_MAX;  // Entry::size of an id without a record

  struct Entry {
    uint32_t size = kHole;
    char bytes[kInlineKeyBytes];  // the key when size <= kInlineKeyBytes
    std::unique_ptr<char[]> far;  // else the key
    T value{};
  };

  Entry& entry(Id id) { return chunks_[id / kChunkEntries][id % kChunkEntries]; }
  const Entry& entry(Id id) const { return chunks_[id / kChunkEntries][id % kChunkEntries]; }
  // The entry at id_end(), in a new chunk when the last one is full.
  Entry& slot_for_new() {
    if (ids_ % kChunkEntries == 0) chunks_.push_back(std::make_unique<Entry[]>(kChunkEntries));
    return entry(static_cast<Id>(ids_));
  }
  // Puts `key` at next_id().
  void add(std::string_view key) {
    Entry* e;
    if (!free_.empty()) {
      e = &entry(free_.back());
      free_.pop_back();
    } else {
      e = &slot_for_new();
      ++ids_;
    }
    e->size = static_cast<uint32_t>(key.size());
    char* to = e->bytes;
    if (key.size() > kInlineKeyBytes) {
      e->far = std::make_unique<char[]>(key.size());
      to = e->far.get();
    }
    if (!key.empty()) std::memcpy(to, key.data(), key.size());
    ++live_;
  }

  std::vector<std::unique_ptr<Entry[]>> chunks_;  // by id / kChunkEntries
  Id ids_ = 0;                                    // id_end()
  size_t live_ = 0;                               // size()
  std::vector<Id> free_;                          // erased ids; the last is reused first
  FlatIndex index_;                               // key -> id, for keys not at their named id
};

}  // namespace reservoir
