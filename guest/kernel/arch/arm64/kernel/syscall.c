/* do_el0_svc -> el0_svc_common -> invoke_syscall (Linux: arch/arm64/kernel/syscall.c). */
#include "linux/syscalls.h"

extern const sys_call_ptr_t sys_call_table[NR_syscalls];

static noinline long __invoke_syscall(struct pt_regs *regs, sys_call_ptr_t syscall_fn) {
  return syscall_fn(regs);
}

static noinline void invoke_syscall(struct pt_regs *regs, unsigned int scno, unsigned int sc_nr,
                                    const sys_call_ptr_t syscall_table[]) {
  long ret;
  if (scno < sc_nr)
    ret = __invoke_syscall(regs, syscall_table[scno]);
  else
    ret = __arm64_sys_generic(regs); /* Linux: do_ni_syscall; the model answers and counts */
  regs->regs[0] = (u64)ret;
}

static noinline void el0_svc_common(struct pt_regs *regs, int scno, int sc_nr,
                                    const sys_call_ptr_t syscall_table[]) {
  regs->orig_x0 = regs->regs[0];
  regs->syscallno = scno;
  invoke_syscall(regs, (unsigned int)scno, (unsigned int)sc_nr, syscall_table);
}

noinline void do_el0_svc(struct pt_regs *regs) {
  el0_svc_common(regs, (int)regs->regs[8], NR_syscalls, sys_call_table);
}
