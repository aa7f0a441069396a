/* clone (and fork/vfork on x86_64) through kernel_clone. The model creates the child and
 * starts it at ret_from_fork with a copy of the parent's pt_regs whose return register is 0
 * (README.md, "Starting user tasks"). */
#include "linux/syscalls.h"

#define CSIGNAL 0xff
#define SIGCHLD 17
#define CLONE_VM 0x100
#define CLONE_VFORK 0x4000

/* Passes the clone-family syscall to the model with its raw arguments in this arch's order. */
noinline pid_t kernel_clone(struct kernel_clone_args *args) {
  if (current_syscall_nr() != __NR_clone)
    return probesim_model_syscall(0, 0, 0, 0, 0, 0); /* fork, vfork: no arguments */
  unsigned long flags = args->flags | (unsigned int)args->exit_signal;
#ifdef __ARCH_CLONE_BACKWARDS
  return probesim_model_syscall(flags, args->stack, (unsigned long)args->parent_tid, args->tls,
                                (unsigned long)args->child_tid, 0);
#else
  return probesim_model_syscall(flags, args->stack, (unsigned long)args->parent_tid,
                                (unsigned long)args->child_tid, args->tls, 0);
#endif
}

static long clone_common(unsigned long clone_flags, unsigned long newsp, int __user *parent_tidptr,
                         int __user *child_tidptr, unsigned long tls) {
  struct kernel_clone_args args = {
      .flags = (unsigned int)clone_flags & ~CSIGNAL,
      .pidfd = parent_tidptr,
      .child_tid = child_tidptr,
      .parent_tid = parent_tidptr,
      .exit_signal = (int)(clone_flags & CSIGNAL),
      .stack = newsp,
      .tls = tls,
  };
  return kernel_clone(&args);
}

#ifdef __ARCH_CLONE_BACKWARDS
SYSCALL_DEFINE5(clone, unsigned long, clone_flags, unsigned long, newsp, int __user *,
                parent_tidptr, unsigned long, tls, int __user *, child_tidptr) {
  return clone_common(clone_flags, newsp, parent_tidptr, child_tidptr, tls);
}
#else
SYSCALL_DEFINE5(clone, unsigned long, clone_flags, unsigned long, newsp, int __user *,
                parent_tidptr, int __user *, child_tidptr, unsigned long, tls) {
  return clone_common(clone_flags, newsp, parent_tidptr, child_tidptr, tls);
}
#endif

#ifdef __NR_fork
SYSCALL_DEFINE0(fork) {
  struct kernel_clone_args args = {.exit_signal = SIGCHLD};
  return kernel_clone(&args);
}

SYSCALL_DEFINE0(vfork) {
  struct kernel_clone_args args = {.flags = CLONE_VFORK | CLONE_VM, .exit_signal = SIGCHLD};
  return kernel_clone(&args);
}
#endif
