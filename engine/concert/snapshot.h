// Snapshot encoding of the concert State (format 5): every field apply
// maintains, minus what is derived (seat indexes, deadline heaps, indexes by
// number), record by record in Id order, with references as Ids. Tables
// whose records retention evicts (tokens, reservations) carry their holes
// and free list, and the retention queues their order, so a restore hands
// out the same Ids and evicts the same records as the state it came from
// (engine/id_table.h). So a state encodes to the same bytes whether it was
// built by a full replay or by a restore plus the same tail, which is how
// tests prove snapshot + tail == full replay; and a restore re-interns each
// id once. Formats 1 (records sorted by string id, before dense ids), 2
// (before SPEC §5.1's fields), 3 (tokens in clear) and 4 (before retention)
// do not decode: the writer then falls back to an older snapshot or a full
// replay.
//
// Thread safety: pure functions; the State must not change meanwhile.
#pragma once

#include <string>
#include <string_view>

#include "engine/concert/state.h"

namespace reservoir::concert {

std::string encode_state(const State& state);

// False when `bytes` is not a well-formed encoding (state is then unspecified).
bool decode_state(std::string_view bytes, State& state);

}  // namespace reservoir::concert
