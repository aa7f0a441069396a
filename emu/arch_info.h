// Per-architecture facts the emulator needs, as data (docs/conventions.md §11): the Unicorn
// arch/mode, the syscall ABI registers, the stack/PC/return registers, the modelled CPU's
// identity (AT_HWCAP, AT_PLATFORM) and the guest address-space layout. One row per Arch.
#pragma once

#include <unicorn/unicorn.h>

#include <array>
#include <cstdint>
#include <string_view>

#include "probesim/types.h"

namespace probesim::emu {

struct ArchInfo {
  Arch arch;
  uc_arch uc_arch_id;
  uc_mode uc_mode_id;
  int reg_pc;
  int reg_sp;
  int reg_fp;                         // rbp / x29: the frame record chain (stack traces)
  int reg_syscall_nr;                 // rax / x8
  int reg_ret;                        // rax / x0
  std::array<int, 6> reg_args;        // rdi rsi rdx r10 r8 r9 / x0..x5
  int reg_tls;                        // FS base / TPIDR_EL0 (CLONE_SETTLS)
  uint64_t syscall_insn_len;          // syscall (2) / svc (4): restarting rewinds PC by it
  std::string_view platform;          // AT_PLATFORM
  uint64_t hwcap;                     // AT_HWCAP
  uint64_t hwcap2;                    // AT_HWCAP2
  uint64_t task_size;                 // TASK_SIZE (47-bit / 48-bit user VA)
  uint64_t stack_top;                 // top of the initial stack (no ASLR)
  uint64_t mmap_base;                 // top-down mmap area starts below this
  std::string_view uname_machine;     // uname -m
  uint64_t minsigstksz;               // MINSIGSTKSZ: sigaltstack refuses smaller stacks (ENOMEM)
  uint64_t epoll_data_offset;         // struct epoll_event's data: 4 (x86_64 EPOLL_PACKED) / 8
};

const ArchInfo& arch_info(Arch arch);

}  // namespace probesim::emu
