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
// Until one region maps all guest memory, each mm's max_map_count is lowered so that its
// realized runs never reach the ceiling: a guest that would pass it gets Linux's ENOMEM at
// max_map_count (mmap, mprotect splits, brk, pthread_create's stack), never a host abort.
#pragma once

#include <cstdint>

#include "probesim/types.h"

namespace probesim::emu::uc_regions {

// Regions an engine holds without aborting: TARGET_PAGE_SIZE - 1 (the section numbers 0..).
inline constexpr uint64_t limit(Arch arch) { return arch == Arch::AArch64 ? 1023 : 4095; }

// Regions kept for what is not an mm run: the guest kernel's regions (a handful: its image's
// runs, the modules and the stacks areas), arm64's stub page, and the runs that Linux's limit
// checks let map_count() pass max_map_count by (do_mmap and do_brk_flags check `>`, so a last
// VMA may be added at the limit).
inline constexpr uint64_t kReserved = 32;

// The max_map_count of an mm realized in one engine of `arch`: arm64 991, x86_64 4063 (Linux:
// 65530). The Cpu asserts that its realized regions stay below limit(arch).
inline constexpr uint64_t max_map_count(Arch arch) { return limit(arch) - kReserved; }

}  // namespace probesim::emu::uc_regions
