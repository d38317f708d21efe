// api/parse_commands.h: a 400 about a nested field names its full path
// (`schedules[1].seats[2].price`, `seatIds[1]`); top-level messages stay as
// they were; the dialects' envelopes (field_of) name that path.
#include <doctest/doctest.h>

#include <string>

#include "api/dialect.h"
#include "api/json_util.h"
#include "api/parse_commands.h"

namespace reservoir::api {
namespace {

// The INVALID_REQUEST message of parsing `body` with `parse` ("" if it parses).
template <typename Parse>
std::string message_of(const std::string& body, Parse parse) {
  rapidjson::Document doc;
  std::string error;
  REQUIRE(parse_object(body, doc, &error));
  const Parsed parsed = parse(doc);
  const auto* e = std::get_if<DomainError>(&parsed);
  if (e == nullptr) return "";
  CHECK(e->code == ErrorCode::INVALID_REQUEST);
  return e->message;
}

std::string concert_message(const std::string& schedules) {
  return message_of(R"({"title":"t","schedules":)" + schedules + "}",
                    [](const rapidjson::Value& b) { return parse_create_concert(b); });
}

std::string hold_message(const std::string& body) {
  return message_of(
      body, [](const rapidjson::Value& b) { return parse_hold(b, "token", concert::Limits{}); });
}

const std::string kStart = R"("startsAt":"2030-01-01T10:00:00Z")";
const std::string kSeat = R"({"number":1,"price":5})";

TEST_CASE("field paths: nested messages of a concert name the full path") {
  const std::string ok = "{" + kStart + R"(,"seats":[)" + kSeat + "]}";
  CHECK(concert_message("[" + ok + "]").empty());
  CHECK(concert_message("[" + ok + ",7]") == "field 'schedules[1]' must be an object");
  CHECK(concert_message(R"([{"seats":[)" + kSeat + "]}]") ==
        "field 'schedules[0].startsAt' is required");
  CHECK(
      concert_message(
          "[" + ok + ",{" + kStart +
          R"(,"seats":[{"number":1,"price":5},{"number":2,"price":5},{"number":3,"price":-1}]}])") ==
      "field 'schedules[1].seats[2].price' must be an integer in 0..1000000000");
  CHECK(concert_message("[{" + kStart + R"(,"seats":[)" + kSeat + R"(,"x"]}])") ==
        "field 'schedules[0].seats[1]' must be an object");
  CHECK(concert_message("[{" + kStart + R"(,"seats":[)" + kSeat + "," + kSeat + "]}]") ==
        "field 'schedules[0].seats[1].number' repeats a seat number of its schedule");
  CHECK(
      concert_message(
          "[{" + kStart +
          R"(,"seats":[{"seatId":"a","number":1,"price":1},{"seatId":"a","number":2,"price":1}]}])") ==
      "field 'schedules[0].seats[1].seatId' repeats a seat id of its schedule");
  CHECK(concert_message("[{" + kStart + R"(,"seats":[]}])") ==
        "field 'schedules[0].seats' must be an array of 1 to 5000 items");
  CHECK(concert_message("[{" + kStart +
                        R"(,"reservationOpensAt":"2031-01-01T00:00:00Z","seats":[)" + kSeat +
                        "]}]") ==
        "field 'schedules[0].reservationOpensAt' must be a time before "
        "'schedules[0].startsAt'");
  const std::string with_id =
      "{\"concertScheduleId\":\"s\"," + kStart + R"(,"seats":[)" + kSeat + "]}";
  CHECK(concert_message("[" + with_id + "," + with_id + "]") ==
        "field 'schedules[1].concertScheduleId' repeats a schedule id of the concert");
  // Top-level messages are as they were.
  CHECK(concert_message("[]") == "field 'schedules' must be an array of 1 to 100 items");
}

TEST_CASE("field paths: a hold's seatIds name the item at fault") {
  CHECK(hold_message(R"({"concertScheduleId":"s","seatIds":["a",7]})") ==
        "field 'seatIds[1]' must be 1-64 characters of [A-Za-z0-9._:-]");
  CHECK(hold_message(R"({"concertScheduleId":"s","seatIds":["a","b","a"]})") ==
        "field 'seatIds[2]' repeats a seat id");
  CHECK(hold_message(R"({"concertScheduleId":"s","seatId":"a","seatIds":["b"]})") ==
        "give exactly one of 'seatId' or 'seatIds'");
}

TEST_CASE("field paths: the dialects' envelopes name the path") {
  CHECK(field_of("field 'schedules[1].seats[2].price' must be an integer in 0..1000000000") ==
        "schedules[1].seats[2].price");
  CHECK(field_of("field 'seatIds[1]' repeats a seat id") == "seatIds[1]");
}

}  // namespace
}  // namespace reservoir::api
