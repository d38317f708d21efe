#include "events/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>

namespace reservoir {
namespace {

constexpr size_t kPidTextBytesMax = 32;  // a decimal pid and a newline, with room

std::string errno_text(int err) {
  return std::generic_category().message(err);
}

std::string lock_path(const std::string& dir) {
  return dir + "/LOCK";
}

// mkdir -p: every missing component of `dir`.
Status make_dirs(const std::string& dir) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i != dir.size() && dir[i] != '/') continue;
    const std::string part = dir.substr(0, i);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::IOError("cannot create directory '" + part + "': " + errno_text(errno));
    }
  }
  return Status::OK();
}

// The pid the holder wrote, or "unknown" (it may not have written it yet).
std::string read_holder_pid(int fd) {
  char buf[kPidTextBytesMax] = {};
  const ssize_t got = ::pread(fd, buf, sizeof buf - 1, 0);
  if (got <= 0) return "unknown";
  const long pid = std::strtol(buf, nullptr, 10);
  return pid > 0 ? std::to_string(pid) : "unknown";
}

void write_own_pid(int fd) {
  const std::string text = std::to_string(::getpid()) + "\n";
  // Best effort: the pid only improves the message another process prints.
  if (::ftruncate(fd, 0) != 0) return;
  [[maybe_unused]] const ssize_t wrote = ::pwrite(fd, text.data(), text.size(), 0);
}

}  // namespace

Result<DirLock> DirLock::acquire(const std::string& dir) {
  if (dir.empty()) return Status::InvalidArgument("data directory path is empty");
  if (Status s = make_dirs(dir); !s.ok()) return s;
  const std::string path = lock_path(dir);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot open '" + path + "': " + errno_text(errno));
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    const std::string pid = err == EWOULDBLOCK ? read_holder_pid(fd) : "";
    ::close(fd);
    if (err != EWOULDBLOCK)
      return Status::IOError("cannot lock '" + path + "': " + errno_text(err));
    return Status::Busy("data directory '" + dir +
                        "' is in use by another reservoir process (pid " + pid + ")");
  }
  write_own_pid(fd);
  return DirLock(dir, fd);
}

bool DirLock::is_locked(const std::string& dir) {
  const std::string path = lock_path(dir);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;  // no LOCK file: nobody ever held it
  int rc;
  do {
    rc = ::flock(fd, LOCK_SH | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  const bool locked = rc != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // drops our shared lock, if we got it
  return locked;
}

DirLock::DirLock(DirLock&& other) noexcept : dir_(std::move(other.dir_)), fd_(other.fd_) {
  other.fd_ = -1;
}

DirLock& DirLock::operator=(DirLock&& other) noexcept {
  if (this != &other) {
    release();
    dir_ = std::move(other.dir_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

DirLock::~DirLock() {
  release();
}

void DirLock::release() {
  // Closing the only descriptor of the open file description drops the flock.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace reservoir
