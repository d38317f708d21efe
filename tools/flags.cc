#include "tools/flags.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "events/time_format.h"

namespace reservoir::tools {
namespace {

std::string duration_text(int64_t ms) {
  if (ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string trim(const std::string& s) {
  const char* blanks = " \t\r\n";
  const size_t begin = s.find_first_not_of(blanks);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(blanks) - begin + 1);
}

}  // namespace

void Flags::add_string(const char* name, std::string* out, const char* help) {
  flags_.push_back({name, Kind::kString, out, 0, 0, {}, help, *out});
}
void Flags::add_int(const char* name, int64_t* out, int64_t min, int64_t max, const char* help) {
  flags_.push_back({name, Kind::kInt, out, min, max, {}, help, std::to_string(*out)});
}
void Flags::add_duration(const char* name, int64_t* out_ms, const char* help) {
  flags_.push_back({name, Kind::kDuration, out_ms, 0, 0, {}, help, duration_text(*out_ms)});
}
void Flags::add_bool(const char* name, bool* out, const char* help) {
  flags_.push_back({name, Kind::kBool, out, 0, 0, {}, help, *out ? "true" : "false"});
}
void Flags::add_list(const char* name, std::vector<std::string>* out, const char* help) {
  flags_.push_back({name, Kind::kList, out, 0, 0, {}, help, ""});
}
void Flags::add_choice(const char* name, std::string* out, std::vector<std::string> choices,
                       const char* help) {
  flags_.push_back({name, Kind::kChoice, out, 0, 0, std::move(choices), help, *out});
}

bool Flags::assign(Flag& f, const std::string& value) {
  switch (f.kind) {
    case Kind::kString:
      *static_cast<std::string*>(f.out) = value;
      return true;
    case Kind::kList:
      static_cast<std::vector<std::string>*>(f.out)->push_back(value);
      return true;
    case Kind::kChoice:
      for (const auto& c : f.choices) {
        if (c == value) {
          *static_cast<std::string*>(f.out) = value;
          return true;
        }
      }
      error_ = "--" + f.name + ": '" + value + "' is not one of the allowed values";
      return false;
    case Kind::kInt: {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || end != value.data() + value.size() || v < f.min || v > f.max) {
        error_ = "--" + f.name + ": '" + value + "' is not an integer in " + std::to_string(f.min) +
                 ".." + std::to_string(f.max);
        return false;
      }
      *static_cast<int64_t*>(f.out) = v;
      return true;
    }
    case Kind::kDuration: {
      auto ms = parse_duration_ms(value);
      if (!ms) {
        error_ = "--" + f.name + ": '" + value + "' is not a duration like 300ms, 2s, 5m or 1h";
        return false;
      }
      *static_cast<int64_t*>(f.out) = *ms;
      return true;
    }
    case Kind::kBool:
      if (value != "true" && value != "false") {
        error_ = "--" + f.name + ": '" + value + "' is not true or false";
        return false;
      }
      *static_cast<bool*>(f.out) = value == "true";
      return true;
  }
  return false;
}

Flags::Flag* Flags::find(const std::string& name) {
  for (auto& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

Flags::Outcome Flags::parse(int argc, char** argv, int first) {
  // Read the whole command line first: --help and syntax errors win over a
  // config file, and the file must be applied before the flags that override it.
  std::vector<Setting> settings;
  std::string config;
  bool has_config = false;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return Outcome::kHelp;
    if (arg.rfind("--", 0) != 0) {
      error_ = "unexpected argument '" + arg + "'";
      return Outcome::kError;
    }
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    Flag* flag = find(name);
    if (flag == nullptr && name != "config") {
      error_ = "unknown flag --" + name;
      return Outcome::kError;
    }
    if (flag != nullptr && flag->kind == Kind::kBool && !inline_value) {
      value = "true";
    } else if (!inline_value) {
      if (i + 1 >= argc) {
        error_ = "--" + name + " needs a value";
        return Outcome::kError;
      }
      value = argv[++i];
    }
    if (flag == nullptr) {
      config = value;
      has_config = true;
    } else {
      settings.push_back({flag, value});
    }
  }
  std::set<const Flag*> lists_from_file, lists_replaced;
  if (has_config && !apply_config(config, &lists_from_file)) return Outcome::kError;
  for (auto& s : settings) {
    // A list given on the command line replaces the file's values rather
    // than adding to them: the command line wins, as for every other flag.
    if (lists_from_file.count(s.flag) != 0 && lists_replaced.insert(s.flag).second) {
      static_cast<std::vector<std::string>*>(s.flag->out)->clear();
    }
    if (!assign(*s.flag, s.value)) return Outcome::kError;
  }
  return Outcome::kRun;
}

bool Flags::apply_config(const std::string& path, std::set<const Flag*>* lists_set) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    error_ = "config " + path + ": is a directory";
    return false;
  }
  std::ifstream in(path);
  if (!in) {
    error_ = "config " + path + ": cannot read: " + std::strerror(errno);
    return false;
  }
  std::set<const Flag*> seen;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!apply_config_line("config " + path + ":" + std::to_string(number), line, &seen)) {
      return false;
    }
  }
  if (in.bad()) {
    error_ = "config " + path + ": read error: " + std::strerror(errno);
    return false;
  }
  for (const Flag* f : seen) {
    if (f->kind == Kind::kList) lists_set->insert(f);
  }
  return true;
}

bool Flags::apply_config_line(const std::string& where, const std::string& raw,
                              std::set<const Flag*>* seen) {
  const std::string line = trim(raw);
  if (line.empty() || line[0] == '#') return true;
  const size_t eq = line.find('=');
  if (eq == std::string::npos) {
    // The line itself is not echoed: it may be a secret missing its key.
    error_ = where + ": expected 'key = value'";
    return false;
  }
  const std::string key = trim(line.substr(0, eq));
  Flag* flag = find(key);
  if (flag == nullptr) {
    error_ = where + ": unknown key '" + key + "' (keys are the flag names without --)";
    return false;
  }
  if (!seen->insert(flag).second && flag->kind != Kind::kList) {
    error_ = where + ": key '" + key + "' is set twice";
    return false;
  }
  if (!assign(*flag, trim(line.substr(eq + 1)))) {
    error_ = where + ": " + error_;
    return false;
  }
  return true;
}

std::vector<std::pair<std::string, std::string>> Flags::values() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Flag& f : flags_) {
    std::string text;
    switch (f.kind) {
      case Kind::kString:
      case Kind::kChoice:
        text = *static_cast<const std::string*>(f.out);
        break;
      case Kind::kInt:
        text = std::to_string(*static_cast<const int64_t*>(f.out));
        break;
      case Kind::kDuration:
        text = duration_text(*static_cast<const int64_t*>(f.out));
        break;
      case Kind::kBool:
        text = *static_cast<const bool*>(f.out) ? "true" : "false";
        break;
      case Kind::kList:
        for (const auto& v : *static_cast<const std::vector<std::string>*>(f.out)) {
          text += (text.empty() ? "" : ",") + v;
        }
        break;
    }
    out.emplace_back(f.name, std::move(text));
  }
  return out;
}

std::string Flags::usage() const {
  std::string out = "usage: reservoir " + command_ + " [flags]\n\n" + summary_ + "\n\nflags:\n";
  for (const auto& f : flags_) {
    std::string left = "  --" + f.name;
    if (f.kind != Kind::kBool) left += f.kind == Kind::kDuration ? " DURATION" : " VALUE";
    if (left.size() < 28) left.resize(28, ' ');
    out += left + " " + f.help;
    if (f.kind != Kind::kBool)
      out += " (default: " + (f.default_text.empty() ? "none" : f.default_text) + ")";
    out += "\n";
  }
  out +=
      "  --config FILE              read flags from FILE, one 'key = value' a line (the flag\n"
      "                             name without --); a flag given here wins over the file\n";
  out += "  --help                     show this help\n";
  return out;
}

}  // namespace reservoir::tools
