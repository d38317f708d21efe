// Snapshot encoding of the concert State (format 4): every field apply
// maintains, minus what is derived (seat indexes, deadline heaps), record by
// record in Id order (the order of creation), with references as Ids. So a
// state encodes to the same bytes whether it was built by a full replay or
// by a restore plus the same tail, which is how tests prove snapshot + tail
// == full replay; and a restore re-interns each id once, sorting nothing.
// Formats 1 (records sorted by string id, before dense ids), 2 (before
// SPEC §5.1's fields) and 3 (tokens in clear) do not decode: the writer then falls back to an older
// snapshot or a full replay.
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
