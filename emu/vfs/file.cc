#include "emu/vfs/file.h"

#include <sys/stat.h>

#include <cerrno>
#include <limits>

#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {

File::File(uint32_t f_flags, std::string path, InodeRef inode, DevId dev)
    : f_flags_(f_flags), path_(std::move(path)), inode_(std::move(inode)), dev_(dev) {}

File::~File() = default;

int64_t File::read(std::span<uint8_t>) {
  return -EINVAL;
}
int64_t File::write(std::span<const uint8_t>) {
  return -EINVAL;
}
int64_t File::pread(std::span<uint8_t>, uint64_t) {
  return -ESPIPE;
}
int64_t File::pwrite(std::span<const uint8_t>, uint64_t) {
  return -ESPIPE;
}
int64_t File::lseek(int64_t, int) {
  return -ESPIPE;
}
int64_t File::getdents64(std::span<uint8_t>) {
  return -ENOTDIR;
}
int64_t File::ioctl(uint64_t, uint64_t) {
  return -ENOTTY;
}
int64_t File::truncate(uint64_t) {
  return -EINVAL;
}
int64_t File::fsync() {
  return 0;
}

std::shared_ptr<File> File::reopen(uint32_t) const {
  return nullptr;
}

KStat File::stat() const {
  return inode_kstat(*inode_, dev_);
}

bool File::is_path_only() const {
  return (f_flags_ & kO_PATH) != 0;
}
bool File::readable() const {
  const uint32_t acc = f_flags_ & kO_ACCMODE;
  return !is_path_only() && (acc == kO_RDONLY || acc == kO_RDWR);
}
bool File::writable() const {
  const uint32_t acc = f_flags_ & kO_ACCMODE;
  return !is_path_only() && (acc == kO_WRONLY || acc == kO_RDWR);
}
bool File::is_dir() const {
  return S_ISDIR(inode_->attrs().mode);
}
bool File::is_regular() const {
  return S_ISREG(inode_->attrs().mode);
}

int64_t File::seek_in(int64_t offset, int whence, uint64_t size) {
  const int64_t isize = static_cast<int64_t>(size);
  int64_t base = 0;
  switch (whence) {
    case kSEEK_SET:
      base = 0;
      break;
    case kSEEK_CUR:
      base = static_cast<int64_t>(f_pos_);
      break;
    case kSEEK_END:
      base = isize;
      break;
    case kSEEK_DATA:
      if (offset < 0 || offset >= isize) return -ENXIO;
      f_pos_ = static_cast<uint64_t>(offset);
      return offset;
    case kSEEK_HOLE:
      if (offset < 0 || offset >= isize) return -ENXIO;
      f_pos_ = size;
      return isize;
    default:
      return -EINVAL;
  }
  int64_t pos = 0;
  if (__builtin_add_overflow(base, offset, &pos)) return -EOVERFLOW;
  if (pos < 0) return -EINVAL;
  f_pos_ = static_cast<uint64_t>(pos);
  return pos;
}

KStat inode_kstat(const mmu::Inode& inode, DevId dev) {
  const mmu::InodeAttrs& a = inode.attrs();
  KStat st;
  st.dev = dev;
  st.ino = inode.i_ino();
  st.mode = a.mode;
  st.nlink = a.nlink;
  st.uid = a.uid;
  st.gid = a.gid;
  st.rdev = decode_dev(a.rdev);
  st.size = static_cast<int64_t>(a.size);
  st.blksize = a.blksize;
  st.blocks = a.blocks;
  st.atime = Timespec{a.atime_sec, a.atime_nsec};
  st.mtime = Timespec{a.mtime_sec, a.mtime_nsec};
  st.ctime = Timespec{a.ctime_sec, a.ctime_nsec};
  return st;
}

}  // namespace probesim::emu
