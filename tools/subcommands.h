// The `reservoir` subcommands and their shared exit conventions (SPEC §3):
// 0 success, 1 refusal or failure (with why on stderr), 2 bad flag or value.
#pragma once

#include <string>

#include "tools/flags.h"

namespace reservoir::tools {

int run_serve(int argc, char** argv);

// Prints `message` to stderr and returns `code`.
int fail(int code, const std::string& message);

// Parses flags from argv[2..]: -1 to go on, else the exit code (help: 0, bad: 2).
int handle_flags(Flags& flags, int argc, char** argv);

}  // namespace reservoir::tools
