/* arm64 struct pt_regs: Linux v5.15's layout (arch/arm64/include/asm/ptrace.h); offsets
 * shared with the model in entry_abi.h. */
#ifndef _ASM_ARM64_PTRACE_H
#define _ASM_ARM64_PTRACE_H

#include "entry_abi.h"
#include "linux/types.h"

struct pt_regs {
  u64 regs[31]; /* x0..x30 */
  u64 sp;
  u64 pc;
  u64 pstate;
  u64 orig_x0;
  s32 syscallno;
  u32 unused2;
  u64 sdei_ttbr1;
  u64 pmr_save;
  u64 stackframe[2];
  u64 lockdep_hardirqs;
  u64 exit_rcu;
};

_Static_assert(offsetof(struct pt_regs, sp) == PTREGS_ARM64_SP, "pt_regs layout");
_Static_assert(offsetof(struct pt_regs, pc) == PTREGS_ARM64_PC, "pt_regs layout");
_Static_assert(offsetof(struct pt_regs, pstate) == PTREGS_ARM64_PSTATE, "pt_regs layout");
_Static_assert(offsetof(struct pt_regs, orig_x0) == PTREGS_ARM64_ORIG_X0, "pt_regs layout");
_Static_assert(offsetof(struct pt_regs, syscallno) == PTREGS_ARM64_SYSCALLNO, "pt_regs layout");
_Static_assert(offsetof(struct pt_regs, stackframe) == PTREGS_ARM64_STACKFRAME, "pt_regs layout");
_Static_assert(sizeof(struct pt_regs) == PTREGS_ARM64_SIZE, "pt_regs layout");

/* Syscall arguments in pt_regs (x0..x5). */
#define SC_ARG0(r) ((r)->regs[0])
#define SC_ARG1(r) ((r)->regs[1])
#define SC_ARG2(r) ((r)->regs[2])
#define SC_ARG3(r) ((r)->regs[3])
#define SC_ARG4(r) ((r)->regs[4])
#define SC_ARG5(r) ((r)->regs[5])

static inline long syscall_get_nr(const struct pt_regs *regs) { return regs->syscallno; }

static inline unsigned long current_stack_pointer(void) {
  unsigned long sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  return sp;
}

#endif /* _ASM_ARM64_PTRACE_H */
