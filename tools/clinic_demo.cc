#include "tools/clinic_demo.h"

#include <vector>

namespace reservoir::tools {

Result<std::string> load_clinic_demo(Writer<clinic::Module>& writer) {
  std::vector<clinic::Command> commands = {
      clinic::RegisterVisitor{"v1", "Demo visitor 1"},
      clinic::RegisterVisitor{"v2", "Demo visitor 2"},
      clinic::CreateZone{"zone-reception", "Reception", 0},
      clinic::CreateZone{"zone-consult", "Consultation room", 0},
      clinic::CreateZone{"zone-laser", "Laser room", 1},
      clinic::CreateGroup{"group-laser", "Laser", {"zone-laser", "zone-consult"}},
      clinic::CreateGroup{"group-consult", "Consultation", {"zone-consult", "zone-reception"}},
  };
  for (auto& c : commands) {
    Rendered r = writer.execute(std::move(c));
    if (r.status != 200) return Status::IOError("demo clinic refused: " + r.body);
  }
  return std::string(
      "visitors v1 v2; zones zone-reception zone-consult zone-laser (capacity 1); "
      "groups group-laser (zone-laser zone-consult) group-consult (zone-consult "
      "zone-reception)");
}

}  // namespace reservoir::tools
