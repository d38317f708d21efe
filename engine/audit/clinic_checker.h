// ClinicChecker: the auditor's independent state machine for the clinic
// domain (SPEC §6.1). It re-derives visitors, zones, groups and every
// schedule's last state from the events alone and checks the clinic's
// invariants at every Reserved / Updated / Cancelled event, so a bug in the
// clinic's decide (which wrote the events) is caught rather than trusted. It
// links only `events` (CMake enforces it): it shares no code with
// engine/clinic, not even its interval indexes (plain std::maps here).
//
// Numbers are SPEC §6.1's, qualified by domain (docs/CLINIC-DESIGN.md (f));
// 5 is shared with the concert checker:
//
//   5  atomicity: offsets consecutive from 0; batches whole (the log's CRC)
//   6  overlap:   no piece of a visitor's RESERVED schedule overlaps a piece
//                 of another of their RESERVED schedules (half-open)
//   7  refs:      the visitor, reception zone, groups and zones a schedule
//                 names exist; each resource's zone is in its group; an
//                 update / cancel names a known RESERVED schedule and its
//                 previous* (an update) or body (a cancel) is that
//                 schedule's last state; visitor/zone/group/schedule ids
//                 are created once; a group's zones exist
//   8  day:       every resource starts on resource 0's clinic day, by the
//                 utc offset last recorded (ClinicConfigured) before the
//                 event (0 before any)
//   9  capacity:  in a zone with a capacity, no instant is covered by more
//                 RESERVED resources than it
//   10 interval:  every resource has start < end
//
// After a violation the checker keeps going on the state the log claims,
// except that an overlapping piece (6) or an over-capacity zone load (9) is
// left out of its index, as the concert checker leaves a double-held seat
// unrecorded: one forged event is reported once, not again at every later
// event that meets it.
//
// Thread safety: none; one checker per replay.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/audit/violation.h"
#include "events/clinic_events.h"
#include "events/envelope.h"
#include "events/status.h"

namespace reservoir::audit {

struct ClinicCheckerConfig {
  size_t violations_kept_max = 1000;  // the rest are only counted
};

class ClinicChecker {
 public:
  static constexpr std::string_view kDomain = "clinic";
  // The invariant numbers this checker reports, in report order.
  static constexpr std::array<int, 6> kInvariants = {5, 6, 7, 8, 9, 10};

  // What invariant `i` says, for the report; "?" for a number not checked here.
  static constexpr std::string_view invariant_name(int i) {
    switch (i) {
      case 5:
        return "every command's events are in the log, whole (consecutive offsets, whole "
               "batches)";
      case 6:
        return "a visitor's RESERVED schedules never overlap in time";
      case 7:
        return "every visitor, zone, group and schedule named exists, once; each resource's "
               "zone is in its group";
      case 8:
        return "all resources of a schedule start on one clinic day";
      case 9:
        return "no instant has more RESERVED resources in a zone than its capacity";
      case 10:
        return "every resource starts before it ends";
      default:
        return "?";
    }
  }

  explicit ClinicChecker(ClinicCheckerConfig config = {}) : config_(config) {}
  // Not copyable: the indexes point at keys of the checker's own maps (a
  // move keeps the nodes, so it keeps them valid).
  ClinicChecker(const ClinicChecker&) = delete;
  ClinicChecker& operator=(const ClinicChecker&) = delete;
  ClinicChecker(ClinicChecker&&) = default;
  ClinicChecker& operator=(ClinicChecker&&) = default;

  // An event as the checker needs it: a clinic event, or nothing for an
  // engine event (an answer, not a state change: it only has to decode).
  using Decoded = std::optional<events::ClinicEvent>;

  // Decodes `env`. Corruption when it cannot be decoded (an unknown type
  // included): the log is unreadable from there, and the caller stops.
  // Pure: callers may decode on another thread, ahead of feed().
  static Result<Decoded> decode(const EventEnvelope& env);

  // Checks one event, decoded from `env`.
  void feed(const EventEnvelope& env, const Decoded& decoded);

  // decode() then feed().
  Status feed(const EventEnvelope& env);

  const std::vector<Violation>& violations() const { return violations_; }
  uint64_t violation_count() const { return violation_count_; }
  // Violations of invariant `i` (kept or only counted); 0 for one not checked.
  uint64_t violation_count(int i) const;
  uint64_t events_checked() const { return next_offset_; }
  size_t reserved_schedules() const { return reserved_; }
  // RESERVED schedules whose last resource ends after `t` (the engine
  // forgets older ones: engine/clinic/state.h, "Retention"). O(schedules).
  size_t reserved_schedules_ending_after(int64_t t) const;

 private:
  // One merged piece [start, end) of a RESERVED schedule, keyed by start in
  // its visitor's map; `schedule` is a key of schedules_ (nodes never move).
  struct Piece {
    int64_t end = 0;
    const std::string* schedule = nullptr;
  };
  using Pieces = std::map<int64_t, Piece>;
  // How many counted resources cover [t, next key): a step function, 0
  // before the first key.
  using Load = std::map<int64_t, int64_t>;
  struct Zone {
    int64_t capacity = 0;  // 0: unlimited (no load kept)
    Load load;
  };
  struct Schedule {
    events::ScheduleBody body;  // as the last event left it
    bool reserved = false;
    std::vector<bool> counted;  // per resource: added to its zone's load
  };
  using Schedules = std::unordered_map<std::string, Schedule>;
  using Entry = Schedules::value_type;  // its key names the schedule's pieces
  using Intervals = std::vector<std::pair<int64_t, int64_t>>;

  void check(const events::ClinicEvent& e);
  void on(const events::ClinicConfigured& e);
  void on(const events::VisitorRegistered& e);
  void on(const events::ZoneCreated& e);
  void on(const events::ReservationGroupCreated& e);
  void on(const events::ScheduleReserved& e);
  void on(const events::ScheduleUpdated& e);
  void on(const events::ScheduleCancelled& e);

  // 7, 8 and 10 for the body of a Reserved / Updated event.
  void check_body(const events::ScheduleBody& b);
  // Indexes a RESERVED schedule (6, 9 checked as it goes) and unindexes it.
  void occupy(Entry* s);
  void vacate(Entry* s);
  // The schedule `id` names when it is known and RESERVED, else nullptr
  // (and a violation of 7).
  Entry* live_schedule(const std::string& id, const char* what);
  void add_pieces(const Entry& s);
  void add_loads(Schedule* s);
  static Intervals merged(const std::vector<events::OccupiedResource>& resources);
  static Load::iterator split(Load* load, int64_t t);
  static void add_load(Load* load, int64_t start, int64_t end, int64_t delta);
  static std::pair<int64_t, int64_t> max_load(const Load& load, int64_t start, int64_t end);
  void violate(int invariant, std::string detail);

  ClinicCheckerConfig config_;
  uint64_t next_offset_ = 0;
  uint64_t current_offset_ = 0;
  const char* current_type_ = "";
  std::vector<Violation> violations_;
  uint64_t violation_count_ = 0;
  std::array<uint64_t, 11> per_invariant_ = {};  // indexed by invariant number

  int64_t utc_offset_min_ = 0;  // last ClinicConfigured
  std::unordered_set<std::string> visitors_;
  std::unordered_map<std::string, Zone> zones_;
  std::unordered_map<std::string, std::unordered_set<std::string>> groups_;  // id -> zones
  Schedules schedules_;
  // visitor id -> its RESERVED pieces; kept for unknown visitors too, so an
  // overlap is still caught after a violation of 7.
  std::unordered_map<std::string, Pieces> pieces_;
  size_t reserved_ = 0;
};

}  // namespace reservoir::audit
