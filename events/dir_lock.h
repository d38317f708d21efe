// DirLock: one reservoir process per data directory. Holds an exclusive
// flock(2) on `<dir>/LOCK` for its lifetime, so a second server (or a tool
// that writes) on the same directory fails fast instead of interleaving
// appends. The lock dies with the process (kill -9 included): no stale locks.
// The file holds the holder's pid, only to name it in the error message.
//
// flock locks belong to an open file description, so a second acquire() in
// the same process conflicts too.
//
// Thread safety: a DirLock is a move-only value; acquire()/is_locked() are
// safe from any thread.
#pragma once

#include <string>
#include <utility>

#include "events/status.h"

namespace reservoir {

class DirLock {
 public:
  // Creates `dir` if missing and takes the lock; Busy if another holder has it.
  static Result<DirLock> acquire(const std::string& dir);

  // Whether a holder (this process's own DirLock included) has the lock now.
  // Probes by taking and dropping a shared lock, so an acquire() racing the
  // probe may see Busy for that instant.
  static bool is_locked(const std::string& dir);

  DirLock(DirLock&& other) noexcept;
  DirLock& operator=(DirLock&& other) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();  // releases

  const std::string& dir() const { return dir_; }

 private:
  DirLock(std::string dir, int fd) : dir_(std::move(dir)), fd_(fd) {}
  void release();

  std::string dir_;
  int fd_ = -1;
};

}  // namespace reservoir
