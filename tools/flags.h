// Flags: a small declarative parser for the `reservoir` subcommands. Every
// flag has a default and a help line; --help prints them; a bad flag or value
// is reported with what is wrong (the caller exits 2, SPEC §3).
//
// Every subcommand also takes `--config FILE` (SPEC §8): FILE holds one
// `key = value` a line, the keys being the long flag names without `--`
// (`port = 8080`, `demo = true`); blank lines and lines starting with `#` are
// skipped, and a repeatable flag may appear on several lines. The file is
// applied first, so a flag given on the command line wins over it (a list
// flag given there replaces the file's values). An unknown key, a bad value or
// a non-list key given twice is refused as `config FILE:LINE: what`. Boolean
// flags take `true|false` in the file and as `--name=false` on the command line.
//
// Thread safety: single-threaded use at start-up.
#pragma once

#include <cstdint>
#include <set>
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
  // Parses argv[first..] (and the file of --config, if any); on kError,
  // error() says what is wrong.
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
  struct Setting {
    Flag* flag;
    std::string value;
  };
  Flag* find(const std::string& name);
  bool assign(Flag& f, const std::string& value);
  // Applies the `key = value` lines of `path`; records the list flags it set.
  bool apply_config(const std::string& path, std::set<const Flag*>* lists_set);
  bool apply_config_line(const std::string& where, const std::string& line,
                         std::set<const Flag*>* seen);
  std::string command_, summary_, error_;
  std::vector<Flag> flags_;
};

}  // namespace reservoir::tools
