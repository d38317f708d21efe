// DomainModule: what the single-writer loop (engine/writer.h) needs from a
// domain module, stated as a concept so a second domain (the clinic, beside
// the concert one) is checked against the same contract at compile time
// instead of failing deep inside Writer<Module>'s template instantiation.
//
// A module owns one domain's state and rules. The writer calls it from one
// thread only (decide, apply, snapshot), except decode(), which is static
// and touches no state: recovery calls it on a reader thread (events/replay.h).
//
//   Command, Reply    a command and its answer; Reply is a variant with a
//                     DomainError alternative (the writer's own refusals)
//   Event, Catalog    the domain's typed events and their codec (events/catalog.h)
//   kName             the domain's name in tools and logs ("concert")
//   actor()           the idempotency scope of a command, or its refusal
//   start()           events written once when the writer starts (config)
//   advance_clock()   the clock events due at `now`
//   execute()         decides, applies and encodes one command's events
//   recycle()         takes a rendered reply back (storage reuse)
//   decode(), apply() a logged event replayed in two steps; apply(envelope) in one
//   snapshot(), restore()  the state's bytes, opaque to the writer
//   next_due_ms()     the next clock event's time (INT64_MAX: none)
//   reset()           back to the empty state
//
// Thread safety: a compile-time contract only.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/reply.h"
#include "events/envelope.h"
#include "events/os.h"
#include "events/status.h"

namespace reservoir {

template <class M>
concept DomainModule = requires(M& m, const M& cm, const typename M::Command& command,
                                typename M::Reply reply, const typename M::Event& event,
                                const EventEnvelope& envelope, int64_t now, Random& random,
                                std::vector<EventEnvelope>& out, std::string_view bytes) {
  typename M::Catalog;
  { M::kName } -> std::convertible_to<std::string_view>;
  requires std::constructible_from<typename M::Reply, DomainError>;
  { cm.actor(command) } -> std::same_as<std::variant<std::string, DomainError>>;
  m.start(now, out);
  m.advance_clock(now, out);
  { m.execute(command, now, random, out) } -> std::same_as<typename M::Reply>;
  m.recycle(std::move(reply));
  { M::decode(envelope) } -> std::same_as<Result<typename M::Event>>;
  m.apply(event);
  { m.apply(envelope) } -> std::same_as<Status>;
  { cm.snapshot() } -> std::convertible_to<std::string>;
  { m.restore(bytes) } -> std::same_as<bool>;
  { cm.next_due_ms() } -> std::convertible_to<int64_t>;
  m.reset();
};

}  // namespace reservoir
