#include "emu/futex_key.h"

#include "mmu/mm.h"
#include "mmu/vm_flags.h"

namespace probesim::emu {

FutexTable::Key futex_key(const mmu::Mm& mm, uint64_t uaddr, bool shared) {
  const mmu::Vma* v = shared ? mm.vma_at(GuestAddr{uaddr}) : nullptr;
  if (!v || !(v->vm_flags & mmu::VM_MAYSHARE)) return {&mm, uaddr};
  const uint64_t delta = uaddr - v->vm_start.value;
  if (v->anon) return {v->anon.get(), v->anon_offset + delta};
  return {v->vm_file, (v->vm_pgoff << kPageShift) + delta};
}

}  // namespace probesim::emu
