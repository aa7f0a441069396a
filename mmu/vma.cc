#include "mmu/vma.h"

#include <algorithm>

#include "mmu/address_space.h"
#include "mmu/inode.h"
#include "mmu/inode_cache.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"

namespace probesim::mmu {

Vma::Vma(Mm* mm, GuestAddr start, GuestAddr end, uint64_t pgoff, uint32_t flags, Inode* file)
    : vm_start(start), vm_end(end), vm_pgoff(pgoff), vm_flags(flags), vm_file(file), vm_mm(mm) {
  PROBESIM_ASSERT(page_aligned(start.value) && page_aligned(end.value) && start < end);
  if (vm_file) vm_file->cache().iget(vm_file);
}

Vma::~Vma() {
  PROBESIM_ASSERT_MSG(!shared.linked, "VMA destroyed while still in i_mmap");
  if (vm_file) vm_file->cache().iput(vm_file);
}

uint8_t* Vma::host_ptr(GuestAddr a) const {
  PROBESIM_ASSERT(vm_start <= a && a < vm_end);
  if (anon) return anon->data() + anon_offset + (a - vm_start);
  if (!replaced.empty()) {
    auto it = replaced.find(page_align_down(a.value));
    if (it != replaced.end()) return it->second.data() + (a.value & (kPageSize - 1));
  }
  return vm_file->i_mapping().base() + (vm_pgoff << kPageShift) + (a - vm_start);
}

uint64_t Vma::run_pages() const {
  if (!vm_file) return pages();
  const uint64_t eof_pages = page_align_up(vm_file->i_size()) >> kPageShift;
  if (eof_pages <= vm_pgoff) return 0;
  return std::min(pages(), eof_pages - vm_pgoff);
}

GuestAddr Vma::contiguous_end(GuestAddr a) const {
  const uint64_t run_end = vm_start.value + (run_pages() << kPageShift);
  PROBESIM_ASSERT(vm_start <= a && a.value < run_end);
  if (replaced.empty()) return GuestAddr{run_end};
  const uint64_t page = page_align_down(a.value);
  if (replaced.count(page)) return GuestAddr{page + kPageSize};
  auto next = replaced.upper_bound(page);
  return GuestAddr{next == replaced.end() ? run_end : std::min(run_end, next->first)};
}

std::vector<Run> Vma::runs() const {
  std::vector<Run> out;
  const uint64_t n = run_pages();
  if (n == 0) return out;
  const uint32_t prot = vm_flags & VM_RWX;
  const uint64_t end = vm_start.value + (n << kPageShift);
  for (uint64_t cur = vm_start.value; cur < end;) {
    const uint64_t piece_end = contiguous_end(GuestAddr{cur}).value;
    out.push_back(Run{GuestAddr{cur}, piece_end - cur, host_ptr(GuestAddr{cur}), prot});
    cur = piece_end;
  }
  return out;
}

}  // namespace probesim::mmu
