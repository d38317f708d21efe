#include "projections/store_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace reservoir::projections {
namespace {

constexpr const char* kPointerFile = "PROJECTIONS";
constexpr const char* kDefaultStore = "projections";

Status fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status::IOError("open " + path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::IOError("fsync " + path + ": " + std::strerror(errno));
  return Status::OK();
}

}  // namespace

std::string current_store_dir(const std::string& data_dir) {
  std::ifstream in(data_dir + "/" + kPointerFile);
  std::string name;
  if (in && std::getline(in, name) && !name.empty() && name.find('/') == std::string::npos) {
    return data_dir + "/" + name;
  }
  return data_dir + "/" + kDefaultStore;
}

Status install_store_dir(const std::string& data_dir, const std::string& name) {
  const std::string tmp = data_dir + "/" + kPointerFile + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << name << "\n";
    if (!out.flush()) return Status::IOError("cannot write " + tmp);
  }
  if (Status s = fsync_path(tmp, O_RDONLY); !s.ok()) return s;
  const std::string target = data_dir + "/" + kPointerFile;
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    return Status::IOError("rename " + tmp + ": " + std::strerror(errno));
  }
  return fsync_path(data_dir, O_RDONLY | O_DIRECTORY);
}

}  // namespace reservoir::projections
