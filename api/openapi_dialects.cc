// The route tables and component schemas the OpenAPI documents are generated
// from (openapi.h): SPEC §2 (canonical), §5.3 (concert-events), §5.4
// (queue-tokens), §6 (clinic: the request schemas of seeds 003/004, enums as
// the seeds spell them), error codes and messages of §2, §5.5 and §6.2, ids
// of §5.2.
#include "api/openapi.h"

namespace reservoir::api::openapi_detail {

namespace {

constexpr char kCommonComponents[] = R"json({
  "schemas": {
    "Id": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$",
           "description": "1-64 characters of [A-Za-z0-9._:-]"},
    "NumericId": {
      "description": "An id: a JSON integer when canonical decimal in int64 range, else a string",
      "oneOf": [{"type": "integer", "format": "int64", "minimum": 0},
                {"$ref": "#/components/schemas/Id"}]}
  },
  "parameters": {
    "UserId": {"name": "userId", "in": "path", "required": true,
      "schema": {"$ref": "#/components/schemas/Id"}},
    "ConcertId": {"name": "concertId", "in": "path", "required": true,
      "schema": {"$ref": "#/components/schemas/Id"}},
    "IdempotencyKey": {"name": "Idempotency-Key", "in": "header", "required": false,
      "description": "A retry with it gets the first answer; another request with it, 422",
      "schema": {"$ref": "#/components/schemas/Id"}},
    "AdminKey": {"name": "Admin-Key", "in": "header", "required": true,
      "schema": {"type": "string"}},
    "Limit": {"name": "limit", "in": "query", "required": false,
              "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
    "Cursor": {"name": "cursor", "in": "query", "required": false,
               "description": "nextCursor of the previous page", "schema": {"type": "string"}},
    "ReservoirMinOffset": {"name": "Reservoir-Min-Offset", "in": "header", "required": false,
      "description":
        "Answer once this node applied this many events (a command's Reservoir-Offset)",
      "schema": {"type": "integer", "minimum": 0}}
  },
  "headers": {
    "RetryAfter": {"description": "Seconds to wait before retrying", "schema": {"type": "integer",
      "minimum": 0}},
    "ReservoirOffset": {"description":
        "Events in the domain's log once the command's events are in it",
      "schema": {"type": "integer", "minimum": 0}},
    "ReservoirApplied": {"description":
        "Events of the domain's log the answering node's views reflected",
      "schema": {"type": "integer", "minimum": 0}},
    "Location": {"description": "The same path and query string on the writer (--writer-url)",
      "schema": {"type": "string", "format": "uri"}}
  }
})json";

constexpr char kCanonicalComponents[] = R"json({
  "schemas": {
    "CanonicalError": {"type": "object", "required": ["result", "error"], "properties": {
      "result": {"type": "string", "enum": ["ERROR"]},
      "error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}}}}},
    "IssueTokenRequest": {"type": "object", "required": ["userId"], "properties": {
      "userId": {"$ref": "#/components/schemas/Id"}}},
    "QueueToken": {"type": "object",
      "required": ["token", "tokenStatus", "position", "estimatedWaitSeconds", "expiresAt"],
        "properties": {
      "token": {"type": "string"},
      "tokenStatus": {"type": "string", "enum": ["WAITING", "ACTIVE", "EXPIRED"]},
      "position": {"type": "integer", "minimum": 0, "nullable": true},
      "estimatedWaitSeconds": {"type": "integer", "minimum": 0, "nullable": true},
      "expiresAt": {"type": "string", "format": "date-time", "nullable": true}}},
    "ConcertSummary": {"type": "object", "required": ["concertId", "title", "scheduleCount"],
      "properties": {
      "concertId": {"$ref": "#/components/schemas/Id"}, "title": {"type": "string"},
      "scheduleCount": {"type": "integer", "minimum": 0}}},
    "Schedule": {"type": "object", "required": ["concertScheduleId", "date", "startsAt",
      "reservationOpensAt", "availableSeats", "totalSeats"], "properties": {
      "concertScheduleId": {"$ref": "#/components/schemas/Id"},
      "date": {"type": "string", "format": "date"},
      "startsAt": {"type": "string", "format": "date-time"},
      "reservationOpensAt": {"type": "string", "format": "date-time"},
      "availableSeats": {"type": "integer", "minimum": 0},
      "totalSeats": {"type": "integer", "minimum": 0}}},
    "Seat": {"type": "object", "required": ["seatId", "number", "price", "status"], "properties": {
      "seatId": {"$ref": "#/components/schemas/Id"}, "number": {"type": "integer", "minimum": 1},
      "price": {"type": "integer", "format": "int64", "minimum": 0},
      "status": {"type": "string", "enum": ["AVAILABLE", "HELD", "SOLD"]}}},
    "HoldRequest": {"type": "object", "required": ["concertScheduleId"], "properties": {
      "concertScheduleId": {"$ref": "#/components/schemas/Id"},
      "seatId": {"$ref": "#/components/schemas/Id"},
      "seatIds": {"type": "array", "minItems": 1, "uniqueItems": true,
                  "items": {"$ref": "#/components/schemas/Id"}}},
      "oneOf": [{"required": ["seatId"]}, {"required": ["seatIds"]}]},
    "ReservedSeat": {"type": "object", "required": ["seatId", "number", "price"], "properties": {
      "seatId": {"$ref": "#/components/schemas/Id"}, "number": {"type": "integer", "minimum": 1},
      "price": {"type": "integer", "format": "int64", "minimum": 0}}},
    "Reservation": {"type": "object", "required": ["reservationId", "userId", "concertScheduleId",
      "seats", "totalPrice", "status", "createdAt", "expiresAt"], "properties": {
      "reservationId": {"$ref": "#/components/schemas/Id"},
      "userId": {"$ref": "#/components/schemas/Id"},
      "concertScheduleId": {"$ref": "#/components/schemas/Id"},
      "seats": {"type": "array", "items": {"$ref": "#/components/schemas/ReservedSeat"}},
      "totalPrice": {"type": "integer", "format": "int64", "minimum": 0},
      "status": {"type": "string",
                 "enum": ["PENDING_PAYMENT", "CONFIRMED", "EXPIRED", "CANCELLED", "REFUNDED"]},
      "createdAt": {"type": "string", "format": "date-time"},
      "expiresAt": {"type": "string", "format": "date-time"},
      "paidAt": {"type": "string", "format": "date-time", "nullable": true}}},
    "ReservationPage": {"type": "object", "required": ["items", "nextCursor"], "properties": {
      "items": {"type": "array", "items": {"$ref": "#/components/schemas/Reservation"}},
      "nextCursor": {"type": "string", "nullable": true}}},
    "PayRequest": {"type": "object", "required": ["reservationId"], "properties": {
      "reservationId": {"$ref": "#/components/schemas/Id"}}},
    "Payment": {"type": "object",
      "required": ["paymentId", "reservationId", "amount", "status", "paidAt", "balance"],
        "properties": {
      "paymentId": {"$ref": "#/components/schemas/Id"},
      "reservationId": {"$ref": "#/components/schemas/Id"},
      "amount": {"type": "integer", "format": "int64", "minimum": 0},
      "status": {"type": "string", "enum": ["COMPLETED"]},
      "paidAt": {"type": "string", "format": "date-time"},
      "balance": {"type": "integer", "format": "int64", "minimum": 0}}},
    "PaymentItem": {"type": "object",
      "required": ["paymentId", "reservationId", "amount", "status", "paidAt"], "properties": {
      "paymentId": {"$ref": "#/components/schemas/Id"},
      "reservationId": {"$ref": "#/components/schemas/Id"},
      "amount": {"type": "integer", "format": "int64", "minimum": 0},
      "status": {"type": "string", "enum": ["COMPLETED", "REFUNDED"]},
      "paidAt": {"type": "string", "format": "date-time"}}},
    "PaymentPage": {"type": "object", "required": ["items", "nextCursor"], "properties": {
      "items": {"type": "array", "items": {"$ref": "#/components/schemas/PaymentItem"}},
      "nextCursor": {"type": "string", "nullable": true}}},
    "Balance": {"type": "object", "required": ["userId", "balance"], "properties": {
      "userId": {"$ref": "#/components/schemas/Id"},
      "balance": {"type": "integer", "format": "int64", "minimum": 0}}},
    "ChargeRequest": {"type": "object", "required": ["userId", "amount"], "properties": {
      "userId": {"$ref": "#/components/schemas/Id"},
      "amount": {"type": "integer", "minimum": 1, "maximum": 1000000000}}},
    "CreateUserRequest": {"type": "object", "required": ["userId"], "properties": {
      "userId": {"$ref": "#/components/schemas/Id"}, "name": {"type": "string"}}},
    "CreatedUser": {"type": "object", "required": ["userId"], "properties": {
      "userId": {"$ref": "#/components/schemas/Id"}}},
    "CreateConcertRequest": {"type": "object", "required": ["title", "schedules"], "properties": {
      "concertId": {"$ref": "#/components/schemas/Id"}, "title": {"type": "string"},
      "schedules": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["startsAt", "seats"], "properties": {
          "concertScheduleId": {"$ref": "#/components/schemas/Id"},
          "startsAt": {"type": "string", "format": "date-time"},
          "reservationOpensAt": {"type": "string", "format": "date-time",
                                 "description": "strictly before startsAt; omitted: open at once"},
          "seats": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["number", "price"], "properties": {
              "seatId": {"$ref": "#/components/schemas/Id"},
              "number": {"type": "integer", "minimum": 1},
              "price": {"type": "integer", "format": "int64", "minimum": 0}}}}}}}}},
    "CreatedConcert": {"type": "object", "required": ["concertId", "schedules"], "properties": {
      "concertId": {"$ref": "#/components/schemas/Id"},
      "schedules": {"type": "array", "items": {
        "type": "object", "required": ["concertScheduleId", "seats"], "properties": {
          "concertScheduleId": {"$ref": "#/components/schemas/Id"},
          "seats": {"type": "array", "items": {
            "type": "object", "required": ["seatId", "number"], "properties": {
              "seatId": {"$ref": "#/components/schemas/Id"},
              "number": {"type": "integer", "minimum": 1}}}}}}}}}
  },
  "parameters": {
    "ConcertScheduleId": {"name": "concertScheduleId", "in": "path", "required": true,
                          "schema": {"$ref": "#/components/schemas/Id"}},
    "ReservationId": {"name": "reservationId", "in": "path", "required": true,
                      "schema": {"$ref": "#/components/schemas/Id"}},
    "QueueToken": {"name": "Queue-Token", "in": "header", "required": false,
      "description": "The queue token; when absent, a JSON body's top-level string 'token'",
      "schema": {"type": "string"}},
    "AvailableOnly": {"name": "status", "in": "query", "required": false,
      "description": "AVAILABLE: only what can be booked now",
      "schema": {"type": "string", "enum": ["AVAILABLE"]}},
    "BalanceUserId": {"name": "userId", "in": "query", "required": true,
                      "schema": {"$ref": "#/components/schemas/Id"}}
  }
})json";

constexpr char kConcertEventsComponents[] = R"json({
  "schemas": {
    "CeError": {"type": "object", "required": ["error"], "properties": {
      "error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}}}}},
    "CeTokenRequest": {"type": "object", "required": ["userId"], "properties": {
      "userId": {"$ref": "#/components/schemas/NumericId"}}},
    "CeToken": {"type": "object", "required": ["token", "estimatedWaitingTime"], "properties": {
      "token": {"type": "string"},
      "estimatedWaitingTime": {"type": "integer", "minimum": 0, "description": "minutes"}}},
    "CeQueueStatus": {"type": "object", "required": ["queuePosition", "estimatedWaitingTime"],
      "properties": {
      "queuePosition": {"type": "integer", "minimum": 0},
      "estimatedWaitingTime": {"type": "integer", "minimum": 0, "description": "minutes"}}},
    "CeEvent": {"type": "object", "required": ["id", "date"], "properties": {
      "id": {"$ref": "#/components/schemas/NumericId"}, "date": {"type": "string",
        "format": "date"}}},
    "CeSeat": {"type": "object", "required": ["id", "seatNumber", "price"], "properties": {
      "id": {"$ref": "#/components/schemas/NumericId"}, "seatNumber": {"type": "string"},
      "price": {"type": "integer", "format": "int64", "minimum": 0}}},
    "CeSeatRequest": {"type": "object", "required": ["seatId"], "properties": {
      "seatId": {"$ref": "#/components/schemas/NumericId"}}},
    "CeOccupation": {"type": "object", "required": ["id", "seatNumber", "price", "expirationTime"],
      "properties": {
      "id": {"$ref": "#/components/schemas/NumericId"}, "seatNumber": {"type": "string"},
      "price": {"type": "integer", "format": "int64", "minimum": 0},
      "expirationTime": {"type": "string", "format": "date-time"}}},
    "CeReservation": {"type": "object",
      "required": ["id", "concertEventId", "totalSeats", "totalAmount", "createdAt"],
        "properties": {
      "id": {"type": "integer", "format": "int64", "minimum": 1},
      "concertEventId": {"$ref": "#/components/schemas/NumericId"},
      "totalSeats": {"type": "integer", "minimum": 1},
      "totalAmount": {"type": "integer", "format": "int64", "minimum": 0},
      "createdAt": {"type": "string", "format": "date-time"}}},
    "CePayRequest": {"type": "object", "required": ["reservationId"], "properties": {
      "reservationId": {"$ref": "#/components/schemas/NumericId"}}},
    "CePayment": {"type": "object", "required": ["id", "reservationId", "amount", "status",
      "paidAt"], "properties": {
      "id": {"type": "integer", "format": "int64", "minimum": 1},
      "reservationId": {"type": "integer", "format": "int64", "minimum": 1},
      "amount": {"type": "integer", "format": "int64", "minimum": 0},
      "status": {"type": "string", "enum": ["success", "refunded"]},
      "paidAt": {"type": "string", "format": "date-time"}}},
    "CeWallet": {"type": "object", "required": ["balance"], "properties": {
      "balance": {"type": "integer", "format": "int64", "minimum": 0}}},
    "CeChargeRequest": {"type": "object", "required": ["amount"], "properties": {
      "amount": {"type": "integer", "minimum": 1, "maximum": 1000000000}}}
  },
  "parameters": {
    "ConcertEventId": {"name": "concertEventId", "in": "path", "required": true,
                       "schema": {"$ref": "#/components/schemas/Id"}},
    "UserToken": {"name": "User-Token", "in": "header", "required": true,
                  "description": "The queue token", "schema": {"type": "string"}},
    "CeLimit": {"name": "limit", "in": "query", "required": false,
                "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 100}}
  }
})json";

constexpr char kQueueTokensComponents[] = R"json({
  "schemas": {
    "QtError": {"type": "object", "required": ["code", "message"], "properties": {
      "code": {"type": "integer", "description": "the HTTP status"},
        "message": {"type": "string"}}},
    "QtTime": {"type": "string", "description": "UTC, no offset",
               "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$"},
    "QtToken": {"type": "object", "required": ["tokenId", "createdAt", "expiredAt"], "properties": {
      "tokenId": {"type": "integer", "format": "int64", "minimum": 1},
      "createdAt": {"$ref": "#/components/schemas/QtTime"},
      "expiredAt": {"type": "string", "nullable": true,
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$"}}},
    "QtQueueStatus": {"type": "object",
      "required": ["queueId", "joinAt", "status", "remainingWaitListCount"], "properties": {
      "queueId": {"type": "integer", "format": "int64", "minimum": 1},
      "joinAt": {"$ref": "#/components/schemas/QtTime"},
      "status": {"type": "string", "enum": ["WAITING", "ACTIVE", "EXPIRED"]},
      "remainingWaitListCount": {"type": "integer", "minimum": 0}}},
    "QtSchedules": {"type": "object", "required": ["concertId", "events"], "properties": {
      "concertId": {"$ref": "#/components/schemas/NumericId"},
      "events": {"type": "array", "items": {
        "type": "object", "required": ["scheduleId", "concertAt", "reservationAt"], "properties": {
          "scheduleId": {"$ref": "#/components/schemas/NumericId"},
          "concertAt": {"$ref": "#/components/schemas/QtTime"},
          "reservationAt": {"$ref": "#/components/schemas/QtTime"}}}}}},
    "QtSeats": {"type": "object", "required": ["concertId", "concertAt", "seats"], "properties": {
      "concertId": {"$ref": "#/components/schemas/NumericId"},
      "concertAt": {"$ref": "#/components/schemas/QtTime"},
      "seats": {"type": "array", "items": {
        "type": "object", "required": ["seatId", "seatNumber", "seatStatus", "seatPrice"],
          "properties": {
          "seatId": {"$ref": "#/components/schemas/NumericId"},
          "seatNumber": {"type": "integer", "minimum": 1},
          "seatStatus": {"type": "string", "enum": ["AVAILABLE", "UNAVAILABLE"]},
          "seatPrice": {"type": "integer", "format": "int64", "minimum": 0}}}}}},
    "QtReservationRequest": {"type": "object",
      "required": ["userId", "concertId", "scheduleId", "seatIds"], "properties": {
      "userId": {"$ref": "#/components/schemas/NumericId"},
      "concertId": {"$ref": "#/components/schemas/NumericId"},
      "scheduleId": {"$ref": "#/components/schemas/NumericId"},
      "seatIds": {"type": "array", "minItems": 1, "uniqueItems": true,
                  "items": {"$ref": "#/components/schemas/NumericId"}}}},
    "QtReservation": {"type": "object", "required": ["reservationId", "concertId", "concertName",
      "concertAt", "seats", "totalPrice", "reservationStatus"], "properties": {
      "reservationId": {"type": "integer", "format": "int64", "minimum": 1},
      "concertId": {"$ref": "#/components/schemas/NumericId"},
      "concertName": {"type": "string"},
      "concertAt": {"$ref": "#/components/schemas/QtTime"},
      "seats": {"type": "array", "items": {
        "type": "object", "required": ["seatNumber", "price"], "properties": {
          "seatNumber": {"type": "integer", "minimum": 1},
          "price": {"type": "integer", "format": "int64", "minimum": 0}}}},
      "totalPrice": {"type": "integer", "format": "int64", "minimum": 0},
      "reservationStatus": {"type": "string", "enum": ["PAYMENT_PENDING"]}}},
    "QtPayRequest": {"type": "object", "required": ["reservationId"], "properties": {
      "reservationId": {"$ref": "#/components/schemas/NumericId"}}},
    "QtPayment": {"type": "object", "required": ["paymentId", "amount", "paymentStatus"],
      "properties": {
      "paymentId": {"type": "integer", "format": "int64", "minimum": 1},
      "amount": {"type": "integer", "format": "int64", "minimum": 0},
      "paymentStatus": {"type": "string", "enum": ["COMPLETED"]}}},
    "QtRechargeRequest": {"type": "object", "required": ["amount"], "properties": {
      "amount": {"type": "integer", "minimum": 1, "maximum": 1000000000}}},
    "QtBalance": {"type": "object", "required": ["userId", "currentAmount"], "properties": {
      "userId": {"$ref": "#/components/schemas/NumericId"},
      "currentAmount": {"type": "integer", "format": "int64", "minimum": 0}}}
  },
  "parameters": {
    "ScheduleId": {"name": "scheduleId", "in": "path", "required": true,
                   "schema": {"$ref": "#/components/schemas/Id"}},
    "TokenId": {"name": "TOKEN-ID", "in": "header", "required": true,
                "description": "The queue token's tokenId, of the user the path or body names",
                "schema": {"type": "integer", "format": "int64", "minimum": 1}}
  }
})json";

constexpr char kClinicComponents[] = R"json({
  "schemas": {
    "ClinicError": {"type": "object",
      "required": ["status", "message", "className", "errorProperties"], "properties": {
      "status": {"type": "integer", "description": "the HTTP status"},
      "message": {"type": "string", "description": "the exception, e.g. InvalidRequestException"},
      "className": {"type": "string", "description": "the exception again"},
      "errorProperties": {"type": "array", "items": {
        "type": "object", "required": ["key", "reason"], "properties": {
          "key": {"type": "string",
            "description": "the property, e.g. occupiedResources[1].startDateTimeUtc; '' for a body that is not JSON"},
          "reason": {"type": "string", "description":
            "Required, Invalid, NotFound, NotAvailable, Cancelled, AlreadyExists, Reused or Disabled"}}}}}},
    "ObjectId": {"type": "string", "format": "object-id", "pattern": "^[A-Za-z0-9._:-]{1,64}$",
      "description": "An id: 1-64 characters of [A-Za-z0-9._:-] (generated ids: 24 lower-case hex digits)"},
    "ReserveByVisitorIdCommand": {"type": "object", "description":
      "Deprecated (seed 003): one occupied resource; the reception zone is zoneId",
      "required": ["visitorId", "reservationGroupId", "zoneId", "startDateTimeUtc",
        "endDateTimeUtc"], "properties": {
      "visitorId": {"$ref": "#/components/schemas/ObjectId"},
      "reservationGroupId": {"$ref": "#/components/schemas/ObjectId"},
      "zoneId": {"$ref": "#/components/schemas/ObjectId"},
      "startDateTimeUtc": {"type": "string", "format": "date-time", "description": "start (UTC)"},
      "endDateTimeUtc": {"type": "string", "format": "date-time",
                         "description": "end (UTC), after the start"},
      "consultationRequired": {"type": "boolean", "description": "consultation needed"},
      "sedationRequired": {"type": "boolean", "description": "sedation needed"},
      "funnelDetail": {"type": "string", "description": "how the visitor found the clinic"},
      "requestedProcedures": {"$ref": "#/components/schemas/ReservationRequestedProcedures"},
      "reservationMemo": {"type": "string", "description": "memo"}}},
    "OpenReserveCommandV2": {"type": "object", "description":
      "V2 reserve: seed 004's update body with visitorId instead of scheduleId",
      "required": ["visitorId", "zoneId", "occupiedResources"], "properties": {
      "visitorId": {"$ref": "#/components/schemas/ObjectId"},
      "zoneId": {"$ref": "#/components/schemas/ObjectId"},
      "occupiedResources": {"$ref": "#/components/schemas/OccupiedResources"},
      "reservationAssignee": {"$ref": "#/components/schemas/ReservationAssignee"},
      "consultationRequired": {"type": "boolean", "description": "consultation needed"},
      "sedationRequired": {"type": "boolean", "description": "sedation needed"},
      "counselor": {"$ref": "#/components/schemas/Counselor"},
      "funnel": {"$ref": "#/components/schemas/ReservationFunnel"},
      "reservationMemo": {"type": "string", "description": "memo"},
      "requestedProcedures": {"$ref": "#/components/schemas/ReservationRequestedProcedures"},
      "connectedChannel": {"$ref": "#/components/schemas/ConnectedChannel"}}},
    "OpenUpdateReservationCommandV2": {"type": "object", "description":
      "V2 update (seed 004): reception zone and resources replaced; each optional field given replaces, absent keeps",
      "required": ["scheduleId", "zoneId", "occupiedResources"], "properties": {
      "scheduleId": {"$ref": "#/components/schemas/ObjectId"},
      "zoneId": {"$ref": "#/components/schemas/ObjectId"},
      "occupiedResources": {"$ref": "#/components/schemas/OccupiedResources"},
      "reservationAssignee": {"$ref": "#/components/schemas/ReservationAssignee"},
      "consultationRequired": {"type": "boolean", "description": "consultation needed"},
      "sedationRequired": {"type": "boolean", "description": "sedation needed"},
      "counselor": {"$ref": "#/components/schemas/Counselor"},
      "funnel": {"$ref": "#/components/schemas/ReservationFunnel"},
      "reservationMemo": {"type": "string", "description": "memo"},
      "requestedProcedures": {"$ref": "#/components/schemas/ReservationRequestedProcedures"},
      "connectedChannel": {"$ref": "#/components/schemas/ConnectedChannel"}}},
    "CancelReservationCommand": {"type": "object", "required": ["scheduleId"], "properties": {
      "scheduleId": {"$ref": "#/components/schemas/ObjectId"}}},
    "OccupiedResources": {"type": "array", "minItems": 1, "maxItems": 32,
      "description": "all starting on one clinic day",
      "items": {"$ref": "#/components/schemas/OccupiedResource"}},
    "OccupiedResource": {"type": "object",
      "description": "An occupied time; reservationGroup is its configuration (the only type)",
      "required": ["startDateTimeUtc", "endDateTimeUtc", "reservationGroup"], "properties": {
      "startDateTimeUtc": {"type": "string", "format": "date-time", "description": "start (UTC)"},
      "endDateTimeUtc": {"type": "string", "format": "date-time",
                         "description": "end (UTC), after the start"},
      "reservationGroup": {"$ref": "#/components/schemas/OccupiedReservationGroupResource"}}},
    "OccupiedReservationGroupResource": {"type": "object",
      "required": ["reservationGroupId", "zoneId"], "properties": {
      "reservationGroupId": {"$ref": "#/components/schemas/ObjectId"},
      "zoneId": {"allOf": [{"$ref": "#/components/schemas/ObjectId"}],
                 "description": "the occupied zone, one of the group's"},
      "doctor": {"$ref": "#/components/schemas/Doctor"}}},
    "Doctor": {"type": "object", "required": ["id", "name"], "properties": {
      "id": {"$ref": "#/components/schemas/ObjectId"},
      "name": {"type": "string", "minLength": 1}}},
    "Counselor": {"type": "object", "required": ["id", "name"], "properties": {
      "id": {"$ref": "#/components/schemas/ObjectId"},
      "name": {"type": "string", "minLength": 1}}},
    "ReservationAssignee": {"type": "object", "required": ["id", "name"], "properties": {
      "id": {"type": "string", "minLength": 1}, "name": {"type": "string", "minLength": 1}}},
    "ReservationFunnel": {"type": "object", "properties": {
      "funnel": {"$ref": "#/components/schemas/Code"},
      "funnelDetail": {"type": "string"},
      "funnelCategory": {"$ref": "#/components/schemas/Code"}}},
    "Code": {"type": "object", "properties": {
      "id": {"type": "string"},
      "category": {"type": "string", "enum": ["CODE_CATEGORY_UNSPECIFIED", "FUNNEL",
        "EXPOSURE_CHANNEL", "ETCETRA_PRODUCT_CATEGORY", "IMAGE_EQUIPMENT",
        "CALL_CONSULTATION_RESULT", "IMAGE_CATEGORY", "FUNNEL_CATEGORY", "VISITOR_CATEGORY",
        "ACCOUNT_STATUS"]},
      "name": {"type": "string"},
      "order": {"type": "integer", "format": "int32"},
      "closed": {"type": "boolean"},
      "color": {"type": "string", "enum": ["CodeColor_UNSPECIFIED", "RED", "LAVA", "ORANGE",
        "GREEN", "CYAN", "BLUE", "PURPLE", "MAGENTA", "GRAY"]},
      "default": {"type": "boolean"}}},
    "ConnectedChannel": {"type": "string", "description": "inflow channel (seed 004's spelling)",
      "enum": ["Channel_UNSPEICIFED", "GANGNAMUNNI", "HOMEPAGE", "KOS_CONNECT"]},
    "ReservationRequestedProcedures": {"type": "array", "maxItems": 100,
      "description": "requested procedures",
      "items": {"$ref": "#/components/schemas/ReservationRequestedProcedure"}},
    "ReservationRequestedProcedure": {"type": "object", "required": ["type"], "properties": {
      "type": {"type": "string", "description": "OPTION: a product option, TICKET: a ticket",
        "enum": ["RESERVATION_REQUESTED_PROCEDURE_TYPE_UNSPECIFIED", "OPTION", "TICKET"]},
      "optionConfiguration":
        {"$ref": "#/components/schemas/ReservationRequestedOptionConfiguration"},
      "ticketConfiguration":
        {"$ref": "#/components/schemas/ReservationRequestedTicketConfiguration"}}},
    "ReservationRequestedOptionConfiguration": {"type": "object",
      "description": "when type is OPTION",
      "required": ["optionId", "optionTitle", "price"], "properties": {
      "optionId": {"type": "string", "minLength": 1},
      "optionTitle": {"type": "string", "minLength": 1},
      "productTitle": {"type": "string"},
      "promotionTitle": {"type": "string"},
      "price": {"$ref": "#/components/schemas/ReservationRequestedOptionPrice"},
      "medicalService": {"$ref": "#/components/schemas/MedicalService"}}},
    "ReservationRequestedTicketConfiguration": {"type": "object",
      "description": "when type is TICKET",
      "required": ["ticketId", "ticketTitle", "optionTitle"], "properties": {
      "ticketId": {"type": "string", "minLength": 1},
      "ticketTitle": {"type": "string", "minLength": 1},
      "optionTitle": {"type": "string", "minLength": 1},
      "medicalService": {"$ref": "#/components/schemas/MedicalService"}}},
    "ReservationRequestedOptionPrice": {"type": "object", "properties": {
      "amount": {"type": "integer", "format": "int32"},
      "currency": {"type": "string"},
      "reason": {"$ref": "#/components/schemas/ReservationRequestedOptionPriceReason"}}},
    "ReservationRequestedOptionPriceReason": {"type": "object", "properties": {
      "type": {"type": "string", "enum": [
        "RESERVATION_REQUESTED_OPTION_PRICE_REASON_TYPE_UNSPECIFIED", "GENERAL", "PROMOTION",
        "VISITOR_TYPE"]},
      "promotionId": {"type": "string"},
      "visitorTypeId": {"type": "string"}}},
    "MedicalService": {"type": "object", "properties": {
      "id": {"type": "string"},
      "title": {"type": "string"},
      "translsMap": {"type": "object", "description": "translations of title, by language",
        "additionalProperties": {"$ref": "#/components/schemas/Transls"}},
      "status": {"type": "string",
                 "enum": ["MedicalServiceStatus_UNKNOWN", "DRAFT", "PUBLISHED"]},
      "deleted": {"type": "boolean"},
      "configuration": {"$ref": "#/components/schemas/MedicalServiceConfiguration"},
      "draftedDateTimeUtc": {"type": "string"},
      "updatedDateTimeUtc": {"type": "string"},
      "priceAmount": {"$ref": "#/components/schemas/PriceAmount"},
      "description": {"type": "string"},
      "caution": {"type": "string"},
      "recommendedInterval": {"type": "integer", "format": "int32"},
      "contributionConstant": {"type": "integer", "format": "int32"},
      "durationTime": {"type": "number", "format": "double"}}},
    "Transls": {"type": "object", "properties": {
      "translation": {"type": "object", "additionalProperties": {"type": "string"}}}},
    "MedicalServiceConfiguration": {"type": "object", "properties": {
      "code": {"type": "string"},
      "procedure": {"$ref": "#/components/schemas/MedicalServiceProcedure"},
      "machines": {"type": "array",
                   "items": {"$ref": "#/components/schemas/MedicalServiceMachine"}},
      "medicines": {"type": "array",
                    "items": {"$ref": "#/components/schemas/MedicalServiceMedicine"}},
      "unit": {"$ref": "#/components/schemas/Unit"},
      "healthcareReimbursement": {"type": "string", "enum": ["HealthcareReimbursement_UNKNOWN",
        "REIMBURSABLE", "NON_REIMBURSABLE"]},
      "taxation": {"type": "string",
                   "enum": ["Taxation_UNKNOWN", "TAXABLE", "TAX_FREE", "MIXED"]}}},
    "MedicalServiceProcedure": {"type": "object", "properties": {
      "id": {"type": "string"}, "name": {"type": "string"},
      "searchPhoneticName": {"type": "string", "description": "for the backend's search"}}},
    "MedicalServiceMachine": {"type": "object", "properties": {
      "id": {"type": "string"}, "name": {"type": "string"},
      "searchPhoneticName": {"type": "string", "description": "for the backend's search"}}},
    "MedicalServiceMedicine": {"type": "object", "properties": {
      "id": {"type": "string"}, "name": {"type": "string"},
      "searchPhoneticName": {"type": "string", "description": "for the backend's search"}}},
    "Unit": {"type": "object", "properties": {
      "type": {"type": "string", "enum": ["UnitType_UNKNOWN", "UNIT", "CC", "VIAL", "PEN",
        "STRING", "SHOT", "PAD", "MINUTE", "KJ", "QUANTITY", "DOT", "J", "MG", "G", "PULSE",
        "BOTTLE", "SYRINGE", "PASS", "IU", "KHZ", "MHZ"]},
      "value": {"type": "integer", "format": "int32"}}},
    "PriceAmount": {"type": "object", "properties": {
      "value": {"type": "integer", "format": "int32"}, "currency": {"type": "string"}}},
    "ReserveCommandResponse": {"type": "object", "required": ["reservationId"], "properties": {
      "reservationId": {"type": "string", "format": "uuid",
                        "description": "the schedule's id (V2's scheduleId)"}}},
    "Empty": {"type": "object", "properties": {}},
    "CreateVisitorCommand": {"type": "object", "required": ["name"], "properties": {
      "visitorId": {"allOf": [{"$ref": "#/components/schemas/ObjectId"}],
                    "description": "omitted: generated"},
      "name": {"type": "string", "minLength": 1, "maxLength": 200}}},
    "CreatedVisitor": {"type": "object", "required": ["visitorId"], "properties": {
      "visitorId": {"$ref": "#/components/schemas/ObjectId"}}},
    "CreateZoneCommand": {"type": "object", "required": ["name"], "properties": {
      "zoneId": {"allOf": [{"$ref": "#/components/schemas/ObjectId"}],
                 "description": "omitted: generated"},
      "name": {"type": "string", "minLength": 1, "maxLength": 200},
      "capacity": {"type": "integer", "minimum": 1, "maximum": 1000000,
        "description": "occupied resources that may overlap at one instant; omitted: unlimited"}}},
    "CreatedZone": {"type": "object", "required": ["zoneId"], "properties": {
      "zoneId": {"$ref": "#/components/schemas/ObjectId"}}},
    "CreateReservationGroupCommand": {"type": "object", "required": ["name", "zoneIds"],
      "properties": {
      "reservationGroupId": {"allOf": [{"$ref": "#/components/schemas/ObjectId"}],
                             "description": "omitted: generated"},
      "name": {"type": "string", "minLength": 1, "maxLength": 200},
      "zoneIds": {"type": "array", "minItems": 1, "maxItems": 256, "uniqueItems": true,
                  "items": {"$ref": "#/components/schemas/ObjectId"}}}},
    "CreatedReservationGroup": {"type": "object", "required": ["reservationGroupId"],
      "properties": {"reservationGroupId": {"$ref": "#/components/schemas/ObjectId"}}},
    "ClinicSchedule": {"type": "object", "description":
      "A schedule, with every optional field it was given (as given)",
      "required": ["scheduleId", "visitorId", "zoneId", "status", "occupiedResources",
        "createdAt", "updatedAt"], "properties": {
      "scheduleId": {"$ref": "#/components/schemas/ObjectId"},
      "visitorId": {"$ref": "#/components/schemas/ObjectId"},
      "zoneId": {"allOf": [{"$ref": "#/components/schemas/ObjectId"}],
                 "description": "the reception zone"},
      "status": {"type": "string", "enum": ["RESERVED", "CANCELLED"]},
      "occupiedResources": {"type": "array",
                            "items": {"$ref": "#/components/schemas/OccupiedResource"}},
      "consultationRequired": {"type": "boolean"},
      "sedationRequired": {"type": "boolean"},
      "funnelDetail": {"type": "string"},
      "funnel": {"$ref": "#/components/schemas/ReservationFunnel"},
      "reservationMemo": {"type": "string"},
      "reservationAssignee": {"$ref": "#/components/schemas/ReservationAssignee"},
      "counselor": {"$ref": "#/components/schemas/Counselor"},
      "connectedChannel": {"$ref": "#/components/schemas/ConnectedChannel"},
      "requestedProcedures": {"$ref": "#/components/schemas/ReservationRequestedProcedures"},
      "createdAt": {"type": "string", "format": "date-time"},
      "updatedAt": {"type": "string", "format": "date-time"}}},
    "ClinicSchedulePage": {"type": "object", "required": ["items", "nextCursor"], "properties": {
      "items": {"type": "array", "items": {"$ref": "#/components/schemas/ClinicSchedule"}},
      "nextCursor": {"type": "string", "nullable": true}}},
    "ZoneOccupancy": {"type": "object", "required": ["zoneId", "date", "capacity", "items"],
      "properties": {
      "zoneId": {"$ref": "#/components/schemas/ObjectId"},
      "date": {"type": "string", "format": "date", "description": "the clinic day"},
      "capacity": {"type": "integer", "minimum": 1, "nullable": true,
                   "description": "null: unlimited"},
      "items": {"type": "array", "description": "RESERVED resources starting that day, by start",
        "items": {"type": "object", "required": ["scheduleId", "visitorId", "startDateTimeUtc",
          "endDateTimeUtc", "reservationGroupId", "doctor"], "properties": {
          "scheduleId": {"$ref": "#/components/schemas/ObjectId"},
          "visitorId": {"$ref": "#/components/schemas/ObjectId"},
          "startDateTimeUtc": {"type": "string", "format": "date-time"},
          "endDateTimeUtc": {"type": "string", "format": "date-time"},
          "reservationGroupId": {"$ref": "#/components/schemas/ObjectId"},
          "doctor": {"type": "object", "nullable": true,
                     "description": "the resource's doctor as given ({id, name}); null: none"}}}}}}
  },
  "parameters": {
    "ClinicScheduleId": {"name": "scheduleId", "in": "path", "required": true,
                         "schema": {"$ref": "#/components/schemas/ObjectId"}},
    "VisitorId": {"name": "visitorId", "in": "path", "required": true,
                  "schema": {"$ref": "#/components/schemas/ObjectId"}},
    "ZoneId": {"name": "zoneId", "in": "path", "required": true,
               "schema": {"$ref": "#/components/schemas/ObjectId"}},
    "From": {"name": "from", "in": "query", "required": false,
             "description": "only schedules whose first start is at or after it",
             "schema": {"type": "string", "format": "date-time"}},
    "To": {"name": "to", "in": "query", "required": false,
           "description": "only schedules whose first start is before it",
           "schema": {"type": "string", "format": "date-time"}},
    "OccupancyDate": {"name": "date", "in": "query", "required": true,
                      "description": "the clinic day (serve --clinic-utc-offset)",
                      "schema": {"type": "string", "format": "date"}},
    "ClinicIdempotencyKey": {"name": "Idempotency-Key", "in": "header", "required": false,
      "description": "A retry with it gets the first answer; another request with it, 409",
      "schema": {"$ref": "#/components/schemas/Id"}}
  },
  "securitySchemes": {
    "ClinicBearer": {"type": "http", "scheme": "bearer", "description":
      "Authorization: Bearer KEY, needed when the server runs with --clinic-api-key"}
  }
})json";

constexpr Operation kCanonicalOps[] = {
    {"POST", "/api/v1/queue/token", "IssueToken", "Issue a queue token (a live one comes back)",
     "IdempotencyKey", "IssueTokenRequest", "QueueToken",
     "404 USER_NOT_FOUND|422 IDEMPOTENCY_KEY_REUSED"},
    {"GET", "/api/v1/queue/status", "QueueStatus", "The token's state and place in the queue",
     "QueueToken", "", "QueueToken", "401 INVALID_TOKEN"},
    {"GET", "/api/v1/concerts", "ListConcerts", "Every concert", "", "", "[ConcertSummary]", ""},
    {"GET", "/api/v1/concerts/{concertId}/schedules", "ListSchedules", "A concert's schedules",
     "ConcertId AvailableOnly", "", "[Schedule]", "404 CONCERT_NOT_FOUND"},
    {"GET", "/api/v1/concerts/{concertId}/schedules/{concertScheduleId}/seats", "ListSeats",
     "A schedule's seats by number", "ConcertId ConcertScheduleId AvailableOnly", "", "[Seat]",
     "404 CONCERT_NOT_FOUND, SCHEDULE_NOT_FOUND"},
    {"POST", "/api/v1/reservations", "Hold", "Hold seats (ACTIVE token)",
     "QueueToken IdempotencyKey", "HoldRequest", "Reservation",
     "401 INVALID_TOKEN, TOKEN_EXPIRED|403 TOKEN_NOT_ACTIVE, FORBIDDEN|404 "
     "SCHEDULE_NOT_FOUND, SEAT_NOT_FOUND|409 SEAT_UNAVAILABLE, SCHEDULE_CLOSED, "
     "SCHEDULE_NOT_OPEN, SEAT_LIMIT_EXCEEDED|422 IDEMPOTENCY_KEY_REUSED"},
    {"GET", "/api/v1/reservations/{reservationId}", "GetReservation",
     "One reservation (owner's live token)", "ReservationId QueueToken", "", "Reservation",
     "401 INVALID_TOKEN, TOKEN_EXPIRED|403 FORBIDDEN|404 RESERVATION_NOT_FOUND"},
    {"DELETE", "/api/v1/reservations/{reservationId}", "Cancel",
     "Cancel a pending reservation or refund a confirmed one",
     "ReservationId QueueToken IdempotencyKey", "", "Reservation",
     "401 INVALID_TOKEN, TOKEN_EXPIRED|403 FORBIDDEN|404 RESERVATION_NOT_FOUND|409 "
     "SCHEDULE_CLOSED, RESERVATION_EXPIRED, RESERVATION_CANCELLED, "
     "BALANCE_LIMIT_EXCEEDED|422 IDEMPOTENCY_KEY_REUSED"},
    {"GET", "/api/v1/users/{userId}/reservations", "ListReservations",
     "A user's reservations, newest first", "UserId Limit Cursor", "", "ReservationPage",
     "404 USER_NOT_FOUND"},
    {"POST", "/api/v1/payments", "Pay", "Pay a pending reservation (ACTIVE token)",
     "QueueToken IdempotencyKey", "PayRequest", "Payment",
     "401 INVALID_TOKEN, TOKEN_EXPIRED|403 TOKEN_NOT_ACTIVE, FORBIDDEN|404 "
     "RESERVATION_NOT_FOUND|409 RESERVATION_EXPIRED, ALREADY_PAID, RESERVATION_CANCELLED, "
     "SCHEDULE_CLOSED, INSUFFICIENT_BALANCE|422 IDEMPOTENCY_KEY_REUSED"},
    {"GET", "/api/v1/users/{userId}/payments", "ListPayments", "A user's payments, newest first",
     "UserId Limit Cursor", "", "PaymentPage", "404 USER_NOT_FOUND"},
    {"GET", "/api/v1/balance", "GetBalance", "A user's balance", "BalanceUserId", "", "Balance",
     "404 USER_NOT_FOUND"},
    {"POST", "/api/v1/balance/charge", "Charge", "Charge a user's balance", "IdempotencyKey",
     "ChargeRequest", "Balance",
     "400 INVALID_AMOUNT|404 USER_NOT_FOUND|409 BALANCE_LIMIT_EXCEEDED|422 "
     "IDEMPOTENCY_KEY_REUSED"},
    {"POST", "/api/v1/admin/users", "CreateUser", "Register a user", "AdminKey IdempotencyKey",
     "CreateUserRequest", "CreatedUser",
     "401 ADMIN_KEY_REQUIRED|403 ADMIN_DISABLED|409 USER_EXISTS|422 IDEMPOTENCY_KEY_REUSED"},
    {"POST", "/api/v1/admin/concerts", "CreateConcert",
     "Create a concert with its schedules and seats", "AdminKey IdempotencyKey",
     "CreateConcertRequest", "CreatedConcert",
     "401 ADMIN_KEY_REQUIRED|403 ADMIN_DISABLED|409 CONCERT_EXISTS|422 "
     "IDEMPOTENCY_KEY_REUSED"},
};

constexpr Operation kConcertEventsOps[] = {
    {"POST", "/api/v1/queue/token", "IssueToken", "Issue a queue token (a live one comes back)",
     "IdempotencyKey", "CeTokenRequest", "CeToken",
     "404 not_found_user|422 reused_idempotency_key"},
    {"GET", "/api/v1/queue/status", "QueueStatus", "The token's place in the queue", "UserToken",
     "", "CeQueueStatus", "400 invalid_token|401 unauthorized|404 not_found_in_queue"},
    {"GET", "/api/v1/concerts/{concertId}/available-events", "AvailableEvents",
     "A concert's bookable events by start time", "ConcertId UserToken", "", "[CeEvent]",
     "400 invalid_token, expired_token|401 unauthorized|404 not_found_concert"},
    {"GET", "/api/v1/concert-events/{concertEventId}/available-seats", "AvailableSeats",
     "An event's available seats by number", "ConcertEventId UserToken", "", "[CeSeat]",
     "400 invalid_token, expired_token|401 unauthorized|404 not_found_concert_event"},
    {"POST", "/api/v1/concert-events/{concertEventId}/occupy", "Occupy",
     "Hold a seat (ACTIVE token)", "ConcertEventId UserToken IdempotencyKey", "CeSeatRequest",
     "CeOccupation",
     "400 invalid_token, expired_token, invalid_token_status, closed_concert_event, "
     "not_opened_concert_event, exceeded_seat_limit, invalid_seat_status|401 "
     "unauthorized|404 not_found_concert_event, not_found_seat|422 reused_idempotency_key"},
    {"POST", "/api/v1/concert-events/{concertEventId}/reserve", "Reserve",
     "The reservation holding an occupied seat (pays nothing)",
     "ConcertEventId UserToken IdempotencyKey", "CeSeatRequest", "CeReservation",
     "400 invalid_token, expired_token, occupation_expired, cancelled_reservation|401 "
     "unauthorized|404 not_found_concert_event, not_found_seat, not_found_reservation|422 "
     "reused_idempotency_key"},
    {"POST", "/api/v1/payments", "Pay", "Pay a reservation (ACTIVE token)",
     "UserToken IdempotencyKey", "CePayRequest", "CePayment",
     "400 invalid_token, expired_token, invalid_token_status, occupation_expired, "
     "already_paid, cancelled_reservation, closed_concert_event, insufficient_balance|401 "
     "unauthorized|403 forbidden|404 not_found_reservation|422 reused_idempotency_key"},
    {"GET", "/api/v1/users/{userId}/payments", "ListPayments", "A user's payments, newest first",
     "UserId CeLimit", "", "[CePayment]", "404 not_found_user"},
    {"GET", "/api/v1/users/{userId}/wallet", "Wallet", "A user's balance", "UserId", "", "CeWallet",
     "404 not_found_user"},
    {"PATCH", "/api/v1/users/{userId}/wallet/charge", "ChargeWallet", "Charge a user's balance",
     "UserId IdempotencyKey", "CeChargeRequest", "CeWallet",
     "400 invalid_amount, exceeded_balance_limit|404 not_found_user|422 "
     "reused_idempotency_key"},
};

constexpr Operation kQueueTokensOps[] = {
    {"POST", "/v1/queue-tokens/users/{userId}", "IssueToken",
     "Issue a queue token (a live one comes back)", "UserId IdempotencyKey", "", "QtToken",
     "404 user not found|422 idempotency key reused"},
    {"GET", "/v1/queue-tokens/users/{userId}", "GetToken", "The user's live token, else its newest",
     "UserId", "", "QtToken", "404 user not found, token not found"},
    {"GET", "/v1/queue-status/users/{userId}", "QueueStatus", "The token's place in the queue",
     "UserId TokenId", "", "QtQueueStatus", "401 invalid token|404 user not found"},
    {"GET", "/v1/concerts/{concertId}/schedules", "ListSchedules",
     "A concert's schedules not yet started", "ConcertId TokenId", "", "QtSchedules",
     "401 invalid token, token expired|404 concert not found"},
    {"GET", "/v1/concerts/{concertId}/schedules/{scheduleId}/seats", "ListSeats",
     "Every seat of a schedule by number", "ConcertId ScheduleId TokenId", "", "QtSeats",
     "401 invalid token, token expired|404 concert not found, schedule not found"},
    {"POST", "/v1/reservations", "Reserve", "Hold seats (ACTIVE token)", "TokenId IdempotencyKey",
     "QtReservationRequest", "QtReservation",
     "400 reservation failed, schedule closed, schedule not open, seat limit exceeded|401 "
     "invalid token, token expired|403 token not active|404 user not found, concert not "
     "found, schedule not found, seat not found|422 idempotency key reused"},
    {"POST", "/v1/payments/users/{userId}", "Pay", "Pay a reservation (ACTIVE token)",
     "UserId TokenId IdempotencyKey", "QtPayRequest", "QtPayment",
     "400 reservation expired, already paid, reservation cancelled, schedule closed, not "
     "enough balance|401 invalid token, token expired|403 token not active, forbidden|404 "
     "user not found, reservation not found|422 idempotency key reused|500 payment failed"},
    {"POST", "/v1/balance/users/{userId}/recharge", "Recharge", "Charge a user's balance",
     "UserId IdempotencyKey", "QtRechargeRequest", "QtBalance",
     "400 invalid recharge amount, balance limit exceeded|404 user not found|422 "
     "idempotency key reused|500 recharge failed"},
    {"GET", "/v1/balance/users/{userId}", "GetBalance", "A user's balance", "UserId", "",
     "QtBalance", "404 user not found"},
};

// SPEC §6.3. Commands answer 400 InvalidCommandException for the body (every
// failing property) or a bad Idempotency-Key, then InvalidRequestException for
// lookups and availability (SPEC §6.2's order).
constexpr Operation kClinicOps[] = {
    {"POST", "/schedule/open/v1/commands/reserve-by-visitor-id", "ReserveByVisitorId",
     "Reserve one resource for a visitor (seed 003; deprecated: use the V2 reserve)",
     "ClinicIdempotencyKey", "ReserveByVisitorIdCommand", "ReserveCommandResponse",
     "400 InvalidCommandException (the body: Required, Invalid; Idempotency-Key Invalid), "
     "InvalidRequestException (visitorId, reservationGroupId, zoneId NotFound; startDateTime, "
     "zoneId NotAvailable)|401 UnauthenticatedException (Authorization Required, Invalid)|409 "
     "ConflictException (Idempotency-Key Reused)",
     "ClinicBearer", true},
    {"POST", "/schedule/open/v2/commands/reserve", "ReserveV2",
     "Reserve a visit of one or more occupied resources", "ClinicIdempotencyKey",
     "OpenReserveCommandV2", "ReserveCommandResponse",
     "400 InvalidCommandException (the body: Required, Invalid, "
     "occupiedResources[n].startDateTimeUtc NotAvailable; Idempotency-Key Invalid), "
     "InvalidRequestException (visitorId, zoneId, occupiedResources[n].reservationGroupId, "
     "occupiedResources[n].zoneId NotFound; occupiedResources[n].startDateTimeUtc, "
     "occupiedResources[n].zoneId NotAvailable)|401 UnauthenticatedException (Authorization "
     "Required, Invalid)|409 ConflictException (Idempotency-Key Reused)",
     "ClinicBearer"},
    {"POST", "/schedule/open/v2/commands/update-reservation", "UpdateReservationV2",
     "Move a reservation: its reception zone and occupied resources (seed 004)",
     "ClinicIdempotencyKey", "OpenUpdateReservationCommandV2", "Empty",
     "400 InvalidCommandException (the body: Required, Invalid, "
     "occupiedResources[n].startDateTimeUtc NotAvailable; Idempotency-Key Invalid), "
     "InvalidRequestException (scheduleId, zoneId, occupiedResources[n].reservationGroupId, "
     "occupiedResources[n].zoneId NotFound; occupiedResources[n].startDateTimeUtc, "
     "occupiedResources[n].zoneId NotAvailable)|401 UnauthenticatedException (Authorization "
     "Required, Invalid)|409 ConflictException (scheduleId Cancelled, Idempotency-Key Reused)",
     "ClinicBearer"},
    {"POST", "/schedule/open/v1/commands/cancel-reservation", "CancelReservation",
     "Cancel a reservation, freeing its time", "ClinicIdempotencyKey", "CancelReservationCommand",
     "Empty",
     "400 InvalidCommandException (the body: Required, Invalid; Idempotency-Key Invalid), "
     "InvalidRequestException (scheduleId NotFound)|401 UnauthenticatedException (Authorization "
     "Required, Invalid)|409 ConflictException (scheduleId Cancelled, Idempotency-Key Reused)",
     "ClinicBearer"},
    {"GET", "/schedule/open/v1/schedules/{scheduleId}", "GetSchedule", "One schedule",
     "ClinicScheduleId", "", "ClinicSchedule",
     "401 UnauthenticatedException (Authorization Required, Invalid)|404 NotFoundException "
     "(scheduleId NotFound)",
     "ClinicBearer"},
    {"GET", "/schedule/open/v1/visitors/{visitorId}/schedules", "ListVisitorSchedules",
     "A visitor's schedules (RESERVED and CANCELLED) by first start",
     "VisitorId From To Limit Cursor", "", "ClinicSchedulePage",
     "400 InvalidCommandException (from, to, limit, cursor Invalid)|401 "
     "UnauthenticatedException (Authorization Required, Invalid)|404 NotFoundException "
     "(visitorId NotFound)",
     "ClinicBearer"},
    {"GET", "/schedule/open/v1/zones/{zoneId}/occupancy", "ZoneOccupancy",
     "A zone's reserved resources on one clinic day, by start", "ZoneId OccupancyDate", "",
     "ZoneOccupancy",
     "400 InvalidCommandException (date Required, Invalid)|401 UnauthenticatedException "
     "(Authorization Required, Invalid)|404 NotFoundException (zoneId NotFound)",
     "ClinicBearer"},
    {"POST", "/schedule/open/v1/admin/visitors", "CreateVisitor", "Register a visitor",
     "AdminKey ClinicIdempotencyKey", "CreateVisitorCommand", "CreatedVisitor",
     "400 InvalidCommandException (the body: Required, Invalid; Idempotency-Key Invalid)|401 "
     "UnauthenticatedException (Admin-Key Required, Invalid)|403 ForbiddenException (Admin-Key "
     "Disabled)|409 ConflictException (visitorId AlreadyExists, Idempotency-Key Reused)"},
    {"POST", "/schedule/open/v1/admin/zones", "CreateZone", "Create a zone",
     "AdminKey ClinicIdempotencyKey", "CreateZoneCommand", "CreatedZone",
     "400 InvalidCommandException (the body: Required, Invalid; Idempotency-Key Invalid)|401 "
     "UnauthenticatedException (Admin-Key Required, Invalid)|403 ForbiddenException (Admin-Key "
     "Disabled)|409 ConflictException (zoneId AlreadyExists, Idempotency-Key Reused)"},
    {"POST", "/schedule/open/v1/admin/reservation-groups", "CreateReservationGroup",
     "Create a reservation group of existing zones", "AdminKey ClinicIdempotencyKey",
     "CreateReservationGroupCommand", "CreatedReservationGroup",
     "400 InvalidCommandException (the body: Required, Invalid; Idempotency-Key Invalid), "
     "InvalidRequestException (zoneIds[n] NotFound)|401 UnauthenticatedException (Admin-Key "
     "Required, Invalid)|403 ForbiddenException (Admin-Key Disabled)|409 ConflictException "
     "(reservationGroupId AlreadyExists, Idempotency-Key Reused)"},
};

}  // namespace

const char* common_components() {
  return kCommonComponents;
}

const std::vector<Dialect>& dialects() {
  static const std::vector<Dialect> kDialects = {
      {"canonical", "canonical", Envelope::kCanonical, kCanonicalComponents, "CanonicalError",
       "INVALID_REQUEST", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "SERVER_ERROR",
       "OVERLOADED", "NOT_WRITER", "UNAVAILABLE", kCanonicalOps},
      {"concert-events", "concertEvents", Envelope::kConcertEvents, kConcertEventsComponents,
       "CeError", "invalid_request", "payload_too_large", "unsupported_media_type",
       "internal_server_error", "overloaded", "not_writer", "overloaded", kConcertEventsOps},
      {"queue-tokens", "queueTokens", Envelope::kQueueTokens, kQueueTokensComponents, "QtError",
       "invalid request: {field}", "payload too large", "unsupported media type",
       "internal server error", "server overloaded", "not the writer", "server overloaded",
       kQueueTokensOps},
      {"clinic", "clinic", Envelope::kClinic, kClinicComponents, "ClinicError",
       "InvalidCommandException", "PayloadTooLargeException", "UnsupportedMediaTypeException",
       "InternalServerException", "ServiceUnavailableException", "NotWriterException",
       "ServiceUnavailableException", kClinicOps},
  };
  return kDialects;
}

}  // namespace reservoir::api::openapi_detail
