// Simulation<Driver>: the deterministic simulator of issue 16. It runs the
// real Writer<Module> (engine/writer.h) and the real domain module over a
// fault-injecting log (sim_log.h), with a simulated clock and a handful of
// simulated clients, and checks after every step what the engine promises.
//
// Deterministic: everything the run does is a function of the seed. The
// writer runs without its thread (Writer::execute_batch decides one batch
// on the calling thread, as the writer thread would), clients submit a
// batch per step, every fault, clock move, id and command is drawn from
// seeded generators, and recovery's reader thread only reads. So a failure
// names (seed, step) and the same seed replays it exactly. What is not
// simulated: the queue and thread hand-off of execute() (tests/unit/
// writer_test.cc and the race tests cover them), real files and Kafka.
//
// One step:
//   1. the clock moves (mostly seconds, now and then past a hold's or a
//      token's TTL);
//   2. up to `clients` requests: keyed retries of earlier unanswered ones
//      first, then new random valid and invalid commands from the driver,
//      and now and then a key reused for another request (must be 422);
//   3. maybe a crash before the batch reaches the log (answers lost);
//   4. the append's fault is planned (sim_log.h), the batch is decided;
//   5. answers are judged: 503 = unknown (keyed ones are retried with the
//      same key), anything else is acknowledged and recorded;
//   6. maybe an idle wake (clock events, recovery retries);
//   7. checks: the independent checker over every new durable event (it
//      checks its invariants at every offset), every effect at most once
//      in the log and every acknowledged one exactly once, every answer to
//      a key byte-identical to its first and to the one in the log, the
//      live module's snapshot equal to the state rebuilt from the log, the
//      driver's queries equal to the checker's view;
//   8. maybe a crash; a crashed or broken log forces one. A restart keeps
//      only the durable log, recovers a new Module + Writer from it with or
//      without the snapshot store (maybe after a failed read), and checks
//      the recovered state against the log's.
//
// Failover (SimConfig::failover, docs/SCALING.md "Standby and failover"):
// two nodes over one shared partition (SimDisk, sim_log.h), each an --ha
// writer's process with its own Module, Writer and snapshot store. The
// active one writes at its epoch and confirms each batch; the standby's
// writer is not started and keeps warm by Writer::catch_up() from the log
// (on some steps, as `serve --role standby` does every 100 ms). Where the
// single mode restarts the writer, the failover mode either restarts it
// (an --ha writer takes the log over at start: a marker, epoch + 1) or
// kills it: the standby commits a takeover marker, catches up to the end
// and serves as the writer; the dead node comes back as the standby. A
// pause (step 4, pause_permille) stops the active writer inside its append,
// with its batch decided but not yet in the log, or in the log but not yet
// confirmed; meanwhile its clients time out (keyed ones retry), the standby
// takes over and decides up to two batches; then the paused writer resumes.
// Its batch, when it landed after the marker, is void for every reader
// (the epoch rule, events/epoch_rule.h, the same code as KafkaLog's) and
// every answer to it must be 503, never an acknowledgement; when it landed
// before the marker, it is valid, the new writer has it, and the answers
// are judged as any others. The resumed writer then wakes once more (an
// append it makes now is void: it must find itself fenced) and exits.
// Likewise a writer left with a commit of unknown outcome may stop before
// settling it: the standby takes over, and the old commit, decided after
// the marker, must be void if it lands.
// Every check of the single mode runs on the valid log, and after a
// takeover the new writer's state must equal the log's.
//
// Replica (SimConfig::replica, sim_replica.h): a follower at a seeded,
// variable lag, stalling and restarting from a checkpoint, answers a few
// queries each step with a Reservoir-Min-Offset: 0, an offset some client
// was acknowledged at (read-your-writes: its effect must be there), or any
// offset up to the end; answered only once applied, each answer checked
// against an independent checker at the replica's offset.
//
// Driver (concert_driver.h, clinic_driver.h) provides:
//   Module, Checker, kName, make_module(), render(reply)
//   setup(out)                      the fault-free first batch (catalog)
//   generate(rng, request)          a new random command (valid or not)
//   on_answer(request, answer)      learn from an acknowledged answer; add
//                                   the effects it promises to `acked`
//   effects(envelope, out)          the effect keys a durable event carries
//   check_queries(module, checker)  "" or what differs
//
// Thread safety: none; one simulation per thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/writer.h"
#include "events/engine_events.h"
#include "sim_log.h"
#include "sim_random.h"
#include "sim_replica.h"

namespace reservoir::sim {

inline constexpr int64_t kSimStartMs = 1'800'000'000'000;      // 2027-01-15, UTC
inline constexpr int64_t kRetryWithinMs = 24LL * 3600 * 1000;  // the idempotency promise

struct SimConfig {
  uint64_t seed = 1;
  uint64_t steps = 1000;
  int clients = 6;  // requests per step at most
  // Per-batch probabilities, in parts per thousand.
  int fault_permille = 120;        // the append suffers some fault
  int crash_permille = 15;         // a crash between steps
  int crash_before_permille = 10;  // a crash with the step's batch in memory
  int idle_permille = 100;         // an idle wake after the batch
  int reuse_permille = 30;         // a request reuses an acknowledged key
  uint64_t snapshot_every_events = 40;
  bool verbose = false;  // print each step's outline
  // Failover: a standby node, takeovers, paused writers (see above).
  bool failover = false;
  int takeover_permille = 500;            // a crash: the standby takes over (else a restart)
  int pause_permille = 25;                // a fault-free append pauses mid-way
  int catch_up_permille = 300;            // the standby applies the log's tail this step
  int undecided_takeover_permille = 300;  // a commit of unknown outcome: the standby takes over
  bool replica = false;                   // a lagging replica answers queries
  int queries = 3;                        // per step at most
};

struct SimStats {
  uint64_t steps = 0, requests = 0, acknowledged = 0, unavailable = 0, lost = 0;
  uint64_t retries = 0, replays_checked = 0, reuses_checked = 0, abandoned = 0;
  uint64_t crashes = 0, restarts_with_snapshots = 0, recoveries_checked = 0;
  uint64_t events = 0, appends = 0, snapshots_saved = 0, idle_wakes = 0;
  uint64_t faults[kAppendFaultKinds] = {};
  uint64_t takeovers = 0, pauses_void = 0, pauses_valid = 0, fenced_checked = 0;
  uint64_t voided = 0, catch_ups = 0, undecided_takeovers = 0;
  ReplicaStats replica;
  uint64_t log_digest = 0;  // FNV-1a over every durable event: equal runs, equal digests
  std::map<std::string, uint64_t> answers;  // acknowledged answers by their first two words
  std::string summary() const;
  std::string answer_counts() const;
};

struct SimResult {
  bool ok = true;
  uint64_t step = 0;
  std::string failure;  // with the seed and step that reproduce it
  SimStats stats;
};

// A client's request as the harness tracks it across retries.
template <class Command>
struct Request {
  uint64_t serial = 0;
  Command command;
  std::optional<IdempotencyRequest> idem;
  std::string what;  // for failure messages
  int64_t first_sent_ms = 0;
  bool reuse = false;  // a key reused with another fingerprint: 422 expected
};

template <class Driver>
class Simulation {
 public:
  using Module = typename Driver::Module;
  using Command = typename Module::Command;
  using Req = Request<Command>;

  explicit Simulation(SimConfig config)
      : config_(config),
        rng_(config.seed),
        clock_(kSimStartMs),
        log_(std::make_unique<SimLog>(&clock_, &disk_)),
        snapshots_(std::make_unique<SimSnapshots>()) {}

  SimResult run();

 private:
  // A node's process besides the active writer's: the standby (failover).
  struct Node {
    std::unique_ptr<SimLog> log;
    std::unique_ptr<SimSnapshots> snapshots = std::make_unique<SimSnapshots>();
    std::unique_ptr<Module> module;
    std::unique_ptr<SeededRandom> random;
    std::unique_ptr<Writer<Module>> writer;
  };

  void start_writer(bool with_snapshots);
  bool restart();
  void crash();
  void start_standby();
  bool take_over(const char* why);
  void swap_nodes();
  void step();
  bool run_batch(std::vector<Req>& sent);
  std::vector<Req> take_requests();
  AppendPlan plan_faults();
  void plan_pause(const std::vector<Req>& sent);
  void during_pause(std::vector<Req> timed_out);
  void new_writer_batches();
  void take_over_undecided();
  void after_pause(std::vector<Req>& sent, std::vector<Rendered>& answers);
  void judge(std::vector<Req>& sent, std::vector<Rendered>& answers);
  void judge_one(Req& r, const Rendered& a);
  void lose(std::vector<Req>& sent);
  void check_log();
  void check_state(const char* when);
  void check_effects();
  void query_replica();
  bool unredact(const std::string& hash, std::string& body) const;
  void fail(const std::string& what);

  SimConfig config_;
  SimRng rng_;
  ManualClock clock_;
  SimDisk disk_;  // the shared partition: every node's log reads it
  // The active writer's process.
  std::unique_ptr<SimLog> log_;
  std::unique_ptr<SimSnapshots> snapshots_;
  Driver driver_;
  std::unique_ptr<Module> module_;
  std::unique_ptr<SeededRandom> random_;
  std::unique_ptr<Writer<Module>> writer_;
  Node standby_;                  // failover only
  uint64_t appends_retired_ = 0;  // by log handles of processes that ended
  std::unique_ptr<SimReplica<Driver>> replica_;
  std::unique_ptr<Module> shadow_;  // the log's state, applied event by event
  typename Driver::Checker checker_;
  uint64_t checked_end_ = 0;  // durable events fed to the shadow and the checker
  uint64_t serial_ = 0;
  uint64_t step_ = 0;
  std::vector<Req> retry_;        // keyed requests without an answer yet
  std::vector<Req> acked_keyed_;  // candidates for a reused key
  std::map<std::string, std::pair<Rendered, int64_t>> first_answer_;  // key -> (answer, when)
  std::map<std::string, Rendered> logged_answer_;                     // key -> as recorded
  std::map<std::string, int> effect_count_;                           // in the durable log
  std::set<std::string> acked_effects_;  // promised by acknowledged answers
  // Effects acknowledged lately, with the offset their answer carried
  // (Reservoir-Offset): read-your-writes queries to the replica.
  std::vector<std::pair<std::string, uint64_t>> recent_acks_;
  static constexpr size_t kRecentAcksMax = 64;
  uint64_t answer_offset_ = 0;  // the answering writer's acknowledged offset
  PausePoint pausing_ = PausePoint::kNone;
  bool paused_ = false;  // the hook ran: the active writer is the new one
  SimResult result_;
};

std::string sim_repro(const char* domain, const SimConfig& c);

// ---------------------------------------------------------------------------

template <class Driver>
SimResult Simulation<Driver>::run() {
  shadow_ = driver_.make_module();
  start_writer(false);
  if (config_.failover) {
    log_->confirm_appends();
    log_->take_over();  // an --ha writer takes the log over at start
  }
  {
    std::vector<Req> setup;
    driver_.setup(setup);
    for (auto& r : setup) r.serial = ++serial_;
    std::vector<typename Writer<Module>::Submission> batch;
    for (auto& r : setup) batch.push_back({r.command, r.idem, &Driver::render});
    auto answers = writer_->execute_batch(std::move(batch));
    answer_offset_ = writer_->acknowledged_offset();
    for (size_t i = 0; i < setup.size() && result_.ok; ++i) {
      if (answers[i].status != 200) fail("setup: " + setup[i].what + ": " + answers[i].body);
      judge_one(setup[i], answers[i]);
    }
    check_log();
  }
  if (config_.failover) start_standby();
  if (config_.replica) replica_ = std::make_unique<SimReplica<Driver>>(driver_, disk_);
  for (step_ = 1; step_ <= config_.steps && result_.ok; ++step_) {
    step();
    ++result_.stats.steps;
  }
  if (result_.ok && restart()) check_effects();
  result_.stats.appends = log_->appends() + appends_retired_;
  result_.stats.snapshots_saved = snapshots_->saved();
  if (config_.failover) {
    result_.stats.appends += standby_.log->appends();
    result_.stats.snapshots_saved += standby_.snapshots->saved();
  }
  result_.stats.voided = disk_.voided();
  if (replica_) result_.stats.replica = replica_->stats();
  return result_;
}

template <class Driver>
void Simulation<Driver>::start_writer(bool with_snapshots) {
  writer_.reset();
  module_ = driver_.make_module();
  random_ = std::make_unique<SeededRandom>(rng_.next());
  WriterConfig wc;
  wc.snapshots = with_snapshots ? snapshots_.get() : nullptr;
  wc.snapshot_every_events = config_.snapshot_every_events;
  wc.replay_chunk_events = 1 + rng_.below(64);  // recovery reads in chunks of any size
  writer_ =
      std::make_unique<Writer<Module>>(*module_, *log_, clock_, *random_, &Driver::render, wc);
}

// A new process: only the durable log (and the snapshot store) survive.
template <class Driver>
bool Simulation<Driver>::restart() {
  ++result_.stats.crashes;
  log_->restart();
  check_log();
  const bool with_snapshots = rng_.chance(500);
  if (with_snapshots) ++result_.stats.restarts_with_snapshots;
  start_writer(with_snapshots);
  if (config_.failover) log_->take_over();    // an --ha writer at start: epoch + 1
  if (rng_.chance(200)) log_->fail_reads(1);  // the first attempt fails midway
  Status s = writer_->recover();
  if (!s.ok()) s = writer_->recover();
  if (!s.ok()) {
    fail("recover after a restart: " + s.ToString());
    return false;
  }
  check_state("after a restart");
  return result_.ok;
}

// The active writer dies. Failover: the standby takes over (or, as in the
// single mode, the node restarts), and the dead node comes back as the standby.
template <class Driver>
void Simulation<Driver>::crash() {
  if (!config_.failover || !rng_.chance(config_.takeover_permille)) {
    restart();
    return;
  }
  ++result_.stats.crashes;
  log_->restart();  // what the dead process left is decided before any marker
  check_log();
  if (take_over("after a takeover from a dead writer")) start_standby();
}

// The standby node's process starts (again): from its own snapshots or the
// whole log, its writer not started; its log handle writes nothing until
// it takes over.
template <class Driver>
void Simulation<Driver>::start_standby() {
  Node& n = standby_;
  n.writer.reset();
  if (n.log) appends_retired_ += n.log->appends();
  n.log = std::make_unique<SimLog>(&clock_, &disk_);
  n.log->confirm_appends();
  n.module = driver_.make_module();
  n.random = std::make_unique<SeededRandom>(rng_.next());
  WriterConfig wc;
  wc.snapshots = rng_.chance(500) ? n.snapshots.get() : nullptr;
  wc.snapshot_every_events = config_.snapshot_every_events;
  wc.replay_chunk_events = 1 + rng_.below(64);
  n.writer =
      std::make_unique<Writer<Module>>(*n.module, *n.log, clock_, *n.random, &Driver::render, wc);
  Status s = n.writer->recover();
  if (!s.ok()) fail("the standby's recovery: " + s.ToString());
}

// The standby commits its marker, applies the log to its end and becomes
// the active writer (serve.cc keep_standby); its state must be the log's.
template <class Driver>
bool Simulation<Driver>::take_over(const char* why) {
  ++result_.stats.takeovers;
  standby_.log->take_over();
  Status s = standby_.writer->catch_up();
  if (!s.ok()) {
    fail(std::string("the standby's catch-up at its takeover: ") + s.ToString());
    return false;
  }
  swap_nodes();
  check_log();
  check_state(why);
  return result_.ok;
}

template <class Driver>
void Simulation<Driver>::swap_nodes() {
  std::swap(log_, standby_.log);
  std::swap(snapshots_, standby_.snapshots);
  std::swap(module_, standby_.module);
  std::swap(random_, standby_.random);
  std::swap(writer_, standby_.writer);
}

template <class Driver>
void Simulation<Driver>::step() {
  // Mostly seconds; now and then minutes, past hold and token TTLs.
  clock_.advance_ms(rng_.chance(20) ? 60'000 * (1 + rng_.below(12)) : rng_.below(3000));
  std::vector<Req> sent = take_requests();
  if (config_.failover && rng_.chance(config_.catch_up_permille)) {
    ++result_.stats.catch_ups;
    Status s = standby_.writer->catch_up();
    if (!s.ok()) return fail("the standby's catch-up: " + s.ToString());
    if (standby_.module->snapshot() != shadow_->snapshot()) {
      return fail("the standby's warm state differs from the log's");
    }
  }
  if (rng_.chance(config_.crash_before_permille)) {
    lose(sent);
    crash();
    return;
  }
  const AppendPlan plan = plan_faults();
  if (config_.failover && plan.fault == AppendFault::kNone && rng_.chance(config_.pause_permille)) {
    plan_pause(sent);
  }
  if (!run_batch(sent) || !result_.ok) return;
  if (rng_.chance(config_.idle_permille)) {
    ++result_.stats.idle_wakes;
    writer_->execute_batch({});
  }
  check_log();
  if (!writer_->stats().recovering) check_state("after a batch");
  if (result_.ok && replica_) query_replica();
  if (!result_.ok) return;
  if (log_->broken() || rng_.chance(config_.crash_permille)) crash();
}

// The step's batch through the active writer; false when the writer
// crashed (the step ends). A pause planned on its log makes the writer
// that answers here the old one (after_pause).
template <class Driver>
bool Simulation<Driver>::run_batch(std::vector<Req>& sent) {
  std::vector<typename Writer<Module>::Submission> batch;
  for (auto& r : sent) batch.push_back({r.command, r.idem, &Driver::render});
  paused_ = false;
  SimLog* const log = log_.get();
  std::vector<Rendered> answers = writer_->execute_batch(std::move(batch));
  log->plan_pause(PausePoint::kNone, nullptr);  // no append reached it: not paused
  if (paused_) {
    after_pause(sent, answers);
    return true;
  }
  if (log_->crashed()) {
    lose(sent);
    crash();
    return false;
  }
  answer_offset_ = writer_->acknowledged_offset();
  judge(sent, answers);
  if (config_.failover && log_->pending() && rng_.chance(config_.undecided_takeover_permille)) {
    take_over_undecided();
  }
  return true;
}

// The active writer's commit is undecided (a Kafka timeout) and it stops
// before settling it; the standby takes over and decides. When the old
// writer resumes, its commit is decided after the marker: void if it
// lands. It wakes once (settle, recover, an append of clock events if due:
// void, and then it must be fenced) and exits.
template <class Driver>
void Simulation<Driver>::take_over_undecided() {
  ++result_.stats.undecided_takeovers;
  if (!take_over("after a takeover from a writer with an undecided commit")) return;
  new_writer_batches();
  if (!result_.ok) return;
  Writer<Module>& old = *standby_.writer;
  SimLog& old_log = *standby_.log;
  const int64_t last = old_log.last_message();
  const uint64_t appends = old_log.appends();
  old.execute_batch({});
  if (old_log.last_message() != last && old_log.last_verdict() != EpochVerdict::kVoid) {
    return fail("a batch the old writer landed after the takeover is not void");
  }
  if (old_log.appends() != appends && !old.fenced()) {
    return fail("an old writer appended after the takeover and is not fenced");
  }
  check_log();
  if (result_.ok) start_standby();
}

template <class Driver>
std::vector<Request<typename Driver::Module::Command>> Simulation<Driver>::take_requests() {
  std::vector<Req> sent;
  const size_t n = 1 + rng_.below(static_cast<uint64_t>(config_.clients));
  while (!retry_.empty() && sent.size() < n) {
    Req r = std::move(retry_.front());
    retry_.erase(retry_.begin());
    if (clock_.now_ms() - r.first_sent_ms >= kRetryWithinMs) {
      ++result_.stats.abandoned;  // the key may have aged out: its answer is no longer owed
      continue;
    }
    ++result_.stats.retries;
    sent.push_back(std::move(r));
  }
  while (sent.size() < n) {
    Req r;
    if (!acked_keyed_.empty() && rng_.chance(config_.reuse_permille)) {
      r = acked_keyed_[rng_.below(acked_keyed_.size())];
      if (clock_.now_ms() - r.first_sent_ms >= kRetryWithinMs) continue;
      if (rng_.chance(500)) {
        r.idem->fingerprint ^= 1;  // another request under the same key
        r.reuse = true;
        r.what = "reused key: " + r.what;
      } else {
        r.what = "sent again: " + r.what;  // a client that missed the answer
      }
    } else {
      driver_.generate(rng_, r);
      r.first_sent_ms = clock_.now_ms();
      if (rng_.chance(700)) r.idem = IdempotencyRequest{"k" + std::to_string(serial_ + 1), 0};
      if (r.idem) r.idem->fingerprint = static_cast<int64_t>(serial_ + 1);
    }
    r.serial = ++serial_;
    sent.push_back(std::move(r));
  }
  result_.stats.requests += sent.size();
  return sent;
}

template <class Driver>
AppendPlan Simulation<Driver>::plan_faults() {
  AppendPlan p;
  if (rng_.chance(config_.fault_permille)) {
    p.fault = static_cast<AppendFault>(1 + rng_.below(kAppendFaultKinds - 1));
    p.lands = rng_.chance(500);
    p.settle_failures = rng_.chance(300) ? static_cast<int>(1 + rng_.below(3)) : 0;
    ++result_.stats.faults[static_cast<int>(p.fault)];
  }
  if (rng_.chance(30)) p.slow_ms = 1000 * static_cast<int64_t>(1 + rng_.below(900));
  log_->plan_append(p);
  if (rng_.chance(20)) log_->fail_reads(1);  // a recovery attempt of this batch fails
  const uint64_t roll = rng_.below(100);
  snapshots_->plan_save(roll < 5    ? SaveFault::kFail
                        : roll < 10 ? SaveFault::kTear
                                    : SaveFault::kNone);
  return p;
}

// The active writer will stop inside this batch's append; its clients time
// out then (keyed ones retry), and the standby takes over meanwhile.
template <class Driver>
void Simulation<Driver>::plan_pause(const std::vector<Req>& sent) {
  pausing_ = rng_.chance(500) ? PausePoint::kBeforeLanding : PausePoint::kBeforeConfirm;
  std::vector<Req> timed_out;
  for (const auto& r : sent) {
    if (r.idem && !r.reuse) timed_out.push_back(r);
  }
  log_->plan_pause(pausing_, [this, timed_out]() mutable { during_pause(std::move(timed_out)); });
}

// Runs inside the paused writer's append: the standby takes over and
// decides up to two batches, retries of the paused clients among them.
template <class Driver>
void Simulation<Driver>::during_pause(std::vector<Req> timed_out) {
  paused_ = true;
  for (auto& r : timed_out) {
    ++result_.stats.lost;
    retry_.push_back(std::move(r));
  }
  if (take_over("after a takeover from a paused writer")) new_writer_batches();
}

// Up to two batches through the new writer while the old one is stopped.
template <class Driver>
void Simulation<Driver>::new_writer_batches() {
  const uint64_t batches = rng_.below(3);
  for (uint64_t i = 0; i < batches && result_.ok; ++i) {
    clock_.advance_ms(rng_.below(3000));
    std::vector<Req> sent = take_requests();
    std::vector<typename Writer<Module>::Submission> batch;
    for (auto& r : sent) batch.push_back({r.command, r.idem, &Driver::render});
    std::vector<Rendered> answers = writer_->execute_batch(std::move(batch));
    answer_offset_ = writer_->acknowledged_offset();
    judge(sent, answers);
    check_log();
    if (!writer_->stats().recovering) check_state("while the old writer is paused");
  }
}

// The paused writer resumed and answered. Its batch is void (it landed
// after the marker): every answer must be 503 and the writer fenced. Or it
// is valid (it landed before): its answers are acknowledgements like any.
// Either way the old writer then wakes once more, finds itself fenced if
// it appends, and its process exits: the node comes back as the standby.
template <class Driver>
void Simulation<Driver>::after_pause(std::vector<Req>& sent, std::vector<Rendered>& answers) {
  Writer<Module>& old = *standby_.writer;
  SimLog& old_log = *standby_.log;
  if (old_log.last_verdict() == EpochVerdict::kVoid) {
    ++result_.stats.pauses_void;
    for (size_t i = 0; i < sent.size() && result_.ok; ++i) {
      ++result_.stats.fenced_checked;
      if (answers[i].status != 503) {
        fail("a paused writer answered \"" + answers[i].body + "\" to " + sent[i].what +
             " from a void batch (epoch " + std::to_string(old_log.epoch()) + ")");
      }
    }
    if (result_.ok && !old.fenced()) fail("a paused writer with a void batch is not fenced");
  } else {
    ++result_.stats.pauses_valid;
    answer_offset_ = old.acknowledged_offset();
    for (size_t i = 0; i < sent.size() && result_.ok; ++i) {
      if (answers[i].status != 503) judge_one(sent[i], answers[i]);  // 503: retried already
    }
    const int64_t before = old_log.last_message();
    old.execute_batch({});  // its answers: none, an idle wake
    if (old_log.last_message() != before &&
        (old_log.last_verdict() != EpochVerdict::kVoid || !old.fenced())) {
      fail("a writer that was taken over appended a batch that is not void, or is not fenced");
    }
  }
  check_log();
  if (result_.ok) start_standby();
}

// The replica follows the log a step, then answers a few queries.
template <class Driver>
void Simulation<Driver>::query_replica() {
  std::string why = replica_->advance(rng_);
  if (!why.empty()) return fail(why);
  const uint64_t n = 1 + rng_.below(static_cast<uint64_t>(config_.queries));
  for (uint64_t i = 0; i < n && result_.ok; ++i) {
    uint64_t min_offset = 0;
    std::string effect;
    const uint64_t roll = rng_.below(4);
    if (roll < 2 && !recent_acks_.empty()) {
      std::tie(effect, min_offset) = rng_.pick(recent_acks_);  // read-your-writes
    } else if (roll == 2) {
      min_offset = rng_.below(disk_.end() + 1);
    }
    auto answer = replica_->query(rng_, min_offset, effect);
    if (answer && !answer->empty()) fail(*answer);
  }
}

// Answers that never reached a client: keyed requests are retried, others given up.
template <class Driver>
void Simulation<Driver>::lose(std::vector<Req>& sent) {
  for (auto& r : sent) {
    ++result_.stats.lost;
    if (r.idem && !r.reuse) retry_.push_back(std::move(r));
  }
}

template <class Driver>
void Simulation<Driver>::judge(std::vector<Req>& sent, std::vector<Rendered>& answers) {
  for (size_t i = 0; i < sent.size() && result_.ok; ++i) {
    if (answers[i].status == 503) {
      ++result_.stats.unavailable;
      if (sent[i].idem && !sent[i].reuse) retry_.push_back(std::move(sent[i]));
      continue;
    }
    judge_one(sent[i], answers[i]);
  }
}

template <class Driver>
void Simulation<Driver>::judge_one(Req& r, const Rendered& a) {
  ++result_.stats.acknowledged;
  ++result_.stats.answers[a.body.substr(0, a.body.find(' ', a.body.find(' ') + 1))];
  if (r.reuse) {
    ++result_.stats.reuses_checked;
    if (a.status != 422) fail(r.what + ": expected 422 for a reused key, got " + a.body);
    return;
  }
  if (r.idem) {
    auto [it, fresh] = first_answer_.try_emplace(r.idem->key, a, clock_.now_ms());
    if (!fresh) {
      ++result_.stats.replays_checked;
      if (it->second.first.status != a.status || it->second.first.body != a.body) {
        fail(r.what + ": a retry under key " + r.idem->key + " got \"" + a.body +
             "\", the first answer was \"" + it->second.first.body + "\"");
        return;
      }
    } else if (a.status == 200) {
      acked_keyed_.push_back(r);
    }
  }
  std::set<std::string> promised;
  driver_.on_answer(r, a, promised);
  for (const auto& k : promised) {
    acked_effects_.insert(k);
    if (!config_.replica) continue;
    recent_acks_.emplace_back(k, answer_offset_);
    if (recent_acks_.size() > kRecentAcksMax) recent_acks_.erase(recent_acks_.begin());
  }
}

template <class Driver>
void Simulation<Driver>::check_log() {
  std::vector<EventEnvelope> fresh = disk_.since(checked_end_);
  for (const auto& env : fresh) {
    if (env.offset != checked_end_)
      return fail("offset " + std::to_string(env.offset) + " out of order");
    ++checked_end_;
    uint64_t& h = result_.stats.log_digest;
    for (const std::string* s : {&env.type, &env.payload}) {
      for (unsigned char c : *s) h = (h ^ c) * 1099511628211ULL;
    }
    h = (h ^ static_cast<uint64_t>(env.time_ms)) * 1099511628211ULL;
    Status s = checker_.feed(env);
    if (!s.ok()) return fail("the checker cannot decode offset " + std::to_string(env.offset));
    if (checker_.violation_count() > 0) {
      const auto& v = checker_.violations().front();
      return fail("checker: invariant " + std::to_string(v.invariant) + " at offset " +
                  std::to_string(v.offset) + " (" + v.event_type + "): " + v.detail);
    }
    std::vector<std::string> keys;
    if (events::EngineCatalog::knows(env.type)) {
      auto e = events::EngineCatalog::decode(env);
      if (!e.ok())
        return fail("offset " + std::to_string(env.offset) + ": " + e.status().ToString());
      const auto& rec = std::get<events::IdempotencyRecorded>(*e);
      keys.push_back("idem:" + rec.key);
      Rendered answer{static_cast<int>(rec.status), rec.body};
      if (!unredact(rec.redacted, answer.body)) {
        return fail("offset " + std::to_string(env.offset) + ": the log's answer names token " +
                    rec.redacted + ", which the log's state cannot open");
      }
      logged_answer_[rec.key] = std::move(answer);
    } else {
      Status a = shadow_->apply(env);
      if (!a.ok()) return fail("the shadow cannot apply offset " + std::to_string(env.offset));
      driver_.effects(env, keys);
    }
    for (auto& k : keys) {
      if (++effect_count_[k] > 1) return fail("effect " + k + " is in the log twice");
    }
  }
  result_.stats.events = checked_end_;
}

// An answer the writer stored with its token cut out (IdempotencyRecorded
// version 2, docs/SECURITY.md) gets it back from the log's own state, as
// the writer's replay of the answer does; false if that state cannot open it.
template <class Driver>
bool Simulation<Driver>::unredact(const std::string& hash, std::string& body) const {
  if (hash.empty()) return true;
  std::optional<std::string> secret;
  if constexpr (requires { shadow_->reveal(hash); }) secret = shadow_->reveal(hash);
  if (!secret) return false;
  for (size_t at = body.find(events::kSecretMark); at != std::string::npos;
       at = body.find(events::kSecretMark, at + secret->size())) {
    body.replace(at, events::kSecretMark.size(), *secret);
  }
  return true;
}

// The writer's module equals the state folded from the durable log.

template <class Driver>
void Simulation<Driver>::check_state(const char* when) {
  if (!result_.ok) return;
  ++result_.stats.recoveries_checked;
  if (module_->snapshot() != shadow_->snapshot()) {
    return fail(std::string("the writer's state differs from the log's ") + when);
  }
  std::string q = driver_.check_queries(*module_, checker_);
  if (!q.empty()) fail(std::string("queries ") + when + ": " + q);
}

// At the end: what was acknowledged is in the log exactly once, and every
// key's answer in the log is the one its clients got.
template <class Driver>
void Simulation<Driver>::check_effects() {
  for (const auto& k : acked_effects_) {
    if (effect_count_[k] != 1) return fail("acknowledged effect " + k + " is not in the log");
  }
  for (const auto& [key, first] : first_answer_) {
    auto it = logged_answer_.find(key);
    if (first.first.status == 200 && it == logged_answer_.end()) {
      return fail("key " + key + " was answered 200 but its answer is not in the log");
    }
    if (it != logged_answer_.end() &&
        (it->second.status != first.first.status || it->second.body != first.first.body)) {
      return fail("key " + key + ": the log recorded \"" + it->second.body +
                  "\", the client got \"" + first.first.body + "\"");
    }
  }
}

template <class Driver>
void Simulation<Driver>::fail(const std::string& what) {
  if (!result_.ok) return;
  result_.ok = false;
  result_.step = step_;
  result_.failure = std::string("sim ") + std::string(Module::kName) + " seed " +
                    std::to_string(config_.seed) + " step " + std::to_string(step_) + ": " + what +
                    "\n  reproduce: " + sim_repro(std::string(Module::kName).c_str(), config_);
}

inline std::string sim_repro(const char* domain, const SimConfig& c) {
  const std::string modes =
      std::string(c.failover ? " --failover" : "") + (c.replica ? " --replica" : "");
  const std::string cases = c.failover ? "sim*failover*" : c.replica ? "sim*replica*" : "sim*";
  return std::string("reservoir sim --domain ") + domain + modes + " --seed " +
         std::to_string(c.seed) + " --steps " + std::to_string(c.steps) +
         "   (or RESERVOIR_SIM_SEED=" + std::to_string(c.seed) +
         " RESERVOIR_SIM_STEPS=" + std::to_string(c.steps) + " unit_tests -tc='" + cases + "')";
}

inline std::string SimStats::answer_counts() const {
  std::string out;
  for (const auto& [kind, n] : answers) out += kind + " " + std::to_string(n) + "\n";
  return out;
}

inline std::string SimStats::summary() const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "steps %llu, requests %llu (acknowledged %llu, 503 %llu, lost %llu, retries %llu, "
                "replays checked %llu, reused keys %llu), crashes %llu (%llu with snapshots), "
                "events %llu, appends %llu, snapshots %llu, digest %016llx",
                (unsigned long long)steps, (unsigned long long)requests,
                (unsigned long long)acknowledged, (unsigned long long)unavailable,
                (unsigned long long)lost, (unsigned long long)retries,
                (unsigned long long)replays_checked, (unsigned long long)reuses_checked,
                (unsigned long long)crashes, (unsigned long long)restarts_with_snapshots,
                (unsigned long long)events, (unsigned long long)appends,
                (unsigned long long)snapshots_saved, (unsigned long long)log_digest);
  std::string out = buf;
  if (takeovers > 0) {
    std::snprintf(buf, sizeof buf,
                  "; takeovers %llu, paused writers %llu void (%llu answers checked 503) + "
                  "%llu valid, undecided commits %llu, void messages %llu, standby catch-ups %llu",
                  (unsigned long long)takeovers, (unsigned long long)pauses_void,
                  (unsigned long long)fenced_checked, (unsigned long long)pauses_valid,
                  (unsigned long long)undecided_takeovers, (unsigned long long)voided,
                  (unsigned long long)catch_ups);
    out += buf;
  }
  if (replica.answered + replica.unavailable > 0) {
    std::snprintf(buf, sizeof buf,
                  "; replica queries %llu answered (%llu read-your-writes) + %llu 503, "
                  "stalls %llu, restarts %llu, max lag %llu",
                  (unsigned long long)replica.answered,
                  (unsigned long long)replica.read_your_writes,
                  (unsigned long long)replica.unavailable, (unsigned long long)replica.stalls,
                  (unsigned long long)replica.restarts, (unsigned long long)replica.max_lag);
    out += buf;
  }
  out += "; faults:";
  for (int i = 1; i < kAppendFaultKinds; ++i) {
    out += std::string(" ") + fault_name(static_cast<AppendFault>(i)) + " " +
           std::to_string(faults[i]);
  }
  return out;
}

}  // namespace reservoir::sim
