// Clients for the seed dialects of SPEC §5 (concert-events, queue-tokens),
// and matching of their JSON answers against the spec's examples.
//
// Contract:
// - id_json(id) renders an id as the dialects do (§5.2): a canonical decimal
//   integer as a JSON integer, any other id as a JSON string.
// - CeApi / QtApi wrap one Api (one keep-alive connection) on the listener
//   serving their dialect; one method per route of §5.3 / §5.4, taking ids as
//   strings (rendered with id_json) and the token ("" sends no token header)
//   and an optional Idempotency-Key. Like Api they never assert, so they are
//   safe on worker threads; the *_of helpers REQUIRE and are for the test
//   thread only.
// - answer_diff(reply, status, expected, placeholders) compares an answer with
//   the spec's: the status, then the body as parsed JSON (key order and spacing
//   do not count). A string of `expected` that is a key of `placeholders`
//   ("<T1>", "<ce-time>") matches any value its predicate accepts. "" when
//   the answer matches, else what differs. CHECK_ANSWER wraps it.
// - ce_error / qt_error build the error bodies of §5.5.
// - Times: is_ce_time (YYYY-MM-DDTHH:MM:SSZ), is_qt_time (YYYY-MM-DDTHH:MM:SS),
//   epoch_of (seconds since the epoch of any of the three dialects' times).
#pragma once

#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <time.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/server_process.h"

namespace reservoir::test {

// ------------------------------------------------------------------ ids ---

// Digits only, no sign, no leading zero, in int64 range.
inline bool is_canonical_decimal(const std::string& id) {
  if (id.empty() || id.size() > 19 || id.find_first_not_of("0123456789") != std::string::npos)
    return false;
  if (id.size() > 1 && id[0] == '0') return false;
  return id.size() < 19 || id <= "9223372036854775807";
}

// A JSON string literal (std::quoted would win overload resolution for a
// non-const std::string).
inline std::string jstr(const std::string& s) {
  return quoted(s);
}

inline std::string id_json(const std::string& id) {
  return is_canonical_decimal(id) ? id : quoted(id);
}

// A JSON id rendered by a dialect, back as the canonical string ("" if neither).
inline std::string id_text(const rapidjson::Value& v) {
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  return "";
}

// v[key], or a Null value when `v` is not an object or lacks it (rapidjson's
// operator[] aborts on a missing member).
inline const rapidjson::Value& field(const rapidjson::Value& v, const char* key) {
  static const rapidjson::Value kNull;
  const auto* m = member(v, key);
  return m ? *m : kNull;
}

// The size of an array (-1 for anything else).
inline int64_t array_size(const rapidjson::Value& v) {
  return v.IsArray() ? static_cast<int64_t>(v.Size()) : -1;
}

inline std::string ids_json(const std::vector<std::string>& ids) {
  std::string out = "[";
  for (const auto& id : ids) out += (out.size() > 1 ? "," : "") + id_json(id);
  return out + "]";
}

// ---------------------------------------------------------------- times ---

inline bool is_ce_time(std::string_view s) {
  return s.size() == 20 && starts_like(s, "####-##-##T##:##:##Z");
}
inline bool is_qt_time(std::string_view s) {
  return s.size() == 19 && starts_like(s, "####-##-##T##:##:##");
}

// Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS[...]" (UTC), or nullopt.
inline std::optional<int64_t> epoch_of(std::string_view s) {
  if (!starts_like(s, "####-##-##T##:##:##")) return std::nullopt;
  std::tm tm{};
  auto field = [&](size_t at, size_t n) { return std::stoi(std::string(s.substr(at, n))); };
  tm.tm_year = field(0, 4) - 1900;
  tm.tm_mon = field(5, 2) - 1;
  tm.tm_mday = field(8, 2);
  tm.tm_hour = field(11, 2);
  tm.tm_min = field(14, 2);
  tm.tm_sec = field(17, 2);
  return static_cast<int64_t>(::timegm(&tm));
}

inline int64_t now_epoch() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ------------------------------------------------------------- matching ---

using Placeholder = std::function<bool(const rapidjson::Value&)>;
using Placeholders = std::map<std::string, Placeholder>;

// A string placeholder: a time of the dialect's format within `slack`
// seconds of `center` (no plausibility check when slack < 0).
inline Placeholder time_near(bool ce, int64_t center, int64_t slack) {
  return [=](const rapidjson::Value& v) {
    if (!v.IsString()) return false;
    const std::string_view s(v.GetString(), v.GetStringLength());
    if (!(ce ? is_ce_time(s) : is_qt_time(s))) return false;
    return slack < 0 || std::llabs(*epoch_of(s) - center) <= slack;
  };
}
inline Placeholder any_ce_time() {
  return time_near(true, 0, -1);
}
inline Placeholder any_qt_time() {
  return time_near(false, 0, -1);
}
inline Placeholder equals_json(const std::string& text) {
  auto expected = std::make_shared<rapidjson::Document>();
  expected->Parse(text.c_str());
  return [expected](const rapidjson::Value& v) { return v == *expected; };
}

inline std::string json_diff(const rapidjson::Value& actual, const rapidjson::Value& expected,
                             const Placeholders& ph, const std::string& at) {
  if (expected.IsString()) {
    auto it = ph.find(std::string(expected.GetString(), expected.GetStringLength()));
    if (it != ph.end()) {
      return it->second(actual) ? "" : at + ": " + to_json(actual) + " is not " + it->first;
    }
  }
  if (expected.IsObject() && actual.IsObject()) {
    std::string d;
    for (auto m = expected.MemberBegin(); m != expected.MemberEnd(); ++m) {
      const std::string name = m->name.GetString();
      const auto* a = member(actual, name.c_str());
      d += a ? json_diff(*a, m->value, ph, at + "." + name) : at + "." + name + " missing; ";
    }
    for (auto m = actual.MemberBegin(); m != actual.MemberEnd(); ++m) {
      if (!member(expected, m->name.GetString()))
        d += at + "." + m->name.GetString() + " unexpected; ";
    }
    return d;
  }
  if (expected.IsArray() && actual.IsArray()) {
    if (expected.Size() != actual.Size()) {
      return at + ": " + std::to_string(actual.Size()) + " items, expected " +
             std::to_string(expected.Size()) + "; ";
    }
    std::string d;
    for (rapidjson::SizeType i = 0; i < expected.Size(); ++i)
      d += json_diff(actual[i], expected[i], ph, at + "[" + std::to_string(i) + "]");
    return d;
  }
  return actual == expected ? "" : at + ": " + to_json(actual) + " != " + to_json(expected) + "; ";
}

// "" when `r` has `status` and a body equal (as JSON) to `expected`.
inline std::string answer_diff(const Reply& r, int status, const std::string& expected,
                               const Placeholders& ph = {}) {
  rapidjson::Document want;
  want.Parse(expected.c_str());
  if (want.HasParseError()) return "the expected body is not JSON: " + expected;
  std::string d = r.status == status ? "" : "status " + std::to_string(r.status) + "; ";
  if (r.json.IsNull() && !r.body.empty()) return d + "body not JSON: " + r.body;
  d += json_diff(r.json, want, ph, "$");
  return d.empty() ? "" : d + " in " + r.text();
}

#define CHECK_ANSWER(reply, status, ...)                                \
  do {                                                                  \
    const std::string d_ = answer_diff((reply), (status), __VA_ARGS__); \
    CHECK_MESSAGE(d_.empty(), d_);                                      \
  } while (0)

// ------------------------------------------------------------- envelopes ---

inline std::string ce_error(const std::string& code, const std::string& message) {
  return R"({"error":{"code":)" + quoted(code) + R"(,"message":)" + quoted(message) + "}}";
}
inline std::string qt_error(int status, const std::string& message) {
  return R"({"code":)" + std::to_string(status) + R"(,"message":)" + quoted(message) + "}";
}

// error.code of a concert-events error ("" otherwise).
inline std::string ce_code(const Reply& r) {
  const auto* e = member(r.json, "error");
  return e ? str(*e, "code") : "";
}
// The message of a queue-tokens error ("" otherwise).
inline std::string qt_message(const Reply& r) {
  return num(r.json, "code") == r.status ? str(r.json, "message") : "";
}

// Exactly {"error":{"code":string,"message":string}}.
inline bool is_ce_error(const Reply& r) {
  const auto* e = member(r.json, "error");
  return r.json.IsObject() && r.json.MemberCount() == 1 && e &&
         shape_errors(*e, {{"code", J::kString}, {"message", J::kString}}).empty();
}
// Exactly {"code":<status>,"message":string}.
inline bool is_qt_error(const Reply& r) {
  return shape_errors(r.json, {{"code", J::kInt}, {"message", J::kString}}).empty() &&
         num(r.json, "code") == r.status;
}

inline const std::string kCeDialect = "concert-events";
inline const std::string kQtDialect = "queue-tokens";

// The numeric demo catalog of §5.1: concert 1, schedules 1 and 2, seats 1..50.
inline int64_t demo_price(int seat) {
  return seat <= 10 ? 10000 : seat <= 20 ? 15000 : 50000;
}

inline httplib::Headers headers_of(const char* token_header, const std::string& token,
                                   const std::string& key) {
  httplib::Headers h;
  if (!token.empty()) h.emplace(token_header, token);
  if (!key.empty()) h.emplace("Idempotency-Key", key);
  return h;
}

// ------------------------------------------------------- concert-events ---

class CeApi {
 public:
  explicit CeApi(int port) : api_(port) {}
  explicit CeApi(const ServerProcess& server) : CeApi(server.port_of(kCeDialect)) {}

  Api& raw() { return api_; }

  Reply issue(const std::string& user, const std::string& key = "") {
    return api_.post("/api/v1/queue/token", "{\"userId\":" + id_json(user) + "}", h("", key));
  }
  Reply status(const std::string& token) { return api_.get("/api/v1/queue/status", h(token)); }
  Reply events(const std::string& token, const std::string& concert) {
    return api_.get("/api/v1/concerts/" + concert + "/available-events", h(token));
  }
  Reply seats(const std::string& token, const std::string& event) {
    return api_.get("/api/v1/concert-events/" + event + "/available-seats", h(token));
  }
  Reply occupy(const std::string& token, const std::string& event, const std::string& seat,
               const std::string& key = "") {
    return api_.post("/api/v1/concert-events/" + event + "/occupy", seat_body(seat), h(token, key));
  }
  Reply reserve(const std::string& token, const std::string& event, const std::string& seat,
                const std::string& key = "") {
    return api_.post("/api/v1/concert-events/" + event + "/reserve", seat_body(seat),
                     h(token, key));
  }
  Reply pay(const std::string& token, const std::string& reservation, const std::string& key = "") {
    return api_.post("/api/v1/payments", "{\"reservationId\":" + id_json(reservation) + "}",
                     h(token, key));
  }
  Reply payments(const std::string& user, const std::string& query = "") {
    return api_.get("/api/v1/users/" + user + "/payments" + query);
  }
  Reply wallet(const std::string& user) { return api_.get("/api/v1/users/" + user + "/wallet"); }
  Reply charge(const std::string& user, int64_t amount, const std::string& key = "") {
    return api_.send("PATCH", "/api/v1/users/" + user + "/wallet/charge",
                     "{\"amount\":" + std::to_string(amount) + "}", h("", key));
  }

  // --- REQUIRE-ing helpers (test thread only) ---
  std::string token_of(const std::string& user) {
    Reply r = issue(user);
    REQUIRE_MESSAGE(r.ok(), r.text());
    return str(field(r.json, "data"), "token");
  }
  int64_t balance_of(const std::string& user) {
    Reply r = wallet(user);
    REQUIRE_MESSAGE(r.ok(), r.text());
    return num(field(r.json, "data"), "balance");
  }
  // The ids of the available seats of `event`.
  std::vector<std::string> available(const std::string& token, const std::string& event) {
    Reply r = seats(token, event);
    REQUIRE_MESSAGE((r.ok() && field(r.json, "list").IsArray()), r.text());
    std::vector<std::string> ids;
    for (const auto& s : r.json["list"].GetArray()) ids.push_back(id_text(field(s, "id")));
    return ids;
  }
  // Occupies `seat` and reserves it: the reservation's sequence number.
  std::string occupy_reserve(const std::string& token, const std::string& event,
                             const std::string& seat) {
    Reply o = occupy(token, event, seat);
    REQUIRE_MESSAGE(o.ok(), o.text());
    Reply r = reserve(token, event, seat);
    REQUIRE_MESSAGE(r.ok(), r.text());
    return id_text(field(field(r.json, "data"), "id"));
  }

 private:
  static httplib::Headers h(const std::string& token, const std::string& key = "") {
    return headers_of("User-Token", token, key);
  }
  static std::string seat_body(const std::string& seat) {
    return "{\"seatId\":" + id_json(seat) + "}";
  }
  Api api_;
};

// --------------------------------------------------------- queue-tokens ---

class QtApi {
 public:
  explicit QtApi(int port) : api_(port) {}
  explicit QtApi(const ServerProcess& server) : QtApi(server.port_of(kQtDialect)) {}

  Api& raw() { return api_; }

  Reply issue(const std::string& user, const std::string& key = "") {
    return api_.post("/v1/queue-tokens/users/" + user, "", h("", key));
  }
  Reply token(const std::string& user) { return api_.get("/v1/queue-tokens/users/" + user); }
  Reply status(const std::string& user, const std::string& token_id) {
    return api_.get("/v1/queue-status/users/" + user, h(token_id));
  }
  Reply schedules(const std::string& token_id, const std::string& concert) {
    return api_.get("/v1/concerts/" + concert + "/schedules", h(token_id));
  }
  Reply seats(const std::string& token_id, const std::string& concert,
              const std::string& schedule) {
    return api_.get("/v1/concerts/" + concert + "/schedules/" + schedule + "/seats", h(token_id));
  }
  Reply reserve(const std::string& token_id, const std::string& user, const std::string& concert,
                const std::string& schedule, const std::vector<std::string>& seats,
                const std::string& key = "") {
    return api_.post("/v1/reservations", reserve_body(user, concert, schedule, seats),
                     h(token_id, key));
  }
  Reply pay(const std::string& token_id, const std::string& user, const std::string& reservation,
            const std::string& key = "") {
    return api_.post("/v1/payments/users/" + user,
                     "{\"reservationId\":" + id_json(reservation) + "}", h(token_id, key));
  }
  Reply recharge(const std::string& user, int64_t amount, const std::string& key = "") {
    return api_.post("/v1/balance/users/" + user + "/recharge",
                     "{\"amount\":" + std::to_string(amount) + "}", h("", key));
  }
  Reply balance(const std::string& user) { return api_.get("/v1/balance/users/" + user); }

  static std::string reserve_body(const std::string& user, const std::string& concert,
                                  const std::string& schedule,
                                  const std::vector<std::string>& seats) {
    return "{\"userId\":" + id_json(user) + ",\"concertId\":" + id_json(concert) +
           ",\"scheduleId\":" + id_json(schedule) + ",\"seatIds\":" + ids_json(seats) + "}";
  }

  // --- REQUIRE-ing helpers (test thread only) ---
  // The user's tokenId (issued, or the live one), as a decimal string.
  std::string token_id_of(const std::string& user) {
    Reply r = issue(user);
    REQUIRE_MESSAGE(r.ok(), r.text());
    return id_text(field(r.json, "tokenId"));
  }
  int64_t balance_of(const std::string& user) {
    Reply r = balance(user);
    REQUIRE_MESSAGE(r.ok(), r.text());
    return num(r.json, "currentAmount");
  }
  // AVAILABLE / UNAVAILABLE, or "" when the seat is not listed.
  std::string seat_status(const std::string& token_id, const std::string& concert,
                          const std::string& schedule, const std::string& seat) {
    Reply r = seats(token_id, concert, schedule);
    REQUIRE_MESSAGE((r.ok() && field(r.json, "seats").IsArray()), r.text());
    for (const auto& s : r.json["seats"].GetArray()) {
      if (id_text(field(s, "seatId")) == seat) return str(s, "seatStatus");
    }
    return "";
  }
  // Reserves `seats`: the reservation's sequence number.
  std::string reserve_ok(const std::string& token_id, const std::string& user,
                         const std::string& concert, const std::string& schedule,
                         const std::vector<std::string>& seats) {
    Reply r = reserve(token_id, user, concert, schedule, seats);
    REQUIRE_MESSAGE(r.ok(), r.text());
    return id_text(field(r.json, "reservationId"));
  }

 private:
  static httplib::Headers h(const std::string& token_id, const std::string& key = "") {
    return headers_of("TOKEN-ID", token_id, key);
  }
  Api api_;
};

// Canonical views of the numeric demo catalog (concert "1").
inline std::string canonical_seat_status(Api& api, const std::string& schedule,
                                         const std::string& seat) {
  Reply r = api.seats(schedule, "1");
  REQUIRE_MESSAGE(r.ok(), r.text());
  for (const auto& s : r.data().GetArray()) {
    if (str(s, "seatId") == seat) return str(s, "status");
  }
  return "";
}

}  // namespace reservoir::test
