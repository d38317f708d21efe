// Completion, CompletionQueue: a command's answer delivered to a thread
// that did not wait for it (Writer::submit, engine/writer.h).
//
// Why: a caller of Writer::execute sleeps until its command's append is
// durable and is woken once per command. The HTTP layer's epoll thread
// (api/connections.h) instead hands the writer a Completion it owns and
// goes on serving other connections; the writer fills in the answer once
// the batch is durable and posts the batch's completions to the owner's
// CompletionQueue in one go, which costs at most one eventfd write per
// batch and queue, not one wake-up per command.
//
// The queue is a lock-free stack: posting is one compare-exchange, taking
// everything is one exchange. The eventfd is written only when a post finds
// the stack empty; the taker reads (clears) the eventfd before it takes the
// stack, so a post that skips the write always lands in a later take.
//
// Thread safety: post() from any number of threads; take_all() and fd()
// from the owning thread. A Completion belongs to its owner except between
// its submission and the take_all() that returns it.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "engine/reply.h"

namespace reservoir {

class CompletionQueue;

struct Completion {
  Rendered answer;                   // final when take_all() returns it
  CompletionQueue* queue = nullptr;  // where the writer posts it
  Completion* next = nullptr;        // the queue's link
};

class CompletionQueue {
 public:
  CompletionQueue() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~CompletionQueue() { ::close(fd_); }
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;

  // Readable (EPOLLIN) while completions may be waiting.
  int fd() const { return fd_; }

  // Posts the chain first..last (linked by `next`; last->next is overwritten).
  void post(Completion* first, Completion* last) {
    Completion* head = head_.load(std::memory_order_relaxed);
    do {
      last->next = head;
    } while (!head_.compare_exchange_weak(head, first, std::memory_order_release,
                                          std::memory_order_relaxed));
    if (head == nullptr) {
      const uint64_t one = 1;
      [[maybe_unused]] const ssize_t n = ::write(fd_, &one, sizeof one);
    }
  }

  // Everything posted so far, newest first (nullptr: nothing); clears the fd.
  Completion* take_all() {
    uint64_t count = 0;
    [[maybe_unused]] const ssize_t n = ::read(fd_, &count, sizeof count);
    return head_.exchange(nullptr, std::memory_order_acquire);
  }

 private:
  const int fd_;
  std::atomic<Completion*> head_{nullptr};
};

}  // namespace reservoir
