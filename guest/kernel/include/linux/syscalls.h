/* SYSCALL_DEFINEn and the Linux-named functions of the syscall paths.
 *
 * SYSCALL_DEFINEn(name, type, arg, ...) defines, as Linux's arch syscall wrappers do:
 *   long __x64_sys_<name>(const struct pt_regs *regs)   (x86_64)
 *   long __arm64_sys_<name>(const struct pt_regs *regs) (arm64)
 * which reads the arguments from the user's pt_regs and calls
 *   static long __do_sys_<name>(type arg, ...)
 * whose body follows the macro. Both are real functions (kallsyms, kprobes). */
#ifndef _LINUX_SYSCALLS_H
#define _LINUX_SYSCALLS_H

#include "asm/ptrace.h"
#include "asm/syscall_wrapper.h"
#include "asm/unistd.h"
#include "linux/kernel.h"

typedef long (*sys_call_ptr_t)(const struct pt_regs *);

#define SC_A(regs, n, t) ((t)SC_ARG##n(regs))

#define SYSCALL_DEFINE0(name)                                              \
  static noinline long __do_sys_##name(void);                              \
  __visible long __ARCH_SYS(name)(const struct pt_regs *regs) {            \
    (void)regs;                                                            \
    return __do_sys_##name();                                              \
  }                                                                        \
  static noinline long __do_sys_##name(void)

#define SYSCALL_DEFINE1(name, t0, a0)                                      \
  static noinline long __do_sys_##name(t0 a0);                             \
  __visible long __ARCH_SYS(name)(const struct pt_regs *regs) {            \
    return __do_sys_##name(SC_A(regs, 0, t0));                             \
  }                                                                        \
  static noinline long __do_sys_##name(t0 a0)

#define SYSCALL_DEFINE2(name, t0, a0, t1, a1)                              \
  static noinline long __do_sys_##name(t0 a0, t1 a1);                      \
  __visible long __ARCH_SYS(name)(const struct pt_regs *regs) {            \
    return __do_sys_##name(SC_A(regs, 0, t0), SC_A(regs, 1, t1));          \
  }                                                                        \
  static noinline long __do_sys_##name(t0 a0, t1 a1)

#define SYSCALL_DEFINE3(name, t0, a0, t1, a1, t2, a2)                      \
  static noinline long __do_sys_##name(t0 a0, t1 a1, t2 a2);               \
  __visible long __ARCH_SYS(name)(const struct pt_regs *regs) {            \
    return __do_sys_##name(SC_A(regs, 0, t0), SC_A(regs, 1, t1),           \
                           SC_A(regs, 2, t2));                             \
  }                                                                        \
  static noinline long __do_sys_##name(t0 a0, t1 a1, t2 a2)

#define SYSCALL_DEFINE4(name, t0, a0, t1, a1, t2, a2, t3, a3)              \
  static noinline long __do_sys_##name(t0 a0, t1 a1, t2 a2, t3 a3);        \
  __visible long __ARCH_SYS(name)(const struct pt_regs *regs) {            \
    return __do_sys_##name(SC_A(regs, 0, t0), SC_A(regs, 1, t1),           \
                           SC_A(regs, 2, t2), SC_A(regs, 3, t3));          \
  }                                                                        \
  static noinline long __do_sys_##name(t0 a0, t1 a1, t2 a2, t3 a3)

#define SYSCALL_DEFINE5(name, t0, a0, t1, a1, t2, a2, t3, a3, t4, a4)      \
  static noinline long __do_sys_##name(t0 a0, t1 a1, t2 a2, t3 a3, t4 a4); \
  __visible long __ARCH_SYS(name)(const struct pt_regs *regs) {            \
    return __do_sys_##name(SC_A(regs, 0, t0), SC_A(regs, 1, t1),           \
                           SC_A(regs, 2, t2), SC_A(regs, 3, t3),           \
                           SC_A(regs, 4, t4));                             \
  }                                                                        \
  static noinline long __do_sys_##name(t0 a0, t1 a1, t2 a2, t3 a3, t4 a4)

#define SYSCALL_DEFINE6(name, t0, a0, t1, a1, t2, a2, t3, a3, t4, a4, t5, a5)     \
  static noinline long __do_sys_##name(t0 a0, t1 a1, t2 a2, t3 a3, t4 a4, t5 a5); \
  __visible long __ARCH_SYS(name)(const struct pt_regs *regs) {                   \
    return __do_sys_##name(SC_A(regs, 0, t0), SC_A(regs, 1, t1),                  \
                           SC_A(regs, 2, t2), SC_A(regs, 3, t3),                  \
                           SC_A(regs, 4, t4), SC_A(regs, 5, t5));                 \
  }                                                                               \
  static noinline long __do_sys_##name(t0 a0, t1 a1, t2 a2, t3 a3, t4 a4, t5 a5)

/* The syscall number the current task entered with (pt_regs orig_ax / syscallno). */
long current_syscall_nr(void);

/* Every syscall without a Linux-named path: forwards the pt_regs arguments to the model. */
__visible long __ARCH_SYS(generic)(const struct pt_regs *regs);

/* probesim's struct file is a handle: the model owns open files, the guest names the fd. */
struct file {
  int fd;
};

struct open_how {
  u64 flags;
  u64 mode;
  u64 resolve;
};

struct kernel_clone_args {
  u64 flags;
  int *pidfd;
  int *child_tid;
  int *parent_tid;
  int exit_signal;
  unsigned long stack;
  unsigned long stack_size;
  unsigned long tls;
};

ssize_t ksys_read(unsigned int fd, char __user *buf, size_t count);
ssize_t ksys_write(unsigned int fd, const char __user *buf, size_t count);
ssize_t ksys_pread64(unsigned int fd, char __user *buf, size_t count, loff_t pos);
ssize_t ksys_pwrite64(unsigned int fd, const char __user *buf, size_t count, loff_t pos);
ssize_t vfs_read(struct file *file, char __user *buf, size_t count, loff_t *pos);
ssize_t vfs_write(struct file *file, const char __user *buf, size_t count, loff_t *pos);
long do_sys_open(int dfd, const char __user *filename, int flags, umode_t mode);
long do_sys_openat2(int dfd, const char __user *filename, struct open_how *how);
int close_fd(unsigned int fd);
unsigned long ksys_mmap_pgoff(unsigned long addr, unsigned long len, unsigned long prot,
                              unsigned long flags, unsigned long fd, unsigned long pgoff);
unsigned long vm_mmap_pgoff(struct file *file, unsigned long addr, unsigned long len,
                            unsigned long prot, unsigned long flag, unsigned long pgoff);
int __vm_munmap(unsigned long start, size_t len, bool downgrade);
__noreturn void do_exit(long code);
__noreturn void do_group_exit(int exit_code);
pid_t kernel_clone(struct kernel_clone_args *args);
int do_execve(const char __user *filename, const char __user *const __user *argv,
              const char __user *const __user *envp);

/* The task's user-mode register frame: the top of its THREAD_SIZE-aligned kernel stack. */
static inline struct pt_regs *current_pt_regs(void) {
  unsigned long top = (current_stack_pointer() & ~(unsigned long)(THREAD_SIZE - 1)) + THREAD_SIZE;
  return (struct pt_regs *)top - 1;
}

#endif /* _LINUX_SYSCALLS_H */
