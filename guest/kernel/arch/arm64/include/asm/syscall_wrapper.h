#ifndef _ASM_ARM64_SYSCALL_WRAPPER_H
#define _ASM_ARM64_SYSCALL_WRAPPER_H

#define __ARCH_SYS(name) __arm64_sys_##name

#endif /* _ASM_ARM64_SYSCALL_WRAPPER_H */
