/* execve: the model replaces the mm and rewrites the task's pt_regs (README.md). */
#include "linux/syscalls.h"

noinline int do_execve(const char __user *filename, const char __user *const __user *argv,
                       const char __user *const __user *envp) {
  return (int)probesim_model_syscall((unsigned long)filename, (unsigned long)argv,
                                     (unsigned long)envp, 0, 0, 0);
}

SYSCALL_DEFINE3(execve, const char __user *, filename, const char __user *const __user *, argv,
                const char __user *const __user *, envp) {
  return do_execve(filename, argv, envp);
}
