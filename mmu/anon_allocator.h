// AnonAllocator: chooses host memory for anonymous VMAs and private copies of one Mm.
//
// One big NORESERVE arena mirrors the mmap window [window_start, window_end) (just below
// mmap_base, where top-down mmap places things): host = window + (addr - window_start), so
// adjacent anonymous mappings there are host-contiguous and merge. It is reserved lazily,
// on first use. A range outside the window gets an arena of its own.
// Invariant kept by Mm: no two live VMAs use overlapping bytes of one arena; freed bytes are
// discarded (read zero) before they are reused.
#pragma once

#include <cstdint>
#include <memory>

#include "mmu/host_arena.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::mmu {

struct AnonBacking {
  std::shared_ptr<HostArena> arena;
  uint64_t offset = 0;
};

class AnonAllocator {
 public:
  // Precondition: window_start <= window_end, both page aligned. An empty window disables it.
  AnonAllocator(GuestAddr window_start, GuestAddr window_end);

  // Zero-filled backing for the guest range [start, start + len) (page aligned).
  Result<AnonBacking> allocate(GuestAddr start, uint64_t len);
  bool in_window(GuestAddr start, uint64_t len) const;
  GuestAddr window_start() const { return window_start_; }
  GuestAddr window_end() const { return window_end_; }
  const std::shared_ptr<HostArena>& window() const { return window_; }  // null until used

 private:
  GuestAddr window_start_, window_end_;
  std::shared_ptr<HostArena> window_;
};

}  // namespace probesim::mmu
