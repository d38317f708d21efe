// reservoir: one executable, one subcommand per job.
#include <cstdio>
#include <cstring>
#include <string>

#include "tools/subcommands.h"

namespace reservoir::tools {

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "reservoir: %s\n", message.c_str());
  return code;
}

int handle_flags(Flags& flags, int argc, char** argv) {
  switch (flags.parse(argc, argv, 2)) {
    case Flags::Outcome::kRun: return -1;
    case Flags::Outcome::kHelp: std::fputs(flags.usage().c_str(), stdout); return 0;
    case Flags::Outcome::kError:
      std::fprintf(stderr, "reservoir: %s\n\n%s", flags.error().c_str(), flags.usage().c_str());
      return 2;
  }
  return 2;
}

}  // namespace reservoir::tools

namespace {

constexpr const char* kUsage =
    "usage: reservoir <command> [flags]\n\n"
    "Reservoir: an event-sourced reservation engine with a REST API.\n\n"
    "commands:\n"
    "  serve    run the HTTP server (embedded durable event log)\n\n"
    "Run 'reservoir <command> --help' for the flags of a command.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command == "serve") return reservoir::tools::run_serve(argc, argv);
  std::fprintf(stderr, "reservoir: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return 2;
}
