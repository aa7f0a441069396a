// mmap(2) and munmap(2): argument checks in the kernel's order, placement (hint, then
// top-down below mmap_base, then bottom-up above TASK_UNMAPPED_BASE, as Linux's default
// layout), and creation of the VMA with its backing.
#include <cerrno>

#include "mmu/address_space.h"
#include "mmu/mm.h"
#include "mmu/run_batch.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"

namespace probesim::mmu {
namespace {

// MAP_SHARED_VALIDATE accepts only flags the kernel knows (LEGACY_MAP_MASK | MAP_SYNC...).
constexpr int kLegacyMapMask = kMapShared | kMapPrivate | kMapFixed | kMapAnonymous |
                               kMapDenywrite | kMapExecutable | kMapUninitialized | kMapGrowsdown |
                               kMapLocked | kMapNoreserve | kMapPopulate | kMapNonblock |
                               kMapStack | kMapHugetlb;
constexpr int kValidateMask = kLegacyMapMask | kMapSync | kMapFixedNoreplace | 0x40 /*MAP_32BIT*/;

// The VM_* flags of a new mapping (do_mmap). `shared` is MAP_SHARED(_VALIDATE).
uint32_t mmap_vm_flags(int prot, int flags, bool shared, const Inode* file, FileMode mode) {
  uint32_t vm =
      calc_vm_prot_bits(prot) | calc_vm_flag_bits(flags) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (shared) {
    vm |= VM_SHARED | VM_MAYSHARE;
    if (file && mode == FileMode::ReadOnly) vm &= ~(VM_MAYWRITE | VM_SHARED);
  }
  if (flags & kMapNoreserve) vm |= VM_NORESERVE;
  if (!(vm & (VM_NORESERVE | VM_SHARED)) && (vm & VM_WRITE)) vm |= VM_ACCOUNT;  // accountable
  return vm;
}

// True when unmapping [start, end) splits one VMA in two (a hole punched into its middle): the
// only munmap that adds a VMA, which Linux refuses at max_map_count (vms_gather_munmap_vmas).
bool punches_hole(const Mm& mm, GuestAddr start, GuestAddr end) {
  const Vma* v = mm.vma_at(start);
  return v && v->vm_start < start && end < v->vm_end;
}

// The executable VMAs such a hole adds (one if the VMA split in two is executable).
uint64_t exec_hole(const Mm& mm, GuestAddr start, GuestAddr end) {
  return punches_hole(mm, start, end) && (mm.vma_at(start)->vm_flags & VM_EXEC) ? 1 : 0;
}

}  // namespace

int64_t Mm::mmap(GuestAddr addr, uint64_t len, int prot, int flags, Inode* file, FileOffset off,
                 FileMode mode) {
  if (!page_aligned(off.value) || len == 0) return -EINVAL;
  int type = flags & kMapType;
  if (type == kMapSharedValidate) {
    if (flags & ~kValidateMask) return -EOPNOTSUPP;
    type = kMapShared;
  } else if (type != kMapShared && type != kMapPrivate) {
    return -EINVAL;
  }
  const bool shared = type == kMapShared;
  if (flags & kMapAnonymous) {
    file = nullptr;
  } else if (!file) {
    return -EBADF;
  }
  const uint64_t rlen = page_align_up(len);
  if (rlen < len || rlen > layout_.task_size.value) return -ENOMEM;
  uint64_t pgoff = off.value >> kPageShift;
  if (pgoff + (rlen >> kPageShift) < pgoff) return -EOVERFLOW;
  if (map_count() > layout_.max_map_count) return -ENOMEM;  // do_mmap: too many mappings
  if ((prot & kProtExec) && exec_map_count() > layout_.max_exec_map_count) return -ENOMEM;
  if (file && shared && (prot & kProtWrite) && mode == FileMode::ReadOnly) return -EACCES;
  if (flags & kMapFixedNoreplace) flags |= kMapFixed;

  const int64_t placed = place_mapping(addr, rlen, flags);
  if (placed < 0) return placed;
  const auto start = static_cast<uint64_t>(placed);
  if (!file) pgoff = shared ? 0 : start >> kPageShift;  // anon: as Linux (shmem starts at 0)
  return map_region(GuestAddr{start}, rlen, mmap_vm_flags(prot, flags, shared, file, mode), file,
                    pgoff);
}

// Where a mapping of rlen bytes goes: MAP_FIXED(_NOREPLACE) checks, else the search.
int64_t Mm::place_mapping(GuestAddr addr, uint64_t rlen, int flags) const {
  if (!(flags & kMapFixed)) return get_unmapped_area(addr, rlen);
  if (!page_aligned(addr.value)) return -EINVAL;
  if (addr.value > layout_.task_size.value - rlen) return -ENOMEM;
  if (addr < layout_.mmap_min_addr) return -EPERM;
  if ((flags & kMapFixedNoreplace) && !range_free(addr, rlen)) return -EEXIST;
  return static_cast<int64_t>(addr.value);
}

// mmap_region: replaces whatever is in [addr, addr+len) by a new VMA and merges it.
int64_t Mm::map_region(GuestAddr addr, uint64_t len, uint32_t vm_flags, Inode* file,
                       uint64_t pgoff) {
  // Charged if it will be own writable memory (anonymous, or a private copy of the file);
  // what a MAP_FIXED mapping replaces is given back first (mmap_region's accounting).
  const bool own = !file || !(vm_flags & VM_MAYSHARE);
  if (own && (vm_flags & (VM_WRITE | VM_ACCOUNT)) &&
      !commit_fits(len - committed_in(addr, addr + len))) {
    return -ENOMEM;
  }
  if (punches_hole(*this, addr, addr + len) && !map_count_fits(1)) return -ENOMEM;
  if (!exec_map_count_fits(exec_hole(*this, addr, addr + len))) return -ENOMEM;
  RunBatch batch(*this, addr, addr + len);
  unmap_range(addr, addr + len);  // MAP_FIXED semantics; a no-op for a free range
  auto v = std::make_unique<Vma>(this, addr, addr + len, pgoff, vm_flags, file);
  if (!file) {
    Result<AnonBacking> b = anon_.allocate(addr, len);
    if (!b) return -ENOMEM;
    v->anon = std::move(b->arena);
    v->anon_offset = b->offset;
  } else {
    // The emulator maps the whole run at once: every page in it must be uptodate now.
    Result<void> r = file->i_mapping().populate(PageIndex{pgoff}, v->run_pages());
    if (!r) return -(r.error().err ? r.error().err : EIO);
    if (!(vm_flags & VM_MAYSHARE) && (vm_flags & VM_WRITE)) {
      if (!make_private_copy(*v)) return -ENOMEM;
    }
    if ((vm_flags & VM_SHARED) && (vm_flags & VM_WRITE)) file->mark_dirty();
  }
  link_vma(std::move(v));
  merge_around(addr, addr + len);
  return static_cast<int64_t>(addr.value);
}

int64_t Mm::munmap(GuestAddr addr, uint64_t len) {
  const uint64_t rlen = page_align_up(len);
  if (!page_aligned(addr.value) || rlen == 0 || rlen < len) return -EINVAL;
  if (addr > layout_.task_size || rlen > layout_.task_size - addr) return -EINVAL;
  if (punches_hole(*this, addr, addr + rlen) && !map_count_fits(1)) return -ENOMEM;
  if (!exec_map_count_fits(exec_hole(*this, addr, addr + rlen))) return -ENOMEM;
  RunBatch batch(*this, addr, addr + rlen);
  unmap_range(addr, addr + rlen);
  return 0;
}

// Linux's vm_start_gap: a stack (VM_GROWSDOWN) keeps stack_guard_gap free below it.
uint64_t Mm::vm_start_gap(const Vma& v) const {
  const uint64_t s = v.vm_start.value;
  if (!(v.vm_flags & VM_GROWSDOWN)) return s;
  return s > layout_.stack_guard_gap ? s - layout_.stack_guard_gap : 0;
}

bool Mm::range_free(GuestAddr start, uint64_t len) const {
  const Vma* v = find_vma(start);
  return !v || v->vm_start.value >= start.value + len;
}

int64_t Mm::get_unmapped_area(GuestAddr hint, uint64_t len) const {
  const uint64_t min_addr = layout_.mmap_min_addr.value, task = layout_.task_size.value;
  uint64_t h = page_align_down(hint.value);  // round_hint_to_min
  if (h && h < min_addr) h = page_align_up(min_addr);
  if (h && task - len >= h) {
    const Vma* next = find_vma(GuestAddr{h});
    if (!next || h + len <= vm_start_gap(*next)) return static_cast<int64_t>(h);
  }
  const uint64_t low = std::max(kPageSize, page_align_up(min_addr));
  const int64_t r = find_gap_topdown(len, low, layout_.mmap_base.value);
  if (r >= 0) return r;
  return find_gap_bottomup(len, std::max(low, page_align_up(task / 3)), task);
}

// Highest free [addr, addr+len) inside [low, high) (unmapped_area_topdown), by the VMA walk.
// find_gap_topdown (mm_holes.cc) gives the same answer from the hole index; verify() checks it.
int64_t Mm::find_gap_topdown_linear(uint64_t len, uint64_t low, uint64_t high) const {
  uint64_t top = high;
  auto it = vmas_.lower_bound(high);
  if (it != vmas_.end()) top = std::min(top, vm_start_gap(*it->second));
  while (it != vmas_.begin()) {
    --it;
    const Vma& v = *it->second;
    const uint64_t bottom = std::max(v.vm_end.value, low);
    if (top > bottom && top - bottom >= len) return static_cast<int64_t>(top - len);
    top = std::min(top, vm_start_gap(v));
    if (top <= low) return -ENOMEM;
  }
  if (top > low && top - low >= len) return static_cast<int64_t>(top - len);
  return -ENOMEM;
}

// Lowest free [addr, addr+len) inside [low, high) (unmapped_area).
int64_t Mm::find_gap_bottomup(uint64_t len, uint64_t low, uint64_t high) const {
  uint64_t bottom = low;
  auto it = vmas_.upper_bound(low);
  if (it != vmas_.begin()) bottom = std::max(bottom, std::prev(it)->second->vm_end.value);
  for (; it != vmas_.end() && bottom < high; ++it) {
    const uint64_t top = std::min(vm_start_gap(*it->second), high);
    if (top > bottom && top - bottom >= len) return static_cast<int64_t>(bottom);
    bottom = std::max(bottom, it->second->vm_end.value);
  }
  if (high > bottom && high - bottom >= len) return static_cast<int64_t>(bottom);
  return -ENOMEM;
}

}  // namespace probesim::mmu
