// MemfdFile: an open memfd (memfd_create(2), mm/memfd.c): a RegularFile on an unlinked tmpfs
// inode ("memfd:<n>", named "/memfd:NAME (deleted)" as /proc/<pid>/fd and maps show it), and
// the inode's seals (F_SEAL_*), which every open file of that inode shares (dup and fork share
// the File; reopening /proc/self/fd/N makes a MemfdFile with the same seals).
// The seals act as mm/shmem.c makes them act: F_SEAL_WRITE/F_SEAL_FUTURE_WRITE refuse writes
// (EPERM) and writable shared mappings (sys_mmap asks may_map_shared_write()), F_SEAL_GROW
// writes and truncates past i_size, F_SEAL_SHRINK truncates below it; F_SEAL_SEAL refuses more
// seals. Not modelled: fallocate (probesim has none) and pinned pages (memfd_wait_for_pins).
#pragma once

#include <memory>

#include "emu/vfs/regular_file.h"

namespace probesim::emu {

// include/uapi/linux/fcntl.h
inline constexpr uint32_t kF_SEAL_SEAL = 0x0001;
inline constexpr uint32_t kF_SEAL_SHRINK = 0x0002;
inline constexpr uint32_t kF_SEAL_GROW = 0x0004;
inline constexpr uint32_t kF_SEAL_WRITE = 0x0008;
inline constexpr uint32_t kF_SEAL_FUTURE_WRITE = 0x0010;
inline constexpr uint32_t kF_ALL_SEALS = 0x001f;  // Linux 6.1 (6.3 adds F_SEAL_EXEC)

class MemfdFile : public RegularFile {
 public:
  // seals: the inode's seal word, shared with every MemfdFile of the inode.
  MemfdFile(uint32_t f_flags, std::string path, InodeRef inode, DevId dev,
            const VirtualClock& clock, std::shared_ptr<uint32_t> seals);

  int64_t write(std::span<const uint8_t> in) override;
  int64_t pwrite(std::span<const uint8_t> in, uint64_t pos) override;
  int64_t truncate(uint64_t length) override;
  std::shared_ptr<File> reopen(uint32_t f_flags) const override;

  uint32_t seals() const { return *seals_; }
  // F_ADD_SEALS (memfd_add_seals): EPERM unless open for writing or once F_SEAL_SEAL is set,
  // EINVAL for unknown seals, EBUSY for F_SEAL_WRITE while a writable shared mapping exists.
  int64_t add_seals(uint32_t seals);
  // Whether a MAP_SHARED mapping may ever be writable (VM_MAYWRITE): not under a write seal.
  bool may_map_shared_write() const;

 private:
  // How many of n bytes at pos the seals let a write store (shmem_write_begin, page by page),
  // or -EPERM when none.
  int64_t sealed_length(uint64_t pos, uint64_t n) const;

  std::shared_ptr<uint32_t> seals_;
};

}  // namespace probesim::emu
