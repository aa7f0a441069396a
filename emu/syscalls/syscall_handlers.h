// Declarations of every implemented syscall handler, generated from syscall_table.h.
#pragma once

#include "emu/syscalls/syscall.h"
#include "emu/syscalls/syscall_table.h"

namespace probesim::emu {

#define PROBESIM_DECLARE_SYSCALL(name, x86, arm64, args, ret) \
  int64_t sys_##name(SyscallContext& ctx, const SyscallArgs& a);
#define PROBESIM_DECLARE_NOSYS(name, x86, arm64, args)
PROBESIM_SYSCALLS(PROBESIM_DECLARE_SYSCALL, PROBESIM_DECLARE_NOSYS)
#undef PROBESIM_DECLARE_SYSCALL
// Shared by clone, clone3, fork and vfork (sys_thread.cc).
int64_t clone_process(SyscallContext& ctx, uint64_t flags, uint64_t stack, uint64_t parent_tid,
                      uint64_t child_tid, uint64_t tls);
#undef PROBESIM_DECLARE_NOSYS

}  // namespace probesim::emu
