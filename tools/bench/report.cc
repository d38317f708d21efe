#include "tools/bench/report.h"

#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace reservoir::tools::bench {

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kExpected:
      return "expected";
    case Verdict::kError:
      return "error";
  }
  return "error";
}

void OutcomeTable::record(int status, std::string_view code, Verdict verdict, uint64_t n) {
  for (auto& e : entries_) {
    if (e.status == status && e.verdict == verdict && code == e.code.data()) {
      e.count += n;
      return;
    }
  }
  if (entries_.size() >= kEntriesMax) code = "OTHER";  // a runaway variety of codes
  for (auto& e : entries_) {
    if (e.status == status && e.verdict == verdict && code == e.code.data()) {
      e.count += n;
      return;
    }
  }
  Entry e;
  e.status = status;
  const size_t len = std::min(code.size(), e.code.size() - 1);
  if (len > 0) std::memcpy(e.code.data(), code.data(), len);  // an empty view's data() may be null
  e.verdict = verdict;
  e.count = n;
  entries_.push_back(e);
}

void OutcomeTable::merge(const OutcomeTable& other) {
  for (const auto& e : other.entries_) record(e.status, e.code.data(), e.verdict, e.count);
}

void WorkerStats::record(int64_t latency_us, int status, std::string_view code, Verdict verdict) {
  latency.record(latency_us);
  outcomes.record(status, code, verdict);
  ++requests;
  ok += verdict == Verdict::kOk;
  expected += verdict == Verdict::kExpected;
  errors += verdict == Verdict::kError;
}

void WorkerStats::merge(const WorkerStats& other) {
  latency.merge(other.latency);
  outcomes.merge(other.outcomes);
  requests += other.requests;
  ok += other.ok;
  expected += other.expected;
  errors += other.errors;
  bookings += other.bookings;
  unsent += other.unsent;
}

const Report::Value* Report::find(std::string_view name) const {
  for (const auto& [n, v] : fields_) {
    if (n == name) return &v;
  }
  return nullptr;
}

namespace {

std::string value_text(const Report::Value& v) {
  char buf[64];
  if (const auto* i = std::get_if<int64_t>(&v)) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(*i));
    return buf;
  }
  if (const auto* d = std::get_if<double>(&v)) {
    std::snprintf(buf, sizeof buf, "%.3f", *d);
    return buf;
  }
  return std::get<std::string>(v);
}

std::string ms_text(int64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(us) / 1000.0);
  return buf;
}

std::string padded(std::string s, size_t width) {
  if (s.size() < width) s.resize(width, ' ');
  return s;
}

// Outcomes, most frequent first.
std::vector<OutcomeTable::Entry> sorted(const OutcomeTable& t) {
  auto entries = t.entries();
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.count > b.count; });
  return entries;
}

}  // namespace

std::string Report::text(const std::string& indent) const {
  std::string out;
  for (const auto& [name, value] : fields_) {
    out += indent + padded(name, 22) + " " + value_text(value) + "\n";
  }
  if (!outcomes_.entries().empty()) out += indent + "outcomes (status code: count, class):\n";
  for (const auto& e : sorted(outcomes_)) {
    std::string key = e.status == 0 ? std::string("transport") : std::to_string(e.status);
    if (e.code[0] != '\0') key += std::string(" ") + e.code.data();
    out += indent + "  " + padded(key, 34) + " " + std::to_string(e.count) + "  " +
           verdict_name(e.verdict) + "\n";
  }
  for (const auto& [name, h] : latencies_) {
    out += indent + padded(name + " (ms)", 22) + " p50 " + ms_text(h.percentile_us(50)) + "  p90 " +
           ms_text(h.percentile_us(90)) + "  p99 " + ms_text(h.percentile_us(99)) + "  p99.9 " +
           ms_text(h.percentile_us(99.9)) + "  max " + ms_text(h.max_us()) + "  (n " +
           std::to_string(h.count()) + ")\n";
  }
  for (const auto& [name, child] : children_) {
    out += indent + name + ":\n" + child.text(indent + "  ");
  }
  return out;
}

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_value(JsonWriter& w, const Report::Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) {
    w.Int64(*i);
  } else if (const auto* d = std::get_if<double>(&v)) {
    w.Double(*d);
  } else {
    const auto& s = std::get<std::string>(v);
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  }
}

void write_latency(JsonWriter& w, const LatencyHistogram& h) {
  const std::pair<const char*, double> kPoints[] = {
      {"p50_ms", 50}, {"p90_ms", 90}, {"p99_ms", 99}, {"p999_ms", 99.9}};
  w.StartObject();
  for (const auto& [key, p] : kPoints) {
    w.Key(key);
    w.Double(static_cast<double>(h.percentile_us(p)) / 1000.0);
  }
  w.Key("max_ms");
  w.Double(static_cast<double>(h.max_us()) / 1000.0);
  w.Key("mean_ms");
  w.Double(h.mean_us() / 1000.0);
  w.Key("count");
  w.Uint64(h.count());
  w.EndObject();
}

void write_outcomes(JsonWriter& w, const OutcomeTable& t) {
  w.StartArray();
  for (const auto& e : sorted(t)) {
    w.StartObject();
    w.Key("status");
    w.Int(e.status);
    w.Key("code");
    w.String(e.code.data());
    w.Key("class");
    w.String(verdict_name(e.verdict));
    w.Key("count");
    w.Uint64(e.count);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace

std::string Report::json() const {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  for (const auto& [name, value] : fields_) {
    w.Key(name.c_str());
    write_value(w, value);
  }
  if (!outcomes_.entries().empty()) {
    w.Key("outcomes");
    write_outcomes(w, outcomes_);
  }
  for (const auto& [name, h] : latencies_) {
    w.Key(name.c_str());
    write_latency(w, h);
  }
  for (const auto& [name, child] : children_) {
    w.Key(name.c_str());
    const std::string text = child.json();  // re-emitted through the writer, so it nests
    rapidjson::StringStream in(text.c_str());
    rapidjson::Reader reader;
    reader.Parse(in, w);
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace reservoir::tools::bench
