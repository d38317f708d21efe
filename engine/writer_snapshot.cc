#include "engine/writer_snapshot.h"

#include "events/codec.h"

namespace reservoir {
namespace {

struct AnswerSnap {
  events::IdempotencyRecorded recorded;
  int64_t recorded_at = 0;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("recorded", s.recorded);
    f("recordedAt", s.recorded_at);
  }
};

// The encoding (decode_writer_snapshot reads the same fields in this order).
// Format 2: answers carry IdempotencyRecorded version 2's fields. Format 1
// (answers of version 1) still decodes, so that a writer finds the offset
// of an old snapshot; the concert module's part of that time does not
// restore, so recovery replays the log instead.
constexpr int64_t kFormat = 2;

struct Snap {
  int64_t format = kFormat;
  int64_t offset = 0;
  int64_t last_now = 0;
  std::string module;
  std::vector<AnswerSnap> answers;
  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("format", s.format);
    f("offset", s.offset);
    f("lastNow", s.last_now);
    f("module", s.module);
    f("answers", s.answers);
  }
};

}  // namespace

std::string encode_writer_snapshot(uint64_t offset, int64_t last_now, const std::string& module,
                                   const IdempotencyTable& answers) {
  Snap snap{kFormat, static_cast<int64_t>(offset), last_now, module, {}};
  for (auto& [recorded, at] : answers.entries()) snap.answers.push_back({std::move(recorded), at});
  std::string out;
  codec::encode(snap, out);
  return out;
}

bool decode_writer_snapshot(std::string_view bytes, WriterSnapshot& out) {
  // Field by field in Snap's order, so the module's bytes stay a view.
  codec::Reader in(bytes);
  int64_t format = 0, offset = 0;
  std::vector<AnswerSnap> answers;
  codec::get_value(in, format);
  codec::get_value(in, offset);
  codec::get_value(in, out.last_now);
  out.module = in.string();
  codec::get_value(in, answers, format == 1 ? 1 : codec::kCurrentVersion);
  if (!in.ok() || !in.at_end() || format < 1 || format > kFormat || offset < 0) return false;
  out.offset = static_cast<uint64_t>(offset);
  out.answers.clear();
  for (const auto& a : answers) out.answers.apply(a.recorded, a.recorded_at);
  return true;
}

}  // namespace reservoir
