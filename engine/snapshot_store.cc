#include "engine/snapshot_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "events/crc32c.h"

namespace reservoir {
namespace {

constexpr uint32_t kMagic = 0x504e5352;  // "RSNP"
constexpr uint32_t kFormat = 1;
constexpr size_t kHeaderBytes = 32;  // magic, format, offset, length, masked crc, pad

Status io_error(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

Status write_all_and_sync(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("open " + path);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return io_error("write " + path);
    }
    done += static_cast<size_t>(n);
  }
  const int rc = ::fdatasync(fd);
  ::close(fd);
  return rc == 0 ? Status::OK() : io_error("fdatasync " + path);
}

Status sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open " + dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::OK() : io_error("fsync " + dir);
}

uint32_t checksum(uint64_t offset, const char* body, size_t n) {
  const uint32_t crc = crc32c(&offset, sizeof offset);
  return crc32c_mask(crc32c(body, n, crc));
}

// Reads exactly n bytes at the file's current position; false on EOF or error.
bool read_exact(int fd, char* p, size_t n) {
  while (n > 0) {
    const ssize_t got = ::read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

}  // namespace

std::string FileSnapshotStore::path(uint64_t offset) const {
  char name[64];
  std::snprintf(name, sizeof name, "/snapshot-%020llu.snap",
                static_cast<unsigned long long>(offset));
  return dir_ + name;
}

Status FileSnapshotStore::save(uint64_t offset, const std::string& bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status::IOError("create " + dir_ + ": " + ec.message());
  std::string file(kHeaderBytes, '\0');
  const uint64_t length = bytes.size();
  const uint32_t crc = checksum(offset, bytes.data(), bytes.size());
  std::memcpy(&file[0], &kMagic, 4);
  std::memcpy(&file[4], &kFormat, 4);
  std::memcpy(&file[8], &offset, 8);
  std::memcpy(&file[16], &length, 8);
  std::memcpy(&file[24], &crc, 4);
  file += bytes;
  const std::string tmp = path(offset) + ".tmp";
  if (Status s = write_all_and_sync(tmp, file); !s.ok()) return s;
  if (::rename(tmp.c_str(), path(offset).c_str()) != 0) return io_error("rename " + tmp);
  if (Status s = sync_dir(dir_); !s.ok()) return s;
  const auto all = list();
  for (size_t i = kKeepMax; i < all.size(); ++i) std::filesystem::remove(path(all[i]), ec);
  // A save killed mid-write leaves its .tmp behind; saves are serial, so any
  // other .tmp is such a leftover.
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    if (entry.path().extension() == ".tmp") std::filesystem::remove(entry.path(), ec);
  }
  return Status::OK();
}

std::vector<uint64_t> FileSnapshotStore::list() const {
  std::vector<uint64_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    unsigned long long offset = 0;
    char tail[8] = {0};
    const std::string name = entry.path().filename().string();
    if (std::sscanf(name.c_str(), "snapshot-%20llu.%5s", &offset, tail) == 2 &&
        std::strcmp(tail, "snap") == 0) {
      out.push_back(offset);
    }
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

// The header first, then the body straight into a string of its size: a
// snapshot of a large state is hundreds of MB, and growing a buffer in small
// reads then copying the body out of it took most of the restore's load time.
Result<std::string> FileSnapshotStore::load(uint64_t offset) const {
  const std::string p = path(offset);
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open " + p);
  struct stat st {};
  char header[kHeaderBytes];
  if (::fstat(fd, &st) != 0 || !read_exact(fd, header, kHeaderBytes)) {
    ::close(fd);
    return Status::Corruption(p + ": shorter than its header");
  }
  uint32_t magic = 0, format = 0, crc = 0;
  uint64_t stored_offset = 0, length = 0;
  std::memcpy(&magic, &header[0], 4);
  std::memcpy(&format, &header[4], 4);
  std::memcpy(&stored_offset, &header[8], 8);
  std::memcpy(&length, &header[16], 8);
  std::memcpy(&crc, &header[24], 4);
  if (magic != kMagic || format != kFormat || stored_offset != offset ||
      length != static_cast<uint64_t>(st.st_size) - kHeaderBytes) {
    ::close(fd);
    return Status::Corruption(p + ": bad header or partial file");
  }
  std::string body(length, '\0');
  const bool read = read_exact(fd, body.data(), body.size());
  ::close(fd);
  if (!read) return Status::Corruption(p + ": shorter than its header says");
  if (checksum(offset, body.data(), body.size()) != crc) {
    return Status::Corruption(p + ": checksum mismatch");
  }
  return body;
}

}  // namespace reservoir
