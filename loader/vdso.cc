#include "loader/vdso.h"

#include <cerrno>

#include "mmu/mm.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"

namespace probesim::loader {

Result<GuestAddr> map_vdso(mmu::Mm& mm, const VdsoImage& vdso) {
  PROBESIM_ASSERT(vdso.file != nullptr && vdso.size > 0 && vdso.vvar.size() <= kPageSize);
  const uint64_t vvar_len = vdso.vvar_pages * kPageSize;
  const uint64_t text_len = page_align_up(vdso.size);
  // get_unmapped_area(NULL, 0, vvar + text): found by mapping and unmapping the span.
  const int64_t at = mm.mmap(GuestAddr{0}, vvar_len + text_len, mmu::kProtNone,
                             mmu::kMapPrivate | mmu::kMapAnonymous, nullptr, FileOffset{0});
  if (at < 0) return Error::make("[vdso]: no room for the vDSO", static_cast<int>(-at));
  const GuestAddr vvar{static_cast<uint64_t>(at)};
  PROBESIM_ASSERT(mm.munmap(vvar, vvar_len + text_len) == 0);
  GuestAddr got = PROBESIM_TRY(mm.install_special_mapping(vvar, vvar_len, vdso.vvar_vm_flags,
                                                          "[vvar]"));
  PROBESIM_ASSERT(got == vvar);
  PROBESIM_ASSERT(mm.poke(vvar, vdso.vvar.data(), vdso.vvar.size()));
  const GuestAddr text = vvar + vvar_len;
  const int64_t rc = mm.mmap(text, text_len, mmu::kProtRead | mmu::kProtExec,
                             mmu::kMapPrivate | mmu::kMapFixed, vdso.file, FileOffset{0},
                             mmu::FileMode::ReadOnly);
  if (rc < 0) return Error::make("[vdso]: mapping the vDSO failed", static_cast<int>(-rc));
  PROBESIM_TRY_VOID(mm.set_vma_name(text, "[vdso]"));
  return text;
}

}  // namespace probesim::loader
