// FrameSpace: the machine's physical memory for the paged MMU (issue 14). One NORESERVE host
// reservation of `bytes`, cut into 4 KiB frames numbered by Pfn; a frame's physical address is
// pfn << 12 from the space's base, and regions() lists what an engine maps once with
// uc_mem_map_ptr, never a region per VMA: today one region for the whole space (Unicorn 2.1.1
// maps a 16 TiB NORESERVE region in 0.06 ms with no RSS, docs/unicorn.md). Frames are committed
// lazily: host RSS grows only with the pages the guest touches, and a freed frame is discarded
// (reads zero, gives its RSS back) before it is reused.
//
// struct page's counters, Linux's meanings: refcount = references that keep the frame alive
// (each PTE mapping it, plus any holder's get()); mapcount = PTEs mapping it. A frame is free
// exactly when its refcount is 0. Ownership: the machine; page tables hold counted Pfns.
// Threading: the machine's thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "mmu/host_arena.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::mmu {

struct PfnTag {};
// A physical frame number in a FrameSpace.
struct Pfn : Strong<PfnTag> {
  using Strong::Strong;
};

class FrameSpace {
 public:
  struct Region {
    uint64_t phys;  // offset of the region in the space (its physical address from the base)
    uint64_t len;
    uint8_t* host;
  };
  struct Stats {
    uint64_t in_use = 0;     // frames with refcount > 0
    uint64_t peak = 0;       // most frames in use at once
    uint64_t allocated = 0;  // alloc_zeroed calls that succeeded
    uint64_t freed = 0;      // frames whose refcount dropped to 0
  };

  // bytes: rounded up to whole pages. EINVAL for 0, ENOMEM if the host refuses the reservation.
  static Result<std::unique_ptr<FrameSpace>> create(uint64_t bytes);
  FrameSpace(const FrameSpace&) = delete;
  FrameSpace& operator=(const FrameSpace&) = delete;

  // A zero-filled frame with refcount 1, mapcount 0. ENOMEM when every frame is in use.
  Result<Pfn> alloc_zeroed();
  void get(Pfn pfn);         // refcount + 1; precondition: the frame is in use
  void put(Pfn pfn);         // refcount - 1; at 0 the frame is discarded and free for reuse
  void add_map(Pfn pfn);     // mapcount + 1 (a PTE now maps it)
  void remove_map(Pfn pfn);  // mapcount - 1
  uint32_t refcount(Pfn pfn) const;
  uint32_t mapcount(Pfn pfn) const;

  uint8_t* data(Pfn pfn) const;  // the frame's 4 KiB of host memory
  static uint64_t phys(Pfn pfn) { return pfn.value << kPageShift; }
  uint64_t frames() const { return frames_; }
  std::vector<Region> regions() const;
  const Stats& stats() const { return stats_; }
  // Asserts: in_use == frames with refcount > 0; mapcount <= refcount; free frames have 0.
  void verify() const;

 private:
  struct PageMeta {
    uint32_t refcount = 0;
    uint32_t mapcount = 0;
  };
  FrameSpace(std::shared_ptr<HostArena> arena, uint64_t frames)
      : arena_(std::move(arena)), frames_(frames) {}
  PageMeta& meta(Pfn pfn);
  const PageMeta& meta(Pfn pfn) const;

  std::shared_ptr<HostArena> arena_;
  uint64_t frames_;
  std::vector<PageMeta> meta_;  // frames [0, meta_.size()) have been handed out once
  std::vector<Pfn> free_;       // freed frames, reused LIFO (deterministic)
  Stats stats_;
};

}  // namespace probesim::mmu
