// Flags and `--config FILE` (tools/flags.h; SPEC §8 packaging): the file's
// `key = value` lines set the flags, a flag on the command line wins, and a
// bad file is refused with its line number before anything runs.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "tools/flags.h"

namespace reservoir {
namespace {

using tools::Flags;

// The shape of `serve`'s options: one flag of each kind.
struct Options {
  std::string data = "./reservoir-data";
  std::string admin_key;
  std::string log = "embedded";
  int64_t port = 8080;
  int64_t hold_ttl_ms = 300'000;
  bool demo = false;
  std::vector<std::string> api_ports;
};

struct Parsed {
  Flags::Outcome outcome;
  std::string error;
  Options o;
};

Parsed parse(std::vector<std::string> args) {
  Parsed p{Flags::Outcome::kError, "", Options{}};
  Flags f("serve", "test");
  f.add_string("data", &p.o.data, "data directory");
  f.add_string("admin-key", &p.o.admin_key, "admin key");
  f.add_choice("log", &p.o.log, {"embedded", "kafka"}, "backend");
  f.add_int("port", &p.o.port, 0, 65535, "port");
  f.add_duration("hold-ttl", &p.o.hold_ttl_ms, "hold ttl");
  f.add_bool("demo", &p.o.demo, "demo");
  f.add_list("api-port", &p.o.api_ports, "extra listener");
  args.insert(args.begin(), {"reservoir", "serve"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  p.outcome = f.parse(static_cast<int>(argv.size()), argv.data(), 2);
  p.error = f.error();
  return p;
}

std::string write_config(const test::TempDir& dir, const std::string& text) {
  const std::string path = dir.path() + "/reservoir.conf";
  std::ofstream(path) << text;
  return path;
}

TEST_CASE("flags config: every kind of flag takes its value from the file") {
  test::TempDir dir;
  const auto path = write_config(dir,
                                 "data = /var/lib/reservoir\n"
                                 "port=9090\n"
                                 "log = kafka\n"
                                 "hold-ttl = 2m\n"
                                 "demo = true\n"
                                 "api-port = concert-events=8081\n"
                                 "api-port = queue-tokens=8082\n");
  const auto p = parse({"--config", path});
  REQUIRE(p.outcome == Flags::Outcome::kRun);
  CHECK(p.o.data == "/var/lib/reservoir");
  CHECK(p.o.port == 9090);
  CHECK(p.o.log == "kafka");
  CHECK(p.o.hold_ttl_ms == 120'000);
  CHECK(p.o.demo);
  CHECK(p.o.api_ports == std::vector<std::string>{"concert-events=8081", "queue-tokens=8082"});
}

TEST_CASE("flags config: comments, blank lines and surrounding blanks are skipped") {
  test::TempDir dir;
  const auto path = write_config(dir,
                                 "# Reservoir\n"
                                 "\n"
                                 "   # port = 1\n"
                                 "  \t\n"
                                 "  port   =   7070  \r\n");
  const auto p = parse({"--config=" + path});
  REQUIRE(p.outcome == Flags::Outcome::kRun);
  CHECK(p.o.port == 7070);
  CHECK(p.o.data == "./reservoir-data");  // untouched: the default
}

TEST_CASE("flags config: a flag on the command line wins over the file, wherever it stands") {
  test::TempDir dir;
  const auto path = write_config(dir,
                                 "port = 9090\n"
                                 "demo = true\n"
                                 "data = /from/file\n"
                                 "api-port = concert-events=8081\n");
  const auto p =
      parse({"--port", "7000", "--config", path, "--demo=false", "--api-port=queue-tokens=7001"});
  REQUIRE(p.outcome == Flags::Outcome::kRun);
  CHECK(p.o.port == 7000);
  CHECK_FALSE(p.o.demo);
  CHECK(p.o.data == "/from/file");                                        // not overridden
  CHECK(p.o.api_ports == std::vector<std::string>{"queue-tokens=7001"});  // replaced, not added
}

TEST_CASE("flags config: an unknown key is refused with the file and its line") {
  test::TempDir dir;
  const auto path = write_config(dir, "# ok\nport = 8080\nprot = 8081\n");
  const auto p = parse({"--config", path});
  CHECK(p.outcome == Flags::Outcome::kError);
  CHECK(p.error.rfind("config " + path + ":3: unknown key 'prot'", 0) == 0);
}

TEST_CASE("flags config: a bad value, a line without '=' and a repeated key are refused") {
  test::TempDir dir;
  auto p = parse({"--config", write_config(dir, "\nport = eighty\n")});
  CHECK(p.outcome == Flags::Outcome::kError);
  CHECK(p.error.rfind("config " + dir.path() + "/reservoir.conf:2: --port: 'eighty'", 0) == 0);

  p = parse({"--config", write_config(dir, "demo = yes\n")});
  CHECK(p.outcome == Flags::Outcome::kError);
  CHECK(p.error.find(":1: --demo: 'yes' is not true or false") != std::string::npos);

  // A line without '=' is not echoed: it may be a secret that lost its key.
  p = parse({"--config", write_config(dir, "s3cret-admin-key\n")});
  CHECK(p.outcome == Flags::Outcome::kError);
  CHECK(p.error.find(":1: expected 'key = value'") != std::string::npos);
  CHECK(p.error.find("s3cret") == std::string::npos);

  p = parse({"--config", write_config(dir, "port = 1\nport = 2\n")});
  CHECK(p.outcome == Flags::Outcome::kError);
  CHECK(p.error.find(":2: key 'port' is set twice") != std::string::npos);

  // A file cannot name another file: --config is for the command line only.
  p = parse({"--config", write_config(dir, "config = /etc/other.conf\n")});
  CHECK(p.outcome == Flags::Outcome::kError);
  CHECK(p.error.find(":1: unknown key 'config'") != std::string::npos);
}

TEST_CASE("flags config: a bad value in the file is refused even when the flag overrides it") {
  test::TempDir dir;
  const auto p = parse({"--config", write_config(dir, "port = 99999\n"), "--port", "8080"});
  CHECK(p.outcome == Flags::Outcome::kError);
  CHECK(p.error.find(":1: --port: '99999' is not an integer in 0..65535") != std::string::npos);
}

TEST_CASE("flags config: a missing file or a directory is refused with its name") {
  test::TempDir dir;
  auto p = parse({"--config", dir.path() + "/absent.conf"});
  CHECK(p.outcome == Flags::Outcome::kError);
  CHECK(p.error.rfind("config " + dir.path() + "/absent.conf: cannot read", 0) == 0);
  p = parse({"--config", dir.path()});
  CHECK(p.outcome == Flags::Outcome::kError);
  CHECK(p.error == "config " + dir.path() + ": is a directory");
}

TEST_CASE("flags config: a secret such as the admin key is read from the file verbatim") {
  test::TempDir dir;
  const auto p = parse({"--config", write_config(dir, "admin-key = s3cr=t#with spaces\n")});
  REQUIRE(p.outcome == Flags::Outcome::kRun);
  // Only the first '=' separates; '#' inside a value is not a comment.
  CHECK(p.o.admin_key == "s3cr=t#with spaces");
}

TEST_CASE("flags config: --help wins over a bad file, and is listed in the usage") {
  test::TempDir dir;
  const auto p = parse({"--config", dir.path() + "/absent.conf", "--help"});
  CHECK(p.outcome == Flags::Outcome::kHelp);
  Options o;
  Flags f("serve", "test");
  f.add_int("port", &o.port, 0, 65535, "port");
  CHECK(f.usage().find("--config FILE") != std::string::npos);
}

TEST_CASE("flags: a boolean flag alone is true; --name=true|false sets it; other values fail") {
  CHECK(parse({"--demo"}).o.demo);
  CHECK(parse({"--demo=true"}).o.demo);
  CHECK_FALSE(parse({"--demo=false"}).o.demo);
  const auto p = parse({"--demo=1"});
  CHECK(p.outcome == Flags::Outcome::kError);
  CHECK(p.error == "--demo: '1' is not true or false");
  CHECK(parse({"--config"}).error == "--config needs a value");
}

}  // namespace
}  // namespace reservoir
