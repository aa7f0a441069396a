#include "emu/vfs/dev_file.h"

#include <algorithm>

namespace probesim::emu {

DevFile::DevFile(DevKind kind, uint32_t f_flags, std::string path, InodeRef inode, DevId dev,
                 DeterministicRng& rng)
    : File(f_flags, std::move(path), std::move(inode), dev), kind_(kind), rng_(rng) {}

int64_t DevFile::read(std::span<uint8_t> out) {
  switch (kind_) {
    case DevKind::Null:
      return 0;
    case DevKind::Zero:
      std::fill(out.begin(), out.end(), uint8_t{0});
      break;
    case DevKind::Random:
    case DevKind::Urandom:
      rng_.fill(out);
      break;
  }
  return static_cast<int64_t>(out.size());
}

int64_t DevFile::write(std::span<const uint8_t> in) {
  return static_cast<int64_t>(in.size());
}

int64_t DevFile::pread(std::span<uint8_t> out, uint64_t) {
  return read(out);
}

int64_t DevFile::pwrite(std::span<const uint8_t> in, uint64_t) {
  return write(in);
}

std::shared_ptr<File> DevFile::reopen(uint32_t f_flags) const {
  return std::make_shared<DevFile>(kind_, f_flags, path(), InodeRef::acquire(inode()), dev(), rng_);
}

int64_t DevFile::lseek(int64_t, int) {
  if (kind_ == DevKind::Null || kind_ == DevKind::Zero) set_f_pos(0);
  return static_cast<int64_t>(f_pos());
}

}  // namespace probesim::emu
