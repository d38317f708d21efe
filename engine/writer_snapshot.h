// The writer's snapshot: the log offset it covers, the writer's clock, the
// module's state bytes and the remembered idempotent answers.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/idempotency.h"

namespace reservoir {

struct WriterSnapshot {
  uint64_t offset = 0;      // every event below it is in the state
  int64_t last_now = 0;     // the writer's last command time
  std::string_view module;  // the module's own snapshot bytes, inside the decoded bytes
  IdempotencyTable answers;
};

std::string encode_writer_snapshot(uint64_t offset, int64_t last_now, const std::string& module,
                                   const IdempotencyTable& answers);
// `out.module` points into `bytes`, which must outlive it (the module's
// bytes are most of a snapshot: they are not copied).
bool decode_writer_snapshot(std::string_view bytes, WriterSnapshot& out);

}  // namespace reservoir
