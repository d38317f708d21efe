// Races for integration tests: many connections released at once at a real
// server, and a one-line summary of what they got back.
//
// - race_clients<Client>(n, body, args...): on n threads, a Client(args...)
//   (Api, or a dialect client with raw()) connects with a GET /healthz, so the
//   start line releases requests and not handshakes; then all threads are
//   released together and run body(i, client); returns the n replies in
//   thread order.
// - outcome_counts(replies, code_of): "200 x1, 409 SEAT_UNAVAILABLE x63":
//   replies counted by status and the code code_of(reply) names.
//
// Thread safety: call from the test's main thread; body runs on the race's
// threads, one client each.
#pragma once

#include <latch>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/server_process.h"

namespace reservoir::test {

template <class Client, class Body, class... Args>
std::vector<Reply> race_clients(int n, Body body, const Args&... args) {
  std::vector<Reply> replies(static_cast<size_t>(n));
  std::latch ready(n), go(1);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      Client client(args...);
      if constexpr (requires { client.raw(); }) {
        client.raw().get("/healthz");
      } else {
        client.get("/healthz");
      }
      ready.count_down();
      go.wait();
      replies[static_cast<size_t>(i)] = body(i, client);
    });
  }
  ready.wait();
  go.count_down();
  for (auto& t : threads) t.join();
  return replies;
}

template <class CodeOf>
std::string outcome_counts(const std::vector<Reply>& replies, CodeOf code_of) {
  std::map<std::string, int> counts;
  for (const auto& r : replies) {
    ++counts[r.ok() ? "200" : std::to_string(r.status) + " " + code_of(r)];
  }
  std::string out;
  for (const auto& [what, n] : counts) {
    out += (out.empty() ? "" : ", ") + what + " x" + std::to_string(n);
  }
  return out;
}

}  // namespace reservoir::test
