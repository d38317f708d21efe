// ViewStore: what the follower (projections/follower.h) needs from a view
// store, so each domain's views (the concert Projections, a clinic store
// beside it) are tailed by the same Follower on its own log.
//
// A store keeps its views and its checkpoint (the next log offset to apply)
// together: apply_batch() writes both or neither, so a crash never leaves
// them apart and the follower resumes from checkpoint().
//
// Thread safety: apply_batch() and flush() from one thread at a time (the
// follower's, or the owner's once the follower stopped); checkpoint() from
// any thread.
#pragma once

#include <cstdint>
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

}  // namespace reservoir::projections
