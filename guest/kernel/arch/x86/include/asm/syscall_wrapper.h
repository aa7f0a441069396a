#ifndef _ASM_X86_SYSCALL_WRAPPER_H
#define _ASM_X86_SYSCALL_WRAPPER_H

#define __ARCH_SYS(name) __x64_sys_##name

#endif /* _ASM_X86_SYSCALL_WRAPPER_H */
