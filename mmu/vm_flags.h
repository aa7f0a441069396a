// Linux's memory-mapping constants, with the kernel's numeric values.
//
// VM_* are vm_area_struct flags (include/linux/mm.h) and keep their Linux names: they never
// clash with host headers. PROT_*, MAP_* and MADV_* are guest ABI values that <sys/mman.h>
// defines as host macros, so they are spelled kProtRead, kMapFixedNoreplace, ... here (the
// Linux name is the obvious CamelCase of each). Values are the generic ones shared by x86-64
// and arm64.
#pragma once

#include <cstdint>
#include <string>

namespace probesim::mmu {

// include/linux/mm.h
constexpr uint32_t VM_NONE = 0x00000000;
constexpr uint32_t VM_READ = 0x00000001;
constexpr uint32_t VM_WRITE = 0x00000002;
constexpr uint32_t VM_EXEC = 0x00000004;
constexpr uint32_t VM_SHARED = 0x00000008;
constexpr uint32_t VM_MAYREAD = 0x00000010;
constexpr uint32_t VM_MAYWRITE = 0x00000020;
constexpr uint32_t VM_MAYEXEC = 0x00000040;
constexpr uint32_t VM_MAYSHARE = 0x00000080;
constexpr uint32_t VM_GROWSDOWN = 0x00000100;
constexpr uint32_t VM_PFNMAP = 0x00000400;
constexpr uint32_t VM_LOCKED = 0x00002000;
constexpr uint32_t VM_IO = 0x00004000;
constexpr uint32_t VM_SEQ_READ = 0x00008000;
constexpr uint32_t VM_RAND_READ = 0x00010000;
constexpr uint32_t VM_DONTCOPY = 0x00020000;
constexpr uint32_t VM_DONTEXPAND = 0x00040000;
constexpr uint32_t VM_ACCOUNT = 0x00100000;
constexpr uint32_t VM_NORESERVE = 0x00200000;
constexpr uint32_t VM_HUGETLB = 0x00400000;
constexpr uint32_t VM_SYNC = 0x00800000;
constexpr uint32_t VM_WIPEONFORK = 0x02000000;
constexpr uint32_t VM_DONTDUMP = 0x04000000;
constexpr uint32_t VM_MIXEDMAP = 0x10000000;
constexpr uint32_t VM_HUGEPAGE = 0x20000000;
constexpr uint32_t VM_NOHUGEPAGE = 0x40000000;
constexpr uint32_t VM_MERGEABLE = 0x80000000;

constexpr uint32_t VM_RWX = VM_READ | VM_WRITE | VM_EXEC;
// VMAs with any of these never merge (Linux's VM_SPECIAL).
constexpr uint32_t VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

// include/uapi/asm-generic/mman-common.h
constexpr int kProtNone = 0x0;
constexpr int kProtRead = 0x1;
constexpr int kProtWrite = 0x2;
constexpr int kProtExec = 0x4;
constexpr int kProtSem = 0x8;
constexpr int kProtGrowsdown = 0x01000000;
constexpr int kProtGrowsup = 0x02000000;

constexpr int kMapShared = 0x01;
constexpr int kMapPrivate = 0x02;
constexpr int kMapSharedValidate = 0x03;
constexpr int kMapType = 0x0f;
constexpr int kMapFixed = 0x10;
constexpr int kMapAnonymous = 0x20;
constexpr int kMapGrowsdown = 0x0100;
constexpr int kMapDenywrite = 0x0800;
constexpr int kMapExecutable = 0x1000;
constexpr int kMapLocked = 0x2000;
constexpr int kMapNoreserve = 0x4000;
constexpr int kMapPopulate = 0x8000;
constexpr int kMapNonblock = 0x10000;
constexpr int kMapStack = 0x20000;
constexpr int kMapHugetlb = 0x40000;
constexpr int kMapSync = 0x80000;
constexpr int kMapFixedNoreplace = 0x100000;
constexpr int kMapUninitialized = 0x4000000;

constexpr int kMadvNormal = 0;
constexpr int kMadvRandom = 1;
constexpr int kMadvSequential = 2;
constexpr int kMadvWillneed = 3;
constexpr int kMadvDontneed = 4;
constexpr int kMadvFree = 8;
constexpr int kMadvRemove = 9;
constexpr int kMadvDontfork = 10;
constexpr int kMadvDofork = 11;
constexpr int kMadvMergeable = 12;
constexpr int kMadvUnmergeable = 13;
constexpr int kMadvHugepage = 14;
constexpr int kMadvNohugepage = 15;
constexpr int kMadvDontdump = 16;
constexpr int kMadvDodump = 17;
constexpr int kMadvWipeonfork = 18;
constexpr int kMadvKeeponfork = 19;
constexpr int kMadvCold = 20;
constexpr int kMadvPageout = 21;
constexpr int kMadvPopulateRead = 22;
constexpr int kMadvPopulateWrite = 23;

// Linux's calc_vm_prot_bits: PROT_READ/WRITE/EXEC -> VM_READ/WRITE/EXEC (same bit values).
constexpr uint32_t calc_vm_prot_bits(int prot) {
  return static_cast<uint32_t>(prot) & VM_RWX;
}

// Linux's calc_vm_flag_bits (the MAP_* flags that become VM_* flags).
constexpr uint32_t calc_vm_flag_bits(int flags) {
  return ((flags & kMapGrowsdown) ? VM_GROWSDOWN : 0) | ((flags & kMapLocked) ? VM_LOCKED : 0) |
         ((flags & kMapSync) ? VM_SYNC : 0);
}

// The permission column of /proc/pid/maps: "r-xp", "rw-s" ('s' iff VM_MAYSHARE, as Linux).
std::string vm_flags_string(uint32_t vm_flags);

}  // namespace probesim::mmu
