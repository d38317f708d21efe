// Fuzz target: snapshot decoding: the writer's snapshot
// (engine/writer_snapshot.h) and the modules' restore of their state bytes
// (concert::Module::restore, clinic::Module::restore).
//
// Input: byte 0 picks what the rest is (mod 4): 0/1 a concert/clinic state,
// 2/3 a writer snapshot whose module bytes are a concert/clinic state.
// Checks: what decodes re-encodes to bytes that decode again to the same
// encoding (encode . decode is a fixed point), and a refused state leaves
// the module empty.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/clinic/module.h"
#include "engine/concert/module.h"
#include "engine/writer_snapshot.h"

using namespace reservoir;

namespace {

template <class Module>
Module make() {
  if constexpr (std::is_same_v<Module, concert::Module>) {
    return Module(concert::Limits{});
  } else {
    return Module(clinic::Module::Config{540});
  }
}

template <class Module>
void fuzz_state(std::string_view bytes) {
  Module m = make<Module>();
  const std::string empty = m.snapshot();
  if (!m.restore(bytes)) {
    if (m.snapshot() != empty) abort();  // left reset
    return;
  }
  (void)m.next_due_ms();
  const std::string once = m.snapshot();
  Module again = make<Module>();
  if (!again.restore(once) || again.snapshot() != once) abort();
}

template <class Module>
void fuzz_writer_snapshot(std::string_view bytes) {
  WriterSnapshot snap;
  if (!decode_writer_snapshot(bytes, snap)) return;
  fuzz_state<Module>(snap.module);
  const std::string once =
      encode_writer_snapshot(snap.offset, snap.last_now, std::string(snap.module), snap.answers);
  WriterSnapshot again;
  if (!decode_writer_snapshot(once, again)) abort();
  if (again.offset != snap.offset || again.last_now != snap.last_now ||
      again.module != snap.module || again.answers.size() != snap.answers.size()) {
    abort();
  }
  const std::string twice = encode_writer_snapshot(again.offset, again.last_now,
                                                   std::string(again.module), again.answers);
  if (twice != once) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      fuzz_state<concert::Module>(bytes);
      break;
    case 1:
      fuzz_state<clinic::Module>(bytes);
      break;
    case 2:
      fuzz_writer_snapshot<concert::Module>(bytes);
      break;
    default:
      fuzz_writer_snapshot<clinic::Module>(bytes);
      break;
  }
  return 0;
}
