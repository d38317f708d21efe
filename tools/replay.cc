// reservoir replay: prints the event logs for auditors (text or JSON lines),
// filtered by offsets, user, reservation, visitor or schedule; --verify
// re-runs each domain's audit checker over its whole log and reports every
// broken invariant. The concert log comes first, then the clinic's (when
// there is one); offsets are per log. A concert-only report is exactly what
// it was before the clinic domain existed.
#include <chrono>
#include <cstdio>
#include <iterator>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/audit/checker.h"
#include "engine/audit/clinic_checker.h"
#include "events/clinic_events.h"
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
  std::string visitor;
  std::string schedule;
  std::string domain = "all";
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

// The filters of every flag: an event passes those whose field it has. An
// event of the other domain has none of them, so a --visitor filter prints
// no concert event and a --user filter no clinic event.
std::vector<FieldFilter> all_filters(const ReplayOptions& o) {
  return {{&o.user, {"userId", "scope"}},
          {&o.reservation, {"reservationId"}},
          {&o.visitor, {"visitorId"}},
          {&o.schedule, {"scheduleId"}}};
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
                 std::string_view domain, std::string& line) {
  line.clear();
  if (o.format == "json") {
    rapidjson::StringBuffer buf;
    codec::JsonWriter w(buf);
    w.StartObject();
    codec::write_envelope_keys(w, env);
    w.Key("data");
    visit_any(any, [&](const auto& e) { codec::write_json_value(w, e); });
    w.Key("domain");
    w.String(domain.data(), static_cast<rapidjson::SizeType>(domain.size()));
    w.EndObject();
    line.assign(buf.GetString(), buf.GetSize());
  } else {
    // Concert lines keep their old form; clinic lines name their log.
    line = (domain == "concert" ? std::string() : std::string(domain)) + "#" +
           std::to_string(env.offset) + " " + format_iso8601_ms(env.time_ms) + " " + env.type + " ";
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
int print_log(EventLog& log, const ReplayOptions& o, const std::vector<FieldFilter>& filters,
              std::string_view domain) {
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
      if (matches(*any, filters)) print_event(env, *any, o, domain, line);
    }
    next = chunk.back().offset + 1;
  }
  return 0;
}

// The invariant numbers a checker reports, in order: 1..kInvariants, or
// its own list (the clinic's are SPEC §6.1's 5..10).
template <audit::LogChecker C>
std::vector<int> invariant_numbers() {
  if constexpr (std::is_integral_v<std::remove_cvref_t<decltype(C::kInvariants)>>) {
    std::vector<int> all;
    for (int i = 1; i <= C::kInvariants; ++i) all.push_back(i);
    return all;
  } else {
    return std::vector<int>(std::begin(C::kInvariants), std::end(C::kInvariants));
  }
}

// Violations of invariant i, counting those not kept when the checker can.
template <audit::LogChecker C>
uint64_t violations_of(const C& c, int i) {
  if constexpr (requires { c.violation_count(i); }) {
    return c.violation_count(i);
  } else {
    uint64_t n = 0;
    for (const auto& v : c.violations()) n += v.invariant == i ? 1 : 0;
    return n;
  }
}

// One checker's block of the report (the verdict line is the caller's).
// The concert block has no domain label, so its report reads as before.
template <audit::LogChecker C>
void print_report(const C& c, double seconds, std::string_view label) {
  const std::string tag = label.empty() ? "" : std::string(label) + ": ";
  const std::string where = label.empty() ? "" : std::string(label) + " ";
  std::printf("verify: %schecked %llu events in %.2f s (%.0f events/s)\n", tag.c_str(),
              static_cast<unsigned long long>(c.events_checked()), seconds,
              seconds > 0 ? static_cast<double>(c.events_checked()) / seconds : 0.0);
  for (int i : invariant_numbers<C>()) {
    const uint64_t n = violations_of(c, i);
    std::printf("  invariant %d (%s): %s\n", i, std::string(C::invariant_name(i)).c_str(),
                n == 0 ? "holds" : (std::to_string(n) + " violation(s)").c_str());
  }
  for (const auto& v : c.violations()) {
    std::printf("VIOLATION %soffset %llu %s: invariant %d: %s\n", where.c_str(),
                static_cast<unsigned long long>(v.offset), v.event_type.c_str(), v.invariant,
                v.detail.c_str());
  }
  if (c.violation_count() > c.violations().size()) {
    std::printf("  ... and %llu more violations\n",
                static_cast<unsigned long long>(c.violation_count() - c.violations().size()));
  }
}

// Feeds the whole log to `checker` and prints its block: 0 when every
// invariant holds, 1 on a violation, 2 when the log cannot be read.
template <audit::LogChecker C>
int verify_log(EventLog& log, C& checker, std::string_view label) {
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
    std::printf("verify: %sthe log is unreadable: %s\n",
                label.empty() ? "" : (std::string(label) + ": ").c_str(), s.ToString().c_str());
    return 2;
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  print_report(checker, took.count(), label);
  return checker.violation_count() == 0 ? 0 : 1;
}

bool wants(const ReplayOptions& o, LogDomain d) {
  return o.domain == "all" || o.domain == (d == LogDomain::kClinic ? "clinic" : "concert");
}

// Prints or verifies one domain's log; `rc` keeps the worst exit code.
// Under --domain all a missing clinic log is skipped (a concert-only
// server never made one); asked for by name, it is an error.
int run_domain(const ReplayOptions& o, LogDomain d) {
  const bool clinic = d == LogDomain::kClinic;
  if (clinic && o.domain == "all" && !o.source.may_have(d)) return 0;
  auto log = open_log_read_only(o.source, d);
  if (!log.ok()) {
    if (clinic && o.domain == "all") {
      std::fprintf(stderr, "replay: no clinic log (%s): %s\n", o.source.describe(d).c_str(),
                   log.status().ToString().c_str());
      return 0;
    }
    return fail(o.verify ? 2 : 1, std::string("cannot open the ") + (clinic ? "clinic " : "") +
                                      "log: " + log.status().ToString());
  }
  if (o.verify) {
    if (clinic) {
      audit::ClinicChecker checker;
      return verify_log(**log, checker, "clinic");
    }
    audit::ConcertChecker checker({o.active_tokens, 1000});
    return verify_log(**log, checker, "");
  }
  if (clinic) return print_log<events::ClinicCatalog>(**log, o, all_filters(o), "clinic");
  return print_log<events::ConcertCatalog>(**log, o, all_filters(o), "concert");
}

int run_replay(int argc, char** argv) {
  ReplayOptions o;
  Flags f("replay",
          "Prints the event logs for auditing (it may run while the server runs): the\n"
          "concert domain's, then the clinic's (lines prefixed clinic#, JSON with its domain).\n"
          "--verify re-checks every invariant of the contract from offset 0 in each log and\n"
          "exits 1 naming the offsets that break one (2 when a log cannot be read).");
  f.add_string("data", &o.source.data, "data directory of the log");
  declare_kafka_flags(f, o.source);
  f.add_int("from", &o.from, 0, INT64_MAX, "first offset to print (inclusive)");
  f.add_int("to", &o.to, -1, INT64_MAX, "last offset to print (inclusive; -1: the end)");
  f.add_string("user", &o.user, "only events of this user id");
  f.add_string("reservation", &o.reservation, "only events of this reservation id");
  f.add_string("visitor", &o.visitor, "only clinic events of this visitor id");
  f.add_string("schedule", &o.schedule, "only clinic events of this schedule id");
  f.add_choice("domain", &o.domain, {"all", "concert", "clinic"},
               "which domain's log: all (concert, then clinic when it has a log), concert or "
               "clinic");
  f.add_choice("format", &o.format, {"text", "json"},
               "text (for people) or json (one object a line)");
  f.add_bool("verify", &o.verify, "check every invariant at every offset; print a report");
  f.add_int("active-tokens", &o.active_tokens, 1, 1'000'000,
            "the server's --active-tokens, for --verify");
  if (int rc = handle_flags(f, argc, argv); rc >= 0) return rc;
  static char buffer[1 << 20];
  std::setvbuf(stdout, buffer, _IOFBF, sizeof buffer);
  int rc = 0;
  for (LogDomain d : {LogDomain::kConcert, LogDomain::kClinic}) {
    if (!wants(o, d)) continue;
    rc = std::max(rc, run_domain(o, d));
    if (rc == 2 || (rc != 0 && !o.verify)) break;
  }
  if (o.verify && rc != 2) std::printf("verify: %s\n", rc == 0 ? "OK" : "FAILED");
  std::fflush(stdout);
  return rc;
}

const SubcommandRegistration kReplay{"replay", "print or --verify the event log", &run_replay};

}  // namespace
}  // namespace reservoir::tools
