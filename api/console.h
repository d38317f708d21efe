// Console: the operators' console of SPEC §8. GET /console serves a page
// whose files (api/console/*) are built into the executable (no network at
// run time); the page signs in with the admin key, keeps it in the tab's
// sessionStorage and sends it as `Admin-Key` on each call to the read-only
// JSON routes below (a key is never put in a URL, and the page itself holds
// no data). Every route here answers 403 ADMIN_DISABLED without
// --admin-key, and 401 ADMIN_KEY_REQUIRED to a missing or wrong key, in the
// canonical envelope, like the other admin routes.
//
//   GET /console, /console/FILE      the page and its files
//   GET /admin/events?from=&limit=&type=&user=&reservation=&visitor=&schedule=&domain=
//       the events of one domain's log from offset `from` that pass every
//       given filter, at most `limit` (1..kEventsPageMax) of them, examining
//       at most kEventsScanMax events per request: `next` is where the next
//       page starts, `end` the log's end then. Read through the EventLog
//       while the server writes it (its readers run beside its writer, on
//       the embedded log and on Kafka with read_committed). Secrets never
//       appear: the log holds tokens as hashes, and the token's seal is
//       left out too.
//   GET /admin/waiting-room          WAITING tokens: the highest seq issued
//       (found in the log) minus the highest admitted (projections), and
//       whether the clinic domain is served
//   GET /admin/clinic/zones/{zoneId}/day?date=YYYY-MM-DD
//       the zone's RESERVED resources that day (the occupancy answer), so
//       the console needs no clinic API key
// The last two read the projections once the writes acknowledged before
// the request are in them (read-your-writes, as queries do; else 503).
//
// Thread safety: handle() from any number of threads (the waiting-room
// scan's cursor is under a mutex).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

#include "api/service.h"
#include "events/event_log.h"

namespace reservoir::api {

inline constexpr size_t kEventsPageMax = 500;     // events per page
inline constexpr size_t kEventsPageDefault = 50;  // events per page without `limit`
inline constexpr size_t kEventsScanMax = 10'000;  // events examined per request
inline constexpr size_t kEventsReadChunk = 500;   // events per EventLog::read

// Is `path` (of a GET) one of the console's? The router sends those here.
bool is_console_path(std::string_view path);

// The logs the console reads; a null one: that domain is not served.
struct ConsoleLogs {
  EventLog* concert = nullptr;
  EventLog* clinic = nullptr;
};

class Console {
 public:
  explicit Console(ConsoleLogs logs) : logs_(logs) {}
  // Answers a GET of a path is_console_path() accepts.
  Answer handle(const Request& req, Service& service);

 private:
  Answer events(const Request& req);
  Answer waiting_room(const Request& req, Service& service);
  Answer clinic_day(const Request& req, Service& service, std::string_view zone);

  // The waiting room's scan of the concert log up to `end`: from the end it
  // first reached, backwards until a TokenIssued (the newest one holds the
  // highest seq), and forwards as the log grows; at most kEventsScanMax a
  // request.
  struct IssuedScan {
    bool started = false;
    bool found = false;      // a TokenIssued was met going backwards
    uint64_t back = 0;       // events below this are not scanned yet
    uint64_t forward = 0;    // events from this on are not scanned yet
    int64_t issued_seq = 0;  // the highest seq issued seen
  };
  Status scan_issued(EventLog& log, uint64_t end);

  ConsoleLogs logs_;
  std::mutex scan_mu_;
  IssuedScan scan_;
};

}  // namespace reservoir::api
