// replay_log (events/replay.h): the two-thread replay applies every event
// once, in offset order, across many chunks; a decode error stops it at that
// event's offset (nothing after it applied); a read error comes back after
// the chunks before it are applied; an empty range does nothing.
#include <doctest/doctest.h>

#include <string>
#include <variant>
#include <vector>

#include "events/replay.h"
#include "support/memory_log.h"

namespace {

using namespace reservoir;
using reservoir::test::MemoryLog;

// A log whose reads fail from `fail_from` on.
class FailingLog final : public EventLog {
 public:
  FailingLog(MemoryLog& inner, uint64_t fail_from) : inner_(inner), fail_from_(fail_from) {}
  Status append(std::vector<EventEnvelope>& batch) override { return inner_.append(batch); }
  uint64_t end_offset() const override { return inner_.end_offset(); }
  Status read(uint64_t from, size_t max_events, std::vector<EventEnvelope>* out) override {
    if (from >= fail_from_) return Status::IOError("injected read failure");
    return inner_.read(from, std::min<uint64_t>(max_events, fail_from_ - from), out);
  }
  uint64_t wait_beyond(uint64_t o, std::chrono::milliseconds t) override {
    return inner_.wait_beyond(o, t);
  }
  void close_waiters() override { inner_.close_waiters(); }

 private:
  MemoryLog& inner_;
  uint64_t fail_from_;
};

void fill(MemoryLog& log, int n) {
  std::vector<EventEnvelope> batch;
  for (int i = 0; i < n; ++i) batch.push_back({0, 1000 + i, 1, "E", std::to_string(i)});
  REQUIRE(log.append(batch).ok());
}

using Decoded = std::variant<Status, int>;

Decoded decode_int(const EventEnvelope& env) {
  if (env.payload == "bad") return Status::Corruption("bad payload");
  return std::stoi(env.payload);
}

TEST_CASE("replay_log: every event once, in order, across chunks") {
  MemoryLog log;
  fill(log, 1000);
  std::vector<int> applied;
  const Status s =
      replay_log<Decoded>(log, 10, 1000, 7, decode_int, [&](const EventEnvelope& env, Decoded& d) {
        CHECK(std::get<int>(d) == static_cast<int>(env.offset));
        applied.push_back(std::get<int>(d));
        return Status::OK();
      });
  REQUIRE(s.ok());
  REQUIRE(applied.size() == 990);
  for (size_t i = 0; i < applied.size(); ++i) CHECK(applied[i] == static_cast<int>(i + 10));
  CHECK(replay_log<Decoded>(log, 1000, 1000, 7, decode_int, [](const EventEnvelope&, Decoded&) {
          FAIL("nothing to apply");
          return Status::OK();
        }).ok());
}

TEST_CASE("replay_log: a decode error stops at its offset") {
  MemoryLog log;
  fill(log, 300);
  std::vector<EventEnvelope> bad{{0, 1, 1, "E", "bad"}};
  REQUIRE(log.append(bad).ok());  // offset 300
  fill(log, 100);
  int last = -1;
  const Status s = replay_log<Decoded>(
      log, 0, 400, 16, decode_int, [&](const EventEnvelope& env, Decoded& d) -> Status {
        if (auto* st = std::get_if<Status>(&d)) {
          return Status::Corruption("offset " + std::to_string(env.offset) + ": " + st->message());
        }
        last = std::get<int>(d);
        return Status::OK();
      });
  CHECK_FALSE(s.ok());
  CHECK(s.message() == "offset 300: bad payload");
  CHECK(last == 299);
}

TEST_CASE("replay_log: a read error comes back after what was read before it") {
  MemoryLog inner;
  fill(inner, 500);
  FailingLog log(inner, 250);
  int count = 0;
  const Status s =
      replay_log<Decoded>(log, 0, 500, 32, decode_int, [&](const EventEnvelope&, Decoded&) {
        ++count;
        return Status::OK();
      });
  CHECK_FALSE(s.ok());
  CHECK(s.message() == "injected read failure");
  CHECK(count == 250);
}

}  // namespace
