// Flags: a small declarative parser for the `reservoir` subcommands. Every
// flag has a default and a help line; --help prints them; a bad flag or value
// is reported with what is wrong (the caller exits 2, SPEC §3).
//
// Thread safety: single-threaded use at start-up.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace reservoir::tools {

class Flags {
 public:
  Flags(std::string command, std::string summary)
      : command_(std::move(command)), summary_(std::move(summary)) {}

  void add_string(const char* name, std::string* out, const char* help);
  void add_int(const char* name, int64_t* out, int64_t min, int64_t max, const char* help);
  void add_duration(const char* name, int64_t* out_ms, const char* help);
  void add_bool(const char* name, bool* out, const char* help);
  // A repeatable flag: each use appends its value.
  void add_list(const char* name, std::vector<std::string>* out, const char* help);
  // Restricts a string flag to a set of values.
  void add_choice(const char* name, std::string* out, std::vector<std::string> choices,
                  const char* help);

  enum class Outcome { kRun, kHelp, kError };
  // Parses argv[first..]; on kError, error() says what is wrong.
  Outcome parse(int argc, char** argv, int first);
  const std::string& error() const { return error_; }
  std::string usage() const;
  // Every flag's current value as text (a list's values comma-separated),
  // in declaration order: the effective configuration, for the start log.
  std::vector<std::pair<std::string, std::string>> values() const;

 private:
  enum class Kind { kString, kInt, kDuration, kBool, kChoice, kList };
  struct Flag {
    std::string name;
    Kind kind;
    void* out;
    int64_t min = 0, max = 0;
    std::vector<std::string> choices;
    std::string help;
    std::string default_text;
  };
  bool assign(Flag& f, const std::string& value);
  std::string command_, summary_, error_;
  std::vector<Flag> flags_;
};

}  // namespace reservoir::tools
