// The engine's dense-id structures (engine/id_table.h, engine/deadline_heap.h)
// against std::unordered_map / std::set models over random operations:
// IdTable interns in insertion order and finds every key through growth;
// FlatIndex works with keys that live elsewhere; StringArena keeps views
// stable; copies are deep; self-locating keys (engine/uuid.h) take no index
// slot and mix with other keys; DeadlineHeap holds exactly the live deadlines in
// (due, id) order through pushes and erases anywhere in the heap. Erasure:
// FlatIndex keeps every other key through backward shifts; IdTable reuses
// erased ids most recently freed first, never finds an erased key (even when
// its named id holds another record), and copies and restores keep ids,
// holes and the free list; StringSlots reuses slots.
#include <doctest/doctest.h>

#include <cctype>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/deadline_heap.h"
#include "engine/id_table.h"
#include "engine/uuid.h"
#include "events/os.h"

namespace {

using namespace reservoir;

std::string random_key(std::mt19937_64& rng) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789-_.:";
  std::string s(1 + rng() % 64, 'x');  // ids are 1-64 characters
  for (char& c : s) c = kChars[rng() % (sizeof kChars - 1)];
  return s;
}

TEST_CASE("id table: ids are dense, in insertion order, and every key is found after growth") {
  std::mt19937_64 rng(7);
  IdTable<int64_t> table;
  std::unordered_map<std::string, Id> model;
  std::vector<std::string> keys;
  for (int i = 0; i < 50'000; ++i) {
    std::string k = random_key(rng);
    if (model.count(k)) continue;
    const Id id = table.insert(k);
    CHECK(id == keys.size());
    table[id] = static_cast<int64_t>(id) * 3;
    model[k] = id;
    keys.push_back(k);
  }
  REQUIRE(table.size() == keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const Id id = static_cast<Id>(i);
    CHECK(table.find(keys[i]) == id);
    CHECK(table.key(id) == keys[i]);
    CHECK(table[id] == static_cast<int64_t>(i) * 3);
  }
  for (int i = 0; i < 10'000; ++i) {
    const std::string k = random_key(rng);
    const auto it = model.find(k);
    CHECK(table.find(k) == (it == model.end() ? kNoId : it->second));
  }
  CHECK(table.find("") == kNoId);
  CHECK(table.at(keys[5]) == 15);
  CHECK_THROWS_AS(table.at("no such id"), std::out_of_range);
}

TEST_CASE("id table: intern adds once; prefixes and near misses are distinct keys") {
  IdTable<int> table;
  const Id a = table.intern("seat-1");
  CHECK(table.intern("seat-1") == a);
  const Id b = table.intern("seat-10");
  const Id c = table.intern("seat-");
  const Id d = table.intern("Seat-1");
  CHECK(a != b);
  CHECK(b != c);
  CHECK(c != d);
  CHECK(table.size() == 4);
  // Keys of 8, 16 and 17 bytes take different paths through the hash.
  for (const char* k : {"12345678", "1234567812345678", "12345678123456789", "1234567"}) {
    const Id id = table.intern(k);
    CHECK(table.find(k) == id);
    CHECK(table.key(id) == k);
  }
}

TEST_CASE("flat index: the recent-inserts cache never answers a wrong key") {
  // Many keys share a recent slot (64 of them, by tag): every key must
  // still be found as itself, and absent keys not at all.
  IdTable<int> table;
  for (int i = 0; i < 5000; ++i) {
    const std::string k = "t" + std::to_string(i);
    REQUIRE(table.insert(k) == static_cast<Id>(i));
    CHECK(table.find(k) == static_cast<Id>(i));  // just inserted: from the cache
    if (i > 0) CHECK(table.find("t" + std::to_string(i - 1)) == static_cast<Id>(i - 1));
    CHECK(table.find("u" + std::to_string(i)) == kNoId);
  }
  for (int i = 0; i < 5000; ++i) CHECK(table.find("t" + std::to_string(i)) == static_cast<Id>(i));
}

TEST_CASE("id table: a copy is deep and independent of the original") {
  IdTable<int> a;
  for (int i = 0; i < 1000; ++i) a[a.insert("key-" + std::to_string(i))] = i;
  IdTable<int> b = a;
  a = IdTable<int>();  // the original's arena is gone
  REQUIRE(b.size() == 1000);
  for (int i = 0; i < 1000; ++i) {
    const std::string k = "key-" + std::to_string(i);
    REQUIRE(b.find(k) == static_cast<Id>(i));
    CHECK(b.key(static_cast<Id>(i)) == k);
    CHECK(b[static_cast<Id>(i)] == i);
  }
  const std::string_view view = b.key(999);
  IdTable<int> c = std::move(b);  // a move keeps the entries: views stay valid
  CHECK(c.key(999) == "key-999");
  CHECK(view == "key-999");
  CHECK(b.size() == 0);  // NOLINT: a moved-from table is empty
  CHECK(b.find("key-1") == kNoId);
  // Keys longer than the inline bytes live apart; both kinds round-trip.
  const std::string longer(IdTable<int>::kInlineKeyBytes + 5, 'q');
  const Id l = c.insert(longer);
  CHECK(c.key(l) == longer);
  CHECK(c.find(longer) == l);
  IdTable<int> d = c;
  CHECK(d.key(l) == longer);
}

TEST_CASE("flat index: keys may live in a vector that reallocates") {
  std::vector<std::string> keys;
  FlatIndex index;
  auto key_of = [&](Id id) { return std::string_view(keys[id]); };
  for (int i = 0; i < 5000; ++i) {
    keys.push_back(std::to_string(i));
    index.insert(keys.back(), static_cast<Id>(i), key_of);
  }
  CHECK(index.size() == 5000);
  for (int i = 0; i < 5000; ++i) CHECK(index.find(std::to_string(i), key_of) == static_cast<Id>(i));
  CHECK(index.find("5000", key_of) == kNoId);
  CHECK(index.find_or_insert("17", 99, key_of) == 17);  // found: nothing added
  CHECK(index.size() == 5000);
  CHECK(index.find("-1", key_of) == kNoId);
}

TEST_CASE("string arena: views stay valid as chunks fill; long strings get a block") {
  StringArena arena;
  std::vector<std::pair<std::string, std::string_view>> kept;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20'000; ++i) {  // several chunks of StringArena::kChunkBytes
    std::string s = random_key(rng);
    kept.emplace_back(s, arena.add(s));
  }
  const std::string big(StringArena::kChunkBytes + 10, 'z');
  kept.emplace_back(big, arena.add(big));
  kept.emplace_back("after", arena.add("after"));
  for (const auto& [s, v] : kept) CHECK(v == s);
  CHECK(arena.add("").empty());
}

TEST_CASE("deadline heap: holds exactly the live deadlines, earliest first, ties by id") {
  std::mt19937_64 rng(11);
  DeadlineHeap heap;
  std::set<DeadlineHeap::Entry> model;
  std::vector<int64_t> due_of;
  for (int step = 0; step < 40'000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 5 || model.empty()) {
      const Id id = static_cast<Id>(due_of.size());
      due_of.push_back(static_cast<int64_t>(rng() % 1000));  // many ties
      heap.push(due_of.back(), id);
      model.emplace(due_of.back(), id);
    } else if (op < 8) {
      // Erase anywhere: a settled hold or a spent token.
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % model.size()));
      CHECK(heap.erase(it->second));
      CHECK_FALSE(heap.erase(it->second));
      model.erase(it);
    } else {
      // The clock takes the earliest.
      REQUIRE(heap.top() == *model.begin());
      CHECK(heap.erase(model.begin()->second));
      model.erase(model.begin());
    }
    REQUIRE(heap.size() == model.size());
    if (!model.empty()) REQUIRE(heap.top() == *model.begin());
  }
  const auto all = heap.sorted();
  CHECK(std::vector<DeadlineHeap::Entry>(model.begin(), model.end()) == all);
  for (Id id = 0; id < due_of.size(); ++id) {
    CHECK(heap.contains(id) == (model.count({due_of[id], id}) == 1));
  }
  CHECK_FALSE(heap.erase(static_cast<Id>(due_of.size() + 100)));
}

TEST_CASE("new_uuid: the same UUID as Random::uuid from the same random bytes") {
  for (uint64_t seed : {0ULL, 1ULL, 42ULL, 0xffffffffffffffffULL}) {
    SeededRandom a(seed), b(seed);
    for (int i = 0; i < 1000; ++i) {
      const std::string want = a.uuid();
      REQUIRE(new_uuid(b) == want);
      CHECK(want.size() == 36);
    }
  }
}

}  // namespace

// A self-locating key for `id` (engine/uuid.h).
std::string locating_key(SeededRandom& random, Id id) {
  std::string s;
  new_locating_uuid(random, id, s);
  return s;
}

TEST_CASE("new_locating_uuid: a lower-case version-8 UUID that names its id") {
  SeededRandom random(5);
  std::set<std::string> seen;
  for (Id id : {Id{0}, Id{1}, Id{255}, Id{256}, Id{0x12345678}, Id{kNoId - 1}}) {
    for (int i = 0; i < 200; ++i) {
      const std::string k = locating_key(random, id);
      REQUIRE(k.size() == 36);
      CHECK(locating_id(k) == id);
      CHECK(k[8] == '-');
      CHECK(k[13] == '-');
      CHECK(k[18] == '-');
      CHECK(k[23] == '-');
      CHECK(k[14] == '8');                                               // version 8
      CHECK(std::string_view("89ab").find(k[19]) != std::string::npos);  // RFC 9562 variant
      for (char c : k) CHECK(((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-'));
      CHECK(seen.insert(k).second);  // 90 random bits: never the same twice
    }
  }
}

TEST_CASE("locating_id: only a well-formed version-8 key names an id") {
  SeededRandom random(9);
  const std::string k = locating_key(random, 42);
  REQUIRE(locating_id(k) == 42);
  std::string v4 = k;
  v4[14] = '4';
  CHECK(locating_id(v4) == kNoId);  // a client's (or an older log's) UUID
  std::string upper = k;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(locating_id(upper) == kNoId);
  std::string bad = k;
  bad[3] = 'g';
  CHECK(locating_id(bad) == kNoId);
  bad = k;
  bad[30] = '-';
  CHECK(locating_id(bad) == kNoId);
  CHECK(locating_id(k.substr(0, 35)) == kNoId);
  CHECK(locating_id(k + "0") == kNoId);
  CHECK(locating_id("") == kNoId);
  CHECK(locating_id(new_uuid(random)) == kNoId);
}

TEST_CASE("id table: self-locating keys take no index slot and are found through their entry") {
  SeededRandom random(13);
  IdTable<int> table;
  std::vector<std::string> keys;
  for (Id id = 0; id < 20'000; ++id) {
    keys.push_back(locating_key(random, id));
    REQUIRE(table.insert(keys.back()) == id);
  }
  CHECK(table.indexed() == 0);
  for (Id id = 0; id < keys.size(); ++id) {
    CHECK(table.find(keys[id]) == id);
    CHECK(table.intern(keys[id]) == id);  // found: nothing added
  }
  CHECK(table.size() == keys.size());
  // A key that names an existing entry but is not its key, or names an
  // entry not made yet, is absent.
  CHECK(table.find(locating_key(random, 7)) == kNoId);
  CHECK(table.find(locating_key(random, static_cast<Id>(keys.size()))) == kNoId);
  CHECK(table.find(locating_key(random, kNoId - 1)) == kNoId);
  // A copy re-inserts in order: its keys locate themselves too.
  IdTable<int> copy = table;
  CHECK(copy.indexed() == 0);
  CHECK(copy.find(keys[19'999]) == 19'999);
}

TEST_CASE("id table: self-locating, mislocated and plain keys mixed, against a model") {
  // Keys whose named id does not come true (a record made out of turn, a
  // key seen twice) and plain keys go to the index; every key must be found
  // as itself and interned once, whichever way it went in.
  std::mt19937_64 rng(17);
  SeededRandom random(19);
  IdTable<int> table;
  std::unordered_map<std::string, Id> model;
  std::vector<std::string> keys;
  size_t indexed = 0;
  for (int step = 0; step < 30'000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    std::string k;
    if (op < 5) {
      k = locating_key(random, static_cast<Id>(table.size()));  // comes true
    } else if (op < 7) {
      k = locating_key(random, static_cast<Id>(table.size() + 1 + rng() % 3));  // does not
    } else if (op < 9 || keys.empty()) {
      k = random_key(rng);
    } else {
      k = keys[rng() % keys.size()];  // seen before
    }
    const auto it = model.find(k);
    const Id want = it == model.end() ? static_cast<Id>(table.size()) : it->second;
    if (it == model.end() && locating_id(k) != want) ++indexed;
    REQUIRE(table.intern(k) == want);
    if (it == model.end()) {
      model.emplace(k, want);
      keys.push_back(k);
    }
  }
  CHECK(table.size() == model.size());
  CHECK(table.indexed() == indexed);
  for (const auto& [k, id] : model) {
    CHECK(table.find(k) == id);
    CHECK(table.key(id) == k);
  }
  for (int i = 0; i < 2000; ++i) {
    CHECK(table.find(locating_key(random, static_cast<Id>(rng() % (table.size() + 10)))) == kNoId);
  }
}

// --- Erasure and id reuse (issue 16 item 4: bounded memory) ---

namespace {

// Keys that share a few home slots, so erasures shift long runs (and runs
// that wrap past the end of the slots).
std::string crowded_key(std::mt19937_64& rng) {
  return "k" + std::to_string(rng() % 3000);
}

}  // namespace

TEST_CASE("flat index: erase keeps every other key findable (backward shift), against a model") {
  std::mt19937_64 rng(23);
  std::vector<std::string> keys;  // by id; "" once erased
  std::unordered_map<std::string, Id> model;
  FlatIndex index;
  auto key_of = [&](Id id) { return std::string_view(keys[id]); };
  for (int step = 0; step < 60'000; ++step) {
    const std::string k = crowded_key(rng);
    const auto it = model.find(k);
    if (it == model.end()) {
      const Id id = static_cast<Id>(keys.size());
      keys.push_back(k);
      index.insert(k, id, key_of);
      model.emplace(k, id);
    } else if (rng() % 2 == 0) {
      CHECK_FALSE(index.erase(k, it->second + 1));  // the key, but not as that id
      REQUIRE(index.erase(k, it->second));
      CHECK_FALSE(index.erase(k, it->second));
      keys[it->second].clear();
      model.erase(it);
    }
    REQUIRE(index.size() == model.size());
    if (step % 1000 == 0) {
      for (const auto& [key, id] : model) REQUIRE(index.find(key, key_of) == id);
    }
  }
  for (int i = 0; i < 3000; ++i) {
    const std::string k = "k" + std::to_string(i);
    const auto it = model.find(k);
    CHECK(index.find(k, key_of) == (it == model.end() ? kNoId : it->second));
  }
  FlatIndex empty;
  CHECK_FALSE(empty.erase("x", 0));
}

TEST_CASE("flat index: an erased key leaves the recent-inserts cache too") {
  std::vector<std::string> keys = {"a", "b"};
  auto key_of = [&](Id id) { return std::string_view(keys[id]); };
  FlatIndex index;
  index.insert("a", 0, key_of);
  REQUIRE(index.erase("a", 0));
  keys[0] = "b";  // id 0 now holds another key: a stale cache entry would find it as "a"'s
  CHECK(index.find("a", key_of) == kNoId);
  index.insert("b", 0, key_of);
  CHECK(index.find("b", key_of) == 0);
}

TEST_CASE("id table: erased ids are reused, most recently freed first, against a model") {
  std::mt19937_64 rng(29);
  SeededRandom random(31);
  IdTable<int64_t> table;
  std::unordered_map<std::string, Id> model;  // live keys
  std::vector<std::string> dead;              // keys erased (never reused: random bits)
  std::vector<Id> freed;                      // the model's free list
  for (int step = 0; step < 80'000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 6 || model.empty()) {
      const Id next = freed.empty() ? table.id_end() : freed.back();
      REQUIRE(table.next_id() == next);
      // Mostly the engine's own keys, naming the id they get; some plain
      // keys and some whose named id does not come true.
      std::string k = op < 4   ? locating_key(random, next)
                      : op < 5 ? locating_key(random, next + 1)
                               : random_key(rng) + std::to_string(step);
      REQUIRE(table.insert(k) == next);
      CHECK(table[next] == 0);  // a reused id starts from a default value
      table[next] = step;
      model.emplace(k, next);
      if (!freed.empty()) freed.pop_back();
    } else {
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % std::min<size_t>(model.size(), 64)));
      table.erase(it->second);
      freed.push_back(it->second);
      dead.push_back(it->first);
      model.erase(it);
    }
    REQUIRE(table.size() == model.size());
  }
  CHECK(table.free_ids() == freed);
  for (const auto& [k, id] : model) {
    REQUIRE(table.find(k) == id);
    CHECK(table.key(id) == k);
    CHECK(table.live(id));
  }
  for (const std::string& k : dead) REQUIRE(table.find(k) == kNoId);  // never another record
  for (Id id : freed) CHECK_FALSE(table.live(id));
  CHECK_FALSE(table.live(table.id_end()));
  CHECK_FALSE(table.live(kNoId));
}

TEST_CASE("id table: a key naming a reused id is absent; the new key there is found") {
  SeededRandom random(37);
  IdTable<int> table;
  const std::string first = locating_key(random, 0);
  REQUIRE(table.insert(first) == 0);
  table.erase(0);
  CHECK(table.find(first) == kNoId);
  CHECK(table.next_id() == 0);
  const std::string second = locating_key(random, 0);
  REQUIRE(table.insert(second) == 0);
  CHECK(table.indexed() == 0);
  CHECK(table.find(first) == kNoId);
  CHECK(table.find(second) == 0);
  CHECK(table.intern(first) == 1);  // an old key coming back is a new record
  CHECK(table.indexed() == 1);
  table.erase(1);  // unindexed with it
  CHECK(table.indexed() == 0);
  CHECK(table.find(first) == kNoId);
  // Long keys live apart and go with their record.
  const std::string longer(IdTable<int>::kInlineKeyBytes + 9, 'L');
  REQUIRE(table.insert(longer) == 1);
  CHECK(table.key(1) == longer);
  table.erase(1);
  CHECK(table.find(longer) == kNoId);
  REQUIRE(table.insert("short") == 1);
  CHECK(table.key(1) == "short");
}

TEST_CASE("id table: erasing releases what a value held") {
  IdTable<std::vector<int>> table;
  const Id a = table.insert("a");
  table[a].assign(1000, 7);
  table.erase(a);
  REQUIRE(table.insert("b") == a);
  CHECK(table[a].empty());
  CHECK(table[a].capacity() == 0);
}

TEST_CASE("id table: copies and restores keep ids, holes and the free list") {
  std::mt19937_64 rng(41);
  SeededRandom random(43);
  IdTable<int> table;
  for (int i = 0; i < 5000; ++i) {
    if (rng() % 3 == 0 && table.size() > 0) {
      Id id = static_cast<Id>(rng() % table.id_end());
      while (!table.live(id)) id = (id + 1) % table.id_end();
      table.erase(id);
    } else {
      const Id next = table.next_id();
      table[table.insert(rng() % 2 ? locating_key(random, next)
                                   : random_key(rng) + "#" + std::to_string(i))] = i;
    }
  }
  for (Id id = 0; id < table.id_end(); id += 7) {
    if (table.live(id)) table.erase(id);  // holes left at the end
  }
  REQUIRE(table.size() < table.id_end());
  // A restore: holes and records in id order, then the free list.
  IdTable<int> restored;
  for (Id id = 0; id < table.id_end(); ++id) {
    if (!table.live(id)) {
      restored.add_hole();
    } else {
      REQUIRE(restored.insert(table.key(id)) == id);
      restored[id] = table[id];
    }
  }
  REQUIRE(restored.restore_free_ids(table.free_ids()));
  IdTable<int> copy = table;
  for (IdTable<int>* t : {&restored, &copy}) {
    CHECK(t->size() == table.size());
    CHECK(t->id_end() == table.id_end());
    CHECK(t->indexed() == table.indexed());
    CHECK(t->free_ids() == table.free_ids());
    for (Id id = 0; id < table.id_end(); ++id) {
      REQUIRE(t->live(id) == table.live(id));
      if (!table.live(id)) continue;
      CHECK(t->key(id) == table.key(id));
      CHECK(t->find(table.key(id)) == id);
      CHECK((*t)[id] == table[id]);
    }
  }
  // The same inserts from here give the same ids everywhere.
  for (int i = 0; i < 100; ++i) {
    const std::string k = "after-" + std::to_string(i);
    const Id want = table.insert(k);
    CHECK(restored.insert(k) == want);
    CHECK(copy.insert(k) == want);
  }
}

TEST_CASE("id table: restore_free_ids refuses a list that does not name the holes") {
  IdTable<int> t;
  t.insert("a");
  t.add_hole();
  t.add_hole();
  t.insert("d");
  CHECK_FALSE(t.restore_free_ids({1}));        // a hole missing
  CHECK_FALSE(t.restore_free_ids({1, 1}));     // twice
  CHECK_FALSE(t.restore_free_ids({0, 1}));     // a live id
  CHECK_FALSE(t.restore_free_ids({1, 2, 9}));  // beyond the ids
  REQUIRE(t.restore_free_ids({2, 1}));
  CHECK(t.next_id() == 1);
  CHECK(t.insert("b") == 1);
  CHECK(t.insert("c") == 2);
  CHECK(t.insert("e") == 4);
}

TEST_CASE("string slots: freed slots are reused; long strings and copies round-trip") {
  StringSlots slots;
  const uint32_t a = slots.add("payment-a");
  const uint32_t b = slots.add(std::string(StringSlots::kInlineBytes + 3, 'x'));
  const uint32_t c = slots.add("");
  CHECK(slots.size() == 3);
  CHECK(slots[a] == "payment-a");
  CHECK(slots[b] == std::string(StringSlots::kInlineBytes + 3, 'x'));
  CHECK(slots[c].empty());
  StringSlots copy = slots;
  slots.erase(b);
  slots.erase(a);
  CHECK(slots.size() == 1);
  CHECK(slots.add("again") == a);  // the most recently freed first
  CHECK(slots.add("and again") == b);
  CHECK(slots[b] == "and again");
  CHECK(copy[b] == std::string(StringSlots::kInlineBytes + 3, 'x'));
  CHECK(copy.size() == 3);
}
