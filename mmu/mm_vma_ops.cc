// Mm's VMA surgery: linking, splitting, merging, unmapping, private copies. Every function
// here keeps i_mmap membership in step with the VMA set; callers wrap them in a RunBatch.
#include <algorithm>
#include <cstring>
#include <iterator>

#include "mmu/address_space.h"
#include "mmu/mm.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"

namespace probesim::mmu {

Vma* Mm::link_vma(std::unique_ptr<Vma> v) {
  Vma* raw = v.get();
  PROBESIM_ASSERT(raw->vm_mm == this);
  auto [it, inserted] = vmas_.emplace(raw->vm_start.value, std::move(v));
  PROBESIM_ASSERT_MSG(inserted, "two VMAs start at the same address");
  if (raw->vm_file) raw->vm_file->i_mapping().i_mmap().insert(raw);
  total_pages_ += raw->pages();
  if (raw->vm_flags & VM_GROWSDOWN) growsdown_.insert(raw->vm_start.value);
  note_vmas_changed(raw->vm_start.value, raw->vm_end.value);
  return raw;
}

void Mm::unlink_vma(Vma* v, Discard discard) {
  if (v->vm_file) v->vm_file->i_mapping().i_mmap().remove(v);
  // Freed anonymous bytes must read zero when the range is reused (shared anon included:
  // its only mapping is going away).
  if (discard == Discard::Yes && v->private_copy()) v->anon->discard(v->anon_offset, v->len());
  PROBESIM_ASSERT_MSG(discard == Discard::Yes || v->replaced.empty(),
                      "replaced pages must move to the VMA absorbing them");
  free_replaced(*v, v->vm_start, v->vm_end);
  auto it = vmas_.find(v->vm_start.value);
  PROBESIM_ASSERT(it != vmas_.end() && it->second.get() == v);
  const uint64_t lo = v->vm_start.value, hi = v->vm_end.value;
  total_pages_ -= v->pages();
  growsdown_.erase(lo);
  vmas_.erase(it);  // destroys v (iput)
  note_vmas_changed(lo, hi);
}

// Moves v to [start, end) with start >= v->vm_start, shifting vm_pgoff and anon_offset so
// every page keeps its backing.
void Mm::set_bounds(Vma* v, GuestAddr start, GuestAddr end) {
  PROBESIM_ASSERT(v->vm_start <= start && start < end);
  PROBESIM_ASSERT_MSG(v->replaced.empty() || (v->replaced.begin()->first >= start.value &&
                                              v->replaced.rbegin()->first < end.value),
                      "set_bounds would cut off replaced pages");
  if (v->vm_file) v->vm_file->i_mapping().i_mmap().remove(v);
  const uint64_t delta = start - v->vm_start;
  const uint64_t old_start = v->vm_start.value, old_end = v->vm_end.value;
  if (delta) {
    auto node = vmas_.extract(v->vm_start.value);
    node.key() = start.value;
    vmas_.insert(std::move(node));
    if (growsdown_.erase(old_start)) growsdown_.insert(start.value);
  }
  total_pages_ = total_pages_ - v->pages() + ((end - start) >> kPageShift);
  v->vm_pgoff += delta >> kPageShift;
  v->anon_offset += v->anon ? delta : 0;
  v->vm_start = start;
  v->vm_end = end;
  if (v->vm_file) v->vm_file->i_mapping().i_mmap().insert(v);
  note_vmas_changed(old_start, std::max(old_end, end.value));
}

Vma* Mm::split_vma(Vma* v, GuestAddr at) {
  PROBESIM_ASSERT(v->vm_start < at && at < v->vm_end && page_aligned(at.value));
  const uint64_t delta = at - v->vm_start;
  auto upper = std::make_unique<Vma>(this, at, v->vm_end, v->vm_pgoff + (delta >> kPageShift),
                                     v->vm_flags, v->vm_file);
  upper->name = v->name;
  upper->anon = v->anon;
  upper->anon_offset = v->anon ? v->anon_offset + delta : 0;
  upper->replaced.insert(std::make_move_iterator(v->replaced.lower_bound(at.value)),
                         std::make_move_iterator(v->replaced.end()));
  v->replaced.erase(v->replaced.lower_bound(at.value), v->replaced.end());
  set_bounds(v, v->vm_start, at);
  ++stats_.splits;
  return link_vma(std::move(upper));
}

void Mm::unmap_range(GuestAddr start, GuestAddr end) {
  if (const Vma* first = find_vma(start); first && first->vm_start < end)
    hiwater_vm_ = std::max(hiwater_vm_, total_vm());  // update_hiwater_vm
  if (Vma* v = vma_at_mut(start); v && v->vm_start < start) split_vma(v, start);
  for (;;) {
    auto it = vmas_.lower_bound(start.value);
    if (it == vmas_.end() || it->second->vm_start >= end) break;
    Vma* v = it->second.get();
    if (v->vm_end > end) split_vma(v, end);
    unlink_vma(v, Discard::Yes);
  }
}

// Linux's merge rule plus ours: the merged VMA must be host-contiguous (one run).
bool Mm::can_merge(const Vma& a, const Vma& b) const {
  if (a.vm_end != b.vm_start || a.vm_flags != b.vm_flags || (a.vm_flags & VM_SPECIAL)) return false;
  if (a.vm_file != b.vm_file || a.name != b.name || a.private_copy() != b.private_copy()) {
    return false;
  }
  if (a.vm_pgoff + a.pages() != b.vm_pgoff) return false;
  if (!a.private_copy()) return true;  // same page cache, contiguous pgoff
  return a.anon == b.anon && a.anon_offset + a.len() == b.anon_offset;
}

// Merges every mergeable neighbour pair that touches [lo, hi).
void Mm::merge_around(GuestAddr lo, GuestAddr hi) {
  auto it = vmas_.lower_bound(lo.value);
  if (it != vmas_.begin()) --it;
  while (it != vmas_.end() && it->second->vm_start <= hi) {
    auto next = std::next(it);
    if (next == vmas_.end() || !can_merge(*it->second, *next->second)) {
      it = next;
      continue;
    }
    Vma* a = it->second.get();
    const GuestAddr end = next->second->vm_end;
    a->replaced.merge(next->second->replaced);    // keys are addresses: they stay valid
    unlink_vma(next->second.get(), Discard::No);  // its bytes now belong to a
    set_bounds(a, a->vm_start, end);
    ++stats_.merges;
  }
}

// Copies pages [first, end) of v (VMA-relative) from the page cache into v's anon memory.
void Mm::refill_from_page_cache(Vma& v, uint64_t first, uint64_t end) {
  PROBESIM_ASSERT(v.private_copy() && v.vm_file && first <= end && end <= v.run_pages());
  const AddressSpace& as = v.vm_file->i_mapping();
  for (uint64_t p = first; p < end; ++p) {
    PROBESIM_ASSERT(as.page_uptodate(PageIndex{v.vm_pgoff + p}));
  }
  if (first == end) return;
  std::memcpy(v.anon->data() + v.anon_offset + (first << kPageShift),
              as.base() + ((v.vm_pgoff + first) << kPageShift), (end - first) << kPageShift);
}

// COW at VMA granularity: v gets anonymous memory holding a copy of its file pages.
Result<void> Mm::make_private_copy(Vma& v) {
  PROBESIM_ASSERT(!v.private_copy() && v.vm_file);
  AnonBacking b = PROBESIM_TRY(anon_.allocate(v.vm_start, v.len()));
  PROBESIM_TRY_VOID(v.vm_file->i_mapping().populate(PageIndex{v.vm_pgoff}, v.run_pages()));
  v.anon = std::move(b.arena);
  v.anon_offset = b.offset;
  refill_from_page_cache(v, 0, v.run_pages());
  // Replaced pages (uprobe breakpoints) carry over into the copy, as Linux's anon pages do.
  for (auto& [page, pp] : v.replaced) {
    std::memcpy(v.anon->data() + v.anon_offset + (page - v.vm_start.value), pp.data(), kPageSize);
  }
  free_replaced(v, v.vm_start, v.vm_end);
  ++stats_.private_copies;
  return {};
}

void Mm::free_replaced(Vma& v, GuestAddr start, GuestAddr end) {
  auto it = v.replaced.lower_bound(start.value);
  while (it != v.replaced.end() && it->first < end.value) {
    pool_.free(std::move(it->second));
    it = v.replaced.erase(it);
    ++stats_.dropped_pages;
  }
}

}  // namespace probesim::mmu
