// Unicorn's physical address for a guest virtual address, x86-64 (docs/unicorn.md).
//
// Unicorn >= 2.1 gives x86-64 guests 52-bit physical addresses, so the kernel half of the
// address space (0xffff8000'00000000 and up) cannot be mapped 1:1 as user memory is. x86 engines
// run in UC_TLB_VIRTUAL mode with a TLB fill hook that applies this map: user addresses (below
// 2^47) are their own physical address; kernel addresses live in an alias window at physical
// [2^48, 2^49); the non-canonical hole between them has no translation (#GP on hardware).
// Memory hooks and uc_mem_read/write/map take physical addresses; code hooks and PCs virtual.
#pragma once

#include <unicorn/unicorn.h>

#include <cstdint>
#include <optional>

namespace probesim::emu::x86_phys {

inline constexpr uint64_t kUserTop = 1ull << 47;
inline constexpr uint64_t kKernelHalf = 0xffff800000000000ull;
inline constexpr uint64_t kLow48 = (1ull << 48) - 1;
inline constexpr uint64_t kKernelAlias = 1ull << 48;

// Physical address of a canonical virtual address; nullopt for the non-canonical hole.
inline constexpr std::optional<uint64_t> translate(uint64_t va) {
  if (va < kUserTop) return va;
  if (va >= kKernelHalf) return (va & kLow48) | kKernelAlias;
  return std::nullopt;
}

// For addresses known to be canonical (mapped ranges): the hole maps to itself.
inline constexpr uint64_t phys(uint64_t va) { return translate(va).value_or(va); }

inline constexpr uint64_t virt(uint64_t pa) {
  return pa < kKernelAlias ? pa : (pa & kLow48) | ~kLow48;
}

// A TLB fill with this map and RWX (protections stay those of the Unicorn regions, which are
// checked on the physical side). False for the hole.
inline bool fill(uint64_t va, uc_tlb_entry* e) {
  std::optional<uint64_t> pa = translate(va);
  if (!pa) return false;
  e->paddr = *pa;
  e->perms = UC_PROT_ALL;
  return true;
}

// For engines that need nothing else from their fill hook (test harnesses): virtual TLB mode
// with this map.
inline uc_err install(uc_engine* uc) {
  uc_err e = uc_ctl_tlb_mode(uc, UC_TLB_VIRTUAL);
  if (e != UC_ERR_OK) return e;
  uc_cb_tlbevent_t cb = [](uc_engine*, uint64_t va, uc_mem_type, uc_tlb_entry* entry, void*) {
    return fill(va, entry);
  };
  uc_hook h;
  return uc_hook_add(uc, &h, UC_HOOK_TLB_FILL, reinterpret_cast<void*>(cb), nullptr, 1, 0);
}

static_assert(phys(0xffffffff81000000ull) == 0x1ffff81000000ull);
static_assert(virt(phys(0xffffffff81000000ull)) == 0xffffffff81000000ull);
static_assert(phys(0x7ffffffff000ull) == 0x7ffffffff000ull);

}  // namespace probesim::emu::x86_phys
