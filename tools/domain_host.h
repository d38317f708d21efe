// DomainHost<M, V>: everything `serve` runs for one domain, under one root
// directory: its snapshot store (<root>/snapshots), its event log (the
// embedded one at LogTarget::dir, or a Kafka topic), its view store (the
// live store under <root>, projections/store_dir.h), its module, its single
// writer and the follower that tails the log into the views. The concert
// domain's root is <data>; another domain gets a root of its own (e.g.
// <data>/clinic), so no file of one domain is touched by the other.
//
//   open()   log, views (refused when they are ahead of the log), snapshots,
//            writer; recovers the module's state from the log
//   start()  follower, then writer
//   stop()   writer (answers every accepted command), then follower (applies
//            what the log holds), then flushes the views
//
// A standby (`serve --role standby`, SPEC §7) runs a DomainHost over a
// Kafka log opened read-only and starts only its follower; its writer,
// recovered at open(), is kept warm with Writer::catch_up() and started
// once the log was taken over (KafkaLog::take_over).
//
// ReplicaHost<V>: what a query replica (`serve --role replica`, SPEC §7)
// runs for one domain: its log opened read-only (a Kafka topic, read
// committed), its own view store under <root>, and the follower tailing the
// one into the other from the store's checkpoint. No module, no writer, no
// snapshots: nothing is decided there.
//
// Thread safety: open/start/stop from the owning thread; the members are
// used as their own headers say once started.
#pragma once

#include <concepts>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "engine/domain.h"
#include "engine/snapshot_store.h"
#include "engine/writer.h"
#include "events/event_log.h"
#include "events/oplog.h"
#include "events/os.h"
#include "events/status.h"
#include "projections/follower.h"
#include "projections/store_dir.h"
#include "projections/view_store.h"

namespace reservoir::tools {

// Where one domain's log is: the embedded log's directory, or the Kafka
// topic and transactional.id (empty: TOPIC-writer) when serving on Kafka.
struct LogTarget {
  std::string dir;
  std::string topic;
  std::string transactional_id;
};

// Opens the log at a target read-write (embedded or Kafka: the caller's flags decide).
using LogOpener = std::function<Result<std::unique_ptr<EventLog>>(const LogTarget&)>;

template <DomainModule M, class V>
struct DomainHost {
  static_assert(std::derived_from<V, projections::ViewStore>, "the follower tails into V");
  using DomainWriter = Writer<M>;

  struct Config {
    std::string root;                        // the domain's directory
    LogTarget log;                           // where its log is
    WriterConfig writer;                     // `snapshots` is set by open()
    projections::FollowerOptions follower;   // thread name, priority, lag clock
    typename DomainWriter::Renderer render;  // the writer's default renderer
  };

  // Declared in the order they are built, so they are destroyed in reverse:
  // the follower and the writer before what they use.
  std::unique_ptr<FileSnapshotStore> snapshots;
  std::unique_ptr<EventLog> log;
  std::unique_ptr<V> views;
  std::unique_ptr<M> module;
  std::unique_ptr<DomainWriter> writer;
  std::unique_ptr<projections::Follower> follower;

  // Opens every part and recovers the module's state from the log; an
  // error's message says what could not be opened, for the operator.
  Status open(const Config& config, std::unique_ptr<M> domain_module, const LogOpener& open_log,
              Clock& clock, Random& random);
  void start() {
    follower->start();
    writer->start();
  }
  // The views' flush status (the rest cannot fail).
  Status stop();
};

template <DomainModule M, class V>
Status DomainHost<M, V>::open(const Config& config, std::unique_ptr<M> domain_module,
                              const LogOpener& open_log, Clock& clock, Random& random) {
  auto opened = open_log(config.log);
  if (!opened.ok()) {
    return Status::IOError("cannot open the event log: " + opened.status().ToString());
  }
  log = std::move(*opened);
  auto store = V::open(projections::current_store_dir(config.root));
  if (!store.ok()) {
    return Status::IOError("cannot open the projections: " + store.status().ToString());
  }
  views = std::move(*store);
  if (views->checkpoint() > log->end_offset()) {
    return Status::InvalidArgument("the projections under " + config.root + " are at event " +
                                   std::to_string(views->checkpoint()) + " but the log ends at " +
                                   std::to_string(log->end_offset()) +
                                   ": they were built from another log (use a fresh --data)");
  }
  module = std::move(domain_module);
  WriterConfig wc = config.writer;
  snapshots = std::make_unique<FileSnapshotStore>(config.root + "/snapshots");
  wc.snapshots = snapshots.get();
  writer = std::make_unique<DomainWriter>(*module, *log, clock, random, config.render, wc);
  oplog::log_event(oplog::Level::kInfo, "replaying",
                   {{"root", config.root}, {"events", std::to_string(log->end_offset())}});
  Status st = writer->recover();
  if (!st.ok()) return Status::Corruption("cannot recover state from the log: " + st.ToString());
  follower = std::make_unique<projections::Follower>(*log, *views, config.follower);
  return Status::OK();
}

template <DomainModule M, class V>
Status DomainHost<M, V>::stop() {
  writer->stop();  // answers every accepted command
  follower->stop();
  return views->flush();
}

template <class V>
struct ReplicaHost {
  static_assert(std::derived_from<V, projections::ViewStore>, "the follower tails into V");
  std::unique_ptr<EventLog> log;
  std::unique_ptr<V> views;
  std::unique_ptr<projections::Follower> follower;

  // `open_log` opens the domain's log read-only.
  Status open(const std::string& root, const LogTarget& target, const LogOpener& open_log,
              const projections::FollowerOptions& options) {
    auto opened = open_log(target);
    if (!opened.ok()) {
      return Status::IOError("cannot open the event log: " + opened.status().ToString());
    }
    log = std::move(*opened);
    auto store = V::open(projections::current_store_dir(root));
    if (!store.ok()) {
      return Status::IOError("cannot open the projections: " + store.status().ToString());
    }
    views = std::move(*store);
    if (views->checkpoint() > log->end_offset()) {
      return Status::InvalidArgument("the projections under " + root + " are at event " +
                                     std::to_string(views->checkpoint()) + " but the log ends at " +
                                     std::to_string(log->end_offset()) +
                                     ": they were built from another log (use a fresh --data)");
    }
    follower = std::make_unique<projections::Follower>(*log, *views, options);
    return Status::OK();
  }
  void start() { follower->start(); }
  // Applies what the log holds, then flushes the views.
  Status stop() {
    follower->stop();
    return views->flush();
  }
};

}  // namespace reservoir::tools
