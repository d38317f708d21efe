// LogChecker: what `reservoir replay --verify` needs of one domain's audit
// checker, so each domain's log is checked by its own checker and reported
// in a block of its own (the concert checker is checker.h).
//
//   kDomain            the domain's name ("concert")
//   kInvariants        how many invariants it checks, numbered 1..kInvariants,
//                      or the array of the numbers it checks (the clinic's 5..10)
//   invariant_name(i)  one line naming invariant i, for the report
//   Decoded, decode()  an envelope decoded (pure: on the replay's reader
//                      thread); Corruption when the log is unreadable there
//   feed()             checks one decoded event, in offset order
//   violations()       the violations kept (the first ones), violation_count()
//                      all of them, events_checked() the events fed
//
// Thread safety: a compile-time contract; a checker is used by one thread.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/audit/violation.h"
#include "events/envelope.h"
#include "events/status.h"

namespace reservoir::audit {

template <class C>
concept LogChecker = requires(C& c, const C& cc, const EventEnvelope& env,
                              const typename C::Decoded& decoded, int i) {
  { C::kDomain } -> std::convertible_to<std::string_view>;
  C::kInvariants;  // a count (invariants 1..n) or the list of the numbers checked
  { C::invariant_name(i) } -> std::convertible_to<std::string_view>;
  { C::decode(env) } -> std::same_as<Result<typename C::Decoded>>;
  c.feed(env, decoded);
  { cc.violations() } -> std::same_as<const std::vector<Violation>&>;
  { cc.violation_count() } -> std::convertible_to<uint64_t>;
  { cc.events_checked() } -> std::convertible_to<uint64_t>;
};

}  // namespace reservoir::audit
