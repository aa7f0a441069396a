#include "mmu/frame_space.h"

#include <algorithm>
#include <cerrno>

#include "probesim/assert.h"

namespace probesim::mmu {

Result<std::unique_ptr<FrameSpace>> FrameSpace::create(uint64_t bytes) {
  const uint64_t size = page_align_up(bytes);
  if (bytes == 0 || size < bytes) {
    return Error::make("frame space: invalid size " + std::to_string(bytes), EINVAL);
  }
  std::shared_ptr<HostArena> arena = PROBESIM_TRY(HostArena::create(size, "frame space"));
  return std::unique_ptr<FrameSpace>(new FrameSpace(std::move(arena), size >> kPageShift));
}

FrameSpace::PageMeta& FrameSpace::meta(Pfn pfn) {
  PROBESIM_ASSERT_MSG(pfn.value < meta_.size(),
                      "pfn never allocated: " + std::to_string(pfn.value));
  return meta_[pfn.value];
}

const FrameSpace::PageMeta& FrameSpace::meta(Pfn pfn) const {
  PROBESIM_ASSERT_MSG(pfn.value < meta_.size(),
                      "pfn never allocated: " + std::to_string(pfn.value));
  return meta_[pfn.value];
}

Result<Pfn> FrameSpace::alloc_zeroed() {
  Pfn pfn;
  if (!free_.empty()) {
    pfn = free_.back();  // discarded by put(): reads zero
    free_.pop_back();
  } else if (meta_.size() < frames_) {
    pfn = Pfn{meta_.size()};  // never touched: NORESERVE memory reads zero
    meta_.emplace_back();
  } else {
    return Error::make("frame space: all " + std::to_string(frames_) + " frames in use", ENOMEM);
  }
  meta_[pfn.value].refcount = 1;
  ++stats_.allocated;
  stats_.peak = std::max(stats_.peak, ++stats_.in_use);
  return pfn;
}

void FrameSpace::get(Pfn pfn) {
  PageMeta& m = meta(pfn);
  PROBESIM_ASSERT(m.refcount > 0);
  ++m.refcount;
}

void FrameSpace::put(Pfn pfn) {
  PageMeta& m = meta(pfn);
  PROBESIM_ASSERT(m.refcount > 0 && m.mapcount < m.refcount);
  if (--m.refcount > 0) return;
  arena_->discard(phys(pfn), kPageSize);
  free_.push_back(pfn);
  --stats_.in_use;
  ++stats_.freed;
}

void FrameSpace::add_map(Pfn pfn) {
  PageMeta& m = meta(pfn);
  PROBESIM_ASSERT(m.refcount > m.mapcount);
  ++m.mapcount;
}

void FrameSpace::remove_map(Pfn pfn) {
  PageMeta& m = meta(pfn);
  PROBESIM_ASSERT(m.mapcount > 0);
  --m.mapcount;
}

uint32_t FrameSpace::refcount(Pfn pfn) const {
  return meta(pfn).refcount;
}
uint32_t FrameSpace::mapcount(Pfn pfn) const {
  return meta(pfn).mapcount;
}

uint8_t* FrameSpace::data(Pfn pfn) const {
  PROBESIM_ASSERT(pfn.value < meta_.size() && meta_[pfn.value].refcount > 0);
  return arena_->data() + phys(pfn);
}

std::vector<FrameSpace::Region> FrameSpace::regions() const {
  return {Region{0, arena_->size(), arena_->data()}};
}

void FrameSpace::verify() const {
  uint64_t in_use = 0;
  for (const PageMeta& m : meta_) {
    PROBESIM_ASSERT(m.mapcount <= m.refcount);
    in_use += m.refcount > 0;
  }
  PROBESIM_ASSERT(in_use == stats_.in_use);
  PROBESIM_ASSERT(in_use + free_.size() == meta_.size());
  for (Pfn p : free_) PROBESIM_ASSERT(meta_[p.value].refcount == 0);
}

}  // namespace probesim::mmu
