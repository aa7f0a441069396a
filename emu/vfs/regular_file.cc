#include "emu/vfs/regular_file.h"

#include <cerrno>

#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {
namespace {

int64_t neg_errno(const Error& e) {
  return -(e.err != 0 ? e.err : EIO);
}

}  // namespace

RegularFile::RegularFile(uint32_t f_flags, std::string path, InodeRef inode, DevId dev,
                         const VirtualClock& clock)
    : File(f_flags, std::move(path), std::move(inode), dev), clock_(clock) {
  write_access_ = writable() && this->inode()->get_write_access();
}

RegularFile::~RegularFile() {
  if (write_access_) inode()->put_write_access();
}

int64_t RegularFile::read(std::span<uint8_t> out) {
  const int64_t n = pread(out, f_pos());
  if (n > 0) set_f_pos(f_pos() + static_cast<uint64_t>(n));
  return n;
}

int64_t RegularFile::pread(std::span<uint8_t> out, uint64_t pos) {
  Result<size_t> r = inode()->i_mapping().read(FileOffset{pos}, out);
  if (!r) return neg_errno(r.error());
  return static_cast<int64_t>(*r);
}

int64_t RegularFile::write(std::span<const uint8_t> in) {
  const uint64_t pos = (f_flags() & kO_APPEND) ? inode()->i_size() : f_pos();
  const int64_t n = write_at(in, pos);
  if (n >= 0) set_f_pos(pos + static_cast<uint64_t>(n));
  return n;
}

int64_t RegularFile::pwrite(std::span<const uint8_t> in, uint64_t pos) {
  if (f_flags() & kO_APPEND) pos = inode()->i_size();
  return write_at(in, pos);
}

int64_t RegularFile::write_at(std::span<const uint8_t> in, uint64_t pos) {
  if (in.empty()) return 0;
  Result<size_t> r = inode()->i_mapping().write(FileOffset{pos}, in);
  if (!r) return neg_errno(r.error());
  touch_mtime();
  return static_cast<int64_t>(*r);
}

int64_t RegularFile::lseek(int64_t offset, int whence) {
  return seek_in(offset, whence, inode()->i_size());
}

int64_t RegularFile::truncate(uint64_t length) {
  Result<void> r = inode()->i_mapping().truncate(length);
  if (!r) return neg_errno(r.error());
  touch_mtime();
  return 0;
}

std::shared_ptr<File> RegularFile::reopen(uint32_t f_flags) const {
  if ((f_flags & kO_ACCMODE) != kO_RDONLY && inode()->i_writecount() < 0) return nullptr;
  return std::make_shared<RegularFile>(f_flags, path(), InodeRef::acquire(inode()), dev(), clock_);
}

void RegularFile::touch_mtime() {
  const Timespec now = clock_.realtime();
  mmu::InodeAttrs& a = inode()->attrs();
  a.mtime_sec = a.ctime_sec = now.sec;
  a.mtime_nsec = a.ctime_nsec = now.nsec;
}

}  // namespace probesim::emu
