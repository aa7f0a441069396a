#include "emu/vfs/host_fs.h"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "emu/vfs/node.h"

namespace probesim::emu {

Result<HostFs> HostFs::create(const std::string& root) {
  char resolved[PATH_MAX];
  if (::realpath(root.c_str(), resolved) == nullptr) {
    const int err = errno;
    const std::string why = err == ENOENT ? "does not exist" : std::string("cannot be resolved: ") + std::strerror(err);
    return Error::make("guest root '" + root + "' " + why + "; pass an existing host directory",
                       err);
  }
  struct stat st {};
  if (::stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error::make("guest root '" + root + "' is not a directory", ENOTDIR);
  }
  return HostFs(resolved);
}

std::string HostFs::host_path(std::string_view guest_path) const {
  if (root_ == "/") return std::string(guest_path);
  if (guest_path == "/") return root_;
  return root_ + std::string(guest_path);
}

Result<HostFs::Lstat> HostFs::lstat(std::string_view guest_path) const {
  struct stat st {};
  if (::lstat(host_path(guest_path).c_str(), &st) != 0) return vfs_error(errno, guest_path);
  Lstat out;
  mmu::InodeAttrs& a = out.attrs;
  a.mode = st.st_mode;
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  a.nlink = static_cast<uint32_t>(st.st_nlink);
  a.size = static_cast<uint64_t>(st.st_size);
  a.rdev = st.st_rdev;
  a.blocks = static_cast<uint64_t>(st.st_blocks);
  a.blksize = static_cast<uint32_t>(st.st_blksize);
  a.atime_sec = st.st_atim.tv_sec;
  a.atime_nsec = st.st_atim.tv_nsec;
  a.mtime_sec = st.st_mtim.tv_sec;
  a.mtime_nsec = st.st_mtim.tv_nsec;
  a.ctime_sec = st.st_ctim.tv_sec;
  a.ctime_nsec = st.st_ctim.tv_nsec;
  out.key = "host:" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  return out;
}

Result<std::string> HostFs::readlink(std::string_view guest_path) const {
  std::string buf(PATH_MAX, '\0');
  const ssize_t n = ::readlink(host_path(guest_path).c_str(), buf.data(), buf.size());
  if (n < 0) return vfs_error(errno, guest_path);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

Result<std::vector<std::string>> HostFs::list(std::string_view guest_path) const {
  DIR* dir = ::opendir(host_path(guest_path).c_str());
  if (dir == nullptr) return vfs_error(errno, guest_path);
  std::vector<std::string> names;
  while (const dirent* d = ::readdir(dir)) {
    const std::string_view name = d->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());  // host order is not deterministic
  return names;
}

Result<std::unique_ptr<mmu::HostFileBacking>> HostFs::open_backing(
    std::string_view guest_path) const {
  Result<std::unique_ptr<mmu::HostFileBacking>> r =
      mmu::HostFileBacking::open(host_path(guest_path));
  if (!r) return vfs_error(r.error().err != 0 ? r.error().err : EIO, guest_path);
  if (on_open) on_open(std::string(guest_path));
  return r;
}

}  // namespace probesim::emu
