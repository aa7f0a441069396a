// HostArena: a contiguous, zero-filled reservation of host memory that backs guest pages
// ("memory is ours", docs/design.md). mmap(PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|
// MAP_NORESERVE): untouched pages cost no RSS, so large reservations are cheap.
//
// Arenas are carved from the process's HostWindow while it has room (so that an engine maps
// all of them as one region), else reserved on their own.
// Ownership: shared (std::shared_ptr). Users: AddressSpace (page cache of one inode), Mm
// (the anonymous window, per-VMA arenas, the heap). The emulator may hand any page-aligned
// sub-range to uc_mem_map_ptr; the memory stays valid until the last owner drops it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "probesim/result.h"

namespace probesim::mmu {

class HostArena {
 public:
  // bytes is rounded up to whole pages; 0 bytes is an error (EINVAL), a failed reservation
  // is ENOMEM. name appears in error messages only.
  static Result<std::shared_ptr<HostArena>> create(uint64_t bytes, std::string name);
  ~HostArena();
  HostArena(const HostArena&) = delete;
  HostArena& operator=(const HostArena&) = delete;

  uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& name() const { return name_; }

  // madvise(MADV_DONTNEED) on the whole pages of [offset, offset+len): they read as zero
  // again and give their RSS back. Precondition: page aligned and within size().
  void discard(uint64_t offset, uint64_t len);
  // True when the range lies inside the arena.
  bool contains(uint64_t offset, uint64_t len) const {
    return offset <= size_ && len <= size_ - offset;
  }

 private:
  HostArena(uint8_t* data, uint64_t size, std::string name, bool in_window)
      : data_(data), size_(size), name_(std::move(name)), in_window_(in_window) {}

  uint8_t* data_;
  uint64_t size_;
  std::string name_;
  bool in_window_;  // carved from HostWindow::get() (released there), else its own mmap
};

}  // namespace probesim::mmu
