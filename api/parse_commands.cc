#include "api/parse_commands.h"

#include <set>
#include <unordered_set>

#include "api/json_util.h"
#include "events/time_format.h"

namespace reservoir::api {
namespace {

constexpr size_t kTitleLengthMax = 200;
constexpr size_t kNameLengthMax = 200;
constexpr size_t kSchedulesMax = 100;
constexpr size_t kSeatsPerScheduleMax = 5000;
constexpr int64_t kSeatNumberMax = 1'000'000;
constexpr int64_t kSeatPriceMax = 1'000'000'000;
// An ISO-8601 time with milliseconds and an offset is 29 characters.
constexpr size_t kTimeLengthMax = 40;

DomainError invalid(std::string message) {
  return {ErrorCode::INVALID_REQUEST, std::move(message)};
}

std::optional<std::string> optional_user(Fields& f) {
  return f.id("userId", false);
}

}  // namespace

Parsed parse_issue_token(const rapidjson::Value& body) {
  Fields f(body);
  auto user = f.id("userId");
  if (!f.ok()) return invalid(f.error());
  return concert::IssueToken{*user};
}

Parsed parse_hold(const rapidjson::Value& body, const std::string& token,
                  const concert::Limits& limits) {
  Fields f(body);
  concert::HoldSeats c;
  c.token = token;
  auto schedule = f.id("concertScheduleId");
  c.user_id = optional_user(f);
  if (f.has("seatId") == f.has("seatIds")) {
    f.fail("give exactly one of 'seatId' or 'seatIds'");
  } else if (f.has("seatId")) {
    if (auto seat = f.id("seatId")) c.seat_ids.push_back(*seat);
  } else if (const auto* seats =
                 f.array("seatIds", 1, static_cast<size_t>(limits.seats_per_user_max))) {
    std::unordered_set<std::string> distinct;
    for (rapidjson::SizeType i = 0; i < seats->Size() && f.ok(); ++i) {
      const rapidjson::Value& v = (*seats)[i];
      const std::string at = item_path("seatIds", i);
      if (!v.IsString() || !valid_id(std::string_view(v.GetString(), v.GetStringLength()))) {
        f.fail("field '" + at + "' must be 1-64 characters of [A-Za-z0-9._:-]");
      } else if (!distinct.insert(v.GetString()).second) {
        f.fail("field '" + at + "' repeats a seat id");
      } else {
        c.seat_ids.emplace_back(v.GetString(), v.GetStringLength());
      }
    }
  }
  if (!f.ok()) return invalid(f.error());
  c.schedule_id = *schedule;
  return c;
}

Parsed parse_pay(const rapidjson::Value& body, const std::string& token) {
  Fields f(body);
  auto reservation = f.id("reservationId");
  auto user = optional_user(f);
  if (!f.ok()) return invalid(f.error());
  return concert::PayReservation{token, user, *reservation};
}

Parsed parse_charge(const rapidjson::Value& body) {
  Fields f(body);
  auto user = f.id("userId");
  if (!f.ok()) return invalid(f.error());
  int64_t amount = 0;
  switch (read_amount(body, "amount", 1, concert::kChargeMax, &amount)) {
    case AmountCheck::kMissingOrNotNumber:
      return invalid("field 'amount' is required and must be a number");
    case AmountCheck::kOutOfRange:
      return DomainError{ErrorCode::INVALID_AMOUNT, "amount must be an integer in 1..1000000000"};
    case AmountCheck::kOk:
      break;
  }
  return concert::ChargeBalance{*user, amount};
}

Parsed parse_register_user(const rapidjson::Value& body) {
  Fields f(body);
  auto user = f.id("userId");
  auto name = f.text("name", kNameLengthMax, false);
  if (!f.ok()) return invalid(f.error());
  return concert::RegisterUser{*user, name.value_or("")};
}

namespace {

// The seats of schedule `path` ("schedules[1]"); `f` fails naming the first
// seat field at fault by its full path.
bool parse_seats(const rapidjson::Value& seats, const std::string& path,
                 concert::ScheduleInput& out, Fields& f) {
  std::unordered_set<std::string> ids;
  std::set<int64_t> numbers;
  for (rapidjson::SizeType i = 0; i < seats.Size(); ++i) {
    const std::string at = item_path(path + ".seats", i);
    if (!seats[i].IsObject()) {
      f.fail("field '" + at + "' must be an object");
      return false;
    }
    Fields sf(seats[i], at);
    auto id = sf.id("seatId", false);
    auto number = sf.integer("number", 1, kSeatNumberMax);
    auto price = sf.integer("price", 0, kSeatPriceMax);
    if (sf.ok() && id && !ids.insert(*id).second) {
      sf.fail("field '" + sf.path_of("seatId") + "' repeats a seat id of its schedule");
    } else if (sf.ok() && !numbers.insert(*number).second) {
      sf.fail("field '" + sf.path_of("number") + "' repeats a seat number of its schedule");
    }
    if (!sf.ok()) {
      f.fail(sf.error());
      return false;
    }
    out.seats.push_back({id.value_or(""), *number, *price});
  }
  return true;
}

// Reads the ISO-8601 UTC time `name` into *ms: false when it is absent or
// bad (then `f` fails naming it).
bool read_time(Fields& f, const char* name, bool required, int64_t* ms) {
  const std::optional<std::string> text = f.text(name, kTimeLengthMax, required);
  if (!text) return false;
  const std::optional<int64_t> parsed = parse_iso8601_ms(*text);
  if (!parsed) {
    f.fail("field '" + f.path_of(name) + "' must be an ISO-8601 UTC time");
    return false;
  }
  *ms = *parsed;
  return true;
}

// Schedule `index` of the body; `f` fails naming the field at fault by its
// full path ("schedules[1].startsAt").
bool parse_schedule(const rapidjson::Value& s, size_t index, concert::CreateConcert& out,
                    Fields& f) {
  const std::string path = item_path("schedules", index);
  if (!s.IsObject()) {
    f.fail("field '" + path + "' must be an object");
    return false;
  }
  Fields sf(s, path);
  concert::ScheduleInput in;
  in.schedule_id = sf.id("concertScheduleId", false).value_or("");
  int64_t starts_ms = 0;
  int64_t opens_ms = 0;  // omitted: 0, which the engine reads as the creation time (open at once)
  read_time(sf, "startsAt", true, &starts_ms);
  const bool opens = read_time(sf, "reservationOpensAt", false, &opens_ms);
  const rapidjson::Value* seats = sf.array("seats", 1, kSeatsPerScheduleMax);
  if (sf.ok() && opens && opens_ms >= starts_ms) {
    sf.fail("field '" + sf.path_of("reservationOpensAt") + "' must be a time before '" +
            sf.path_of("startsAt") + "'");
  }
  if (sf.ok()) parse_seats(*seats, path, in, sf);
  if (!sf.ok()) {
    f.fail(sf.error());
    return false;
  }
  in.starts_at = starts_ms;
  in.opens_at = opens_ms;
  out.schedules.push_back(std::move(in));
  return true;
}

}  // namespace

Parsed parse_create_concert(const rapidjson::Value& body) {
  Fields f(body);
  concert::CreateConcert c;
  c.concert_id = f.id("concertId", false).value_or("");
  auto title = f.text("title", kTitleLengthMax);
  const rapidjson::Value* schedules = f.array("schedules", 1, kSchedulesMax);
  if (!f.ok()) return invalid(f.error());
  c.title = *title;
  std::unordered_set<std::string> schedule_ids;
  for (rapidjson::SizeType i = 0; i < schedules->Size(); ++i) {
    if (!parse_schedule((*schedules)[i], i, c, f)) return invalid(f.error());
    const std::string& id = c.schedules.back().schedule_id;
    if (!id.empty() && !schedule_ids.insert(id).second) {
      return invalid("field '" + item_path("schedules", i) +
                     ".concertScheduleId' repeats a schedule id of the concert");
    }
  }
  return c;
}

}  // namespace reservoir::api
