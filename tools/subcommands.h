// The `reservoir` subcommands and their shared exit conventions (SPEC §3):
// 0 success, 1 refusal or failure (with why on stderr), 2 bad flag or value.
//
// Each subcommand registers itself from its own file:
//   static const SubcommandRegistration kReg{"serve", "run the HTTP server", &run_serve};
// so adding one touches no shared file.
#pragma once

#include <string>
#include <vector>

#include "tools/flags.h"

namespace reservoir::tools {

using SubcommandMain = int (*)(int argc, char** argv);  // argv[1] is the subcommand

struct Subcommand {
  const char* name;
  const char* summary;
  SubcommandMain run;
};

std::vector<Subcommand>& subcommands();

struct SubcommandRegistration {
  SubcommandRegistration(const char* name, const char* summary, SubcommandMain run) {
    subcommands().push_back({name, summary, run});
  }
};

// Prints `message` to stderr and returns `code`.
int fail(int code, const std::string& message);
// The message of the last fail() (empty if none): serve's refused-start and
// stop log lines (events/oplog.h) repeat it.
const std::string& last_failure();

// Parses flags from argv[2..]: -1 to go on, else the exit code (help: 0, bad: 2).
int handle_flags(Flags& flags, int argc, char** argv);

}  // namespace reservoir::tools
