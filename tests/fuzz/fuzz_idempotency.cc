// Fuzz target: the idempotency record codec (events::IdempotencyRecorded
// through EngineCatalog) and the table it feeds (engine/idempotency.h).
//
// Input: a run of operations, each: a time step byte (in 1/64ths of the
// retention), a scope length byte (mod 8) and scope, a key length byte (mod
// 8) and key, a status byte, a body length byte (mod 32) and body. Each
// event is encoded, decoded and applied. Checks: the decoded event equals
// the encoded one; find() returns the answer just recorded; a table rebuilt
// from entries() finds the same answers, and so does one decoded from a
// writer snapshot of it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/idempotency.h"
#include "engine/writer_snapshot.h"
#include "events/engine_events.h"

using namespace reservoir;

namespace {

class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool more() const { return p_ < end_; }
  uint8_t byte() { return p_ < end_ ? *p_++ : 0; }
  std::string bytes(size_t n) {
    n = std::min(n, static_cast<size_t>(end_ - p_));
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

bool same_answers(const IdempotencyTable& a, const IdempotencyTable& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [e, at] : a.entries()) {
    const IdempotencyTable::Entry* found = b.find(e.scope, e.key);
    if (found == nullptr || found->fingerprint != e.fingerprint ||
        found->answer.status != e.status || found->answer.body != e.body ||
        found->recorded_at != at) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  IdempotencyTable table;
  int64_t now = 1'800'000'000'000;
  while (in.more()) {
    now += in.byte() * (IdempotencyTable::kRetentionMs / 64);
    events::IdempotencyRecorded e;
    e.scope = in.bytes(in.byte() % 8);
    e.key = in.bytes(in.byte() % 8);
    e.status = 200 + in.byte();
    e.fingerprint = static_cast<int64_t>(now * 31 + e.status);
    e.body = in.bytes(in.byte() % 32);
    const EventEnvelope env = events::EngineCatalog::encode(e, now);
    auto decoded = events::EngineCatalog::decode(env);
    if (!decoded.ok()) abort();
    const auto& d = std::get<events::IdempotencyRecorded>(*decoded);
    if (d.scope != e.scope || d.key != e.key || d.fingerprint != e.fingerprint ||
        d.status != e.status || d.body != e.body) {
      abort();
    }
    table.apply(d, env.time_ms);
    const IdempotencyTable::Entry* found = table.find(e.scope, e.key);
    if (found == nullptr || found->answer.body != e.body || found->recorded_at != now) abort();
  }
  IdempotencyTable rebuilt;
  for (const auto& [e, at] : table.entries()) rebuilt.apply(e, at);
  if (!same_answers(table, rebuilt)) abort();
  WriterSnapshot snap;
  if (!decode_writer_snapshot(encode_writer_snapshot(0, now, "", table), snap)) abort();
  if (!same_answers(table, snap.answers)) abort();
  return 0;
}
