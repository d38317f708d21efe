// The console's files (api/console/*), built into the executable: the
// build turns each into bytes of a generated console_files.cc
// (api/embed_files.cmake), so the page needs no file and no network at
// run time.
//
// Thread safety: constant data.
#pragma once

#include <cstddef>
#include <string_view>

namespace reservoir::api {

struct ConsoleFile {
  std::string_view name;  // the file's name under api/console/, e.g. "console.js"
  std::string_view body;
};

extern const ConsoleFile kConsoleFiles[];
extern const size_t kConsoleFileCount;

}  // namespace reservoir::api
