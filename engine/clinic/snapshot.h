// Snapshot encoding of the clinic State. The first byte is the format tag
// kSnapshotFormat (102; 101 had no holes, free list or horizon, and no
// longer decodes, so recovery replays the log): concert's decoder reads its own first field as a
// format number and refuses this one, so a clinic snapshot in the wrong
// store does not decode (docs/CLINIC-DESIGN.md (b)). Then every record kind
// in Id order (the order of creation) with references as Ids, so a state
// encodes to the same bytes whether built by a full replay or by a restore
// plus the same tail. Forgotten schedules (state.h, "Retention") leave
// holes, stored with the free list, so a restore reuses the same Ids. The interval indexes are
// derived: not stored, rebuilt by decode_state (State::rebuild_indexes).
//
// Thread safety: pure functions; the State must not change meanwhile.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/clinic/state.h"

namespace reservoir::clinic {

inline constexpr uint8_t kSnapshotFormat = 102;

std::string encode_state(const State& state);

// False when `bytes` is not a well-formed encoding (state is then unspecified).
bool decode_state(std::string_view bytes, State& state);

}  // namespace reservoir::clinic
