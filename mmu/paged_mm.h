// PagedMm: the page-table side of one Mm for the paged MMU (issue 14): its PageTable and the
// fault path Linux's handle_mm_fault runs, over frames of the machine's FrameSpace. The
// engine's TLB-fill hook calls fill() on every TLB miss: a present, sufficient PTE is the
// translation; otherwise the VMA decides (the Mm's classify_fault):
//   - no VMA: SEGV_MAPERR; VMA without the permission: SEGV_ACCERR; beyond the file: SIGBUS;
//   - anonymous page never touched: demand-zero, a fresh zero frame;
//   - file page: a private frame filled from the page cache (per page, never per VMA);
//   - write to a present read-only PTE of a writable VMA (fork's COW): the frame is reused when
//     this is its only reference, else copied (a COW break).
// Status (stage 2 of issue 14): anonymous memory lives only in frames (the Mm's own anon
// backing is not read); MAP_SHARED file pages are read-only copies here, and a write to one
// is refused as Unsupported (the page cache does not live in the FrameSpace yet).
//
// Ownership: owned beside its Mm (which must outlive it); holds one frame reference and one
// mapping per present PTE. Callers flush engine TLBs after zap(). Machine thread only.
#pragma once

#include <cstdint>
#include <memory>

#include "mmu/frame_space.h"
#include "mmu/mm.h"
#include "mmu/page_table.h"

namespace probesim::mmu {

class PagedMm {
 public:
  PagedMm(const Mm& mm, FrameSpace& frames) : mm_(mm), frames_(frames) {}
  ~PagedMm();  // drops every PTE and its frame references
  PagedMm(const PagedMm&) = delete;
  PagedMm& operator=(const PagedMm&) = delete;

  // What the TLB gets for one access: a frame's physical address (FrameSpace::phys) and the
  // PTE's permissions (VM_READ | VM_WRITE | VM_EXEC), or the fault the guest takes.
  struct Fill {
    FaultKind fault = FaultKind::None;
    bool unsupported = false;  // a case stage 2 does not model (see above); fault is None
    uint64_t phys = 0;
    uint32_t prot = 0;
    bool ok() const { return fault == FaultKind::None && !unsupported; }
  };
  Fill fill(GuestAddr va, Access access);

  // zap_page_range: removes the PTEs of [start, end) and drops their frame references (munmap,
  // MADV_DONTNEED; an mprotect zaps so the next access re-faults with the new permissions).
  void zap(GuestAddr start, GuestAddr end);
  // fork's copy_page_range: a PagedMm for `child` whose PTEs map the same frames, write
  // permission removed on both sides, so the first write on either side breaks the COW.
  std::unique_ptr<PagedMm> dup_cow(const Mm& child);

  const PageTable& page_table() const { return pt_; }
  FrameSpace& frames() const { return frames_; }

  struct Stats {
    uint64_t fills = 0;         // fill() calls
    uint64_t minor_faults = 0;  // PTEs created (demand-zero or file page)
    uint64_t cow_breaks = 0;    // writes that copied a shared frame
    uint64_t cow_reuses = 0;    // writes that found the frame unshared and reused it
  };
  const Stats& stats() const { return stats_; }
  // Asserts the table's invariants and that every PTE lies in a VMA, maps an in-use frame
  // and is writable only where its VMA is.
  void verify() const;

 private:
  Fill translation(const Pte& pte) const;
  Fill fault_in(GuestAddr page, Access access);
  Fill break_cow(GuestAddr page, Pte& pte);

  const Mm& mm_;
  FrameSpace& frames_;
  PageTable pt_;
  Stats stats_;
};

}  // namespace probesim::mmu
