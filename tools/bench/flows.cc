// The HTTP scenarios' virtual users (see flows.h). Answers are read with a
// few string searches, not a JSON parser: the load generator shares two cores
// with the server, and every cycle it spends is one the server does not get.
#include "tools/bench/flows.h"

#include <charconv>
#include <vector>

#include "tools/bench/clinic_flows.h"

namespace reservoir::tools::bench {
namespace {

constexpr int64_t kHotSeats = 8;         // `hot`: everyone holds among these seats
constexpr int64_t kChargeAmount = 1000;  // KRW per `charge` request

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

}  // namespace

namespace {

// token -> hold one seat (concert-events: occupy, then reserve for the
// reservation's id) -> charge its price -> pay: the durable mix, in the
// context's dialect.
class BookingFlow final : public Flow {
 public:
  explicit BookingFlow(const FlowContext& c)
      : catalog_(c.catalog),
        picker_(c.picker),
        users_(c.catalog, c.worker, c.workers),
        dialect_(c.dialect) {}

  void next(HttpRequest& r) override {
    switch (step_) {
      case Step::kToken:
        return token_request(r, dialect_, users_.id());
      case Step::kHold:
        pick_seat();
        return hold_request(r, dialect_, users_.id(), users_.token(), concert_, schedule_, seat_);
      case Step::kReserve:
        return reserve_request(r, users_.token(), schedule_, seat_);
      case Step::kCharge:
        return charge_request(r, dialect_, users_.id(), price_);
      case Step::kPay:
        return pay_request(r, dialect_, users_.id(), users_.token(), reservation_);
    }
  }

  Judgement answer(int status, std::string_view code, std::string_view body) override {
    switch (step_) {
      case Step::kToken:
        return on_token(status, body);
      case Step::kHold:
        return on_hold(status, code, body);
      case Step::kReserve:
        return on_reserve(status, code, body);
      case Step::kCharge:
        if (status == 200 || !unjudged(status)) step_ = Step::kPay;  // pay says if it was short
        return {status == 200 ? Verdict::kOk : Verdict::kError};
      case Step::kPay:
        return on_pay(status, code);
    }
    return {};
  }

 private:
  enum class Step { kToken, kHold, kReserve, kCharge, kPay };

  // The next seat of the shared walk, its schedule's id (and, for
  // queue-tokens, its concert's) written into reused buffers.
  void pick_seat() {
    const int64_t seat = picker_.next();
    const int64_t schedule = seat / catalog_.seats_per_schedule;
    seat_ = seat % catalog_.seats_per_schedule + 1;
    catalog_.schedule_id_into(schedule_, schedule);
    if (dialect_ == Dialect::kQueueTokens) {
      catalog_.concert_id_into(concert_, catalog_.concert_of(schedule));
    }
  }
  void next_user() {
    users_.advance();
    step_ = users_.token().empty() ? Step::kToken : Step::kHold;
  }
  Judgement on_token(int status, std::string_view body) {
    if (status != 200) {
      if (!unjudged(status)) next_user();
      return {Verdict::kError};
    }
    if (read_token(dialect_, body, users_.token())) {
      step_ = Step::kHold;
    } else {
      next_user();  // WAITING: come back to this user later
    }
    return {Verdict::kOk};
  }
  Judgement on_hold(int status, std::string_view code, std::string_view body) {
    if (status == 200) {
      if (dialect_ == Dialect::kConcertEvents) {
        step_ = Step::kReserve;  // occupy names no reservation; reserve does
      } else {
        read_reservation(dialect_, body, reservation_, price_);
        step_ = Step::kCharge;
      }
      return {Verdict::kOk};
    }
    switch (refusal(dialect_, status, code)) {
      case Refusal::kSeatTaken:
        return {Verdict::kExpected};
      case Refusal::kSeatLimit:
        next_user();
        return {Verdict::kExpected};
      case Refusal::kTokenRefused:
        users_.token().clear();
        step_ = Step::kToken;
        break;
      case Refusal::kOther:
        break;
    }
    return {Verdict::kError};
  }
  // concert-events: reserve reads back the hold just made.
  Judgement on_reserve(int status, std::string_view code, std::string_view body) {
    if (status == 200) {
      read_reservation(dialect_, body, reservation_, price_);
      step_ = Step::kCharge;
      return {Verdict::kOk};
    }
    if (unjudged(status)) return {Verdict::kError};  // ask again
    if (refusal(dialect_, status, code) == Refusal::kTokenRefused) {
      users_.token().clear();
      step_ = Step::kToken;
    } else {
      step_ = Step::kHold;  // expired or gone: hold another seat
    }
    return {Verdict::kError};
  }
  Judgement on_pay(int status, std::string_view code) {
    if (unjudged(status)) return {Verdict::kError};
    // Paying spends the token.
    if (status == 200 || token_gone(dialect_, status, code)) users_.token().clear();
    next_user();
    return {status == 200 ? Verdict::kOk : Verdict::kError, status == 200};
  }

  const Catalog& catalog_;
  SeatPicker& picker_;
  OwnedUsers users_;
  const Dialect dialect_;
  Step step_ = Step::kToken;
  std::string schedule_, concert_, reservation_;
  int64_t seat_ = 0;
  int64_t price_ = 0;
};

// A charge (in the context's dialect), round the worker's users.
class ChargeFlow final : public Flow {
 public:
  explicit ChargeFlow(const FlowContext& c)
      : users_(c.catalog, c.worker, c.workers), dialect_(c.dialect) {}
  void next(HttpRequest& r) override {
    charge_request(r, dialect_, users_.id(), kChargeAmount);
    users_.advance();
  }
  Judgement answer(int status, std::string_view, std::string_view) override {
    return {status == 200 ? Verdict::kOk : Verdict::kError};
  }

 private:
  OwnedUsers users_;
  const Dialect dialect_;
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
    if (step_ == Step::kToken) return token_request(r, Dialect::kCanonical, users_.id());
    if (step_ == Step::kHold) {
      const int64_t seats = std::min(kHotSeats, catalog_.seats_per_schedule);
      return hold_request(r, Dialect::kCanonical, users_.id(), users_.token(), {},
                          catalog_.schedule_id(0), static_cast<int64_t>(random_.below(seats)) + 1);
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
      if (status == 200 && read_token(Dialect::kCanonical, body, users_.token())) {
        step_ = Step::kHold;
      }
      if (step_ == Step::kToken) next_user();
      return j;
    }
    if (step_ == Step::kHold && status == 200) {
      int64_t price = 0;
      read_reservation(Dialect::kCanonical, body, reservation_, price);
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
  return make_clinic_flow(scenario, context);
}

}  // namespace reservoir::tools::bench
