// How many memory regions one Unicorn engine can hold, and the max_map_count that keeps every
// mm below it (issue 14; docs/unicorn.md "Unicorn's region ceiling").
//
// Root cause (Unicorn 2.1.1, qemu/exec.c phys_section_add): every region is a MemoryRegion, and
// each rebuild of the flat view gives it a section whose index is ORed into the low
// TARGET_PAGE_BITS of page-aligned iotlb entries, so `assert(sections_nb < TARGET_PAGE_SIZE)`
// aborts the HOST process at the TARGET_PAGE_SIZE-th section. x86_64's target page is 4 KiB;
// aarch64's is TARGET_PAGE_BITS_MIN = 10 (target/arm/cpu-param.h, TARGET_PAGE_BITS_VARY; the
// realize code that would pick 12 is `#if 0` in Unicorn), i.e. 1 KiB, and 2.1.1's
// uc_ctl_set_page_size accepts only UC_ARCH_ARM (later versions also ARM64), so an arm64
// engine cannot be given 4 KiB pages. Measured (tests/unit/emu/unicorn_facts_test.cc): separate
// 4 KiB regions abort at the 1,024th on arm64 and the 4,096th on x86_64.
//
// The cure (with the guard as fallback): every HostArena is carved from one HostWindow, which
// each engine maps as ONE region; runs that cannot be executed are translated into it by the
// TLB fill (Cpu's data runs), so they cost no region. Executable runs stay regions of their own
// (the translation guard and the SMC hooks work on regions), and so do arenas too big for the
// window. Each mm therefore gets Linux's max_map_count, and a max_exec_map_count below the
// ceiling: a guest past either gets Linux's ENOMEM (mmap, mprotect splits, brk, and EAGAIN
// from pthread_create), never a host abort. Without a window (the host refused the
// reservation), max_map_count itself is lowered below the ceiling, as before.
#pragma once

#include <cstdint>

#include "mmu/host_window.h"
#include "probesim/types.h"

namespace probesim::emu::uc_regions {

// Regions an engine holds without aborting: TARGET_PAGE_SIZE - 1 (the section numbers 0..).
inline constexpr uint64_t limit(Arch arch) { return arch == Arch::AArch64 ? 1023 : 4095; }

// Regions kept for what is not an mm run: the guest kernel's regions (a handful: its image's
// runs, the modules and the stacks areas), arm64's stub page, the window, and the runs that
// Linux's limit checks let a count pass its maximum by (do_mmap and do_brk_flags check `>`).
inline constexpr uint64_t kReserved = 32;
// Arenas larger than a quarter of the window are mapped on their own (mmu/host_arena.cc), so
// their runs are regions: a user address space (256 TiB at most) holds at most 64 of them.
inline constexpr uint64_t kHugeRegions = 64;

inline bool windowed() { return mmu::HostWindow::get() != nullptr; }

// The max_map_count of an mm realized in one engine of `arch`: Linux's 65530 with the window;
// without it, what the regions allow: arm64 991, x86_64 4063.
inline uint64_t max_map_count(Arch arch) { return windowed() ? 65530 : limit(arch) - kReserved; }

// Its max_exec_map_count: arm64 927, x86_64 3999 with the window (else max_map_count).
inline uint64_t max_exec_map_count(Arch arch) {
  return limit(arch) - kReserved - (windowed() ? kHugeRegions : 0);
}

}  // namespace probesim::emu::uc_regions
