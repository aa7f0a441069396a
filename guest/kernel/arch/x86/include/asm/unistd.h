/* x86_64 syscall numbers of the Linux-named paths (arch/x86/entry/syscalls/syscall_64.tbl).
 * Every other number reaches the model through __x64_sys_generic. */
#ifndef _ASM_X86_UNISTD_H
#define _ASM_X86_UNISTD_H

#define __NR_read 0
#define __NR_write 1
#define __NR_open 2
#define __NR_close 3
#define __NR_mmap 9
#define __NR_munmap 11
#define __NR_brk 12
#define __NR_pread64 17
#define __NR_pwrite64 18
#define __NR_clone 56
#define __NR_fork 57
#define __NR_vfork 58
#define __NR_execve 59
#define __NR_exit 60
#define __NR_exit_group 231
#define __NR_openat 257

/* Table size: larger than every real number, so unknown ones still reach the model. */
#define NR_syscalls 512

#endif /* _ASM_X86_UNISTD_H */
