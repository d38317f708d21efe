// Writer<Module>: the single-writer loop. Every command of every client goes
// through one thread that decides it against in-memory state, so there are
// no races to lock against: a seat is held once, a balance moves once.
//
//   HTTP threads --execute()/submit()--> bounded queue --> writer thread:
//     advance the clock, decide each queued command (applying as it goes),
//     append all their events in ONE durable log append (group commit),
//     then answer every command of the batch: wake each execute() caller,
//     post each submit()ted Completion (engine/completion.h), one post per
//     batch and queue.
//
// Nothing is answered before the append that holds its events is durable;
// even a rejection waits, since it may rest on state a same-batch command
// created. When the queue is full execute() answers OVERLOADED at once
// instead of letting latency grow. Idempotent commands: the first answer is
// stored in the log (IdempotencyRecorded) and replayed byte for byte. A
// module that answers with bearer secrets (the concert one: new queue
// tokens) says so with `secret_in(reply)` and `reveal(hash)`; the writer
// then stores such an answer with the secret cut out and puts it back on a
// replay (events/engine_events.h, docs/SECURITY.md).
//
// When an append fails every command of the batch is answered UNAVAILABLE
// (503) and the writer must rebuild its state from the log, the only truth:
// it first lets the log settle() what the failed append left undecided, then
// recover()s. Until both succeed it decides nothing: each later batch (and
// each idle wake) tries again first, and its commands are answered
// UNAVAILABLE if that fails, so a command waits at most one append or one
// recovery attempt (both bounded by the log). A Fenced status (another
// writer took the log over) stops the writer for good: every command from
// then on is answered UNAVAILABLE, and config.on_fenced is called once.
//
// Group commit by scheduling: the server runs the writer thread at a lower
// priority (WriterConfig::nice). When the cores are busy with HTTP and
// client threads, a lower-weight writer is picked a little later, so more
// commands queue for each durable append: fewer fdatasyncs and wake-ups per
// command, which on 2 shared cores is throughput (docs/BENCHMARKS.md,
// "Changes that mattered": batches of 4-6 grew to 5-13 on charges and 17-49 on
// bookings; CPU per command fell by about a fifth). An idle core runs it
// at once, so a lone command waits no longer. Sleeping for more commands
// instead (a commit delay) gained nothing: it idles cores the load could
// have used. Recovery and snapshot encoding, which also run on this
// thread, run at that priority too.
//
// Module requirements: the concept DomainModule (engine/domain.h; the
// concert module is engine/concert/module.h). Recovery replays the log on
// two threads (events/replay.h): decode on a reader thread, apply on the
// recovering one.
//
// Thread safety: execute(), submit(), acknowledged_offset() and stats()
// from any thread; recover()/start()/stop() from the owning thread, and
// execute_batch() (the simulator's) from it while the writer is not started.
#pragma once

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "engine/completion.h"
#include "engine/domain.h"
#include "engine/idempotency.h"
#include "engine/reply.h"
#include "engine/snapshot_store.h"
#include "engine/wake_word.h"
#include "engine/writer_snapshot.h"
#include "events/engine_events.h"
#include "events/event_log.h"
#include "events/histogram.h"
#include "events/oplog.h"
#include "events/os.h"
#include "events/replay.h"
#include "events/secrets.h"

namespace reservoir {

struct WriterConfig {
  size_t queue_commands_max = 16384;           // beyond this, OVERLOADED
  size_t batch_commands_max = 2048;            // commands sharing one durable append
  int64_t idle_wake_ms = 200;                  // longest sleep when nothing is due
  int64_t recovery_retry_ms = 100;             // idle retries of a failed recovery
  size_t replay_chunk_events = 8192;           // events read per call during recovery
  SnapshotStore* snapshots = nullptr;          // nullptr: no snapshots
  uint64_t snapshot_every_events = 1'000'000;  // 0: not by count
  int64_t snapshot_every_ms = 0;               // 0: not by time
  int nice = 0;  // the writer thread's nice value, 0..19 (0: unchanged); see above
  // Called once, on the writer thread, when the log reports Fenced.
  std::function<void(const Status&)> on_fenced;
  // The threads' names (top, perf, gdb), one pair per domain's writer in a
  // process; the kernel keeps the first 15 bytes.
  std::string thread_name = "rsv-writer";
  std::string snapshot_thread_name = "rsv-snapshot";
};

struct IdempotencyRequest {
  std::string key;
  int64_t fingerprint = 0;  // of method, path and canonical body
};

struct WriterStats {
  uint64_t commands = 0;
  uint64_t batches = 0;
  uint64_t events = 0;
  uint64_t overloaded = 0;
  uint64_t append_failures = 0;
  size_t queue_depth = 0;
  bool recovering = false;  // an append failed and the state is not rebuilt yet
  bool fenced = false;      // another writer owns the log: nothing is decided any more
};

template <DomainModule Module>
class Writer {
 public:
  using Command = typename Module::Command;
  using Reply = typename Module::Reply;
  using Renderer = std::function<Rendered(const Reply&)>;
  // A command's own renderer (an API dialect's), used instead of the
  // writer's for every answer to that command, stored idempotent answers
  // included: a replay returns the first answer exactly as first rendered.
  using RenderFn = Rendered (*)(const Reply&);

  Writer(Module& module, EventLog& log, Clock& clock, Random& random, Renderer render,
         WriterConfig config = {})
      : module_(module),
        log_(log),
        clock_(clock),
        random_(random),
        render_(std::move(render)),
        config_(config) {}
  ~Writer() { stop(); }

  // Rebuilds module state and remembered answers: from the newest usable
  // snapshot plus the log's tail, or from the whole log.
  Status recover();

  // While not started: applies the log's events beyond the state (a
  // standby keeps its engine warm this way, SPEC §7), or recover()s when
  // the log dropped events it had applied (EventLog::rewrites).
  Status catch_up();
  void start();
  // Answers every accepted command, then stops; later execute() calls get UNAVAILABLE.
  void stop();

  // Decides `command` and blocks until its answer is durable. `render`
  // (nullptr: the writer's renderer) renders every answer to it.
  Rendered execute(Command command, std::optional<IdempotencyRequest> idem = std::nullopt,
                   RenderFn render = nullptr);
  // The same without waiting: nullopt once the writer has taken `command`;
  // its answer is then put in `done`, which is posted to done->queue when
  // durable (`done` must live until then). An answer given at once instead
  // (OVERLOADED, stopping, fenced) is returned, and `done` is not touched.
  std::optional<Rendered> submit(Command command, std::optional<IdempotencyRequest> idem,
                                 RenderFn render, Completion* done);

  // Deterministic simulation (tests/sim): decides `batch` as ONE batch on
  // the calling thread, exactly as the writer thread decides what it took
  // from the queue (a pending recovery first, then the clock, the commands,
  // one append, recovery after a failed one), and returns the answers in
  // order; an empty batch is an idle wake. A snapshot the batch made due is
  // written before it returns, so the snapshot store's contents depend on
  // the batches alone, not on a thread's timing. Only while not start()ed.
  struct Submission {
    Command command;
    std::optional<IdempotencyRequest> idem;
    RenderFn render = nullptr;
  };
  std::vector<Rendered> execute_batch(std::vector<Submission> batch);

  // End offset of the last durable append: every acknowledged command's
  // events lie below it (the read-your-writes target for queries).
  uint64_t acknowledged_offset() const { return acked_.load(std::memory_order_acquire); }
  WriterStats stats() const;
  // Commands per durable append, and that append's duration (ns), while
  // metrics_on() (events/histogram.h).
  const Histogram& batch_commands() const { return batch_commands_; }
  const Histogram& append_durations() const { return append_ns_; }
  const EventLog& log() const { return log_; }
  bool fenced() const { return fenced_.load(std::memory_order_acquire); }

 private:
  struct Pending {
    Command command;
    std::optional<IdempotencyRequest> idem;
    Rendered answer;
    WakeWord* waiter = nullptr;  // the caller's: bumped once `answer` is final
    RenderFn render = nullptr;   // nullptr: render_
    Completion* done = nullptr;  // submit()'s, instead of a waiter; the Pending is the writer's
  };

  // Queues `p` (nullopt), or the answer that refuses it at once.
  std::optional<Rendered> enqueue(Pending* p);
  void run();
  void process(std::vector<Pending*>& batch);
  void answer_all(std::vector<Pending*>& batch, const std::string& why);
  void finish(std::vector<Pending*>& batch);
  void append_failed(const Status& s);
  bool try_recover();
  Status apply_tail(uint64_t from, uint64_t end);
  void fence(const Status& s);
  uint64_t restore_snapshot(uint64_t log_end);
  void maybe_snapshot(int64_t now);
  void run_snapshots();
  Rendered decide_one(Pending& p, int64_t now, std::vector<EventEnvelope>& out);
  // A logged event decoded (on the replay's reader thread), or why not.
  using Decoded = std::variant<Status, typename Module::Event, events::IdempotencyRecorded>;
  static Decoded decode(const EventEnvelope& env);
  Status replay(const EventEnvelope& env, Decoded& d);
  Rendered render(RenderFn fn, const Reply& reply) { return fn ? fn(reply) : render_(reply); }
  void redact(const Reply& reply, events::IdempotencyRecorded& rec) const;
  Rendered unredact(const IdempotencyTable::Entry& entry, RenderFn fn);
  Rendered error(ErrorCode code, std::string message, RenderFn fn = nullptr) {
    return render(fn, Reply(DomainError{code, std::move(message)}));
  }

  Module& module_;
  EventLog& log_;
  Clock& clock_;
  Random& random_;
  Renderer render_;
  WriterConfig config_;
  IdempotencyTable idempotency_;
  int64_t last_now_ = 0;         // commands' time never runs backwards
  bool starting_ = true;         // the first batch after start() runs module_.start()
  bool needs_recovery_ = false;  // writer thread only: state may not match the log
  bool recovery_reported_ = false;
  std::atomic<bool> fenced_{false};
  std::atomic<bool> recovering_{false};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending*> queue_;
  bool stopping_ = false;
  bool running_ = false;
  std::thread thread_;
  // Snapshots are encoded on the writer thread (the state must not move) and
  // written by this thread; at most one is in flight, a later one is skipped.
  std::thread snapshot_thread_;
  std::mutex snap_mu_;
  std::condition_variable snap_cv_;
  std::optional<std::pair<uint64_t, std::string>> snap_job_;
  bool snap_busy_ = false;
  bool running_snapshots_ = false;
  uint64_t last_snapshot_offset_ = 0;
  int64_t last_snapshot_ms_ = 0;
  std::atomic<uint64_t> acked_{0};
  uint64_t caught_up_rewrites_ = 0;  // catch_up(): the log's rewrites() it saw
  std::atomic<uint64_t> commands_{0}, batches_{0}, events_{0}, overloaded_{0}, failures_{0};
  Histogram batch_commands_{kBatchBounds};
  Histogram append_ns_{kDurationBoundsNs};
};

template <DomainModule Module>
typename Writer<Module>::Decoded Writer<Module>::decode(const EventEnvelope& env) {
  if (!events::EngineCatalog::knows(env.type)) {
    auto e = Module::decode(env);
    if (!e.ok()) return Decoded(e.status());
    return Decoded(std::move(*e));
  }
  auto e = events::EngineCatalog::decode(env);
  if (!e.ok()) return Decoded(e.status());
  return Decoded(std::get<events::IdempotencyRecorded>(std::move(*e)));
}

template <DomainModule Module>
Status Writer<Module>::replay(const EventEnvelope& env, Decoded& d) {
  last_now_ = std::max(last_now_, env.time_ms);
  if (auto* event = std::get_if<typename Module::Event>(&d)) {
    module_.apply(*event);
  } else if (auto* rec = std::get_if<events::IdempotencyRecorded>(&d)) {
    idempotency_.apply(*rec, env.time_ms);
  } else {
    return Status::Corruption("offset " + std::to_string(env.offset) + ": " +
                              std::get<Status>(d).message());
  }
  return Status::OK();
}

template <DomainModule Module>
uint64_t Writer<Module>::restore_snapshot(uint64_t log_end) {
  for (uint64_t offset : config_.snapshots->list()) {
    std::string why;
    WriterSnapshot snap;
    auto bytes = config_.snapshots->load(offset);
    if (offset > log_end) {
      why = "it is beyond the log's end " + std::to_string(log_end);
    } else if (!bytes.ok()) {
      why = bytes.status().ToString();
    } else if (!decode_writer_snapshot(*bytes, snap) || snap.offset != offset ||
               !module_.restore(snap.module)) {
      why = "it does not decode";
    }
    if (why.empty()) {
      idempotency_ = std::move(snap.answers);
      last_now_ = snap.last_now;
      oplog::log_event(oplog::Level::kInfo, "snapshot_restored",
                       {{"writer", config_.thread_name}, {"offset", std::to_string(offset)}});
      return offset;
    }
    // The writer then tries an older one.
    oplog::log_event(
        oplog::Level::kWarn, "snapshot_unusable",
        {{"writer", config_.thread_name}, {"offset", std::to_string(offset)}, {"reason", why}});
    module_.reset();
  }
  oplog::log_event(oplog::Level::kInfo, "snapshot_none",
                   {{"writer", config_.thread_name}, {"action", "replaying the whole log"}});
  return 0;
}

template <DomainModule Module>
Status Writer<Module>::recover() {
  module_.reset();
  idempotency_.clear();
  last_now_ = 0;
  const uint64_t end = log_.end_offset();
  uint64_t next = config_.snapshots != nullptr && end > 0 ? restore_snapshot(end) : 0;
  last_snapshot_offset_ = next;
  // The tail: read and decoded on a second thread while this one applies.
  return apply_tail(next, end);
}

// Applies [from, end) of the log, and what the last read returned beyond
// `end` (a log another node appends to grows meanwhile: a standby's);
// acked_ becomes the end of what was applied.
template <DomainModule Module>
Status Writer<Module>::apply_tail(uint64_t from, uint64_t end) {
  uint64_t applied = from;
  Status s = replay_log<Decoded>(
      log_, from, end, config_.replay_chunk_events,
      [](const EventEnvelope& env) { return decode(env); },
      [this, &applied](const EventEnvelope& env, Decoded& d) {
        applied = env.offset + 1;
        return replay(env, d);
      });
  if (!s.ok()) return s;
  acked_.store(std::max(applied, end), std::memory_order_release);
  return Status::OK();
}

template <DomainModule Module>
Status Writer<Module>::catch_up() {
  const uint64_t rewrites = log_.rewrites();
  const uint64_t from = acked_.load(std::memory_order_acquire);
  const uint64_t end = log_.end_offset();
  if (rewrites != caught_up_rewrites_ || end < from) {
    caught_up_rewrites_ = rewrites;
    return recover();
  }
  return apply_tail(from, end);
}

template <DomainModule Module>
void Writer<Module>::maybe_snapshot(int64_t now) {
  if (config_.snapshots == nullptr) return;
  const uint64_t end = log_.end_offset();
  if (end == last_snapshot_offset_) return;
  if (last_snapshot_ms_ == 0) last_snapshot_ms_ = now;
  const bool by_count = config_.snapshot_every_events > 0 &&
                        end - last_snapshot_offset_ >= config_.snapshot_every_events;
  const bool by_time =
      config_.snapshot_every_ms > 0 && now - last_snapshot_ms_ >= config_.snapshot_every_ms;
  if (!by_count && !by_time) return;
  {
    std::lock_guard lock(snap_mu_);
    if (snap_busy_) return;  // the previous one is still being written
    snap_busy_ = true;
  }
  std::string bytes = encode_writer_snapshot(end, last_now_, module_.snapshot(), idempotency_);
  last_snapshot_offset_ = end;
  last_snapshot_ms_ = now;
  {
    std::lock_guard lock(snap_mu_);
    snap_job_.emplace(end, std::move(bytes));
  }
  snap_cv_.notify_one();
}

template <DomainModule Module>
void Writer<Module>::run_snapshots() {
  name_this_thread(config_.snapshot_thread_name.c_str());
  for (;;) {
    std::pair<uint64_t, std::string> job;
    {
      std::unique_lock lock(snap_mu_);
      snap_cv_.wait(lock, [&] { return snap_job_.has_value() || !running_snapshots_; });
      if (!snap_job_) return;
      job = std::move(*snap_job_);
      snap_job_.reset();
    }
    Status s = config_.snapshots->save(job.first, job.second);
    if (!s.ok()) {
      oplog::log_event(oplog::Level::kError, "snapshot_failed",
                       {{"writer", config_.thread_name}, {"error", s.ToString()}});
    }
    std::lock_guard lock(snap_mu_);
    snap_busy_ = false;
  }
}

template <DomainModule Module>
void Writer<Module>::start() {
  std::lock_guard lock(mu_);
  assert(!running_);
  running_ = true;
  stopping_ = false;
  starting_ = true;
  thread_ = std::thread([this] { run(); });
  if (config_.snapshots != nullptr) {
    running_snapshots_ = true;
    snapshot_thread_ = std::thread([this] { run_snapshots(); });
  }
}

template <DomainModule Module>
void Writer<Module>::stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (snapshot_thread_.joinable()) {
    {
      std::lock_guard lock(snap_mu_);
      running_snapshots_ = false;  // a queued snapshot is still written first
    }
    snap_cv_.notify_one();
    snapshot_thread_.join();
  }
  std::lock_guard lock(mu_);
  running_ = false;
}

template <DomainModule Module>
std::optional<Rendered> Writer<Module>::enqueue(Pending* p) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !running_) {
      return error(ErrorCode::UNAVAILABLE, "the engine is stopping", p->render);
    }
    if (fenced()) {
      return error(ErrorCode::UNAVAILABLE,
                   "the engine was fenced by another one; it takes no commands", p->render);
    }
    if (queue_.size() >= config_.queue_commands_max) {
      overloaded_.fetch_add(1, std::memory_order_relaxed);
      return error(ErrorCode::OVERLOADED, "too many commands in flight; retry shortly", p->render);
    }
    queue_.push_back(p);
  }
  cv_.notify_one();
  return std::nullopt;
}

template <DomainModule Module>
Rendered Writer<Module>::execute(Command command, std::optional<IdempotencyRequest> idem,
                                 RenderFn render) {
  WakeWord& waiter = WakeWord::this_thread();
  const uint32_t ticket = waiter.ticket();
  Pending p{std::move(command), std::move(idem), {}, &waiter, render};
  if (auto refused = enqueue(&p)) return std::move(*refused);
  waiter.wait(ticket);
  return std::move(p.answer);
}

template <DomainModule Module>
std::optional<Rendered> Writer<Module>::submit(Command command,
                                               std::optional<IdempotencyRequest> idem,
                                               RenderFn render, Completion* done) {
  auto p = std::make_unique<Pending>(
      Pending{std::move(command), std::move(idem), {}, nullptr, render, done});
  if (auto refused = enqueue(p.get())) return refused;
  p.release();  // finish() deletes it
  return std::nullopt;
}

template <DomainModule Module>
std::vector<Rendered> Writer<Module>::execute_batch(std::vector<Submission> batch) {
  assert(!running_);
  WakeWord& waiter = WakeWord::this_thread();  // bumped by finish(), never waited on
  std::vector<Pending> pending;
  pending.reserve(batch.size());
  for (auto& s : batch) {
    pending.push_back(Pending{std::move(s.command), std::move(s.idem), {}, &waiter, s.render});
  }
  std::vector<Pending*> ptrs;
  for (auto& p : pending) ptrs.push_back(&p);
  process(ptrs);
  // No snapshot thread runs: write what maybe_snapshot() queued, here.
  std::optional<std::pair<uint64_t, std::string>> job;
  {
    std::lock_guard lock(snap_mu_);
    job.swap(snap_job_);
  }
  if (job) {
    Status s = config_.snapshots->save(job->first, job->second);
    if (!s.ok()) {
      oplog::log_event(oplog::Level::kError, "snapshot_failed",
                       {{"writer", config_.thread_name}, {"error", s.ToString()}});
    }
    std::lock_guard lock(snap_mu_);
    snap_busy_ = false;
  }
  std::vector<Rendered> answers;
  answers.reserve(pending.size());
  for (auto& p : pending) answers.push_back(std::move(p.answer));
  return answers;
}

template <DomainModule Module>
void Writer<Module>::run() {
  name_this_thread(config_.thread_name.c_str());
  if (config_.nice > 0) {
    const std::string got = lower_this_thread_priority(config_.nice);
    oplog::log_event(oplog::Level::kInfo, "thread_priority",
                     {{"thread", config_.thread_name}, {"priority", got}});
  }
  log_.defer_reader_wakes();  // process() wakes them once the batch is answered
  std::vector<Pending*> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      const int64_t due = module_.next_due_ms();
      const int64_t now = clock_.now_ms();
      int64_t sleep_ms = config_.idle_wake_ms;  // nothing due: wake now and then anyway
      if (due == INT64_MIN || due <= now)
        sleep_ms = 0;
      else if (due - now < sleep_ms)
        sleep_ms = due - now + 1;
      // Not a busy loop while the log is down (or the writer fenced).
      if (needs_recovery_ || fenced()) sleep_ms = std::max(sleep_ms, config_.recovery_retry_ms);
      cv_.wait_for(lock, std::chrono::milliseconds(sleep_ms),
                   [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty() && stopping_) return;
      const size_t n = std::min(queue_.size(), config_.batch_commands_max);
      batch.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    process(batch);
  }
}

template <DomainModule Module>
Rendered Writer<Module>::decide_one(Pending& p, int64_t now, std::vector<EventEnvelope>& out) {
  auto actor = module_.actor(p.command);
  if (auto* err = std::get_if<DomainError>(&actor)) return render(p.render, Reply(*err));
  const std::string& scope = std::get<std::string>(actor);
  if (p.idem) {
    if (const auto* entry = idempotency_.find(scope, p.idem->key, now)) {
      if (entry->fingerprint == p.idem->fingerprint) return unredact(*entry, p.render);
      return error(ErrorCode::IDEMPOTENCY_KEY_REUSED,
                   "this Idempotency-Key was used for a different request", p.render);
    }
  }
  Reply reply = module_.execute(p.command, now, random_, out);
  Rendered answer = render(p.render, reply);
  if (p.idem) {
    events::IdempotencyRecorded rec{scope, p.idem->key, p.idem->fingerprint, answer.status,
                                    answer.body};
    redact(reply, rec);
    idempotency_.apply(rec, now);
    out.push_back(events::EngineCatalog::encode(events::EngineEvent(std::move(rec)), now));
  }
  module_.recycle(std::move(reply));
  return answer;
}

template <DomainModule Module>
void Writer<Module>::redact(const Reply& reply, events::IdempotencyRecorded& rec) const {
  if constexpr (requires { module_.secret_in(reply); }) {
    const std::string_view secret = module_.secret_in(reply);
    if (secret.empty()) return;
    bool cut = false;
    for (size_t at = rec.body.find(secret); at != std::string::npos;
         at = rec.body.find(secret, at + events::kSecretMark.size())) {
      rec.body.replace(at, secret.size(), events::kSecretMark);
      cut = true;
    }
    if (cut) rec.redacted = secrets::token_hash(secret);
  }
}

template <DomainModule Module>
Rendered Writer<Module>::unredact(const IdempotencyTable::Entry& entry, RenderFn fn) {
  if (entry.redacted.empty()) return entry.answer;
  std::optional<std::string> secret;
  if constexpr (requires { module_.reveal(entry.redacted); }) {
    secret = module_.reveal(entry.redacted);
  }
  if (!secret) {
    return error(ErrorCode::INTERNAL,
                 "the token key does not open this remembered answer (see docs/SECURITY.md)", fn);
  }
  Rendered answer = entry.answer;
  for (size_t at = answer.body.find(events::kSecretMark); at != std::string::npos;
       at = answer.body.find(events::kSecretMark, at + secret->size())) {
    answer.body.replace(at, events::kSecretMark.size(), *secret);
  }
  return answer;
}

template <DomainModule Module>
void Writer<Module>::process(std::vector<Pending*>& batch) {
  if (fenced()) return answer_all(batch, "the engine was fenced by another one");
  if (needs_recovery_ && !try_recover()) {
    return answer_all(batch, "event log unavailable; recovering");
  }
  const int64_t now = last_now_ = std::max(last_now_, clock_.now_ms());
  std::vector<EventEnvelope> out;
  if (starting_) {
    module_.start(now, out);
    starting_ = false;
  }
  module_.advance_clock(now, out);
  for (Pending* p : batch) p->answer = decide_one(*p, now, out);
  if (!out.empty()) {
    const bool timed = metrics_on();
    const int64_t start_ns = timed ? metrics_now_ns() : 0;
    Status s = log_.append(out);
    if (timed) {
      append_ns_.observe(metrics_now_ns() - start_ns);
      batch_commands_.observe(static_cast<int64_t>(batch.size()));
    }
    if (!s.ok()) {
      // State already holds what the log refused: answer nothing as done.
      append_failed(s);
      return answer_all(batch, "event log unavailable");
    }
    events_.fetch_add(out.size(), std::memory_order_relaxed);
  }
  acked_.store(log_.end_offset(), std::memory_order_release);
  finish(batch);
  // After the answers: the follower this wakes runs ahead of the writer and
  // would otherwise hold the batch's answers back while it applies the batch.
  if (!out.empty()) log_.wake_readers();
  maybe_snapshot(now);  // after answering: encoding a large state takes a while
}

template <DomainModule Module>
void Writer<Module>::answer_all(std::vector<Pending*>& batch, const std::string& why) {
  for (Pending* p : batch) p->answer = error(ErrorCode::UNAVAILABLE, why, p->render);
  finish(batch);
}

// Counts the batch and answers its callers: wakes each waiting one, and
// posts the completions of submit() in one chain per queue (almost always
// one queue: an HTTP listener's).
template <DomainModule Module>
void Writer<Module>::finish(std::vector<Pending*>& batch) {
  commands_.fetch_add(batch.size(), std::memory_order_relaxed);
  batches_.fetch_add(1, std::memory_order_relaxed);
  struct Chain {
    CompletionQueue* queue;
    Completion *first, *last;
  };
  std::vector<Chain> chains;
  for (Pending* p : batch) {
    if (p->done == nullptr) {
      p->waiter->bump();  // the caller may free its Pending from here on
      continue;
    }
    Completion* c = p->done;
    c->answer = std::move(p->answer);
    delete p;
    auto it = std::find_if(chains.begin(), chains.end(),
                           [c](const Chain& ch) { return ch.queue == c->queue; });
    if (it == chains.end()) {
      chains.push_back({c->queue, c, c});
    } else {  // prepended: a queue's list runs newest first (CompletionQueue::take_all)
      c->next = it->first;
      it->first = c;
    }
  }
  for (const Chain& ch : chains) ch.queue->post(ch.first, ch.last);
}

template <DomainModule Module>
void Writer<Module>::append_failed(const Status& s) {
  failures_.fetch_add(1, std::memory_order_relaxed);
  if (s.code() == Status::Code::kFenced) return fence(s);
  oplog::log_event(oplog::Level::kError, "fault",
                   {{"kind", "append_failed"}, {"error", s.ToString()}});
  needs_recovery_ = true;
  recovering_.store(true, std::memory_order_release);
  recovery_reported_ = false;
  // What module_.start() wrote may have been lost with the batch.
  starting_ = true;
  try_recover();  // at once: a transient failure costs one batch only
}

// Lets the log decide what the failed append left open, then rebuilds the
// state from it. True when the writer may decide again.
template <DomainModule Module>
bool Writer<Module>::try_recover() {
  Status s = log_.settle();
  if (s.code() == Status::Code::kFenced) {
    fence(s);
    return false;
  }
  if (s.ok()) s = recover();
  if (!s.ok()) {
    if (!recovery_reported_) {
      // Retried before each batch; reported once per failure.
      oplog::log_event(oplog::Level::kError, "recovery_failed",
                       {{"writer", config_.thread_name}, {"error", s.ToString()}});
      recovery_reported_ = true;
    }
    return false;
  }
  oplog::log_event(
      oplog::Level::kInfo, "state_rebuilt",
      {{"writer", config_.thread_name}, {"events", std::to_string(log_.end_offset())}});
  needs_recovery_ = false;
  recovering_.store(false, std::memory_order_release);
  starting_ = true;
  return true;
}

template <DomainModule Module>
void Writer<Module>::fence(const Status& s) {
  if (fenced_.exchange(true, std::memory_order_acq_rel)) return;
  oplog::log_event(oplog::Level::kError, "fault", {{"kind", "fenced"}, {"error", s.ToString()}});
  if (config_.on_fenced) config_.on_fenced(s);
}

template <DomainModule Module>
WriterStats Writer<Module>::stats() const {
  WriterStats s;
  s.commands = commands_.load(std::memory_order_relaxed);
  s.batches = batches_.load(std::memory_order_relaxed);
  s.events = events_.load(std::memory_order_relaxed);
  s.overloaded = overloaded_.load(std::memory_order_relaxed);
  s.append_failures = failures_.load(std::memory_order_relaxed);
  s.recovering = recovering_.load(std::memory_order_acquire);
  s.fenced = fenced();
  std::lock_guard lock(mu_);
  s.queue_depth = queue_.size();
  return s;
}

}  // namespace reservoir
