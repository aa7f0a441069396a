// RunBatch: reports one Mm operation's effect on the runs to the MmObserver.
//
// Construct it before mutating VMAs in [lo, hi); it snapshots the emitted runs of every VMA
// that intersects [lo - 1 page, hi + 1 page) (the range plus possible merge partners).
// commit() (or the destructor) recomputes the runs (Vma::runs) of the VMAs now in that span, emits
// on_unmap for every old run that is gone, then on_map for every new one, and records them
// in Vma::emitted, and moves the mm's commit charge by the span's change. Unchanged runs emit nothing. Old backing arenas are kept alive until the
// observer has been told, so no realized region ever points at freed host memory.
#pragma once

#include <memory>
#include <vector>

#include "mmu/host_arena.h"
#include "mmu/vma.h"
#include "probesim/types.h"

namespace probesim::mmu {

class Mm;

class RunBatch {
 public:
  RunBatch(Mm& mm, GuestAddr lo, GuestAddr hi);
  ~RunBatch() { commit(); }
  RunBatch(const RunBatch&) = delete;
  RunBatch& operator=(const RunBatch&) = delete;

  void commit();

 private:
  Mm& mm_;
  GuestAddr lo_, hi_;
  std::vector<Run> old_;
  std::vector<std::shared_ptr<HostArena>> keep_alive_;
  bool committed_ = false;
  uint64_t committed_before_ = 0;  // Mm::vma_committed of the span's VMAs at construction
};

}  // namespace probesim::mmu
