// KafkaLog against librdkafka's mock cluster (the real protocol over
// loopback), one cluster per test case: round trips, multi-message batches,
// restart, aborted transactions, fencing, broker down and up, topic checks,
// and the failover epochs (takeover markers, the reader rule, confirm).
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "events/envelope_codec.h"
#include "events/kafka_log.h"
#include "support/mock_cluster.h"

namespace reservoir {
namespace {

using test::MockCluster;
using Mode = KafkaLog::Mode;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

KafkaLogConfig config_for(const MockCluster& cluster, const std::string& topic = "events") {
  KafkaLogConfig c;
  c.brokers = cluster.bootstraps();
  c.topic = topic;
  // Generous for a loaded CI machine; the tests of the bounds measure
  // against these values, so they stay meaningful.
  c.append_timeout_ms = 3000;
  c.read_timeout_ms = 5000;
  c.open_timeout_ms = 5000;
  return c;
}

std::unique_ptr<KafkaLog> open_log(const KafkaLogConfig& c, Mode mode = Mode::kReadWrite) {
  auto log = KafkaLog::open(c, mode);
  REQUIRE_MESSAGE(log.ok(), log.status().ToString());
  return std::move(*log);
}

// Event number i: its time is i, so a read shows which append it came from.
EventEnvelope event(int64_t i, size_t payload_bytes = 16) {
  EventEnvelope e;
  e.type = "Type" + std::to_string(i % 5);
  e.version = static_cast<uint32_t>(i % 3 + 1);
  e.time_ms = i;
  for (size_t j = 0; j < payload_bytes; ++j) e.payload.push_back(static_cast<char>(i + j));
  return e;
}

std::vector<EventEnvelope> batch_of(int64_t first_time, size_t n, size_t payload_bytes = 16) {
  std::vector<EventEnvelope> b;
  for (size_t i = 0; i < n; ++i)
    b.push_back(event(first_time + static_cast<int64_t>(i), payload_bytes));
  return b;
}

std::vector<EventEnvelope> read_all(EventLog& log, uint64_t from = 0, size_t chunk = 1000) {
  std::vector<EventEnvelope> out;
  for (uint64_t next = from; next < log.end_offset();) {
    const size_t before = out.size();
    Status s = log.read(next, chunk, &out);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    REQUIRE(out.size() > before);
    next = out.back().offset + 1;
  }
  return out;
}

// Offsets 0.. consecutive, and the times the test expects in that order.
void check_log(EventLog& log, const std::vector<int64_t>& times) {
  REQUIRE(log.end_offset() == times.size());
  const auto all = read_all(log);
  REQUIRE(all.size() == times.size());
  for (size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].offset == i);
    CHECK(all[i].time_ms == times[i]);
    const EventEnvelope want = event(times[i], all[i].payload.size());
    CHECK(all[i].type == want.type);
    CHECK(all[i].version == want.version);
    CHECK(all[i].payload == want.payload);
  }
}

std::vector<int64_t> range(int64_t from, int64_t to) {  // [from, to)
  std::vector<int64_t> v;
  for (int64_t i = from; i < to; ++i) v.push_back(i);
  return v;
}

TEST_CASE("kafka log: appends read back in order, across batches split into messages") {
  MockCluster cluster;
  KafkaLogConfig c = config_for(cluster);
  c.message_bytes_max = 300;  // a batch of 20 events of ~100 bytes spans several messages
  auto log = open_log(c);
  CHECK(log->end_offset() == 0);
  CHECK(log->transactional_id() == "events-writer");
  auto a = batch_of(0, 3);
  REQUIRE(log->append(a).ok());
  CHECK(a[0].offset == 0);
  CHECK(a[2].offset == 2);
  auto b = batch_of(3, 20, 100);
  REQUIRE(log->append(b).ok());
  CHECK(b[19].offset == 22);
  auto d = batch_of(23, 1);
  REQUIRE(log->append(d).ok());
  check_log(*log, range(0, 24));
  // Reads that start and end inside a batch, in small chunks.
  std::vector<EventEnvelope> part;
  REQUIRE(log->read(5, 4, &part).ok());
  REQUIRE(part.size() == 4);
  CHECK(part.front().offset == 5);
  CHECK(part.back().offset == 8);
  CHECK(read_all(*log, 7, 3).size() == 17);
  part.clear();
  REQUIRE(log->read(24, 10, &part).ok());
  CHECK(part.empty());
  CHECK(log->commits() == 3);
}

TEST_CASE("kafka log: small reads in a row lose nothing the consumer fetched ahead") {
  MockCluster cluster;
  auto log = open_log(config_for(cluster));
  for (int64_t i = 0; i < 40; ++i) {
    auto b = batch_of(i, 1);
    REQUIRE(log->append(b).ok());
  }
  // Each read stops early while the consumer holds more messages already.
  for (size_t chunk : {1, 3, 7}) {
    const auto all = read_all(*log, 0, chunk);
    REQUIRE(all.size() == 40);
    for (size_t i = 0; i < all.size(); ++i) CHECK(all[i].time_ms == static_cast<int64_t>(i));
  }
}

TEST_CASE("kafka log: a new log on the same topic reads everything; read-only opens too") {
  MockCluster cluster;
  const KafkaLogConfig c = config_for(cluster);
  {
    auto log = open_log(c);
    for (int i = 0; i < 5; ++i) {
      auto b = batch_of(i * 10, 10);
      REQUIRE(log->append(b).ok());
    }
  }
  auto again = open_log(c);
  check_log(*again, range(0, 50));
  auto b = batch_of(50, 2);
  REQUIRE(again->append(b).ok());
  CHECK(b[0].offset == 50);
  auto reader = open_log(c, Mode::kReadOnly);
  check_log(*reader, range(0, 52));
  auto refused = batch_of(99, 1);
  CHECK(reader->append(refused).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("kafka log: a read-only log follows appends through wait_beyond") {
  MockCluster cluster;
  const KafkaLogConfig c = config_for(cluster);
  auto writer = open_log(c);
  auto reader = open_log(c, Mode::kReadOnly);
  CHECK(reader->wait_beyond(0, 0ms) == 0);
  std::thread t([&] {
    std::this_thread::sleep_for(50ms);
    auto b = batch_of(0, 3);
    REQUIRE(writer->append(b).ok());
  });
  CHECK(writer->wait_beyond(0, 5s) == 3);
  CHECK(reader->wait_beyond(0, 5s) == 3);
  t.join();
  check_log(*reader, range(0, 3));
  reader->close_waiters();
  CHECK(reader->wait_beyond(3, 5s) == 3);  // returns at once once closed
}

TEST_CASE("kafka log: an aborted transaction keeps event offsets consecutive") {
  MockCluster cluster;
  const KafkaLogConfig c = config_for(cluster);
  auto log = open_log(c);
  auto a = batch_of(0, 2);
  REQUIRE(log->append(a).ok());
  // UNKNOWN_PRODUCER_ID on EndTxn is abortable: the records reached the
  // broker, the commit fails, the transaction is aborted.
  cluster.push_errors(test::kApiEndTxn, {RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID});
  auto lost = batch_of(100, 3);
  Status s = log->append(lost);
  CHECK(s.code() == Status::Code::kUnavailable);
  CHECK(log->end_offset() == 2);
  CHECK(log->aborts() == 1);
  REQUIRE(log->settle().ok());
  // The mock still shows the aborted records; the void marker committed
  // after the abort tells a new reader to drop them, with no batch after.
  check_log(*open_log(c, Mode::kReadOnly), range(0, 2));
  auto b = batch_of(2, 2);
  REQUIRE(log->append(b).ok());
  CHECK(b[0].offset == 2);
  check_log(*log, range(0, 4));
  // A produce that fails for good aborts too.
  cluster.push_errors(test::kApiProduce, {RD_KAFKA_RESP_ERR_INVALID_RECORD});
  auto lost2 = batch_of(200, 1);
  CHECK(log->append(lost2).code() == Status::Code::kUnavailable);
  REQUIRE(log->settle().ok());
  // librdkafka 2.0.2 on the mock fails the next transaction once more
  // ("skipped sequence numbers": the sequence of the rejected record),
  // aborts it too, and goes on.
  auto d = batch_of(4, 1);
  Status ds = Status::Unavailable("not tried yet");
  for (int i = 0; i < 3 && !ds.ok(); ++i) {
    auto attempt = d;
    ds = log->append(attempt);
    if (!ds.ok()) REQUIRE(log->settle().ok());
  }
  REQUIRE_MESSAGE(ds.ok(), ds.ToString());
  check_log(*log, range(0, 5));
  // The mock still shows the aborted records to read_committed readers: a
  // new reader takes the batch written after them instead.
  check_log(*open_log(c, Mode::kReadOnly), range(0, 5));
  check_log(*open_log(c), range(0, 5));
}

TEST_CASE("kafka log: PRODUCER_FENCED on EndTxn fences the log for good") {
  MockCluster cluster;
  const KafkaLogConfig c = config_for(cluster);
  auto log = open_log(c);
  auto a = batch_of(0, 2);
  REQUIRE(log->append(a).ok());
  cluster.push_errors(test::kApiEndTxn, {RD_KAFKA_RESP_ERR_PRODUCER_FENCED});
  auto b = batch_of(2, 2);
  Status s = log->append(b);
  CHECK(s.code() == Status::Code::kFenced);
  CHECK(s.message().find("events-writer") != std::string::npos);
  CHECK(log->end_offset() == 2);
  CHECK(log->settle().code() == Status::Code::kFenced);
  auto d = batch_of(4, 1);
  CHECK(log->append(d).code() == Status::Code::kFenced);
  CHECK(log->end_offset() == 2);
  check_log(*log, range(0, 2));  // its readers still work
}

TEST_CASE("kafka log: a fatal producer error recreates the producer and re-reads the tail") {
  MockCluster cluster;
  const KafkaLogConfig c = config_for(cluster);
  auto log = open_log(c);
  auto a = batch_of(0, 2);
  REQUIRE(log->append(a).ok());
  cluster.push_errors(test::kApiEndTxn, {RD_KAFKA_RESP_ERR_INVALID_TXN_STATE});
  auto b = batch_of(2, 2);
  CHECK(log->append(b).code() == Status::Code::kUnavailable);
  REQUIRE(log->settle().ok());
  // Whatever Kafka shows now is the log (the mock shows the failed batch).
  const uint64_t end = log->end_offset();
  CHECK((end == 2 || end == 4));
  auto d = batch_of(static_cast<int64_t>(end), 1);
  REQUIRE(log->append(d).ok());
  check_log(*log, range(0, static_cast<int64_t>(end) + 1));
  check_log(*open_log(c, Mode::kReadOnly), range(0, static_cast<int64_t>(end) + 1));
}

TEST_CASE("kafka log: broker down answers Unavailable within the bound; up again, it recovers") {
  MockCluster cluster;
  const KafkaLogConfig c = config_for(cluster);
  auto log = open_log(c);
  auto a = batch_of(0, 2);
  REQUIRE(log->append(a).ok());
  cluster.set_down();
  const auto bound = std::chrono::milliseconds(2 * c.append_timeout_ms + 500);
  auto t0 = Clock::now();
  auto b = batch_of(2, 2);
  CHECK(log->append(b).code() == Status::Code::kUnavailable);
  CHECK(Clock::now() - t0 < bound);
  t0 = Clock::now();
  CHECK(log->settle().code() == Status::Code::kUnavailable);
  CHECK(Clock::now() - t0 < bound);
  auto refused = batch_of(50, 1);
  CHECK(log->append(refused).code() == Status::Code::kUnavailable);  // undecided: settle first
  std::vector<EventEnvelope> out;
  t0 = Clock::now();
  CHECK(log->read(0, 10, &out).code() == Status::Code::kUnavailable);
  CHECK(out.empty());
  CHECK(Clock::now() - t0 < std::chrono::milliseconds(c.read_timeout_ms + 500));
  cluster.set_up();
  Status s;
  for (int i = 0; i < 20 && !(s = log->settle()).ok(); ++i) {
  }
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  // The undecided commit completed or was aborted: either way end_offset()
  // says which, and appends go on from there.
  const uint64_t end = log->end_offset();
  CHECK((end == 2 || end == 4));
  auto d = batch_of(static_cast<int64_t>(end), 1);
  REQUIRE(log->append(d).ok());
  check_log(*log, range(0, static_cast<int64_t>(end) + 1));
}

TEST_CASE("kafka log: the topic must have one partition; a missing one is reported") {
  MockCluster cluster(1, "");
  cluster.create_topic("wide", 4, 1);
  auto wide = KafkaLog::open(config_for(cluster, "wide"), Mode::kReadWrite);
  REQUIRE_FALSE(wide.ok());
  CHECK(wide.status().code() == Status::Code::kInvalidArgument);
  CHECK(wide.status().message().find("4 partitions") != std::string::npos);
  auto missing = KafkaLog::open(config_for(cluster, "missing"), Mode::kReadOnly);
  CHECK(missing.status().code() == Status::Code::kNotFound);
  // The mock has no CreateTopics: the failure says what to do, in bounded time.
  KafkaLogConfig c = config_for(cluster, "missing");
  c.open_timeout_ms = 1000;
  const auto t0 = Clock::now();
  auto create = KafkaLog::open(c, Mode::kReadWrite);
  CHECK(Clock::now() - t0 < 5s);
  REQUIRE_FALSE(create.ok());
  CHECK(create.status().message().find("exactly 1 partition") != std::string::npos);
}

TEST_CASE("kafka log: no broker at all fails open within the bound") {
  KafkaLogConfig c;
  c.brokers = "127.0.0.1:1";
  c.topic = "events";
  c.open_timeout_ms = 1000;
  const auto t0 = Clock::now();
  auto log = KafkaLog::open(c, Mode::kReadWrite);
  CHECK(Clock::now() - t0 < 5s);
  REQUIRE_FALSE(log.ok());
  CHECK(log.status().code() == Status::Code::kUnavailable);
}

// ------------------------------------------------------------ failover ---

void put_le(char* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<char>(v >> (8 * i));
}

// Commits one raw message, as another (or an older) writer would: the
// "reservoir" header (first, count, batch end), the epoch header when
// epoch >= 0, the marker header when node is not empty. batch_end 0: the
// message is a whole batch; else it is the part of one ending there.
void produce_raw(const MockCluster& cluster, const std::vector<EventEnvelope>& events,
                 uint64_t first, int64_t epoch, const std::string& node = "",
                 uint64_t batch_end = 0) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", cluster.bootstraps().c_str(), err,
                            sizeof err) == RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  REQUIRE(rk != nullptr);
  std::string value;
  for (const auto& e : events) envelope_codec::encode(e, value);
  char header[KafkaLog::kHeaderBytes];
  put_le(header, first, 8);
  put_le(header + 8, events.size(), 4);
  put_le(header + 12, batch_end != 0 ? batch_end : first + events.size(), 8);
  rd_kafka_headers_t* headers = rd_kafka_headers_new(3);
  rd_kafka_header_add(headers, KafkaLog::kHeaderKey, -1, header, sizeof header);
  char epoch_bytes[8];
  put_le(epoch_bytes, static_cast<uint64_t>(epoch), 8);
  if (epoch >= 0) rd_kafka_header_add(headers, KafkaLog::kEpochHeaderKey, -1, epoch_bytes, 8);
  if (!node.empty()) {
    rd_kafka_header_add(headers, KafkaLog::kMarkerHeaderKey, -1, node.data(),
                        static_cast<ssize_t>(node.size()));
  }
  REQUIRE(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("events"), RD_KAFKA_V_PARTITION(0),
                            RD_KAFKA_V_VALUE(value.empty() ? nullptr : value.data(), value.size()),
                            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(rd_kafka_flush(rk, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(rk);
}

TEST_CASE("kafka log: a topic written before epochs existed reads as before") {
  MockCluster cluster;
  const KafkaLogConfig c = config_for(cluster);
  produce_raw(cluster, batch_of(0, 3), 0, -1);  // no epoch header at all
  produce_raw(cluster, batch_of(3, 2), 3, -1);
  auto reader = open_log(c, Mode::kReadOnly);
  check_log(*reader, range(0, 5));
  CHECK(reader->epoch() == 0);
  auto writer = open_log(c);
  auto b = batch_of(5, 1);
  REQUIRE(writer->append(b).ok());
  check_log(*open_log(c, Mode::kReadOnly), range(0, 6));
}

TEST_CASE(
    "kafka log: a takeover marker keeps earlier batches and voids the old writer's later ones") {
  MockCluster cluster;
  const KafkaLogConfig c = config_for(cluster);
  auto old_writer = open_log(c);  // no confirm_appends: it does not look
  auto a = batch_of(0, 3);
  REQUIRE(old_writer->append(a).ok());
  auto standby = open_log(c, Mode::kReadOnly);
  auto b = batch_of(3, 2);
  REQUIRE(old_writer->append(b).ok());  // committed before the marker: valid
  REQUIRE(standby->take_over("node-b").ok());
  CHECK(standby->epoch() == 1);
  CHECK(standby->end_offset() == 5);
  // The mock does not fence the old producer: its batch commits, after the marker.
  auto late = batch_of(900, 2);
  REQUIRE(old_writer->append(late).ok());
  auto next = batch_of(5, 2);
  REQUIRE(standby->append(next).ok());
  CHECK(next[0].offset == 5);
  auto reader = open_log(c, Mode::kReadOnly);
  check_log(*reader, range(0, 7));
  CHECK(reader->epoch() == 1);
  CHECK(reader->voided() == 1);
  // A writer restarted later writes with the valid epoch: its batches count.
  standby.reset();
  auto restarted = open_log(c);
  auto more = batch_of(7, 1);
  REQUIRE(restarted->append(more).ok());
  check_log(*open_log(c, Mode::kReadOnly), range(0, 8));
}

TEST_CASE("kafka log: with confirm_appends the old writer's append after a takeover is Fenced") {
  MockCluster cluster;
  KafkaLogConfig c = config_for(cluster);
  c.confirm_appends = true;
  auto a_log = open_log(c);
  auto a = batch_of(0, 2);
  REQUIRE(a_log->append(a).ok());
  auto b_log = open_log(c, Mode::kReadOnly);
  REQUIRE(b_log->take_over("node-b").ok());
  // Same transactional.id; the mock lets A commit, but A reads the marker
  // before its batch and acknowledges nothing.
  auto lost = batch_of(900, 3);
  const Status s = a_log->append(lost);
  CHECK(s.code() == Status::Code::kFenced);
  CHECK(s.message().find("epoch 1") != std::string::npos);
  auto again = batch_of(901, 1);
  CHECK(a_log->append(again).code() == Status::Code::kFenced);
  auto b = batch_of(2, 2);
  REQUIRE(b_log->append(b).ok());  // the new writer's own confirm passes
  check_log(*open_log(c, Mode::kReadOnly), range(0, 4));
}

TEST_CASE("kafka log: a second marker with an epoch already taken is ignored") {
  MockCluster cluster;
  KafkaLogConfig c = config_for(cluster);
  c.confirm_appends = true;
  auto writer = open_log(c);
  auto a = batch_of(0, 2);
  REQUIRE(writer->append(a).ok());
  auto b_log = open_log(c, Mode::kReadOnly);
  REQUIRE(b_log->take_over("node-b").ok());
  // node-c raced to the same epoch and lost: its marker is not valid, so it
  // neither voids node-b's batches nor fences node-b.
  produce_raw(cluster, {}, 2, 1, "node-c");
  auto b = batch_of(2, 2);
  REQUIRE(b_log->append(b).ok());
  auto reader = open_log(c, Mode::kReadOnly);
  check_log(*reader, range(0, 4));
  CHECK(reader->epoch() == 1);
  // A node that takes over next gets the epoch above the valid one.
  auto c_log = open_log(c, Mode::kReadOnly);
  REQUIRE(c_log->take_over("node-c").ok());
  CHECK(c_log->epoch() == 2);
  auto late = batch_of(900, 1);
  CHECK(b_log->append(late).code() == Status::Code::kFenced);
  check_log(*open_log(c, Mode::kReadOnly), range(0, 4));
}

TEST_CASE("kafka log: an old writer's message inside a new writer's split batch is skipped") {
  MockCluster cluster;
  const KafkaLogConfig c = config_for(cluster);
  // Given epoch 0's batch, node-b's takeover marker (epoch 1), and node-b's
  // batch [3, 5) split over two messages, between which an old writer
  // (epoch 0) committed a message and node-c's marker lost its race,
  produce_raw(cluster, batch_of(0, 3), 0, 0);
  produce_raw(cluster, {}, 3, 1, "node-b");
  produce_raw(cluster, batch_of(3, 1), 3, 1, "", 5);
  produce_raw(cluster, batch_of(900, 1), 3, 0);  // void: epoch 0 < 1
  produce_raw(cluster, {}, 4, 1, "node-c");      // not valid: epoch 1 is taken
  produce_raw(cluster, batch_of(4, 1), 4, 1, "", 5);
  // when a reader reads it (seeking to each batch's first message),
  auto reader = open_log(c, Mode::kReadOnly);
  // then it reads the batch's own two messages and nothing of the others,
  check_log(*reader, range(0, 5));
  CHECK(reader->voided() == 1);
  std::vector<EventEnvelope> tail;
  REQUIRE(reader->read(4, 10, &tail).ok());  // from inside the batch, too
  REQUIRE(tail.size() == 1);
  CHECK(tail[0].time_ms == 4);
  // and the new writer appends after it.
  auto writer = open_log(c);
  auto b = batch_of(5, 2);
  REQUIRE(writer->append(b).ok());
  check_log(*open_log(c, Mode::kReadOnly), range(0, 7));
}

// Waits on a read-only log (its long-poll of the tail) until its end is
// `end`, or 10 s pass; returns the end it reached.
uint64_t follow_to(KafkaLog& log, uint64_t end) {
  const auto deadline = Clock::now() + 10s;
  while (log.end_offset() != end && Clock::now() < deadline) log.wait_beyond(log.end_offset(), 1s);
  return log.end_offset();
}

TEST_CASE("kafka log: a follower at the tail keeps the epoch rule and drops aborted batches") {
  MockCluster cluster;
  const KafkaLogConfig c = config_for(cluster);
  auto old_writer = open_log(c);
  // Given a read-only log that follows the topic from its start,
  auto follower = open_log(c, Mode::kReadOnly);
  auto a = batch_of(0, 3);
  REQUIRE(old_writer->append(a).ok());
  REQUIRE(follow_to(*follower, 3) == 3);
  // when a standby takes over, the old writer's late batch commits after
  // the marker, and the new writer appends,
  auto standby = open_log(c, Mode::kReadOnly);
  REQUIRE(standby->take_over("node-b").ok());
  auto late = batch_of(900, 2);
  REQUIRE(old_writer->append(late).ok());
  auto b = batch_of(3, 2);
  REQUIRE(standby->append(b).ok());
  // then the follower takes the marker's epoch and voids the late batch,
  REQUIRE(follow_to(*follower, 5) == 5);
  CHECK(follower->epoch() == 1);
  CHECK(follower->voided() == 1);
  check_log(*follower, range(0, 5));
  // and an aborted batch the mock still shows is dropped at its void marker.
  cluster.push_errors(test::kApiEndTxn, {RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID});
  auto lost = batch_of(100, 3);
  CHECK(standby->append(lost).code() == Status::Code::kUnavailable);
  REQUIRE(standby->settle().ok());
  auto d = batch_of(5, 2);
  REQUIRE(standby->append(d).ok());
  REQUIRE(follow_to(*follower, 7) == 7);
  check_log(*follower, range(0, 7));
  // close_waiters() ends a long wait on the tail.
  std::thread waiter([&] { CHECK(follower->wait_beyond(7, 1h) == 7); });
  std::this_thread::sleep_for(200ms);  // let it reach the long-poll (not needed for the check)
  follower->close_waiters();
  waiter.join();
}

}  // namespace
}  // namespace reservoir
