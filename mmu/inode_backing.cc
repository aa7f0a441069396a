#include "mmu/inode_backing.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace probesim::mmu {

InodeBacking::~InodeBacking() = default;

Result<std::unique_ptr<HostFileBacking>> HostFileBacking::open(const std::string& host_path) {
  const int fd = ::open(host_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    return Error::make("cannot open host file '" + host_path + "': " + std::strerror(e), e);
  }
  return std::unique_ptr<HostFileBacking>(new HostFileBacking(fd, host_path));
}

HostFileBacking::~HostFileBacking() {
  ::close(fd_);
}

Result<size_t> HostFileBacking::read(FileOffset off, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(off.value + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      return Error::make("cannot read host file '" + path_ + "': " + std::strerror(e), EIO);
    }
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
  }
  return done;
}

Result<size_t> BytesBacking::read(FileOffset off, std::span<uint8_t> out) {
  if (off.value >= bytes_.size()) return size_t{0};
  const size_t n = std::min<size_t>(out.size(), bytes_.size() - off.value);
  std::memcpy(out.data(), bytes_.data() + off.value, n);
  return n;
}

}  // namespace probesim::mmu
