// Service's queries: read-your-writes wait, then a projection read, then
// render; hot queries go through the cache of rendered answers.
#include <algorithm>
#include <charconv>
#include <limits>

#include "api/json_util.h"
#include "api/render.h"
#include "api/service.h"
#include "events/time_format.h"

namespace reservoir::api {
namespace {

constexpr size_t kPageDefault = 20;
constexpr size_t kPageMax = 100;

std::optional<std::string> param(const Request& req, const char* name) {
  if (req.params == nullptr) return std::nullopt;
  auto it = req.params->find(name);
  if (it == req.params->end()) return std::nullopt;
  return it->second;
}

// limit: 1..100 (default 20); anything else is a 400.
std::optional<size_t> page_limit(const Request& req) {
  auto raw = param(req, "limit");
  if (!raw) return kPageDefault;
  size_t n = 0;
  auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), n);
  if (ec != std::errc() || end != raw->data() + raw->size() || n < 1 || n > kPageMax) {
    return std::nullopt;
  }
  return n;
}

bool only_available(const Request& req, bool* bad) {
  auto status = param(req, "status");
  *bad = status && *status != "AVAILABLE";
  return status.has_value();
}

const char* seat_status_name(projections::SeatStatus s) {
  switch (s) {
    case projections::SeatStatus::kAvailable:
      return "AVAILABLE";
    case projections::SeatStatus::kHeld:
      return "HELD";
    case projections::SeatStatus::kSold:
      return "SOLD";
  }
  return "SOLD";
}

Rendered bad_request(const std::string& message) {
  return render_error(ErrorCode::INVALID_REQUEST, message);
}

template <class T, class WriteItem>
Rendered render_page(const projections::Page<T>& page, WriteItem write_item) {
  return render_success([&](JsonWriter& w) {
    w.StartObject();
    w.Key("items");
    w.StartArray();
    for (const auto& item : page.items) write_item(w, item);
    w.EndArray();
    w.Key("nextCursor");
    if (page.next_cursor) {
      w.String(page.next_cursor->c_str());
    } else {
      w.Null();
    }
    w.EndObject();
  });
}

}  // namespace

template <class Render>
Answer Service::cached(const std::string& key, projections::ViewScope scope, std::string_view id,
                       Render&& render) {
  QueryCache::Stamp stamp;
  stamp.stripe = projections::ViewVersions::stripe(scope, id);
  // Loaded before any view is read: see projections/view_versions.h.
  stamp.version = views_.versions().version(stamp.stripe);
  const int64_t now = clock_.now_ms();
  // While the part is being written, what this query reads may be half old:
  // answer it, but keep nothing.
  if (!projections::ViewVersions::steady(stamp.version)) return render(now, &stamp);
  if (auto body = cache_.find(key, stamp.stripe, stamp.version, now)) return {200, std::move(body)};
  Rendered out = render(now, &stamp);
  if (out.status == 200) cache_.store(key, stamp, out.body);
  return out;
}

Answer Service::query(const Request& req, Route route, const Match& m) {
  // (The handler waited for read-your-writes: canonical.cc.)
  for (const std::string* id : {&m.a, &m.b}) {
    if (!id->empty() && !valid_id(*id)) return bad_request("'" + *id + "' is not a valid id");
  }
  switch (route) {
    case Route::kQueueStatus:
      return queue_status(req);
    case Route::kConcerts:
      return cached("concerts", projections::ViewScope::kCatalog, {},
                    [&](int64_t, QueryCache::Stamp*) { return concerts(); });
    case Route::kSchedules: {
      bool bad = false;
      const bool filter = only_available(req, &bad);
      if (bad) return bad_request("status must be AVAILABLE");
      return cached(std::string(filter ? "schedules?A/" : "schedules/") + m.a,
                    projections::ViewScope::kConcert, m.a,
                    [&](int64_t now, QueryCache::Stamp* stamp) {
                      return schedules(filter, m.a, now, stamp);
                    });
    }
    case Route::kSeats: {
      bool bad = false;
      const bool filter = only_available(req, &bad);
      if (bad) return bad_request("status must be AVAILABLE");
      return cached(std::string(filter ? "seats?A/" : "seats/") + m.a + "/" + m.b,
                    projections::ViewScope::kSchedule, m.b,
                    [&](int64_t, QueryCache::Stamp*) { return seats(filter, m.a, m.b); });
    }
    case Route::kReservation:
      return reservation(req, m.a);
    case Route::kUserReservations:
      return user_reservations(req, m.a);
    case Route::kUserPayments:
      return user_payments(req, m.a);
    case Route::kBalance: {
      auto user_id = param(req, "userId");
      if (!user_id || !valid_id(*user_id)) {
        return bad_request("query parameter 'userId' is required");
      }
      return cached("balance/" + *user_id, projections::ViewScope::kUser, *user_id,
                    [&](int64_t, QueryCache::Stamp*) { return balance(*user_id); });
    }
    default:
      return render_error(ErrorCode::INTERNAL, "unrouted query");
  }
}

Rendered Service::queue_status(const Request& req) {
  if (!req.queue_token)
    return render_error(ErrorCode::INVALID_TOKEN, "the Queue-Token header is required");
  auto token = views_.token(std::string(*req.queue_token));
  if (!token) return render_error(ErrorCode::INVALID_TOKEN, "unknown queue token");
  const QueuePlace place = queue_place(*token);  // shared with the dialects
  token->status = place.status;
  return render_success(
      [&](JsonWriter& w) { write_token(w, *token, place.position, place.wait_seconds); });
}

Rendered Service::concerts() {
  const auto list = views_.concerts();
  return render_success([&](JsonWriter& w) {
    w.StartArray();
    for (const auto& c : list) {
      w.StartObject();
      w.Key("concertId");
      w.String(c.concert_id.c_str());
      w.Key("title");
      w.String(c.title.c_str());
      w.Key("scheduleCount");
      w.Int64(c.schedule_count);
      w.EndObject();
    }
    w.EndArray();
  });
}

// With the filter the answer depends on the time: a schedule is listed from
// its opening until its start, so the answer holds between the latest of
// those times at or before now and the next after it.
Rendered Service::schedules(bool filter, const std::string& concert_id, int64_t now,
                            QueryCache::Stamp* stamp) {
  auto list = views_.schedules(concert_id);
  if (!list) return render_error(ErrorCode::CONCERT_NOT_FOUND, "concert not found");
  if (filter) {
    for (const auto& s : *list) {
      stamp->split_at(s.opens_at, now);
      stamp->split_at(s.starts_at, now);
    }
  }
  return render_success([&](JsonWriter& w) {
    w.StartArray();
    for (const auto& s : *list) {
      const bool on_sale = s.opens_at <= now && now < s.starts_at && s.available_seats > 0;
      if (filter && !on_sale) continue;
      w.StartObject();
      w.Key("concertScheduleId");
      w.String(s.schedule_id.c_str());
      w.Key("date");
      w.String(format_date(s.starts_at).c_str());
      w.Key("startsAt");
      write_time(w, s.starts_at);
      w.Key("reservationOpensAt");
      write_time(w, s.opens_at);
      w.Key("availableSeats");
      w.Int64(s.available_seats);
      w.Key("totalSeats");
      w.Int64(s.total_seats);
      w.EndObject();
    }
    w.EndArray();
  });
}

Rendered Service::seats(bool filter, const std::string& concert_id,
                        const std::string& schedule_id) {
  if (!views_.schedules(concert_id))
    return render_error(ErrorCode::CONCERT_NOT_FOUND, "concert not found");
  auto schedule = views_.schedule(schedule_id);
  if (!schedule || schedule->concert_id != concert_id) {
    return render_error(ErrorCode::SCHEDULE_NOT_FOUND, "schedule not found in this concert");
  }
  auto list = views_.seats(schedule_id);
  return render_success([&](JsonWriter& w) {
    w.StartArray();
    for (const auto& s : list.value_or(std::vector<projections::SeatView>{})) {
      if (filter && s.status != projections::SeatStatus::kAvailable) continue;
      w.StartObject();
      w.Key("seatId");
      w.String(s.seat_id.c_str());
      w.Key("number");
      w.Int64(s.number);
      w.Key("price");
      w.Int64(s.price);
      w.Key("status");
      w.String(seat_status_name(s.status));
      w.EndObject();
    }
    w.EndArray();
  });
}

Rendered Service::reservation(const Request& req, const std::string& id) {
  if (!req.queue_token)
    return render_error(ErrorCode::INVALID_TOKEN, "the Queue-Token header is required");
  auto token = views_.token(std::string(*req.queue_token));
  if (!token) return render_error(ErrorCode::INVALID_TOKEN, "unknown queue token");
  if (token->status == projections::TokenStatus::kExpired ||
      (token->status == projections::TokenStatus::kActive &&
       token->expires_at <= clock_.now_ms())) {
    return render_error(ErrorCode::TOKEN_EXPIRED, "token has expired");
  }
  auto r = views_.reservation(id);
  if (!r) return render_error(ErrorCode::RESERVATION_NOT_FOUND, "reservation not found");
  if (r->user_id != token->user_id) {
    return render_error(ErrorCode::FORBIDDEN, "reservation belongs to another user");
  }
  return render_success([&](JsonWriter& w) { write_reservation(w, *r); });
}

Rendered Service::user_reservations(const Request& req, const std::string& user_id) {
  auto limit = page_limit(req);
  if (!limit) return bad_request("limit must be an integer in 1..100");
  if (!views_.user(user_id)) return render_error(ErrorCode::USER_NOT_FOUND, "user not found");
  auto page = views_.user_reservations(user_id, *limit, param(req, "cursor").value_or(""));
  if (!page.ok()) return bad_request("cursor is not valid");
  return render_page(*page, [](JsonWriter& w, const auto& r) { write_reservation(w, r); });
}

Rendered Service::user_payments(const Request& req, const std::string& user_id) {
  auto limit = page_limit(req);
  if (!limit) return bad_request("limit must be an integer in 1..100");
  if (!views_.user(user_id)) return render_error(ErrorCode::USER_NOT_FOUND, "user not found");
  auto page = views_.user_payments(user_id, *limit, param(req, "cursor").value_or(""));
  if (!page.ok()) return bad_request("cursor is not valid");
  return render_page(*page, [](JsonWriter& w, const auto& p) { write_payment(w, p); });
}

Rendered Service::balance(const std::string& user_id) {
  auto user = views_.user(user_id);
  if (!user) return render_error(ErrorCode::USER_NOT_FOUND, "user not found");
  return render_success([&](JsonWriter& w) {
    w.StartObject();
    w.Key("userId");
    w.String(user->user_id.c_str());
    w.Key("balance");
    w.Int64(user->balance);
    w.EndObject();
  });
}

}  // namespace reservoir::api
