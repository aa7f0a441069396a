// map_vdso(): Linux's arch_setup_additional_pages() with ASLR off, for x86_64
// (arch/x86/entry/vdso/vma.c map_vdso) and arm64 (arch/arm64/kernel/vdso.c
// __setup_additional_pages): one span where get_unmapped_area(0, span) puts it (top-down below
// mmap_base, so under the interpreter), "[vvar]" at its bottom and "[vdso]" right above.
//
// Linux's [vdso] is a special mapping with no file; probesim backs it with a synthetic inode
// (the machine's, holding guest/vdso's ELF) so that uprobes, which need an inode and its
// i_mmap tree, work on it. /proc/<pid>/maps still shows it as Linux does (no dev, no inode).
#pragma once

#include <cstdint>
#include <vector>

#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::mmu {
class Mm;
class Inode;
}  // namespace probesim::mmu

namespace probesim::loader {

struct VdsoImage {
  mmu::Inode* file = nullptr;  // the vDSO's ELF; non-owning, outlives every mapping of it
  uint64_t size = 0;           // its byte size (mapped page-rounded, from offset 0)
  uint64_t vvar_pages = 0;     // [vvar]'s size in pages (guest/vdso/vdso_abi.h)
  uint32_t vvar_vm_flags = 0;  // Linux's flags for [vvar] (differ per arch)
  std::vector<uint8_t> vvar;   // the contents of [vvar]'s first bytes (at most a page)
};

// Maps [vvar] (its contents written) and [vdso] into mm; returns [vdso]'s start, the
// AT_SYSINFO_EHDR value (mm->context.vdso). Errors: ENOMEM when there is no room.
Result<GuestAddr> map_vdso(mmu::Mm& mm, const VdsoImage& vdso);

}  // namespace probesim::loader
