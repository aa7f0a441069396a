// mprotect(2), madvise(2) and VMA naming: the operations that change VMAs in place, split
// them at the range edges and merge them back when neighbours become equal.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "mmu/address_space.h"
#include "mmu/mm.h"
#include "mmu/run_batch.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"

namespace probesim::mmu {
namespace {

// madvise advice table (mm/madvise.c): what each accepted advice does here.
enum class Advice { Noop, Dontneed, Flags, AnonOnlyNoop, Unsupported };
struct AdviceRule {
  int advice;
  Advice kind;
  uint32_t set, clear;  // VM_* changes for Advice::Flags
};
constexpr AdviceRule kAdviceRules[] = {
    {kMadvNormal, Advice::Flags, 0, VM_SEQ_READ | VM_RAND_READ},
    {kMadvRandom, Advice::Flags, VM_RAND_READ, VM_SEQ_READ},
    {kMadvSequential, Advice::Flags, VM_SEQ_READ, VM_RAND_READ},
    {kMadvWillneed, Advice::Noop, 0, 0},
    {kMadvDontneed, Advice::Dontneed, 0, 0},
    {kMadvFree, Advice::AnonOnlyNoop, 0, 0},  // contents may stay: we keep them (deterministic)
    {kMadvRemove, Advice::Unsupported, 0, 0},
    {kMadvDontfork, Advice::Flags, VM_DONTCOPY, 0},
    {kMadvDofork, Advice::Flags, 0, VM_DONTCOPY},
    {kMadvMergeable, Advice::Noop, 0, 0},
    {kMadvUnmergeable, Advice::Noop, 0, 0},
    {kMadvHugepage, Advice::Flags, VM_HUGEPAGE, VM_NOHUGEPAGE},
    {kMadvNohugepage, Advice::Flags, VM_NOHUGEPAGE, VM_HUGEPAGE},
    {kMadvDontdump, Advice::Flags, VM_DONTDUMP, 0},
    {kMadvDodump, Advice::Flags, 0, VM_DONTDUMP},
    {kMadvWipeonfork, Advice::Flags, VM_WIPEONFORK, 0},
    {kMadvKeeponfork, Advice::Flags, 0, VM_WIPEONFORK},
    {kMadvCold, Advice::Noop, 0, 0},
    {kMadvPageout, Advice::Noop, 0, 0},
    {kMadvPopulateRead, Advice::Noop, 0, 0},
    {kMadvPopulateWrite, Advice::Noop, 0, 0},
};

const AdviceRule* find_advice(int advice) {
  for (const AdviceRule& r : kAdviceRules) {
    if (r.advice == advice) return &r;
  }
  return nullptr;
}

}  // namespace

int64_t Mm::mprotect(GuestAddr addr, uint64_t len, int prot) {
  const int grows = prot & (kProtGrowsdown | kProtGrowsup);
  prot &= ~(kProtGrowsdown | kProtGrowsup);
  if (grows == (kProtGrowsdown | kProtGrowsup) || (grows & kProtGrowsup)) return -EINVAL;
  if (!page_aligned(addr.value)) return -EINVAL;
  if (len == 0) return 0;
  const uint64_t rlen = page_align_up(len);
  GuestAddr start = addr, end = addr + rlen;
  if (rlen < len || end <= start) return -ENOMEM;
  if (prot & ~(kProtRead | kProtWrite | kProtExec | kProtSem)) return -EINVAL;
  const Vma* first = find_vma(start);
  if (!first) return -ENOMEM;
  if (grows) {  // PROT_GROWSDOWN: extend down to the start of the stack VMA
    if (first->vm_start >= end) return -ENOMEM;
    if (!(first->vm_flags & VM_GROWSDOWN)) return -EINVAL;
    start = first->vm_start;
  } else if (first->vm_start > start) {
    return -ENOMEM;
  }
  if (!commit_fits(mprotect_commit_extra(start, end, prot))) return -ENOMEM;
  RunBatch batch(*this, start, end);
  int64_t error = 0;
  for (GuestAddr at = start; at < end;) {
    Vma* v = vma_at_mut(at);
    if (!v) {  // a hole: Linux keeps what it already changed
      error = -ENOMEM;
      break;
    }
    const uint32_t newflags = (v->vm_flags & ~VM_RWX) | calc_vm_prot_bits(prot);
    if ((newflags & ~(newflags >> 4)) & VM_RWX) {  // VM_MAY* missing
      error = -EACCES;
      break;
    }
    const GuestAddr piece_end = std::min(v->vm_end, end);
    error = mprotect_fixup(v, at, piece_end, newflags);
    if (error) break;
    at = piece_end;
  }
  merge_around(start, end);
  return error;
}

// Applies newflags to [start, end) of v (splitting it), charging VM_ACCOUNT like Linux and
// giving a private file mapping that becomes writable its private copy.
int64_t Mm::mprotect_fixup(Vma* v, GuestAddr start, GuestAddr end, uint32_t newflags) {
  const uint32_t old = v->vm_flags;
  if ((newflags & VM_WRITE) &&
      !(old & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE))) {
    newflags |= VM_ACCOUNT;
  }
  if (newflags == old) return 0;
  const bool needs_copy =
      v->vm_file && !v->private_copy() && !(newflags & VM_MAYSHARE) && (newflags & VM_WRITE);
  // How many neighbours (0..2) the piece merges with once it has newflags, as merge_around
  // will merge them (v wears newflags for can_merge only). A piece merges left only if it
  // starts v, right only if it ends v; one that gets a private copy is taken not to merge
  // (its new memory is not known yet).
  const auto merges_with_neighbours = [&]() -> int64_t {
    if (needs_copy) return 0;
    const auto it = vmas_.find(v->vm_start.value);
    const Vma* prev = it == vmas_.begin() ? nullptr : std::prev(it)->second.get();
    const Vma* next = std::next(it) == vmas_.end() ? nullptr : std::next(it)->second.get();
    v->vm_flags = newflags;
    const int64_t n = (start == v->vm_start && prev && can_merge(*prev, *v) ? 1 : 0) +
                      (end == v->vm_end && next && can_merge(*v, *next) ? 1 : 0);
    v->vm_flags = old;
    return n;
  };
  const int64_t splits = (start > v->vm_start ? 1 : 0) + (end < v->vm_end ? 1 : 0);
  const int64_t merges = merges_with_neighbours();
  // Linux tries vma_merge before split_vma: a piece that merges into a neighbour makes no new
  // VMA, so only a split that stays is held to max_map_count (split_vma's check).
  if (merges == 0 && !map_count_fits(static_cast<uint64_t>(splits))) return -ENOMEM;
  // Executable VMAs (the emulator's regions) after the change and the merges, less before
  // (a neighbour merges only if it has newflags): more are ENOMEM unless they fit.
  const int64_t was_x = (old & VM_EXEC) ? 1 : 0, is_x = (newflags & VM_EXEC) ? 1 : 0;
  const int64_t exec_extra = is_x * (1 - merges) + was_x * (splits - 1);
  if (exec_extra > 0 && !exec_map_count_fits(static_cast<uint64_t>(exec_extra))) return -ENOMEM;
  if (start > v->vm_start) v = split_vma(v, start);
  if (end < v->vm_end) split_vma(v, end);
  if (needs_copy && !make_private_copy(*v)) return -ENOMEM;
  if (v->vm_file && (newflags & VM_SHARED) && (newflags & VM_WRITE)) v->vm_file->mark_dirty();
  v->vm_flags = newflags;
  return 0;
}

int64_t Mm::madvise(GuestAddr addr, uint64_t len, int advice) {
  if (!find_advice(advice) || !page_aligned(addr.value)) return -EINVAL;
  const uint64_t rlen = page_align_up(len);
  if (len && rlen < len) return -EINVAL;
  const GuestAddr end = addr + rlen;
  if (end < addr) return -EINVAL;
  if (end == addr) return 0;
  RunBatch batch(*this, addr, end);
  int64_t error = 0;
  GuestAddr at = addr;
  while (at < end) {
    Vma* v = const_cast<Vma*>(find_vma(at));
    if (!v || v->vm_start >= end) {
      error = -ENOMEM;  // unmapped tail
      break;
    }
    if (v->vm_start > at) error = -ENOMEM;  // a hole; keep going like Linux
    const GuestAddr s = std::max(at, v->vm_start), e = std::min(end, v->vm_end);
    if (const int64_t r = madvise_vma(advice, v, s, e)) {
      error = r;
      break;
    }
    at = e;
  }
  merge_around(addr, end);
  return error;
}

// Applies one advice to [start, end) of v.
int64_t Mm::madvise_vma(int advice, Vma* v, GuestAddr start, GuestAddr end) {
  const AdviceRule* rule = find_advice(advice);
  switch (rule->kind) {
    case Advice::Noop:
      return 0;
    case Advice::Dontneed:
      return madvise_dontneed(*v, start, end);
    case Advice::AnonOnlyNoop:
      return (v->vm_file || (v->vm_flags & VM_MAYSHARE)) ? -EINVAL : 0;
    case Advice::Unsupported:
      return -EOPNOTSUPP;
    case Advice::Flags:
      return mprotect_fixup(v, start, end, (v->vm_flags & ~rule->clear) | rule->set);
  }
  return -EINVAL;
}

// MADV_DONTNEED drops the pages: private anonymous memory reads zero again, a private copy
// of a file (whole VMA or replaced page) reads the file again, shared memory keeps its contents.
int64_t Mm::madvise_dontneed(Vma& v, GuestAddr start, GuestAddr end) {
  if (v.vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)) return -EINVAL;
  // Replaced pages are private anon pages: zapped like Linux does (a uprobe breakpoint in
  // them is lost; the page cache frame is mapped again).
  free_replaced(v, start, end);
  if (!v.private_copy() || (v.vm_flags & VM_MAYSHARE)) return 0;
  const uint64_t first = (start - v.vm_start) >> kPageShift;
  const uint64_t last = (end - v.vm_start) >> kPageShift;
  v.anon->discard(v.anon_offset + (first << kPageShift), (last - first) << kPageShift);
  if (v.vm_file) {
    const uint64_t run = v.run_pages();
    refill_from_page_cache(v, std::min(first, run), std::min(last, run));
  }
  return 0;
}

Result<void> Mm::set_vma_name(GuestAddr addr, std::string name) {
  Vma* v = vma_at_mut(addr);
  if (!v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "set_vma_name: no mapping at 0x%llx",
                  static_cast<unsigned long long>(addr.value));
    return Error::make(buf, ENOMEM);
  }
  if (v->name == name) return {};
  const GuestAddr start = v->vm_start, end = v->vm_end;
  RunBatch batch(*this, start, end);
  v->name = std::move(name);
  merge_around(start, end);
  return {};
}

}  // namespace probesim::mmu
