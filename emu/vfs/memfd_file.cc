#include "emu/vfs/memfd_file.h"

#include <algorithm>
#include <cerrno>

#include "emu/vfs/vfs_abi.h"
#include "mmu/vm_flags.h"
#include "mmu/vma.h"

namespace probesim::emu {

MemfdFile::MemfdFile(uint32_t f_flags, std::string path, InodeRef inode, DevId dev,
                     const VirtualClock& clock, std::shared_ptr<uint32_t> seals)
    : RegularFile(f_flags, std::move(path), std::move(inode), dev, clock),
      seals_(std::move(seals)) {}

int64_t MemfdFile::sealed_length(uint64_t pos, uint64_t n) const {
  if (*seals_ & (kF_SEAL_WRITE | kF_SEAL_FUTURE_WRITE)) return -EPERM;
  if (!(*seals_ & kF_SEAL_GROW) || pos + n <= inode()->i_size()) return static_cast<int64_t>(n);
  // generic_perform_write asks for one page-bounded chunk at a time: the chunks that end
  // within i_size are written, the first that reaches past it fails.
  uint64_t at = pos;
  while (at < pos + n) {
    const uint64_t chunk_end = std::min(page_align_up(at + 1), pos + n);
    if (chunk_end > inode()->i_size()) break;
    at = chunk_end;
  }
  return at > pos ? static_cast<int64_t>(at - pos) : -EPERM;
}

int64_t MemfdFile::write(std::span<const uint8_t> in) {
  const uint64_t pos = (f_flags() & kO_APPEND) ? inode()->i_size() : f_pos();
  const int64_t allowed = in.empty() ? 0 : sealed_length(pos, in.size());
  if (allowed < 0) return allowed;
  return RegularFile::write(in.first(static_cast<size_t>(allowed)));
}

int64_t MemfdFile::pwrite(std::span<const uint8_t> in, uint64_t pos) {
  const uint64_t at = (f_flags() & kO_APPEND) ? inode()->i_size() : pos;
  const int64_t allowed = in.empty() ? 0 : sealed_length(at, in.size());
  if (allowed < 0) return allowed;
  return RegularFile::pwrite(in.first(static_cast<size_t>(allowed)), pos);
}

// shmem_setattr: a sealed size refuses to move in the sealed direction.
int64_t MemfdFile::truncate(uint64_t length) {
  const uint64_t size = inode()->i_size();
  if ((length < size && (*seals_ & kF_SEAL_SHRINK)) || (length > size && (*seals_ & kF_SEAL_GROW)))
    return -EPERM;
  return RegularFile::truncate(length);
}

std::shared_ptr<File> MemfdFile::reopen(uint32_t f_flags) const {
  return std::make_shared<MemfdFile>(f_flags, path(), InodeRef::acquire(inode()), dev(), clock(),
                                     seals_);
}

int64_t MemfdFile::add_seals(uint32_t seals) {
  if (!writable()) return -EPERM;
  if (seals & ~kF_ALL_SEALS) return -EINVAL;
  if (*seals_ & kF_SEAL_SEAL) return -EPERM;
  if ((seals & kF_SEAL_WRITE) && !(*seals_ & kF_SEAL_WRITE)) {
    bool writably_mapped = false;  // mapping_deny_writable: i_mmap_writable > 0
    inode()->i_mapping().i_mmap().for_each_overlap(0, UINT64_MAX, [&](const mmu::Vma* v) {
      writably_mapped |= (v->vm_flags & mmu::VM_SHARED) && (v->vm_flags & mmu::VM_MAYWRITE);
    });
    if (writably_mapped) return -EBUSY;
  }
  *seals_ |= seals;
  return 0;
}

bool MemfdFile::may_map_shared_write() const {
  return !(*seals_ & (kF_SEAL_WRITE | kF_SEAL_FUTURE_WRITE));
}

}  // namespace probesim::emu
