#include "mmu/page_pool.h"

#include "probesim/assert.h"
#include "probesim/types.h"

namespace probesim::mmu {

Result<PrivatePage> PagePool::allocate() {
  if (!free_.empty()) {
    PrivatePage p = std::move(free_.back());
    free_.pop_back();
    ++in_use_;
    return p;
  }
  if (next_ == kChunkPages) {
    chunk_ = PROBESIM_TRY(HostArena::create(kChunkPages << kPageShift, "replaced pages"));
    next_ = 0;
  }
  ++in_use_;
  return PrivatePage{chunk_, (next_++) << kPageShift};
}

void PagePool::free(PrivatePage page) {
  PROBESIM_ASSERT(page.arena && in_use_ > 0);
  page.arena->discard(page.offset, kPageSize);
  --in_use_;
  free_.push_back(std::move(page));
}

}  // namespace probesim::mmu
