// Dialects: how the booking loop's requests are said, and their answers read,
// in each API dialect of SPEC §5 (canonical §2, concert-events §5.3,
// queue-tokens §5.4). The same engine commands go out whatever the dialect;
// only routes, token header, bodies and envelopes differ.
//
//   token   canonical       POST /api/v1/queue/token {userId}
//           concert-events  POST /api/v1/queue/token {userId}
//           queue-tokens    POST /v1/queue-tokens/users/{userId}
//   hold    canonical       POST /api/v1/reservations {concertScheduleId, seatId}
//           concert-events  POST /api/v1/concert-events/{scheduleId}/occupy {seatId},
//                           then .../reserve {seatId} for the reservation's id
//           queue-tokens    POST /v1/reservations {userId, concertId, scheduleId, seatIds}
//   charge  canonical       POST /api/v1/balance/charge {userId, amount}
//           concert-events  PATCH /api/v1/users/{userId}/wallet/charge {amount}
//           queue-tokens    POST /v1/balance/users/{userId}/recharge {amount}
//   pay     canonical       POST /api/v1/payments {reservationId}
//           concert-events  POST /api/v1/payments {reservationId}
//           queue-tokens    POST /v1/payments/users/{userId} {reservationId}
//
// Token header: Queue-Token | User-Token | TOKEN-ID (the decimal tokenId).
// Reservation ids: the canonical UUID as a JSON string | the sequence number
// as a JSON integer (both dialects). Builders append into the request's
// reused buffers (no temporaries); readers are string searches, no parser.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace reservoir::tools::bench {

enum class Dialect { kCanonical, kConcertEvents, kQueueTokens };

// "canonical" | "concert-events" | "queue-tokens".
const char* dialect_name(Dialect d);
std::optional<Dialect> parse_dialect(std::string_view name);

// One request as a flow asks for it; the buffers are reused between requests.
struct HttpRequest {
  enum class Method { kGet, kPost, kPatch, kDelete };
  Method method = Method::kGet;
  std::string path;
  std::string body;                          // JSON for POST and PATCH
  std::string token;                         // sent in `token_header`; empty for none
  const char* token_header = "Queue-Token";  // the dialect's (token_header_of)
};

const char* token_header_of(Dialect d);

// The booking's requests. `seat` is the seat's number, which is its id in the
// bench's catalog; ids go out as JSON strings in every dialect (SPEC §5.2).
void token_request(HttpRequest& r, Dialect d, const std::string& user);
void hold_request(HttpRequest& r, Dialect d, const std::string& user, const std::string& token,
                  std::string_view concert, std::string_view schedule, int64_t seat);
// concert-events only: the read-your-hold step that names the reservation.
void reserve_request(HttpRequest& r, const std::string& token, std::string_view schedule,
                     int64_t seat);
void charge_request(HttpRequest& r, Dialect d, const std::string& user, int64_t amount);
void pay_request(HttpRequest& r, Dialect d, const std::string& user, const std::string& token,
                 const std::string& reservation);

// Reads a token answer into `token` (what the dialect's header carries): true
// when it is ACTIVE. concert-events does not say; a zero estimatedWaitingTime
// counts as ACTIVE, and a hold then tells (kTokenRefused).
bool read_token(Dialect d, std::string_view body, std::string& token);
// Reads a reservation id and its price: the hold's answer (canonical,
// queue-tokens) or reserve's (concert-events). Missing fields read as empty
// and 0; the pay that follows is then refused and counted as an error.
void read_reservation(Dialect d, std::string_view body, std::string& reservation, int64_t& price);

// What a refused hold, reserve or pay means to the booking loop, whatever the
// dialect's words (SPEC §5.5).
enum class Refusal { kSeatTaken, kSeatLimit, kTokenRefused, kOther };
Refusal refusal(Dialect d, int status, std::string_view code);
// Whether a refused pay says the token is gone (unknown or expired), so the
// user needs a new one.
bool token_gone(Dialect d, int status, std::string_view code);

// The error code of an answer: the "code" string of the canonical and
// concert-events envelopes, the "message" of queue-tokens' (whose "code" is
// the status); "" when the body has none.
std::string_view error_code(std::string_view body, Dialect d = Dialect::kCanonical);

}  // namespace reservoir::tools::bench
