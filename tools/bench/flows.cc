// The HTTP scenarios' virtual users (see flows.h). Answers are read with a
// few string searches, not a JSON parser: the load generator shares two cores
// with the server, and every cycle it spends is one the server does not get.
#include "tools/bench/flows.h"

#include <charconv>
#include <vector>

namespace reservoir::tools::bench {
namespace {

constexpr int64_t kHotSeats = 8;         // `hot`: everyone holds among these seats
constexpr int64_t kChargeAmount = 1000;  // KRW per `charge` request

std::string_view string_field(std::string_view body, std::string_view key) {
  const size_t at = body.find(key);  // key is "\"name\":\""
  if (at == std::string_view::npos) return {};
  const size_t from = at + key.size();
  const size_t to = body.find('"', from);
  return to == std::string_view::npos ? std::string_view() : body.substr(from, to - from);
}

int64_t int_field(std::string_view body, std::string_view key) {
  const size_t at = body.find(key);  // key is "\"name\":"
  if (at == std::string_view::npos) return 0;
  int64_t v = 0;
  const char* from = body.data() + at + key.size();
  std::from_chars(from, body.data() + body.size(), v);
  return v;
}

// Retrying is right when the server never judged the request.
bool unjudged(int status) {
  return status == 0 || status == 503;
}

// The users a worker owns, each with the queue token it holds (if any).
class OwnedUsers {
 public:
  OwnedUsers(const Catalog& catalog, int worker, int workers) {
    for (int64_t u = worker; u < catalog.users; u += workers) ids_.push_back(catalog.user_id(u));
    tokens_.resize(ids_.size());
  }
  const std::string& id() const { return ids_[current_]; }
  std::string& token() { return tokens_[current_]; }
  void advance() { current_ = (current_ + 1) % ids_.size(); }

 private:
  std::vector<std::string> ids_, tokens_;
  size_t current_ = 0;
};

void post(HttpRequest& r, const char* path, const std::string& token) {
  r.method = HttpRequest::Method::kPost;
  r.path = path;
  r.token = token;
  r.body.clear();
}

void token_request(HttpRequest& r, const std::string& user) {
  post(r, "/api/v1/queue/token", {});
  r.body += "{\"userId\":\"" + user + "\"}";
}

void hold_request(HttpRequest& r, const std::string& token, const std::string& schedule,
                  int64_t seat) {
  post(r, "/api/v1/reservations", token);
  r.body +=
      "{\"concertScheduleId\":\"" + schedule + "\",\"seatId\":\"" + std::to_string(seat) + "\"}";
}

// Reads a token answer: true when the token is ACTIVE (stored either way).
bool take_token(std::string_view body, std::string& token) {
  token = string_field(body, "\"token\":\"");
  return string_field(body, "\"tokenStatus\":\"") == "ACTIVE";
}

}  // namespace

namespace {

// token -> hold one seat -> charge its price -> pay: the durable mix.
class BookingFlow final : public Flow {
 public:
  explicit BookingFlow(const FlowContext& c)
      : catalog_(c.catalog), picker_(c.picker), users_(c.catalog, c.worker, c.workers) {}

  void next(HttpRequest& r) override {
    switch (step_) {
      case Step::kToken:
        token_request(r, users_.id());
        break;
      case Step::kHold: {
        const int64_t seat = picker_.next();
        hold_request(r, users_.token(), catalog_.schedule_id(seat / catalog_.seats_per_schedule),
                     seat % catalog_.seats_per_schedule + 1);
        break;
      }
      case Step::kCharge:
        post(r, "/api/v1/balance/charge", {});
        r.body += "{\"userId\":\"" + users_.id() + "\",\"amount\":" + std::to_string(price_) + "}";
        break;
      case Step::kPay:
        post(r, "/api/v1/payments", users_.token());
        r.body += "{\"reservationId\":\"" + reservation_ + "\"}";
        break;
    }
  }

  Judgement answer(int status, std::string_view code, std::string_view body) override {
    switch (step_) {
      case Step::kToken:
        return on_token(status, body);
      case Step::kHold:
        return on_hold(status, code, body);
      case Step::kCharge:
        if (status == 200 || !unjudged(status)) step_ = Step::kPay;  // pay says if it was short
        return {status == 200 ? Verdict::kOk : Verdict::kError};
      case Step::kPay:
        return on_pay(status);
    }
    return {};
  }

 private:
  enum class Step { kToken, kHold, kCharge, kPay };

  void next_user() {
    users_.advance();
    step_ = users_.token().empty() ? Step::kToken : Step::kHold;
  }
  Judgement on_token(int status, std::string_view body) {
    if (status != 200) {
      if (!unjudged(status)) next_user();
      return {Verdict::kError};
    }
    if (take_token(body, users_.token())) {
      step_ = Step::kHold;
    } else {
      next_user();  // WAITING: come back to this user later
    }
    return {Verdict::kOk};
  }
  Judgement on_hold(int status, std::string_view code, std::string_view body) {
    if (status == 200) {
      reservation_ = string_field(body, "\"reservationId\":\"");
      price_ = int_field(body, "\"totalPrice\":");
      step_ = Step::kCharge;
      return {Verdict::kOk};
    }
    if (status == 409 && code == "SEAT_UNAVAILABLE") return {Verdict::kExpected};
    if (status == 409 && code == "SEAT_LIMIT_EXCEEDED") {
      next_user();
      return {Verdict::kExpected};
    }
    if (status == 401 || status == 403) {
      users_.token().clear();
      step_ = Step::kToken;
    }
    return {Verdict::kError};
  }
  Judgement on_pay(int status) {
    if (unjudged(status)) return {Verdict::kError};
    if (status == 200 || status == 401) users_.token().clear();  // paying spends the token
    next_user();
    return {status == 200 ? Verdict::kOk : Verdict::kError, status == 200};
  }

  const Catalog& catalog_;
  SeatPicker& picker_;
  OwnedUsers users_;
  Step step_ = Step::kToken;
  std::string reservation_;
  int64_t price_ = 0;
};

// POST /balance/charge, round the worker's users.
class ChargeFlow final : public Flow {
 public:
  explicit ChargeFlow(const FlowContext& c) : users_(c.catalog, c.worker, c.workers) {}
  void next(HttpRequest& r) override {
    post(r, "/api/v1/balance/charge", {});
    r.body +=
        "{\"userId\":\"" + users_.id() + "\",\"amount\":" + std::to_string(kChargeAmount) + "}";
    users_.advance();
  }
  Judgement answer(int status, std::string_view, std::string_view) override {
    return {status == 200 ? Verdict::kOk : Verdict::kError};
  }

 private:
  OwnedUsers users_;
};

}  // namespace

namespace {

// GETs in turn: a schedule's seats, a balance, the concerts, a concert's schedules.
class QueryFlow final : public Flow {
 public:
  explicit QueryFlow(const FlowContext& c)
      : catalog_(c.catalog), users_(c.catalog, c.worker, c.workers), random_(c.seed) {}
  void next(HttpRequest& r) override {
    r.method = HttpRequest::Method::kGet;
    r.token.clear();
    const int64_t schedule = static_cast<int64_t>(random_.below(catalog_.schedules));
    const std::string concert = catalog_.concert_id(catalog_.concert_of(schedule));
    switch (turn_++ % 4) {
      case 0:
        r.path = "/api/v1/concerts/" + concert + "/schedules/" + catalog_.schedule_id(schedule) +
                 "/seats";
        break;
      case 1:
        r.path = "/api/v1/balance?userId=" + users_.id();
        users_.advance();
        break;
      case 2:
        r.path = "/api/v1/concerts";
        break;
      default:
        r.path = "/api/v1/concerts/" + concert + "/schedules";
        break;
    }
  }
  Judgement answer(int status, std::string_view, std::string_view) override {
    return {status == 200 ? Verdict::kOk : Verdict::kError};
  }

 private:
  const Catalog& catalog_;
  OwnedUsers users_;
  FastRandom random_;
  uint64_t turn_ = 0;
};

// Everyone holds among the same few seats of the first schedule; a winner
// cancels at once, so the seats stay contested for the whole run.
class HotFlow final : public Flow {
 public:
  explicit HotFlow(const FlowContext& c)
      : catalog_(c.catalog), users_(c.catalog, c.worker, c.workers), random_(c.seed) {}
  void next(HttpRequest& r) override {
    if (step_ == Step::kToken) return token_request(r, users_.id());
    if (step_ == Step::kHold) {
      const int64_t seats = std::min(kHotSeats, catalog_.seats_per_schedule);
      return hold_request(r, users_.token(), catalog_.schedule_id(0),
                          static_cast<int64_t>(random_.below(seats)) + 1);
    }
    r.method = HttpRequest::Method::kDelete;
    r.path = "/api/v1/reservations/" + reservation_;
    r.token = users_.token();
    r.body.clear();
  }
  Judgement answer(int status, std::string_view code, std::string_view body) override {
    if (unjudged(status)) return {Verdict::kError};
    Judgement j{status == 200 ? Verdict::kOk : Verdict::kError};
    if (step_ == Step::kToken) {
      if (status == 200 && take_token(body, users_.token())) step_ = Step::kHold;
      if (step_ == Step::kToken) next_user();
      return j;
    }
    if (step_ == Step::kHold && status == 200) {
      reservation_ = string_field(body, "\"reservationId\":\"");
      step_ = Step::kCancel;
      return j;
    }
    if (status == 409 && (code == "SEAT_UNAVAILABLE" || code == "SEAT_LIMIT_EXCEEDED")) {
      j.verdict = Verdict::kExpected;
    }
    if (status == 401 || status == 403) users_.token().clear();
    next_user();
    return j;
  }

 private:
  enum class Step { kToken, kHold, kCancel };
  void next_user() {
    users_.advance();
    step_ = users_.token().empty() ? Step::kToken : Step::kHold;
  }

  const Catalog& catalog_;
  OwnedUsers users_;
  FastRandom random_;
  Step step_ = Step::kToken;
  std::string reservation_;
};

}  // namespace

std::unique_ptr<Flow> make_flow(const std::string& scenario, const FlowContext& context) {
  if (scenario == "booking") return std::make_unique<BookingFlow>(context);
  if (scenario == "charge") return std::make_unique<ChargeFlow>(context);
  if (scenario == "query") return std::make_unique<QueryFlow>(context);
  if (scenario == "hot") return std::make_unique<HotFlow>(context);
  return nullptr;
}

}  // namespace reservoir::tools::bench
