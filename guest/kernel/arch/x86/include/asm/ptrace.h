/* x86_64 struct pt_regs: Linux's layout (arch/x86/include/asm/ptrace.h); offsets shared with
 * the model in entry_abi.h. */
#ifndef _ASM_X86_PTRACE_H
#define _ASM_X86_PTRACE_H

#include "entry_abi.h"
#include "linux/types.h"

struct pt_regs {
  unsigned long r15, r14, r13, r12, bp, bx;
  unsigned long r11, r10, r9, r8, ax, cx, dx, si, di;
  unsigned long orig_ax; /* syscall number */
  unsigned long ip, cs, flags, sp, ss;
};

_Static_assert(offsetof(struct pt_regs, r11) == PTREGS_X86_64_R11, "pt_regs layout");
_Static_assert(offsetof(struct pt_regs, di) == PTREGS_X86_64_DI, "pt_regs layout");
_Static_assert(offsetof(struct pt_regs, orig_ax) == PTREGS_X86_64_ORIG_AX, "pt_regs layout");
_Static_assert(offsetof(struct pt_regs, ip) == PTREGS_X86_64_IP, "pt_regs layout");
_Static_assert(offsetof(struct pt_regs, sp) == PTREGS_X86_64_SP, "pt_regs layout");
_Static_assert(sizeof(struct pt_regs) == PTREGS_X86_64_SIZE, "pt_regs layout");

/* Syscall arguments in pt_regs (the x86_64 syscall ABI: rdi rsi rdx r10 r8 r9). */
#define SC_ARG0(r) ((r)->di)
#define SC_ARG1(r) ((r)->si)
#define SC_ARG2(r) ((r)->dx)
#define SC_ARG3(r) ((r)->r10)
#define SC_ARG4(r) ((r)->r8)
#define SC_ARG5(r) ((r)->r9)

static inline long syscall_get_nr(const struct pt_regs *regs) { return (long)regs->orig_ax; }

static inline unsigned long current_stack_pointer(void) {
  unsigned long sp;
  __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
  return sp;
}

#endif /* _ASM_X86_PTRACE_H */
