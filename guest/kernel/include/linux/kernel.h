/* Core declarations of the guest kernel image: panic, boot steps, the model syscall. */
#ifndef _LINUX_KERNEL_H
#define _LINUX_KERNEL_H

#include "entry_abi.h"
#include "hypercall_abi.h"
#include "linux/compiler.h"
#include "linux/types.h"

__noreturn void panic(const char *msg);

/* Reports a boot step (BOOT_STEP_*) to the model. */
void boot_step(long step);

/* The leaf of every syscall path: asks the model to perform the current task's syscall
 * (number from current_pt_regs()) with these six arguments, and returns its result. */
long probesim_model_syscall(unsigned long a0, unsigned long a1, unsigned long a2,
                            unsigned long a3, unsigned long a4, unsigned long a5);

/* Boot functions, in start_kernel's order. */
__noreturn void start_kernel(void);
void setup_arch(char **cmdline_p);
void setup_command_line(char *line);
void mem_init(void);
void trap_init(void);
void mm_init(void);
__noreturn void rest_init(void);

/* The command line the model wrote (hypercall_abi.h) and start_kernel's copy of it. */
extern char boot_command_line[COMMAND_LINE_SIZE];
extern char saved_command_line[COMMAND_LINE_SIZE];

void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

#endif /* _LINUX_KERNEL_H */
