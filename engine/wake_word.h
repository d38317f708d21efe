// WakeWord: a calling thread's private futex word, on which it sleeps until
// the writer has answered its command (engine/writer.h).
//
// Why not a mutex + condition variable per caller: the writer had to signal
// under the caller's mutex, so a woken caller often found that mutex still
// held and slept once more (a second context switch per command, on 2
// cores shared with the load). A futex word needs no lock: the writer bumps
// the word, then wakes it.
//
// Lifetime: the writer may still wake a word after its caller has seen the
// bump and gone on, even after that thread exited. So words are never
// freed: a thread takes one from a process-wide pool on its first command
// and gives it back when it exits; a reused word costs a later owner at
// most a spurious wake-up, which the wait loop absorbs. The pool holds at
// most as many words as threads that ever waited at the same time.
//
// Thread safety: this_thread() and wait() from the owning thread; bump()
// from any thread.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace reservoir {

class WakeWord {
 public:
  // The calling thread's word.
  static WakeWord& this_thread() {
    thread_local Lease lease;
    return *lease.word;
  }

  // The value to pass to wait(): read it before the command is handed over.
  uint32_t ticket() const { return word_.load(std::memory_order_acquire); }

  // Returns once bump() has moved the word past `ticket`; what the bumping
  // thread wrote before bump() is visible then.
  void wait(uint32_t ticket) {
    while (word_.load(std::memory_order_acquire) == ticket) {
      // EAGAIN (already bumped) and EINTR both mean: look again.
      syscall(SYS_futex, &word_, FUTEX_WAIT_PRIVATE, ticket, nullptr, nullptr, 0);
    }
  }

  void bump() {
    word_.fetch_add(1, std::memory_order_release);
    syscall(SYS_futex, &word_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }

 private:
  struct Pool {
    std::mutex mu;
    std::deque<WakeWord> words;  // a deque never moves what it holds
    std::vector<WakeWord*> free;
  };
  static Pool& pool() {
    static Pool* p = new Pool;  // never destroyed: words outlive every thread
    return *p;
  }
  struct Lease {
    Lease() {
      Pool& p = pool();
      std::lock_guard lock(p.mu);
      if (p.free.empty()) {
        word = &p.words.emplace_back();
      } else {
        word = p.free.back();
        p.free.pop_back();
      }
    }
    ~Lease() {
      Pool& p = pool();
      std::lock_guard lock(p.mu);
      p.free.push_back(word);
    }
    WakeWord* word = nullptr;
  };

  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  std::atomic<uint32_t> word_{0};
};

}  // namespace reservoir
