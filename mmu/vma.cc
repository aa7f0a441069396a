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
  return vm_file->i_mapping().base() + (vm_pgoff << kPageShift) + (a - vm_start);
}

uint64_t Vma::run_pages() const {
  if (!vm_file) return pages();
  const uint64_t eof_pages = page_align_up(vm_file->i_size()) >> kPageShift;
  if (eof_pages <= vm_pgoff) return 0;
  return std::min(pages(), eof_pages - vm_pgoff);
}

Run Vma::run() const {
  const uint64_t n = run_pages();
  if (n == 0) return Run{};
  return Run{vm_start, n << kPageShift, host_ptr(vm_start), vm_flags & VM_RWX};
}

}  // namespace probesim::mmu
