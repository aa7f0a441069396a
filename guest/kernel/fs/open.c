/* openat (and open on x86_64) through do_sys_open -> do_sys_openat2; close via close_fd. */
#include "linux/syscalls.h"

#define AT_FDCWD (-100)

noinline long do_sys_openat2(int dfd, const char __user *filename, struct open_how *how) {
#ifdef __NR_open
  if (current_syscall_nr() == __NR_open) /* the model performs open(filename, flags, mode) */
    return probesim_model_syscall((unsigned long)filename, how->flags, how->mode, 0, 0, 0);
#endif
  return probesim_model_syscall((unsigned long)(long)dfd, (unsigned long)filename, how->flags,
                                how->mode, 0, 0);
}

noinline long do_sys_open(int dfd, const char __user *filename, int flags, umode_t mode) {
  struct open_how how = {.flags = (unsigned int)flags, .mode = mode};
  return do_sys_openat2(dfd, filename, &how);
}

SYSCALL_DEFINE4(openat, int, dfd, const char __user *, filename, int, flags, umode_t, mode) {
  return do_sys_open(dfd, filename, flags, mode);
}

#ifdef __NR_open
SYSCALL_DEFINE3(open, const char __user *, filename, int, flags, umode_t, mode) {
  return do_sys_open(AT_FDCWD, filename, flags, mode);
}
#endif

noinline int close_fd(unsigned int fd) { return (int)probesim_model_syscall(fd, 0, 0, 0, 0, 0); }

SYSCALL_DEFINE1(close, unsigned int, fd) { return close_fd(fd); }
