// What a bench run measured, and how it is printed: per-thread counters that
// need no locking or allocation per request (WorkerStats), merged after the
// threads end into a Report of ordered fields, outcome counts and latency
// histograms, printed as aligned text and, with --json, as one JSON object.
//
// Thread safety: WorkerStats is owned by one thread; Report is built and
// printed by the main thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tools/bench/histogram.h"

namespace reservoir::tools::bench {

// How an answer counts. kExpected: a refusal the scenario provokes on
// purpose (409 SEAT_UNAVAILABLE in `hot`), neither a success nor an error.
enum class Verdict { kOk, kExpected, kError };

// Counts per (HTTP status, error code). Status 0 is a transport failure whose
// code names it (httplib's error name, or an errno name in `burst`).
class OutcomeTable {
 public:
  struct Entry {
    int status = 0;
    std::array<char, 40> code{};  // NUL-terminated, truncated if longer
    Verdict verdict = Verdict::kOk;
    uint64_t count = 0;
  };
  // Allocates only the first time a (status, code) pair is seen.
  void record(int status, std::string_view code, Verdict verdict, uint64_t n = 1);
  void merge(const OutcomeTable& other);
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  static constexpr size_t kEntriesMax = 64;  // beyond: folded into "OTHER"
  std::vector<Entry> entries_;
};

struct WorkerStats {
  LatencyHistogram latency;
  OutcomeTable outcomes;
  uint64_t requests = 0, ok = 0, expected = 0, errors = 0;
  uint64_t bookings = 0;  // `booking`: payments completed; clinic: reserves that succeeded
  uint64_t unsent = 0;    // open loop: requests due in the run but not sent by its end

  void record(int64_t latency_us, int status, std::string_view code, Verdict verdict);
  void merge(const WorkerStats& other);
};

class Report {
 public:
  using Value = std::variant<int64_t, double, std::string>;

  void add(std::string name, Value value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  void add_latency(std::string name, const LatencyHistogram& h) {
    latencies_.emplace_back(std::move(name), h);
  }
  void set_outcomes(const OutcomeTable& outcomes) { outcomes_ = outcomes; }
  // A nested report (`--compare` prints the ceiling run inside the result).
  void add_child(std::string name, Report child) {
    children_.emplace_back(std::move(name), std::move(child));
  }

  const Value* find(std::string_view name) const;
  const LatencyHistogram* find_latency(std::string_view name) const {
    for (const auto& [n, h] : latencies_) {
      if (n == name) return &h;
    }
    return nullptr;
  }
  std::string text(const std::string& indent = "") const;
  std::string json() const;

 private:
  std::vector<std::pair<std::string, Value>> fields_;
  std::vector<std::pair<std::string, LatencyHistogram>> latencies_;
  OutcomeTable outcomes_;
  std::vector<std::pair<std::string, Report>> children_;
};

// "OK"/"expected"/"error".
const char* verdict_name(Verdict v);

}  // namespace reservoir::tools::bench
