#include "emu/vfs/dir_file.h"

#include <cerrno>

#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {

DirFile::DirFile(uint32_t f_flags, std::string path, InodeRef inode, DevId dev, DirLister lister)
    : File(f_flags, std::move(path), std::move(inode), dev), lister_(std::move(lister)) {}

int64_t DirFile::read(std::span<uint8_t>) {
  return -EISDIR;
}
int64_t DirFile::pread(std::span<uint8_t>, uint64_t) {
  return -EISDIR;
}

int64_t DirFile::lseek(int64_t offset, int whence) {
  int64_t pos = offset;
  if (whence == kSEEK_CUR) {
    if (__builtin_add_overflow(static_cast<int64_t>(f_pos()), offset, &pos)) return -EOVERFLOW;
  } else if (whence != kSEEK_SET) {
    return -EINVAL;
  }
  if (pos < 0) return -EINVAL;
  set_f_pos(static_cast<uint64_t>(pos));
  return pos;
}

int64_t DirFile::getdents64(std::span<uint8_t> out) {
  if (f_pos() == 0 || !loaded_) {
    snapshot_ = lister_();
    loaded_ = true;
  }
  size_t used = 0;
  uint64_t index = f_pos();
  for (; index < snapshot_.size(); ++index) {
    const DirEntry& e = snapshot_[index];
    const size_t n = encode_dirent64(out.subspan(used), e.ino, static_cast<int64_t>(index + 1),
                                     e.d_type, e.name);
    if (n == 0) break;
    used += n;
  }
  if (used == 0 && index < snapshot_.size()) return -EINVAL;  // buffer too small for one entry
  set_f_pos(index);
  return static_cast<int64_t>(used);
}

}  // namespace probesim::emu
