// Snapshot encoding of the concert State: every field apply maintains,
// minus what is derived (seat index, deadline sets), in a canonical order
// (sorted by id) so equal states encode to equal bytes, which is how tests
// prove snapshot + tail == full replay.
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
