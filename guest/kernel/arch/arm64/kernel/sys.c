/* sys_call_table: named paths where Linux has them, __arm64_sys_generic everywhere else. */
#include "linux/syscalls.h"

#define __SYSCALL(nr, name) long __arm64_sys_##name(const struct pt_regs *);
#include "sys_named.h"
#undef __SYSCALL

/* Later designators override the range default on purpose, as in Linux. */
#pragma GCC diagnostic ignored "-Woverride-init"
#define __SYSCALL(nr, name) [nr] = __arm64_sys_##name,
const sys_call_ptr_t sys_call_table[NR_syscalls] = {
    [0 ... NR_syscalls - 1] = __arm64_sys_generic,
#include "sys_named.h"
};
