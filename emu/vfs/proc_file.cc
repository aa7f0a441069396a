#include "emu/vfs/proc_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace probesim::emu {

ProcFile::ProcFile(std::string text, uint32_t f_flags, std::string path, InodeRef inode, DevId dev)
    : File(f_flags, std::move(path), std::move(inode), dev), text_(std::move(text)) {}

int64_t ProcFile::pread(std::span<uint8_t> out, uint64_t pos) {
  if (pos >= text_.size()) return 0;
  size_t n = std::min<size_t>(out.size(), text_.size() - pos);
  std::memcpy(out.data(), text_.data() + pos, n);
  return static_cast<int64_t>(n);
}

int64_t ProcFile::read(std::span<uint8_t> out) {
  int64_t n = pread(out, f_pos());
  if (n > 0) set_f_pos(f_pos() + static_cast<uint64_t>(n));
  return n;
}

int64_t ProcFile::write(std::span<const uint8_t>) { return writable() ? -EINVAL : -EBADF; }

int64_t ProcFile::lseek(int64_t offset, int whence) { return seek_in(offset, whence, text_.size()); }

std::shared_ptr<File> ProcFile::reopen(uint32_t f_flags) const {
  return std::make_shared<ProcFile>(text_, f_flags, path(), InodeRef::acquire(inode()), dev());
}

}  // namespace probesim::emu
