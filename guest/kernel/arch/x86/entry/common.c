/* do_syscall_64: the C half of entry_SYSCALL_64 (Linux: arch/x86/entry/common.c). */
#include "linux/syscalls.h"

#define X86_EFLAGS_TF 0x100
#define X86_EFLAGS_RF 0x10000

extern const sys_call_ptr_t sys_call_table[NR_syscalls];

static noinline bool do_syscall_x64(struct pt_regs *regs, int nr) {
  unsigned int unr = (unsigned int)nr;
  if (likely(unr < NR_syscalls)) {
    regs->ax = (unsigned long)sys_call_table[unr](regs);
    return true;
  }
  return false;
}

/* Returns true if the SYSRET path may be used: rcx == ip and r11 == flags (what the entry
 * saved, unless the model or a probe rewrote pt_regs) and no single-step flags. */
__visible noinstr bool do_syscall_64(struct pt_regs *regs, int nr) {
  if (!do_syscall_x64(regs, nr)) regs->ax = (unsigned long)__x64_sys_generic(regs);
  if (unlikely(regs->cx != regs->ip || regs->r11 != regs->flags)) return false;
  if (unlikely(regs->flags & (X86_EFLAGS_RF | X86_EFLAGS_TF))) return false;
  return true;
}
