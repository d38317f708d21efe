// Writer<concert::Module> over a MemoryLog: group commit, answers only after
// the durable append, idempotency, overload, append failure, the clock, stop.
// Behaviour only: waits are bounded polls, never timing assertions.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/render.h"
#include "engine/concert/commands.h"
#include "engine/concert/module.h"
#include "engine/concert/replies.h"
#include "engine/reply.h"
#include "engine/writer.h"
#include "events/concert_events.h"
#include "events/engine_events.h"
#include "events/os.h"
#include "events/secrets.h"
#include "support/memory_log.h"

namespace {

using namespace reservoir;
using namespace reservoir::concert;
using reservoir::test::MemoryLog;
namespace ev = reservoir::events;
using std::chrono::milliseconds;

constexpr int64_t kT0 = 1'800'000'000'000;
constexpr int64_t kMinute = 60'000;
constexpr auto kPatience = std::chrono::seconds(5);

// --- a trivial, deterministic renderer ----------------------------------------

// Body: "ERROR <CODE> <message>" or "OK <kind> <fields...>", space separated.
Rendered render(const Reply& reply) {
  std::ostringstream b;
  int status = 200;
  std::visit(
      [&](const auto& r) {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, DomainError>) {
          status = api::http_status(r.code);
          b << "ERROR " << error_name(r.code) << ' ' << r.message;
        } else if constexpr (std::is_same_v<R, UserReply>) {
          b << "OK user " << r.user_id;
        } else if constexpr (std::is_same_v<R, ConcertReply>) {
          b << "OK concert " << r.created.concert_id;
        } else if constexpr (std::is_same_v<R, TokenReply>) {
          b << "OK token " << r.token << ' ' << static_cast<int>(r.state) << ' ' << r.position
            << ' ' << r.expires_at;
        } else if constexpr (std::is_same_v<R, ReservationReply>) {
          b << "OK reservation " << r.reservation_id << ' ' << r.user_id << ' '
            << static_cast<int>(r.state) << ' ' << r.total_price << ' ' << r.expires_at;
        } else if constexpr (std::is_same_v<R, PaymentReply>) {
          b << "OK payment " << r.payment_id << ' ' << r.reservation_id << ' ' << r.amount << ' '
            << r.balance;
        } else if constexpr (std::is_same_v<R, BalanceReply>) {
          b << "OK balance " << r.user_id << ' ' << r.balance;
        }
      },
      reply);
  return Rendered{status, b.str()};
}

// The n-th space-separated word of a body (0-based).
std::string word(const Rendered& r, size_t n) {
  std::istringstream in(r.body);
  std::string w;
  for (size_t i = 0; i <= n; ++i) {
    if (!(in >> w)) return "";
  }
  return w;
}

bool is_error(const Rendered& r, ErrorCode code) {
  return word(r, 0) == "ERROR" && word(r, 1) == error_name(code) &&
         r.status == api::http_status(code);
}

std::string balance_body(const std::string& user, int64_t balance) {
  return "OK balance " + user + " " + std::to_string(balance);
}

// Polls `done` until it holds or kPatience passes.
template <class F>
bool eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// --- reading the log ------------------------------------------------------------

template <class E>
std::vector<E> logged(const MemoryLog& log) {
  std::vector<E> out;
  for (const auto& env : log.envelopes()) {
    if (env.type != E::kType) continue;
    if constexpr (std::is_same_v<E, ev::IdempotencyRecorded>) {
      auto e = ev::EngineCatalog::decode(env);
      REQUIRE(e.ok());
      out.push_back(std::get<E>(*e));
    } else {
      auto e = ev::ConcertCatalog::decode(env);
      REQUIRE(e.ok());
      out.push_back(std::get<E>(*e));
    }
  }
  return out;
}

std::vector<std::string> charged_users(const std::vector<EventEnvelope>& batch) {
  std::vector<std::string> users;
  for (const auto& env : batch) {
    if (env.type != ev::BalanceCharged::kType) continue;
    auto e = ev::ConcertCatalog::decode(env);
    if (e.ok()) users.push_back(std::get<ev::BalanceCharged>(*e).user_id);
  }
  return users;
}

// --- the harness -----------------------------------------------------------------

WriterConfig fast_config() {
  WriterConfig c;
  c.idle_wake_ms = 5;
  return c;
}

// A writer over a MemoryLog, a ManualClock at kT0 and seeded ids. The
// destructor opens the log's gate first, so a failed test never hangs.
struct Harness {
  explicit Harness(WriterConfig config = fast_config(), Limits limits = {})
      : module(limits), writer(module, log, clock, random, render, config) {}
  ~Harness() {
    log.open_gate();
    writer.stop();
  }

  void start() {
    REQUIRE(writer.recover().ok());
    writer.start();
  }

  Rendered run(Command c, std::optional<IdempotencyRequest> idem = std::nullopt) {
    return writer.execute(std::move(c), std::move(idem));
  }

  void users(std::initializer_list<std::string> ids) {
    for (const auto& id : ids) REQUIRE(run(RegisterUser{id, id}).status == 200);
  }

  // Concert c1 / schedule s1 (seats a1..a4, 10000 each) a day after kT0.
  void catalog() {
    CreateConcert c{"c1", "t", {{"s1", kT0 + 24 * 60 * kMinute, {}}}};
    for (int n = 1; n <= 4; ++n)
      c.schedules[0].seats.push_back({"a" + std::to_string(n), n, 10'000});
    REQUIRE(run(c).status == 200);
  }

  std::string token(const std::string& user) {
    const Rendered r = run(IssueToken{user});
    REQUIRE(r.status == 200);
    return word(r, 2);
  }

  // Blocks the next append at the gate: `blocker` runs `c` on a thread of
  // its own; returns once the writer waits inside append(). The caller opens
  // the gate and joins `blocker` before the harness goes: a thread may still
  // be inside execute() after its command was processed.
  void hold_append_with(std::jthread& blocker, Command c, Rendered* answer) {
    log.close_gate();
    blocker = std::jthread([this, c, answer] { *answer = run(c); });
    REQUIRE(log.wait_blocked_appends(1, kPatience));
  }

  bool wait_queue_depth(size_t n) {
    return eventually([&] { return writer.stats().queue_depth == n; });
  }

  MemoryLog log;
  ManualClock clock{kT0};
  SeededRandom random{42};
  Module module;
  Writer<Module> writer;
};

// ================================================================================

TEST_CASE("writer: concurrent commands share one append; none is answered before it") {
  constexpr int kN = 16;
  // What threads and the hook touch is declared before the harness, so it
  // outlives the writer even when a REQUIRE ends the test early.
  std::vector<std::atomic<bool>> returned(kN + 1);
  std::atomic<bool> ghost_returned{false};
  std::atomic<int> violations{0};
  std::vector<Rendered> answers(kN + 1);
  Rendered first, ghost;
  std::vector<std::jthread> threads;
  std::jthread blocker;
  Harness h;
  h.start();
  for (int i = 0; i <= kN; ++i) h.users({"u" + std::to_string(i)});

  h.log.set_append_hook([&](const std::vector<EventEnvelope>& batch) {
    for (const auto& u : charged_users(batch)) {
      if (returned[static_cast<size_t>(std::stoi(u.substr(1)))].load()) ++violations;
      // The rejected command rides in u1's batch: it too must still wait.
      if (u == "u1" && ghost_returned.load()) ++violations;
    }
  });

  h.hold_append_with(blocker, ChargeBalance{"u0", 1'000}, &first);
  const size_t appends_before = h.log.append_calls();

  for (int i = 1; i <= kN; ++i) {
    threads.emplace_back([&, i] {
      answers[i] = h.run(ChargeBalance{"u" + std::to_string(i), 1'000 + i});
      returned[i] = true;
    });
  }
  threads.emplace_back([&] {
    ghost = h.run(ChargeBalance{"ghost", 5});  // USER_NOT_FOUND, no events
    ghost_returned = true;
  });
  REQUIRE(h.wait_queue_depth(kN + 1));
  CHECK_FALSE(returned[1].load());

  h.log.open_gate();
  blocker.join();
  for (auto& t : threads) t.join();

  CHECK(violations.load() == 0);
  CHECK(first.body == balance_body("u0", 1'000));
  for (int i = 1; i <= kN; ++i) {
    CHECK(answers[i].body == balance_body("u" + std::to_string(i), 1'000 + i));
  }
  CHECK(is_error(ghost, ErrorCode::USER_NOT_FOUND));
  // Everything queued behind the held append went out in one more append.
  CHECK(h.log.append_calls() == appends_before + 1);
  CHECK(h.log.batch_sizes().back() == kN);
  CHECK(h.writer.acknowledged_offset() == h.log.end_offset());
  const WriterStats stats = h.writer.stats();
  CHECK(stats.append_failures == 0);
  CHECK(stats.queue_depth == 0);
}

TEST_CASE("writer: a retry with the same key replays the first answer and executes nothing") {
  Harness h;
  h.start();
  h.users({"u1"});
  const IdempotencyRequest key{"k-1", 1111};
  const Rendered first = h.run(ChargeBalance{"u1", 100}, key);
  CHECK(first.body == balance_body("u1", 100));
  const uint64_t end = h.log.end_offset();
  const size_t appends = h.log.append_calls();

  const Rendered again = h.run(ChargeBalance{"u1", 100}, key);
  CHECK(again == first);
  CHECK(h.log.end_offset() == end);  // no new events, not even a second record
  CHECK(h.log.append_calls() == appends);
  CHECK(logged<ev::BalanceCharged>(h.log).size() == 1);

  // The same key with another request: 422, and the first answer stays.
  const Rendered reused = h.run(ChargeBalance{"u1", 250}, IdempotencyRequest{"k-1", 2222});
  CHECK(is_error(reused, ErrorCode::IDEMPOTENCY_KEY_REUSED));
  CHECK(h.run(ChargeBalance{"u1", 100}, key) == first);
  // Without a key the next charge proves the balance moved once.
  CHECK(h.run(ChargeBalance{"u1", 1}).body == balance_body("u1", 101));
}

TEST_CASE("writer: idempotency keys are scoped per user") {
  Harness h;
  h.start();
  h.users({"u1", "u2"});
  const IdempotencyRequest key{"shared", 77};
  CHECK(h.run(ChargeBalance{"u1", 100}, key).body == balance_body("u1", 100));
  CHECK(h.run(ChargeBalance{"u2", 100}, key).body == balance_body("u2", 100));
  CHECK(h.run(ChargeBalance{"u2", 100}, key).body == balance_body("u2", 100));
  CHECK(logged<ev::IdempotencyRecorded>(h.log).size() == 2);
  // A token command is scoped to the token's user: u1's key is taken (the
  // fingerprint of a real request would differ, hence 422).
  h.catalog();
  const std::string t1 = h.token("u1");
  CHECK(h.run(HoldSeats{t1, std::nullopt, "s1", {"a1"}}, key).body == balance_body("u1", 100));
  CHECK(is_error(h.run(HoldSeats{t1, std::nullopt, "s1", {"a1"}}, IdempotencyRequest{"shared", 78}),
                 ErrorCode::IDEMPOTENCY_KEY_REUSED));
  const std::string t2 = h.token("u2");
  CHECK(is_error(h.run(HoldSeats{t2, std::nullopt, "s1", {"a1"}}, IdempotencyRequest{"shared", 78}),
                 ErrorCode::IDEMPOTENCY_KEY_REUSED));
  CHECK(word(h.run(HoldSeats{t2, std::nullopt, "s1", {"a1"}}, IdempotencyRequest{"other", 78}),
             1) == "reservation");
}

TEST_CASE("writer: INVALID_TOKEN is not remembered; TOKEN_EXPIRED is") {
  Harness h;
  h.start();
  h.users({"u1"});
  h.catalog();
  const uint64_t end = h.log.end_offset();
  const IdempotencyRequest key{"k", 5};
  const Rendered bogus = h.run(HoldSeats{"bogus", std::nullopt, "s1", {"a1"}}, key);
  CHECK(is_error(bogus, ErrorCode::INVALID_TOKEN));
  CHECK(h.log.end_offset() == end);
  CHECK(logged<ev::IdempotencyRecorded>(h.log).empty());

  const std::string t = h.token("u1");
  h.clock.advance_ms(Limits{}.token_ttl_ms);
  const Rendered expired = h.run(HoldSeats{t, std::nullopt, "s1", {"a1"}}, key);
  CHECK(is_error(expired, ErrorCode::TOKEN_EXPIRED));
  REQUIRE(logged<ev::IdempotencyRecorded>(h.log).size() == 1);
  CHECK(logged<ev::IdempotencyRecorded>(h.log)[0].status == 401);
  CHECK(h.run(HoldSeats{t, std::nullopt, "s1", {"a1"}}, key) == expired);
}

TEST_CASE("writer: remembered answers survive a restart, even after the token expired") {
  MemoryLog log;
  ManualClock clock{kT0};
  const IdempotencyRequest key{"hold-1", 99};
  Rendered first, other_user;
  std::string token;
  {
    SeededRandom random{1};
    Module module{Limits{}};
    Writer<Module> w(module, log, clock, random, render, fast_config());
    REQUIRE(w.recover().ok());
    w.start();
    REQUIRE(w.execute(RegisterUser{"u1", ""}).status == 200);
    REQUIRE(w.execute(RegisterUser{"u2", ""}).status == 200);
    REQUIRE(
        w.execute(CreateConcert{"c1", "t", {{"s1", kT0 + kMinute * 600, {{"a1", 1, 5}}}}}).status ==
        200);
    token = word(w.execute(IssueToken{"u1"}), 2);
    first = w.execute(HoldSeats{token, std::nullopt, "s1", {"a1"}}, key);
    REQUIRE(word(first, 1) == "reservation");
    other_user = w.execute(ChargeBalance{"u2", 10}, IdempotencyRequest{"c", 1});
    w.stop();
  }
  clock.advance_ms(Limits{}.token_ttl_ms + kMinute);  // token and hold both expire

  SeededRandom random{2};
  Module module{Limits{}};
  Writer<Module> w(module, log, clock, random, render, fast_config());
  REQUIRE(w.recover().ok());
  w.start();
  CHECK(w.execute(HoldSeats{token, std::nullopt, "s1", {"a1"}}, key) == first);
  CHECK(w.execute(ChargeBalance{"u2", 10}, IdempotencyRequest{"c", 1}) == other_user);
  CHECK(is_error(
      w.execute(HoldSeats{token, std::nullopt, "s1", {"a1"}}, IdempotencyRequest{"hold-1", 98}),
      ErrorCode::IDEMPOTENCY_KEY_REUSED));
  // A new key decides afresh: the token has expired meanwhile.
  CHECK(is_error(
      w.execute(HoldSeats{token, std::nullopt, "s1", {"a1"}}, IdempotencyRequest{"hold-2", 99}),
      ErrorCode::TOKEN_EXPIRED));
  CHECK(w.execute(ChargeBalance{"u2", 1}).body == balance_body("u2", 11));
  w.stop();
}

// Retention (docs/MEMORY.md): the state drops an expired token and a
// finished reservation 25 h after they finished, later than any remembered
// answer that names them may be asked for (24 h promised, 25 h kept).
TEST_CASE("writer: retries within 24 h get their first answers after the token expired") {
  Limits limits;
  Harness h(fast_config(), limits);
  h.start();
  h.users({"u1", "u2"});
  h.catalog();
  REQUIRE(h.run(ChargeBalance{"u1", 50'000}).status == 200);
  const IdempotencyRequest issue{"issue", 1}, held{"hold", 2}, paid{"pay", 3};
  const Rendered token = h.run(IssueToken{"u1"}, issue);
  const std::string t = word(token, 2);
  const Rendered reservation = h.run(HoldSeats{t, std::nullopt, "s1", {"a1"}}, held);
  const std::string r = word(reservation, 2);
  const Rendered payment = h.run(PayReservation{t, std::nullopt, r}, paid);  // spends t
  REQUIRE(payment.status == 200);
  const Rendered cancel = h.run(CancelReservation{t, r}, IdempotencyRequest{"late", 4});
  CHECK(is_error(cancel, ErrorCode::TOKEN_EXPIRED));

  h.clock.advance_ms(24 * 60 * kMinute - kMinute);
  REQUIRE(h.run(ChargeBalance{"u2", 1}).status == 200);  // events of that time
  CHECK(h.run(IssueToken{"u1"}, issue) == token);
  CHECK(h.run(HoldSeats{t, std::nullopt, "s1", {"a1"}}, held) == reservation);
  CHECK(h.run(PayReservation{t, std::nullopt, r}, paid) == payment);
  CHECK(h.run(CancelReservation{t, r}, IdempotencyRequest{"late", 4}) == cancel);

  // Past the retention the token is gone: it is unknown, as one never issued.
  h.clock.advance_ms(60 * kMinute + 2 * kMinute);
  REQUIRE(h.run(ChargeBalance{"u2", 1}).status == 200);
  CHECK(is_error(h.run(CancelReservation{t, r}), ErrorCode::INVALID_TOKEN));
  // A retry this late is decided afresh (the contract's 24 h are over): the
  // answers remembered then name a token the state no longer has.
  const Rendered again = h.run(IssueToken{"u1"}, issue);
  CHECK(again.status == 200);
  CHECK(word(again, 2) != t);
}

TEST_CASE("writer: two concurrent requests with one key execute once") {
  SUBCASE("queued into one batch") {
    Rendered blocked, a, b;
    std::vector<std::jthread> threads;
    std::jthread blocker;
    Harness h;
    h.start();
    h.users({"u1", "u9"});
    h.hold_append_with(blocker, ChargeBalance{"u9", 1}, &blocked);
    const IdempotencyRequest key{"same", 7};
    threads.emplace_back([&] { a = h.run(ChargeBalance{"u1", 100}, key); });
    threads.emplace_back([&] { b = h.run(ChargeBalance{"u1", 100}, key); });
    REQUIRE(h.wait_queue_depth(2));
    h.log.open_gate();
    for (auto& t : threads) t.join();
    blocker.join();
    CHECK(blocked.body == balance_body("u9", 1));
    CHECK(a.body == balance_body("u1", 100));
    CHECK(a == b);
    CHECK(logged<ev::BalanceCharged>(h.log).size() == 2);  // u9's and one of u1's
  }
  SUBCASE("racing freely") {
    Harness h;
    h.start();
    h.users({"u1"});
    constexpr int kRounds = 25;
    for (int round = 0; round < kRounds; ++round) {
      const IdempotencyRequest key{"key-" + std::to_string(round), round};
      Rendered a, b;
      {
        std::jthread ta([&] { a = h.run(ChargeBalance{"u1", 10}, key); });
        std::jthread tb([&] { b = h.run(ChargeBalance{"u1", 10}, key); });
      }
      CHECK(a.status == 200);
      CHECK(a == b);
    }
    CHECK(logged<ev::BalanceCharged>(h.log).size() == kRounds);
    CHECK(h.run(ChargeBalance{"u1", 1}).body == balance_body("u1", 10 * kRounds + 1));
  }
}

// Name and nice value of each of this process's threads, from /proc/self/task/*/stat.
std::vector<std::pair<std::string, int>> thread_names_and_nice() {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t open = stat.find('(');
    const size_t paren = stat.rfind(')');
    if (open == std::string::npos || paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 2));  // field 3 (state) onwards
    std::string field;
    for (int n = 3; n <= 19 && fields >> field; ++n) {
      if (n == 19) out.emplace_back(stat.substr(open + 1, paren - open - 1), std::stoi(field));
    }
  }
  return out;
}

TEST_CASE(
    "writer: its thread, named rsv-writer, runs at WriterConfig::nice; the callers keep theirs") {
  const int mine = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  const int want = std::min(19, std::max(mine, 0) + 4);
  Rendered blocked;
  std::jthread blocker;
  WriterConfig config = fast_config();
  config.nice = want;
  Harness h(config);
  h.start();
  h.users({"u0"});
  // While the writer waits inside append(), its thread certainly exists.
  h.hold_append_with(blocker, ChargeBalance{"u0", 1}, &blocked);
  const std::vector<std::pair<std::string, int>> threads = thread_names_and_nice();
  const auto at_want = [&](const auto& t) { return t.second == want; };
  REQUIRE(std::count_if(threads.begin(), threads.end(), at_want) == 1);
  CHECK(std::find_if(threads.begin(), threads.end(), at_want)->first == "rsv-writer");
  CHECK(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())) == mine);
  h.log.open_gate();
  blocker.join();
  CHECK(blocked.body == balance_body("u0", 1));
}

TEST_CASE("writer: a full queue answers OVERLOADED at once") {
  Rendered blocked, a, b;
  std::vector<std::jthread> threads;
  std::jthread blocker;
  WriterConfig config = fast_config();
  config.queue_commands_max = 2;
  Harness h(config);
  h.start();
  h.users({"u0", "u1", "u2", "u3"});
  h.hold_append_with(blocker, ChargeBalance{"u0", 1}, &blocked);
  threads.emplace_back([&] { a = h.run(ChargeBalance{"u1", 1}); });
  threads.emplace_back([&] { b = h.run(ChargeBalance{"u2", 1}); });
  REQUIRE(h.wait_queue_depth(2));

  const Rendered shed = h.run(ChargeBalance{"u3", 1});
  CHECK(is_error(shed, ErrorCode::OVERLOADED));
  CHECK(shed.status == 503);
  CHECK(h.writer.stats().overloaded == 1);

  h.log.open_gate();
  for (auto& t : threads) t.join();
  blocker.join();
  CHECK(blocked.body == balance_body("u0", 1));
  CHECK(a.body == balance_body("u1", 1));
  CHECK(b.body == balance_body("u2", 1));
  // The shed command changed nothing; the queue has room again.
  CHECK(h.run(ChargeBalance{"u3", 1}).body == balance_body("u3", 1));
}

TEST_CASE("writer: a failed append answers UNAVAILABLE and state is rebuilt from the log") {
  Harness h;
  h.start();
  h.users({"u1", "u2"});
  h.catalog();
  CHECK(h.run(ChargeBalance{"u1", 100}).body == balance_body("u1", 100));

  h.log.fail_next_append();
  const Rendered failed = h.run(ChargeBalance{"u1", 50}, IdempotencyRequest{"k", 1});
  CHECK(is_error(failed, ErrorCode::UNAVAILABLE));
  CHECK(failed.status == 503);
  CHECK(h.writer.stats().append_failures == 1);

  // The failed charge left no trace: not in the balance, not in the key table.
  CHECK(h.run(ChargeBalance{"u1", 7}).body == balance_body("u1", 107));
  CHECK(h.run(ChargeBalance{"u1", 50}, IdempotencyRequest{"k", 1}).body == balance_body("u1", 157));

  // A failed hold leaves its seat free.
  const std::string t1 = h.token("u1");
  const std::string t2 = h.token("u2");
  h.log.fail_next_append();
  CHECK(is_error(h.run(HoldSeats{t1, std::nullopt, "s1", {"a1"}}), ErrorCode::UNAVAILABLE));
  CHECK(word(h.run(HoldSeats{t2, std::nullopt, "s1", {"a1"}}), 1) == "reservation");

  std::vector<int64_t> amounts;
  for (const auto& e : logged<ev::BalanceCharged>(h.log)) amounts.push_back(e.amount);
  CHECK(amounts == std::vector<int64_t>{100, 7, 50});
  CHECK(logged<ev::SeatsHeld>(h.log).size() == 1);
  CHECK(eventually([&] { return h.writer.acknowledged_offset() == h.log.end_offset(); }));
}

// BUG (engine/writer.h, process()): module_.start() runs only in the first
// batch after start() (starting_ = false before the append). When that
// append fails, recover() rebuilds the state from the log without the
// LimitsConfigured event, and no later batch writes it: the log never says
// which limits were in force. Skipped until fixed; run with --no-skip.
TEST_CASE("writer: the limits are recorded even when the first append fails") {
  Limits limits;
  limits.hold_ttl_ms = 123'000;
  limits.active_tokens_max = 5'000;
  Harness h(fast_config(), limits);
  h.log.fail_next_append();
  h.start();
  // The writer's first batch (an idle wake or a command) carries the limits.
  REQUIRE(eventually([&] { return h.log.append_calls() >= 1; }));
  CHECK(h.writer.stats().append_failures == 1);
  h.users({"u1"});
  const auto recorded = logged<ev::LimitsConfigured>(h.log);
  REQUIRE(recorded.size() == 1);
  CHECK(recorded[0].hold_ttl_ms == 123'000);
  CHECK(recorded[0].active_tokens_max == 5'000);
}

TEST_CASE("writer: the limits are recorded once, in the first append") {
  Limits limits;
  limits.seats_per_user_max = 2;
  MemoryLog log;
  ManualClock clock{kT0};
  for (int run = 0; run < 2; ++run) {  // the second start finds them recorded
    SeededRandom random{1};
    Module module{limits};
    Writer<Module> w(module, log, clock, random, render, fast_config());
    REQUIRE(w.recover().ok());
    w.start();
    REQUIRE(w.execute(RegisterUser{"u" + std::to_string(run), ""}).status == 200);
    w.stop();
  }
  const auto recorded = logged<ev::LimitsConfigured>(log);
  REQUIRE(recorded.size() == 1);
  CHECK(recorded[0].seats_per_user_max == 2);
  CHECK(log.envelopes().front().type == ev::LimitsConfigured::kType);
}

TEST_CASE("writer: every command of a failed batch is answered UNAVAILABLE") {
  std::atomic<bool> failed_once{false};
  Rendered blocked;
  std::vector<Rendered> answers(4);
  std::vector<std::jthread> threads;
  std::jthread blocker;
  Harness h;
  h.start();
  h.users({"u0", "u1", "u2", "u3"});
  // Fail the batch that carries u1's charge (the hook runs before the log
  // decides whether this append fails).
  h.log.set_append_hook([&](const std::vector<EventEnvelope>& batch) {
    for (const auto& u : charged_users(batch)) {
      if (u == "u1" && !failed_once.exchange(true)) h.log.fail_next_append();
    }
  });
  h.hold_append_with(blocker, ChargeBalance{"u0", 1}, &blocked);
  for (int i = 1; i <= 3; ++i) {
    threads.emplace_back([&, i] {
      answers[i] = h.run(ChargeBalance{"u" + std::to_string(i), 10}, IdempotencyRequest{"key", i});
    });
  }
  REQUIRE(h.wait_queue_depth(3));
  h.log.open_gate();
  for (auto& t : threads) t.join();
  blocker.join();

  CHECK(blocked.body == balance_body("u0", 1));
  for (int i = 1; i <= 3; ++i) CHECK(is_error(answers[i], ErrorCode::UNAVAILABLE));
  // Retries with the same keys execute for real now.
  for (int i = 1; i <= 3; ++i) {
    const std::string u = "u" + std::to_string(i);
    CHECK(h.run(ChargeBalance{u, 10}, IdempotencyRequest{"key", i}).body == balance_body(u, 10));
  }
  CHECK(logged<ev::BalanceCharged>(h.log).size() == 4);
}

TEST_CASE("writer: while recovery fails, commands answer UNAVAILABLE and nothing is appended") {
  Harness h;
  h.start();
  h.users({"u1"});
  CHECK(h.run(ChargeBalance{"u1", 100}).body == balance_body("u1", 100));
  h.log.set_read_failure(Status::Unavailable("injected: log unreadable"));
  h.log.fail_next_append();
  CHECK(is_error(h.run(ChargeBalance{"u1", 50}), ErrorCode::UNAVAILABLE));
  CHECK(h.writer.stats().recovering);
  const size_t appends = h.log.append_calls();
  // The state may be half rebuilt: nothing is decided on it.
  for (int i = 0; i < 3; ++i) {
    CHECK(is_error(h.run(ChargeBalance{"u1", 1}), ErrorCode::UNAVAILABLE));
  }
  CHECK(h.log.append_calls() == appends);
  h.log.clear_read_failure();
  CHECK(h.run(ChargeBalance{"u1", 7}).body == balance_body("u1", 107));
  CHECK_FALSE(h.writer.stats().recovering);
  std::vector<int64_t> amounts;
  for (const auto& e : logged<ev::BalanceCharged>(h.log)) amounts.push_back(e.amount);
  CHECK(amounts == std::vector<int64_t>{100, 7});
}

TEST_CASE("writer: recovery waits for the log to settle an undecided append") {
  Harness h;
  h.start();
  h.users({"u1"});
  h.log.set_settle_result(Status::Unavailable("injected: commit undecided"));
  h.log.fail_next_append();
  CHECK(is_error(h.run(ChargeBalance{"u1", 50}), ErrorCode::UNAVAILABLE));
  const size_t appends = h.log.append_calls();
  CHECK(is_error(h.run(ChargeBalance{"u1", 1}), ErrorCode::UNAVAILABLE));
  CHECK(h.log.append_calls() == appends);
  CHECK(h.log.settle_calls() >= 2);
  h.log.set_settle_result(Status::OK());
  CHECK(h.run(ChargeBalance{"u1", 1}).body == balance_body("u1", 1));
}

TEST_CASE("writer: an append that failed but landed is in the state after recovery") {
  Harness h;
  h.start();
  h.users({"u1"});
  // The log stored the batch but could not say so (a Kafka commit whose
  // answer was lost): the command is not acknowledged, yet its events are
  // the truth the state is rebuilt from.
  h.log.store_then_fail_next_append();
  const Rendered lost = h.run(ChargeBalance{"u1", 50}, IdempotencyRequest{"k1", 9});
  CHECK(is_error(lost, ErrorCode::UNAVAILABLE));
  CHECK(h.run(ChargeBalance{"u1", 1}).body == balance_body("u1", 51));
  // A retry with the key gets the answer the log remembers; nothing runs twice.
  CHECK(h.run(ChargeBalance{"u1", 50}, IdempotencyRequest{"k1", 9}).body == balance_body("u1", 50));
  CHECK(logged<ev::BalanceCharged>(h.log).size() == 2);
}

TEST_CASE("writer: a fenced log stops the writer for good and calls on_fenced once") {
  std::atomic<int> fenced_calls{0};
  std::string why;
  WriterConfig config = fast_config();
  config.on_fenced = [&](const Status& s) {
    ++fenced_calls;
    why = s.message();
  };
  Harness h(config);
  h.start();
  h.users({"u1"});
  h.log.fence();
  CHECK(is_error(h.run(ChargeBalance{"u1", 50}), ErrorCode::UNAVAILABLE));
  CHECK(h.writer.fenced());
  CHECK(h.writer.stats().fenced);
  const size_t appends = h.log.append_calls();
  for (int i = 0; i < 3; ++i) {
    CHECK(is_error(h.run(ChargeBalance{"u1", 1}), ErrorCode::UNAVAILABLE));
  }
  CHECK(h.log.append_calls() == appends);
  CHECK(fenced_calls == 1);
  CHECK(why.find("fenced") != std::string::npos);
  CHECK(logged<ev::BalanceCharged>(h.log).empty());
}

TEST_CASE("writer: the clock expires holds and tokens with no command arriving") {
  Harness h;
  h.start();
  h.users({"u1"});
  h.catalog();
  const std::string t = h.token("u1");
  const Rendered held = h.run(HoldSeats{t, std::nullopt, "s1", {"a1", "a2"}});
  REQUIRE(word(held, 1) == "reservation");
  const std::string reservation = word(held, 2);

  h.clock.advance_ms(Limits{}.hold_ttl_ms);
  REQUIRE(eventually([&] { return !logged<ev::HoldExpired>(h.log).empty(); }));
  const auto expired = logged<ev::HoldExpired>(h.log);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].reservation_id == reservation);
  CHECK(expired[0].seats.size() == 2);

  h.clock.advance_ms(Limits{}.token_ttl_ms - Limits{}.hold_ttl_ms);
  REQUIRE(eventually([&] { return !logged<ev::TokenExpired>(h.log).empty(); }));
  CHECK(logged<ev::TokenExpired>(h.log)[0].reason == "TTL");
  // acknowledged_offset() follows the append (it is set just after it returns).
  CHECK(eventually([&] { return h.writer.acknowledged_offset() == h.log.end_offset(); }));
  // The seats are free again for the next comer.
  CHECK(word(h.run(HoldSeats{h.token("u1"), std::nullopt, "s1", {"a1"}}), 1) == "reservation");
}

TEST_CASE("writer: the clock admits the next WAITING token when an ACTIVE one expires") {
  Limits limits;
  limits.active_tokens_max = 1;
  Harness h(fast_config(), limits);
  h.start();
  h.users({"u1", "u2"});
  const std::string first = h.token("u1");
  const Rendered waiting = h.run(IssueToken{"u2"});
  REQUIRE(word(waiting, 3) == std::to_string(static_cast<int>(TokenState::kWaiting)));
  CHECK(word(waiting, 4) == "1");  // position
  const std::string second = word(waiting, 2);

  h.clock.advance_ms(limits.token_ttl_ms);
  REQUIRE(eventually([&] {
    return !logged<ev::TokenActivated>(h.log).empty() &&
           logged<ev::TokenActivated>(h.log).back().token_hash == secrets::token_hash(second);
  }));
  const auto expired = logged<ev::TokenExpired>(h.log);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].token_hash == secrets::token_hash(first));
  // u2's token is ACTIVE now: asking again returns it, ACTIVE.
  const Rendered again = h.run(IssueToken{"u2"});
  CHECK(word(again, 2) == second);
  CHECK(word(again, 3) == std::to_string(static_cast<int>(TokenState::kActive)));
}

TEST_CASE("writer: a command's time never runs backwards, across restarts too") {
  MemoryLog log;
  ManualClock clock{kT0};
  for (int run = 0; run < 2; ++run) {
    SeededRandom random{1};
    Module module{Limits{}};
    Writer<Module> w(module, log, clock, random, render, fast_config());
    REQUIRE(w.recover().ok());
    w.start();
    if (run == 0) REQUIRE(w.execute(RegisterUser{"u1", ""}).status == 200);
    clock.set_ms(kT0 - 60 * kMinute);  // the wall clock steps back
    REQUIRE(w.execute(ChargeBalance{"u1", 1}).status == 200);
    w.stop();
    clock.set_ms(kT0);
  }
  for (const auto& env : log.envelopes()) CHECK(env.time_ms == kT0);
  for (const auto& e : logged<ev::BalanceCharged>(log)) CHECK(e.charged_at == kT0);
}

TEST_CASE("writer: stop() answers every accepted command, then refuses") {
  Rendered blocked;
  std::vector<Rendered> answers(5);
  std::vector<std::jthread> threads;
  std::jthread blocker;
  WriterConfig config = fast_config();
  config.queue_commands_max = 4;
  Harness h(config);
  std::jthread stopper;  // joined before the harness goes, after the gate opens:
  struct OpenGate {
    MemoryLog& log;
    ~OpenGate() { log.open_gate(); }
  } open_gate_on_exit{h.log};
  h.start();
  h.users({"u0", "u1", "u2", "u3", "u4", "u5"});
  h.hold_append_with(blocker, ChargeBalance{"u0", 1}, &blocked);
  for (int i = 1; i <= 4; ++i) {
    threads.emplace_back([&, i] { answers[i] = h.run(ChargeBalance{"u" + std::to_string(i), 1}); });
  }
  REQUIRE(h.wait_queue_depth(4));

  stopper = std::jthread([&] { h.writer.stop(); });
  // The queue is full, so a probe is never accepted: OVERLOADED until the
  // writer is stopping, UNAVAILABLE from then on.
  REQUIRE(eventually([&] {
    const Rendered probe = h.run(ChargeBalance{"u5", 1});
    REQUIRE((is_error(probe, ErrorCode::OVERLOADED) || is_error(probe, ErrorCode::UNAVAILABLE)));
    return is_error(probe, ErrorCode::UNAVAILABLE);
  }));

  h.log.open_gate();
  stopper.join();
  for (auto& t : threads) t.join();
  blocker.join();
  CHECK(blocked.body == balance_body("u0", 1));
  for (int i = 1; i <= 4; ++i) CHECK(answers[i].body == balance_body("u" + std::to_string(i), 1));
  CHECK(logged<ev::BalanceCharged>(h.log).size() == 5);
  CHECK(is_error(h.run(ChargeBalance{"u5", 1}), ErrorCode::UNAVAILABLE));
}

// submit(): the same queue and checks as execute(), but the answer is put
// in a Completion and posted to its queue, once per batch, only after the
// batch's append returned.
TEST_CASE("writer: submit() posts a batch's answers after its append, with one wake") {
  Rendered blocked;
  std::jthread blocker;
  WriterConfig config = fast_config();
  config.queue_commands_max = 3;
  Harness h(config);
  h.start();
  h.users({"u0", "u1", "u2", "u3"});
  CompletionQueue queue;
  Completion done[3];
  for (auto& d : done) d.queue = &queue;
  const uint64_t batches_before = h.writer.stats().batches;
  h.hold_append_with(blocker, ChargeBalance{"u0", 1}, &blocked);
  for (int i = 0; i < 3; ++i) {
    CHECK_FALSE(h.writer.submit(ChargeBalance{"u" + std::to_string(i + 1), 1}, std::nullopt,
                                nullptr, &done[i]));
  }
  REQUIRE(h.wait_queue_depth(3));
  // The queue is full: submit() refuses at once, as execute() does, and
  // leaves its completion alone.
  Completion spare{{}, &queue, nullptr};
  const std::optional<Rendered> shed =
      h.writer.submit(ChargeBalance{"u3", 1}, std::nullopt, nullptr, &spare);
  REQUIRE(shed);
  CHECK(is_error(*shed, ErrorCode::OVERLOADED));
  CHECK(h.writer.stats().overloaded == 1);
  // Nothing is posted while the append is held.
  std::this_thread::sleep_for(milliseconds(20));
  CHECK(queue.take_all() == nullptr);

  h.log.open_gate();
  blocker.join();
  std::set<Completion*> posted;
  REQUIRE(eventually([&] {
    for (Completion* c = queue.take_all(); c != nullptr; c = c->next) posted.insert(c);
    return posted.size() == 3;
  }));
  CHECK(posted.count(&spare) == 0);
  for (int i = 0; i < 3; ++i) {
    CHECK(done[i].answer.body == balance_body("u" + std::to_string(i + 1), 1));
  }
  // The three were decided as one batch, after the held one.
  CHECK(h.writer.stats().batches == batches_before + 2);
  h.writer.stop();
  Completion late{{}, &queue, nullptr};
  const auto refused = h.writer.submit(ChargeBalance{"u3", 1}, std::nullopt, nullptr, &late);
  REQUIRE(refused);
  CHECK(is_error(*refused, ErrorCode::UNAVAILABLE));
}

TEST_CASE("writer: 100 concurrent charges add up exactly") {
  constexpr int kThreads = 10;
  constexpr int kEach = 10;
  std::vector<std::vector<Rendered>> answers(kThreads);
  Harness h;
  h.start();
  h.users({"u1"});
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i)
          answers[t].push_back(h.run(ChargeBalance{"u1", t * kEach + i + 1}));
      });
    }
  }
  constexpr int64_t kSum = kThreads * kEach * (kThreads * kEach + 1) / 2;  // 1 + 2 + ... + 100
  std::set<int64_t> balances;
  for (const auto& per_thread : answers) {
    for (const auto& r : per_thread) {
      CHECK(r.status == 200);
      balances.insert(std::stoll(word(r, 3)));
    }
  }
  CHECK(balances.size() == kThreads * kEach);  // every charge saw a balance of its own
  CHECK(*balances.rbegin() == kSum);
  const auto charges = logged<ev::BalanceCharged>(h.log);
  REQUIRE(charges.size() == kThreads * kEach);
  CHECK(charges.back().balance_after == kSum);
  CHECK(h.run(ChargeBalance{"u1", 1}).body == balance_body("u1", kSum + 1));
  CHECK(h.writer.stats().commands >= kThreads * kEach);
}

}  // namespace

// docs/SECURITY.md: the log never holds a token in clear, yet a retry of a
// token issue gets its first answer byte for byte, across expiry and
// restarts; a writer whose key cannot open the token answers 500.
TEST_CASE("writer: a remembered token issue keeps the token out of the log and replays it") {
  Limits limits;
  Harness h(fast_config(), limits);
  h.start();
  h.users({"u1"});
  const IdempotencyRequest key{"issue-1", 4242};
  const Rendered first = h.run(IssueToken{"u1"}, key);
  REQUIRE(first.status == 200);
  const std::string token = word(first, 2);
  REQUIRE(token.size() == 36);
  const auto recorded = logged<ev::IdempotencyRecorded>(h.log);
  REQUIRE(recorded.size() == 1);
  CHECK(recorded[0].body.find(token) == std::string::npos);
  CHECK(recorded[0].body.find(ev::kSecretMark) != std::string::npos);
  CHECK(recorded[0].redacted == secrets::token_hash(token));
  std::vector<EventEnvelope> all;
  REQUIRE(h.log.read(0, h.log.end_offset(), &all).ok());
  for (const auto& env : all) CHECK(env.payload.find(token) == std::string::npos);
  CHECK(h.run(IssueToken{"u1"}, key) == first);

  h.clock.advance_ms(limits.token_ttl_ms);  // the token expires meanwhile
  REQUIRE(eventually([&] { return !logged<ev::TokenExpired>(h.log).empty(); }));
  CHECK(h.run(IssueToken{"u1"}, key) == first);

  h.writer.stop();  // a restart: a new writer rebuilds everything from the log
  Module module{limits};
  Writer<Module> again(module, h.log, h.clock, h.random, render, fast_config());
  REQUIRE(again.recover().ok());
  again.start();
  CHECK(again.execute(IssueToken{"u1"}, key) == first);
  again.stop();

  secrets::TokenKey other;
  other.bytes.fill(7);
  Module keyless{limits, other};
  Writer<Module> wrong(keyless, h.log, h.clock, h.random, render, fast_config());
  REQUIRE(wrong.recover().ok());
  wrong.start();
  CHECK(is_error(wrong.execute(IssueToken{"u1"}, key), ErrorCode::INTERNAL));
  wrong.stop();
}
