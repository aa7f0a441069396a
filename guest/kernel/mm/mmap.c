/* brk, mmap, munmap. mmap is arch code in Linux (arch/x86/kernel/sys_x86_64.c,
 * arch/arm64/kernel/sys.c) but identical on both arches, so it lives here. */
#include "linux/syscalls.h"

#define PAGE_SHIFT 12
#define MAP_ANONYMOUS 0x20

SYSCALL_DEFINE1(brk, unsigned long, brk) { return probesim_model_syscall(brk, 0, 0, 0, 0, 0); }

/* file is NULL for an anonymous mapping; the model then sees fd -1. */
noinline unsigned long vm_mmap_pgoff(struct file *file, unsigned long addr, unsigned long len,
                                     unsigned long prot, unsigned long flag,
                                     unsigned long pgoff) {
  unsigned long fd = file ? (unsigned long)(long)file->fd : (unsigned long)-1L;
  return (unsigned long)probesim_model_syscall(addr, len, prot, flag, fd, pgoff << PAGE_SHIFT);
}

noinline unsigned long ksys_mmap_pgoff(unsigned long addr, unsigned long len,
                                       unsigned long prot, unsigned long flags,
                                       unsigned long fd, unsigned long pgoff) {
  struct file f = {.fd = (int)fd};
  return vm_mmap_pgoff((flags & MAP_ANONYMOUS) ? NULL : &f, addr, len, prot, flags, pgoff);
}

SYSCALL_DEFINE6(mmap, unsigned long, addr, unsigned long, len, unsigned long, prot,
                unsigned long, flags, unsigned long, fd, unsigned long, off) {
  if (off & ((1UL << PAGE_SHIFT) - 1)) /* Linux: -EINVAL; the model says so and counts it */
    return probesim_model_syscall(addr, len, prot, flags, fd, off);
  return (long)ksys_mmap_pgoff(addr, len, prot, flags, fd, off >> PAGE_SHIFT);
}

noinline int __vm_munmap(unsigned long start, size_t len, bool downgrade) {
  (void)downgrade;
  return (int)probesim_model_syscall(start, len, 0, 0, 0, 0);
}

SYSCALL_DEFINE2(munmap, unsigned long, addr, size_t, len) { return __vm_munmap(addr, len, true); }
