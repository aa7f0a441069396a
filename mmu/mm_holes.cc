// Mm's VMA index (see mm.h, holes_): the free holes between VMAs, so that top-down placement
// skips packed VMAs in one step instead of walking every VMA below mmap_base.
#include <algorithm>
#include <cerrno>
#include <iterator>

#include "mmu/mm.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"

namespace probesim::mmu {

// VMAs inside [lo, hi) changed (linked, unlinked or moved): the holes that end at a vm_start
// in [lo, K], K the first vm_start above hi (kNoVma if none), are recomputed. A hole that
// ends above K starts at the end of a VMA at or above K, which did not change.
void Mm::note_vmas_changed(uint64_t lo, uint64_t hi) {
  auto next = vmas_.upper_bound(hi);
  const uint64_t k = next == vmas_.end() ? kNoVma : next->first;
  holes_.erase(holes_.lower_bound(lo), holes_.upper_bound(k));
  auto it = vmas_.lower_bound(lo);
  uint64_t prev_end = it == vmas_.begin() ? 0 : std::prev(it)->second->vm_end.value;
  for (; it != vmas_.end() && it->first <= k; ++it) {
    if (it->first > prev_end) holes_.emplace(it->first, prev_end);
    prev_end = it->second->vm_end.value;
  }
  if (k == kNoVma) holes_.emplace(kNoVma, prev_end);
}

// find_gap_topdown_linear's answer from the holes. Without a VM_GROWSDOWN VMA below `high`,
// every VMA below it reserves exactly [vm_start, vm_end), so the walk's `top` at a hole is the
// hole's end, capped by `high` and by the guard gap of the first VMA at or above `high`.
int64_t Mm::find_gap_topdown(uint64_t len, uint64_t low, uint64_t high) const {
  if (!growsdown_.empty() && *growsdown_.begin() < high) {
    return find_gap_topdown_linear(len, low, high);
  }
  uint64_t cap = high;
  if (auto nv = vmas_.lower_bound(high); nv != vmas_.end()) {
    cap = std::min(cap, vm_start_gap(*nv->second));
  }
  for (auto h = holes_.lower_bound(high);; --h) {
    if (h == holes_.end()) {
      if (h == holes_.begin()) return -ENOMEM;
      continue;  // no hole ends at or above high: start from the highest one
    }
    const uint64_t end = h->first, start = h->second;
    if (start < high) {
      const uint64_t top = std::min(cap, end);
      if (top <= low) return -ENOMEM;
      const uint64_t bottom = std::max(start, low);
      if (top > bottom && top - bottom >= len) return static_cast<int64_t>(top - len);
      if (start <= low) return -ENOMEM;
    }
    if (h == holes_.begin()) return -ENOMEM;
  }
}

// Asserts the index against a recount, and the hole search against the VMA walk.
void Mm::verify_index() const {
  std::map<uint64_t, uint64_t> holes;
  std::set<uint64_t> growsdown;
  uint64_t prev_end = 0, pages = 0;
  for (const auto& [start, v] : vmas_) {
    if (start > prev_end) holes.emplace(start, prev_end);
    prev_end = v->vm_end.value;
    pages += v->pages();
    if (v->vm_flags & VM_GROWSDOWN) growsdown.insert(start);
  }
  holes.emplace(kNoVma, prev_end);
  PROBESIM_ASSERT_MSG(holes == holes_, "the hole index differs from the VMAs");
  PROBESIM_ASSERT(growsdown == growsdown_ && pages == total_pages_);
  const uint64_t low = std::max(kPageSize, page_align_up(layout_.mmap_min_addr.value));
  for (uint64_t len : {kPageSize, 16 * kPageSize, uint64_t{1} << 30}) {
    PROBESIM_ASSERT_MSG(find_gap_topdown(len, low, layout_.mmap_base.value) ==
                            find_gap_topdown_linear(len, low, layout_.mmap_base.value),
                        "the hole search and the VMA walk disagree");
  }
}

}  // namespace probesim::mmu
