// The catalog and users of an HTTP run, the seat picker and the small helpers
// flows share (see flows.h).
#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <numeric>
#include <random>

#include "events/time_format.h"
#include "tools/bench/flows.h"

namespace reservoir::tools::bench {
namespace {

constexpr int64_t kConcertBodyBytesMax = 48 * 1024;  // under the server's 64 KiB body limit
constexpr int64_t kSeatJsonBytes = 48;  // {"seatId":"1000","number":1000,"price":1000},
constexpr int64_t kSchedulesPerConcertMax = 10;
constexpr int64_t kStartsAheadMs =
    30LL * 24 * 3600 * 1000;  // a month: no hold meets SCHEDULE_CLOSED

std::string concert_body(const Catalog& catalog, int64_t concert) {
  const int64_t first = concert * catalog.schedules_per_concert;
  const int64_t last = std::min(catalog.schedules, first + catalog.schedules_per_concert);
  const std::string starts = format_iso8601_ms(catalog.starts_at_ms);
  const std::string price = std::to_string(catalog.seat_price);
  std::string body = "{\"concertId\":\"" + catalog.concert_id(concert) + "\",\"title\":\"bench " +
                     std::to_string(concert) + "\",\"schedules\":[";
  for (int64_t s = first; s < last; ++s) {
    if (s != first) body += ',';
    body += "{\"concertScheduleId\":\"" + catalog.schedule_id(s) + "\",\"startsAt\":\"" + starts +
            "\",\"seats\":[";
    for (int64_t n = 1; n <= catalog.seats_per_schedule; ++n) {
      const std::string number = std::to_string(n);
      if (n != 1) body += ',';
      body += "{\"seatId\":\"" + number + "\",\"number\":" + number + ",\"price\":" + price + "}";
    }
    body += "]}";
  }
  return body + "]}";
}

// "" when the admin request succeeded or the id already existed.
std::string admin_post(httplib::Client& client, const std::string& admin_key,
                       const std::string& path, const std::string& body, const char* exists) {
  httplib::Headers headers{{"Admin-Key", admin_key}};
  auto res = client.Post(path, headers, body, "application/json");
  if (!res) return "POST " + path + ": " + httplib::to_string(res.error());
  if (res->status == 200) return "";
  if (res->status == 409 && error_code(res->body) == exists) return "";
  return "POST " + path + ": HTTP " + std::to_string(res->status) + " " + res->body;
}

}  // namespace

Catalog Catalog::make(int64_t users, int64_t schedules, int64_t seats_per_schedule) {
  Catalog c;
  std::random_device entropy;
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "b%06x-", entropy() & 0xffffff);
  c.prefix = prefix;
  c.users = users;
  c.schedules = schedules;
  c.seats_per_schedule = seats_per_schedule;
  c.schedules_per_concert = std::clamp<int64_t>(
      kConcertBodyBytesMax / std::max<int64_t>(1, seats_per_schedule * kSeatJsonBytes), 1,
      kSchedulesPerConcertMax);
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  c.starts_at_ms = (now_ms + kStartsAheadMs) / 60000 * 60000;
  return c;
}

void Catalog::id_into(std::string& out, char kind, int64_t n) const {
  char digits[24];
  out.assign(prefix);
  out += kind;
  out.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
}

int64_t Catalog::concerts() const {
  return (schedules + schedules_per_concert - 1) / schedules_per_concert;
}

std::string set_up(httplib::Client& client, const Catalog& catalog, const std::string& admin_key,
                   bool with_catalog, int worker, int workers) {
  for (int64_t u = worker; u < catalog.users; u += workers) {
    const std::string body = "{\"userId\":\"" + catalog.user_id(u) + "\"}";
    std::string err = admin_post(client, admin_key, "/api/v1/admin/users", body, "USER_EXISTS");
    if (!err.empty()) return err;
  }
  if (!with_catalog) return "";
  for (int64_t c = worker; c < catalog.concerts(); c += workers) {
    std::string err = admin_post(client, admin_key, "/api/v1/admin/concerts",
                                 concert_body(catalog, c), "CONCERT_EXISTS");
    if (!err.empty()) return err;
  }
  return "";
}

SeatPicker::SeatPicker(int64_t seats_total, uint64_t seed)
    : total_(static_cast<uint64_t>(std::max<int64_t>(1, seats_total))) {
  // Any stride coprime with the total visits every seat once per round; one
  // near the golden ratio of the total scatters neighbours across schedules.
  stride_ = std::max<uint64_t>(1, total_ * 618 / 1000);
  while (std::gcd(stride_, total_) != 1) ++stride_;
  offset_ = FastRandom(seed).below(total_);
}

int64_t SeatPicker::next() {
  const uint64_t k = next_.fetch_add(1, std::memory_order_relaxed);
  return static_cast<int64_t>((offset_ + (k % total_) * stride_) % total_);
}

uint64_t FastRandom::next() {
  uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace reservoir::tools::bench
