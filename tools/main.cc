// reservoir: one executable, one subcommand per job.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "events/oplog.h"
#include "tools/subcommands.h"

namespace reservoir::tools {

std::vector<Subcommand>& subcommands() {
  static std::vector<Subcommand> all;
  return all;
}

namespace {
std::string g_last_failure;
}  // namespace

int fail(int code, const std::string& message) {
  // Under `serve --log-format json` the start_refused or stop line carries
  // the message: stderr stays one JSON object a line.
  if (oplog::format() == oplog::Format::kText) {
    std::fprintf(stderr, "reservoir: %s\n", message.c_str());
  }
  g_last_failure = message;
  return code;
}

const std::string& last_failure() {
  return g_last_failure;
}

int handle_flags(Flags& flags, int argc, char** argv) {
  switch (flags.parse(argc, argv, 2)) {
    case Flags::Outcome::kRun:
      return -1;
    case Flags::Outcome::kHelp:
      std::fputs(flags.usage().c_str(), stdout);
      return 0;
    case Flags::Outcome::kError:
      std::fprintf(stderr, "reservoir: %s\n\n%s", flags.error().c_str(), flags.usage().c_str());
      return 2;
  }
  return 2;
}

}  // namespace reservoir::tools

namespace {

std::string usage() {
  auto list = reservoir::tools::subcommands();
  std::sort(list.begin(), list.end(),
            [](const auto& a, const auto& b) { return std::strcmp(a.name, b.name) < 0; });
  std::string out =
      "usage: reservoir <command> [flags]\n\n"
      "Reservoir: an event-sourced reservation engine with a REST API.\n\ncommands:\n";
  for (const auto& c : list) {
    std::string name = std::string("  ") + c.name;
    name.resize(13, ' ');
    out += name + c.summary + "\n";
  }
  return out + "\nRun 'reservoir <command> --help' for the flags of a command.\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(usage().c_str(), stderr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(usage().c_str(), stdout);
    return 0;
  }
  for (const auto& c : reservoir::tools::subcommands()) {
    if (command == c.name) return c.run(argc, argv);
  }
  std::fprintf(stderr, "reservoir: unknown command '%s'\n\n%s", command.c_str(), usage().c_str());
  return 2;
}
