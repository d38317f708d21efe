// Which RocksDB store under --data is the live one. `<data>/PROJECTIONS`
// names it (a directory under <data>); without that file it is
// `<data>/projections`. `reservoir rebuild` builds a new store beside the
// old one and installs it by atomically replacing this file (write a temp
// file, fsync, rename, fsync the directory), so a crash mid-rebuild leaves
// the old store in use.
//
// Thread safety: functions on the file system; callers hold the data
// directory's DirLock while installing.
#pragma once

#include <string>

#include "events/status.h"

namespace reservoir::projections {

// The directory of the live store (may not exist yet).
std::string current_store_dir(const std::string& data_dir);

// Makes `<data>/<name>` the live store, durably and atomically.
Status install_store_dir(const std::string& data_dir, const std::string& name);

}  // namespace reservoir::projections
