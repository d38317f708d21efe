// reservoir replay: prints the event log for auditors (text or JSON lines),
// filtered by offsets, user or reservation; --verify re-runs the audit
// checker over the whole log and reports every broken invariant.
#include <chrono>
#include <cstdio>
#include <iterator>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/audit/checker.h"
#include "events/concert_events.h"
#include "events/engine_events.h"
#include "events/json_codec.h"
#include "events/replay.h"
#include "events/text_codec.h"
#include "events/time_format.h"
#include "tools/log_source.h"
#include "tools/subcommands.h"

namespace reservoir::tools {
namespace {

constexpr size_t kReadChunkEvents = 8192;

struct ReplayOptions {
  LogSource source;
  int64_t from = 0;
  int64_t to = -1;  // inclusive; -1: the end of the log
  std::string user;
  std::string reservation;
  std::string format = "text";
  bool verify = false;
  int64_t active_tokens = 1000;
};

// Typed view of an envelope, from whichever catalog knows its type: the
// engine's, else the domain's `Catalog`.
template <class Catalog>
using AnyEvent = std::variant<typename Catalog::Event, events::EngineEvent>;

template <class Catalog>
Result<AnyEvent<Catalog>> decode_any(const EventEnvelope& env) {
  if (events::EngineCatalog::knows(env.type)) {
    auto e = events::EngineCatalog::decode(env);
    if (!e.ok()) return e.status();
    return AnyEvent<Catalog>(std::move(*e));
  }
  auto e = Catalog::decode(env);
  if (!e.ok()) return e.status();
  return AnyEvent<Catalog>(std::move(*e));
}

template <class Any, class F>
void visit_any(const Any& any, F&& f) {
  std::visit([&](const auto& variant) { std::visit(f, variant); }, any);
}

// A filter flag: an event passes when the first of `fields` it has (a
// string field) equals `value`; an event with none of them does not pass.
struct FieldFilter {
  const std::string* value;  // the flag's; empty: no filter
  std::vector<const char*> fields;
};

// The filters of the concert domain's flags.
std::vector<FieldFilter> concert_filters(const ReplayOptions& o) {
  return {{&o.user, {"userId", "scope"}}, {&o.reservation, {"reservationId"}}};
}

template <class Any>
bool matches(const Any& any, const std::vector<FieldFilter>& filters) {
  bool ok = true;
  visit_any(any, [&](const auto& e) {
    for (const FieldFilter& f : filters) {
      if (f.value->empty()) continue;
      std::optional<std::string> got;
      for (const char* field : f.fields) {
        if ((got = codec::string_field(e, field))) break;
      }
      ok = ok && got == *f.value;
    }
  });
  return ok;
}

template <class Any>
void print_event(const EventEnvelope& env, const Any& any, const ReplayOptions& o,
                 std::string& line) {
  line.clear();
  const std::string time = format_iso8601_ms(env.time_ms);
  if (o.format == "json") {
    rapidjson::StringBuffer buf;
    codec::JsonWriter w(buf);
    w.StartObject();
    w.Key("offset");
    w.Uint64(env.offset);
    w.Key("type");
    w.String(env.type.c_str());
    w.Key("version");
    w.Uint(env.version);
    w.Key("time");
    w.String(time.c_str());
    w.Key("data");
    visit_any(any, [&](const auto& e) { codec::write_json_value(w, e); });
    w.EndObject();
    line.assign(buf.GetString(), buf.GetSize());
  } else {
    line = "#" + std::to_string(env.offset) + " " + time + " " + env.type + " ";
    visit_any(any, [&](const auto& e) {
      std::string fields;
      std::remove_cvref_t<decltype(e)>::fields(e, codec::TextFields{fields});
      line += fields;
    });
  }
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stdout);
}

// Prints the events of [--from, --to] that pass `filters`, decoded with `Catalog`.
template <class Catalog>
int print_log(EventLog& log, const ReplayOptions& o, const std::vector<FieldFilter>& filters) {
  const uint64_t end = log.end_offset();
  const uint64_t last = o.to < 0 ? end : std::min<uint64_t>(end, static_cast<uint64_t>(o.to) + 1);
  std::vector<EventEnvelope> chunk;
  std::string line;
  for (uint64_t next = static_cast<uint64_t>(o.from); next < last;) {
    chunk.clear();
    Status s = log.read(next, std::min<uint64_t>(kReadChunkEvents, last - next), &chunk);
    if (!s.ok()) return fail(2, "cannot read the log: " + s.ToString());
    if (chunk.empty()) break;
    for (const auto& env : chunk) {
      auto any = decode_any<Catalog>(env);
      if (!any.ok()) {
        return fail(2, "offset " + std::to_string(env.offset) + ": " + any.status().message());
      }
      if (matches(*any, filters)) print_event(env, *any, o, line);
    }
    next = chunk.back().offset + 1;
  }
  return 0;
}

// One checker's block of the report.
template <audit::LogChecker C>
void print_report(const C& c, double seconds) {
  std::printf("verify: checked %llu events in %.2f s (%.0f events/s)\n",
              static_cast<unsigned long long>(c.events_checked()), seconds,
              seconds > 0 ? static_cast<double>(c.events_checked()) / seconds : 0.0);
  int per[C::kInvariants + 1] = {};
  for (const auto& v : c.violations()) ++per[v.invariant];
  for (int i = 1; i <= C::kInvariants; ++i) {
    std::printf("  invariant %d (%s): %s\n", i, std::string(C::invariant_name(i)).c_str(),
                per[i] == 0 ? "holds" : (std::to_string(per[i]) + " violation(s)").c_str());
  }
  for (const auto& v : c.violations()) {
    std::printf("VIOLATION offset %llu %s: invariant %d: %s\n",
                static_cast<unsigned long long>(v.offset), v.event_type.c_str(), v.invariant,
                v.detail.c_str());
  }
  if (c.violation_count() > c.violations().size()) {
    std::printf("  ... and %llu more violations\n",
                static_cast<unsigned long long>(c.violation_count() - c.violations().size()));
  }
  std::printf("verify: %s\n", c.violation_count() == 0 ? "OK" : "FAILED");
}

// Feeds the whole log to `checker` and prints its block: 0 when every
// invariant holds, 1 on a violation, 2 when the log cannot be read.
template <audit::LogChecker C>
int verify_log(EventLog& log, C& checker) {
  const auto start = std::chrono::steady_clock::now();
  // Reading and decoding run on a second thread, checking on this one.
  const Status s = replay_log<Result<typename C::Decoded>>(
      log, 0, log.end_offset(), kReadChunkEvents, &C::decode,
      [&](const EventEnvelope& env, const Result<typename C::Decoded>& decoded) {
        if (!decoded.ok()) return decoded.status();
        checker.feed(env, decoded.value());
        return Status::OK();
      });
  if (!s.ok()) {
    std::printf("verify: the log is unreadable: %s\n", s.ToString().c_str());
    return 2;
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  print_report(checker, took.count());
  return checker.violation_count() == 0 ? 0 : 1;
}

int run_replay(int argc, char** argv) {
  ReplayOptions o;
  Flags f("replay",
          "Prints the event log for auditing (it may run while the server runs).\n"
          "--verify re-checks every invariant of the contract from offset 0 and exits 1\n"
          "naming the offsets that break one (2 when the log cannot be read).");
  f.add_string("data", &o.source.data, "data directory of the log");
  declare_kafka_flags(f, o.source);
  f.add_int("from", &o.from, 0, INT64_MAX, "first offset to print (inclusive)");
  f.add_int("to", &o.to, -1, INT64_MAX, "last offset to print (inclusive; -1: the end)");
  f.add_string("user", &o.user, "only events of this user id");
  f.add_string("reservation", &o.reservation, "only events of this reservation id");
  f.add_choice("format", &o.format, {"text", "json"},
               "text (for people) or json (one object a line)");
  f.add_bool("verify", &o.verify, "check every invariant at every offset; print a report");
  f.add_int("active-tokens", &o.active_tokens, 1, 1'000'000,
            "the server's --active-tokens, for --verify");
  if (int rc = handle_flags(f, argc, argv); rc >= 0) return rc;
  auto log = open_log_read_only(o.source);
  if (!log.ok()) return fail(o.verify ? 2 : 1, "cannot open the log: " + log.status().ToString());
  static char buffer[1 << 20];
  std::setvbuf(stdout, buffer, _IOFBF, sizeof buffer);
  int rc = 0;
  if (o.verify) {
    audit::ConcertChecker checker({o.active_tokens, 1000});
    rc = verify_log(**log, checker);
  } else {
    rc = print_log<events::ConcertCatalog>(**log, o, concert_filters(o));
  }
  std::fflush(stdout);
  return rc;
}

const SubcommandRegistration kReplay{"replay", "print or --verify the event log", &run_replay};

}  // namespace
}  // namespace reservoir::tools
