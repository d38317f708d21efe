// ViewStore: what the follower (projections/follower.h) needs from a view
// store, so each domain's views (the concert Projections, a clinic store
// beside it) are tailed by the same Follower on its own log.
//
// A store keeps its views and its checkpoint (the next log offset to apply)
// together: apply_batch() writes both or neither, so a crash never leaves
// them apart and the follower resumes from checkpoint().
//
// BulkViews: a store `reservoir rebuild` can build from a whole log into a
// fresh directory: open(path), a static decode() of an envelope (run on the
// replay's reader thread, so pure) to a Decoded (a Result of what bulk_apply
// takes), bulk_apply() of each event at its offset, finish_bulk() to write
// out what is buffered, flush() to make it durable.
//
// Thread safety: apply_batch() and flush() from one thread at a time (the
// follower's, or the owner's once the follower stopped); checkpoint() from
// any thread.
#pragma once

#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "events/envelope.h"
#include "events/status.h"

namespace reservoir::projections {

class ViewStore {
 public:
  virtual ~ViewStore() = default;

  // The next log offset to apply (0 for an empty store).
  virtual uint64_t checkpoint() const = 0;

  // Applies a batch of consecutive events starting at checkpoint(), views
  // and checkpoint in one write; InvalidArgument when the batch does not
  // start there, Corruption when an event does not decode or contradicts
  // the views (nothing of the batch is written then). Envelopes of types the
  // store does not show only advance the checkpoint. An empty batch is a no-op.
  virtual Status apply_batch(const std::vector<EventEnvelope>& batch) = 0;

  // Makes what was applied durable (clean shutdown), so a restart needs no
  // re-apply.
  virtual Status flush() = 0;

 protected:
  ViewStore() = default;
  ViewStore(const ViewStore&) = default;
  ViewStore& operator=(const ViewStore&) = default;
};

template <class V>
concept BulkViews = std::derived_from<V, ViewStore> &&
    requires(V& v, const std::string& path, const EventEnvelope& env,
             const typename V::Decoded& decoded, uint64_t offset) {
  { V::open(path) } -> std::same_as<Result<std::unique_ptr<V>>>;
  { V::decode(env) } -> std::same_as<typename V::Decoded>;
  { decoded.ok() } -> std::same_as<bool>;
  { decoded.status() } -> std::convertible_to<Status>;
  { v.bulk_apply(offset, decoded.value()) } -> std::same_as<Status>;
  { v.finish_bulk() } -> std::same_as<Status>;
  { v.flush() } -> std::same_as<Status>;
};

}  // namespace reservoir::projections
