// ArchAbi: the per-architecture facts the raw-Unicorn peer needs (Unicorn arch/mode, the
// Linux syscall register convention, the process layout, auxv values). One table row per
// architecture (arch_abi.cc); nothing else in bench/raw/ branches on the architecture except
// the hook installation in RawMachine.
#pragma once

#include <unicorn/unicorn.h>

#include <array>
#include <cstdint>

#include "probesim/types.h"

namespace probesim::bench {

struct ArchAbi {
  Arch arch;
  uint16_t e_machine;  // ELF e_machine value (EM_X86_64, EM_AARCH64)
  uc_arch unicorn_arch;
  uc_mode unicorn_mode;
  int pc_reg;
  int sp_reg;
  int syscall_nr_reg;                   // rax / x8
  std::array<int, 6> syscall_arg_regs;  // rdi rsi rdx r10 r8 r9 / x0..x5
  int syscall_ret_reg;                  // rax / x0
  uint64_t pie_bias;                    // load bias for ET_DYN (static-pie), as Linux with ASLR off
  uint64_t mmap_base;                   // first address of the anonymous-mmap bump allocator
  uint64_t stack_top;                   // end (exclusive) of the 8 MiB stack
  uint64_t hwcap;                       // AT_HWCAP
  const char* platform;                 // AT_PLATFORM string
};

// Returns the row for `arch`; every Arch value has one.
const ArchAbi& abi_for(Arch arch);

// Returns the row whose e_machine matches, or nullptr for an unsupported machine.
const ArchAbi* abi_for_machine(uint16_t e_machine);

}  // namespace probesim::bench
