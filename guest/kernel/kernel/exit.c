/* exit and exit_group: do_exit is where every task dies; the model never returns from it. */
#include "linux/syscalls.h"

noinline __noreturn void do_exit(long code) {
  probesim_model_syscall((unsigned long)(code >> 8) & 0xff, 0, 0, 0, 0, 0);
  panic("do_exit: the model returned from exit");
}

/* Linux kills the other threads here; the model does that when it performs exit_group. */
noinline __noreturn void do_group_exit(int exit_code) { do_exit(exit_code); }

SYSCALL_DEFINE1(exit, int, error_code) { do_exit((error_code & 0xff) << 8); }

SYSCALL_DEFINE1(exit_group, int, error_code) { do_group_exit((error_code & 0xff) << 8); }
