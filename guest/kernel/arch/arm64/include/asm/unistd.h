/* arm64 (asm-generic) syscall numbers of the Linux-named paths
 * (include/uapi/asm-generic/unistd.h). Every other number reaches the model through
 * __arm64_sys_generic. */
#ifndef _ASM_ARM64_UNISTD_H
#define _ASM_ARM64_UNISTD_H

#define __NR_openat 56
#define __NR_close 57
#define __NR_read 63
#define __NR_write 64
#define __NR_pread64 67
#define __NR_pwrite64 68
#define __NR_exit 93
#define __NR_exit_group 94
#define __NR_brk 214
#define __NR_munmap 215
#define __NR_clone 220
#define __NR_execve 221
#define __NR_mmap 222

/* Table size: larger than every real number, so unknown ones still reach the model. */
#define NR_syscalls 512

/* clone(flags, newsp, parent_tid, tls, child_tid): CONFIG_CLONE_BACKWARDS. */
#define __ARCH_CLONE_BACKWARDS 1

#endif /* _ASM_ARM64_UNISTD_H */
