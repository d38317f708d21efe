#include "events/epoch_rule.h"

namespace reservoir {

std::vector<EpochVerdict> epoch_verdicts(const std::vector<EpochHeader>& messages) {
  std::vector<EpochVerdict> out;
  out.reserve(messages.size());
  uint64_t highest = 0;
  for (const EpochHeader& m : messages) {
    out.push_back(epoch_verdict(highest, m.epoch, m.marker));
    if (out.back() == EpochVerdict::kTakeover) highest = m.epoch;
  }
  return out;
}

}  // namespace reservoir
