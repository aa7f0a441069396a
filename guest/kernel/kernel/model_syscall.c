/* The leaf of every syscall path and the wrapper of syscalls without a Linux-named path. */
#include "asm/hypercall.h"
#include "linux/syscalls.h"

noinline long current_syscall_nr(void) { return syscall_get_nr(current_pt_regs()); }

/* The six arguments are the ones the model performs the syscall with: a probe that changed a
 * Linux-named function's arguments on the way down is honoured. */
noinline long probesim_model_syscall(unsigned long a0, unsigned long a1, unsigned long a2,
                                     unsigned long a3, unsigned long a4, unsigned long a5) {
  struct pt_regs *regs = current_pt_regs();
  unsigned long args[6] = {a0, a1, a2, a3, a4, a5};
  return hypercall6(HC_SYSCALL, (unsigned long)syscall_get_nr(regs), (unsigned long)args,
                    (unsigned long)regs, 0, 0, 0);
}

__visible noinline long __ARCH_SYS(generic)(const struct pt_regs *regs) {
  return probesim_model_syscall(SC_ARG0(regs), SC_ARG1(regs), SC_ARG2(regs), SC_ARG3(regs),
                                SC_ARG4(regs), SC_ARG5(regs));
}
