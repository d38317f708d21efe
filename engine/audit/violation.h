// Violation: one broken invariant as an audit checker reports it, shared by
// every domain's checker (checker.h, clinic_checker.h) so that replay
// --verify prints all of them the same way.
//
// Thread safety: a value type.
#pragma once

#include <cstdint>
#include <string>

namespace reservoir::audit {

struct Violation {
  uint64_t offset = 0;     // of the event that breaks the invariant
  std::string event_type;  // its type name
  int invariant = 0;       // the number in the checker's domain (SPEC §1, §5.1, §6.1)
  std::string detail;
};

}  // namespace reservoir::audit
