// PagePool: single host pages for one Mm's replaced pages (uprobes' private copies of single
// file pages, Linux's __replace_page). Pages are carved out of NORESERVE chunk arenas of
// kChunkPages pages, so a thousand replaced pages cost a handful of host mappings, not a
// thousand. A freed page is discarded (reads zero again) and reused by the next allocation.
//
// Ownership: owned by its Mm. A PrivatePage holds a reference on its chunk arena, so a run
// the observer still realizes never points at unmapped host memory. Machine thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "mmu/host_arena.h"
#include "probesim/result.h"

namespace probesim::mmu {

struct PrivatePage {
  std::shared_ptr<HostArena> arena;  // the chunk
  uint64_t offset = 0;               // page-aligned offset of the page in the chunk
  uint8_t* data() const { return arena->data() + offset; }
};

class PagePool {
 public:
  static constexpr uint64_t kChunkPages = 64;

  PagePool() = default;
  PagePool(const PagePool&) = delete;
  PagePool& operator=(const PagePool&) = delete;

  // A zero-filled page. ENOMEM if a new chunk cannot be reserved.
  Result<PrivatePage> allocate();
  // Gives a page back (precondition: from this pool, not freed twice). Its bytes read zero.
  void free(PrivatePage page);
  uint64_t in_use() const { return in_use_; }

 private:
  std::vector<PrivatePage> free_;
  std::shared_ptr<HostArena> chunk_;  // the chunk being carved
  uint64_t next_ = kChunkPages;       // next uncarved page of chunk_
  uint64_t in_use_ = 0;
};

}  // namespace probesim::mmu
