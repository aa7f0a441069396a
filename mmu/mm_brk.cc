// brk(2): the "[heap]" VMA grows and shrinks at the program break. It is always one VMA
// (one run): its own arena is reserved with headroom and replaced by a larger copy when
// the heap outgrows it.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "mmu/mm.h"
#include "mmu/run_batch.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"

namespace probesim::mmu {
namespace {

constexpr uint64_t kHeapReserve = uint64_t{64} << 20;  // NORESERVE: costs address space only
constexpr uint32_t kHeapFlags =
    VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT;  // do_brk_flags
const char kHeapName[] = "[heap]";

}  // namespace

void Mm::set_brk_base(GuestAddr start_brk) {
  start_brk_ = GuestAddr{page_align_up(start_brk.value)};
  brk_ = start_brk_;
}

uint64_t Mm::brk(GuestAddr new_brk) {
  if (new_brk < start_brk_) return brk_.value;
  const GuestAddr newbrk{page_align_up(new_brk.value)}, oldbrk{page_align_up(brk_.value)};
  if (newbrk.value < new_brk.value) return brk_.value;  // overflow
  if (newbrk == oldbrk) {
    brk_ = new_brk;
    return brk_.value;
  }
  if (new_brk <= brk_) {  // shrink: unmap [newbrk, oldbrk)
    RunBatch batch(*this, newbrk, oldbrk);
    unmap_range(newbrk, oldbrk);
    brk_ = new_brk;
    return brk_.value;
  }
  // Grow: the new pages plus one guard page must not reach the next mapping.
  if (newbrk.value > layout_.task_size.value - kPageSize) return brk_.value;
  if (const Vma* next = find_vma(oldbrk); next && newbrk.value + kPageSize > vm_start_gap(*next)) {
    return brk_.value;
  }
  if (!commit_fits(newbrk - oldbrk)) return brk_.value;  // do_brk_flags: may_expand_vm, ENOMEM
  if (map_count() > layout_.max_map_count) return brk_.value;  // do_brk_flags: ENOMEM
  if (!grow_heap(oldbrk, newbrk)) return brk_.value;
  brk_ = new_brk;
  return brk_.value;
}

// Extends the heap VMA ending at old_end to new_end, or creates it. False on ENOMEM.
bool Mm::grow_heap(GuestAddr old_end, GuestAddr new_end) {
  RunBatch batch(*this, old_end, new_end);
  Vma* heap = old_end > start_brk_ ? vma_at_mut(old_end - kPageSize) : nullptr;
  if (heap && (heap->name != kHeapName || heap->vm_file || heap->vm_end != old_end)) {
    heap = nullptr;
  }
  if (!heap) {
    const uint64_t len = new_end - old_end;
    Result<std::shared_ptr<HostArena>> arena =
        HostArena::create(std::max(kHeapReserve, 2 * len), "heap");
    if (!arena) return false;
    auto v = std::make_unique<Vma>(this, old_end, new_end, old_end.value >> kPageShift, kHeapFlags,
                                   nullptr);
    v->name = kHeapName;
    v->anon = std::move(*arena);
    link_vma(std::move(v));
    merge_around(old_end, new_end);
    return true;
  }
  const uint64_t need = new_end - heap->vm_start;
  if (!heap->anon->contains(heap->anon_offset, need)) {  // move to a bigger arena
    Result<std::shared_ptr<HostArena>> arena = HostArena::create(2 * need, "heap");
    if (!arena) return false;
    std::memcpy((*arena)->data(), heap->host_ptr(heap->vm_start), heap->len());
    heap->anon->discard(heap->anon_offset, heap->len());  // its bytes may be reused later
    heap->anon = std::move(*arena);
    heap->anon_offset = 0;
  }
  set_bounds(heap, heap->vm_start, new_end);
  merge_around(old_end, new_end);
  return true;
}

}  // namespace probesim::mmu
