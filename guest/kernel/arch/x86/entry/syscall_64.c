/* sys_call_table: named paths where Linux has them, __x64_sys_generic everywhere else. */
#include "linux/syscalls.h"

#define __SYSCALL(nr, name) long __x64_sys_##name(const struct pt_regs *);
#include "syscall_64_named.h"
#undef __SYSCALL

/* Later designators override the range default on purpose, as in Linux. */
#pragma GCC diagnostic ignored "-Woverride-init"
#define __SYSCALL(nr, name) [nr] = __x64_sys_##name,
const sys_call_ptr_t sys_call_table[NR_syscalls] = {
    [0 ... NR_syscalls - 1] = __x64_sys_generic,
#include "syscall_64_named.h"
};
