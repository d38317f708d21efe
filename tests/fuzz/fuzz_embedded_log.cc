// Fuzz target: the embedded log's file format (events/embedded_log.h): the
// fuzzed bytes become `<dir>/events.log`, which is opened and read whole.
//
// Input: byte 0 holds flags (bit 0: open kReadWrite, which repairs a torn
// tail, then appends one event; bit 1: first fix up the records' CRCs and
// lengths so mutations reach the record bodies (events/envelope_codec.h);
// bit 2: preallocate a zero tail), the rest is the file. Checks: open fails
// only with Corruption (or NotFound); reads return consecutive offsets up to
// end_offset(); after a kReadWrite open and an append, the file reopens
// kReadOnly with the appended event last.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "events/crc32c.h"
#include "events/embedded_log.h"
#include "support/temp_dir.h"

using namespace reservoir;

namespace {

uint32_t get_u32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<uint8_t>(s[at + i])) << (8 * i);
  return v;
}
void put_u32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}

// Makes every record from the start well framed: its length within the
// file and its CRC right (the format of embedded_log.h's header).
void fix_records(std::string& file) {
  constexpr size_t kHeader = EmbeddedLog::kHeaderBytes;
  size_t pos = 0;
  while (pos + kHeader <= file.size() && get_u32(file, pos) == EmbeddedLog::kRecordMagic) {
    const size_t body = std::min<size_t>(get_u32(file, pos + 8), file.size() - pos - kHeader);
    put_u32(file, pos + 8, static_cast<uint32_t>(body));
    const uint32_t crc = crc32c(file.data() + pos, 4);
    put_u32(file, pos + 4, crc32c_mask(crc32c(file.data() + pos + 8, kHeader - 8 + body, crc)));
    pos += kHeader + body;
  }
}

// Reads every event; aborts unless offsets run 0..end_offset() - 1.
std::vector<EventEnvelope> read_all(EmbeddedLog& log) {
  std::vector<EventEnvelope> all;
  const uint64_t end = log.end_offset();
  while (all.size() < end) {
    const size_t before = all.size();
    if (!log.read(all.size(), 64, &all).ok()) return all;  // a body that does not decode
    if (all.size() == before) abort();
    for (size_t i = before; i < all.size(); ++i) {
      if (all[i].offset != i) abort();
    }
  }
  return all;
}

void check_open_status(const Status& s) {
  if (s.code() != Status::Code::kCorruption && s.code() != Status::Code::kNotFound) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static test::TempDir dir;
  const uint8_t flags = data[0];
  std::string file(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (flags & 2) fix_records(file);
  std::ofstream(dir.path() + "/events.log", std::ios::binary | std::ios::trunc) << file;
  const bool rw = flags & 1;
  auto opened = EmbeddedLog::open(dir.path(),
                                  rw ? EmbeddedLog::Mode::kReadWrite : EmbeddedLog::Mode::kReadOnly,
                                  rw && (flags & 4) ? 4096 : 0);
  if (!opened.ok()) {
    check_open_status(opened.status());
    return 0;
  }
  std::unique_ptr<EmbeddedLog> log = std::move(*opened);
  read_all(*log);
  if (!rw) return 0;
  std::vector<EventEnvelope> batch(1);
  batch[0].type = "Fuzzed";
  batch[0].version = 1;
  batch[0].payload = "p";
  const uint64_t end = log->end_offset();
  if (!log->append(batch).ok() || log->end_offset() != end + 1) abort();
  log.reset();
  auto again = EmbeddedLog::open(dir.path(), EmbeddedLog::Mode::kReadOnly);
  if (!again.ok() || (*again)->end_offset() != end + 1) abort();
  std::vector<EventEnvelope> last;
  if (!(*again)->read(end, 1, &last).ok() || last.size() != 1 || last[0].type != "Fuzzed") abort();
  return 0;
}
