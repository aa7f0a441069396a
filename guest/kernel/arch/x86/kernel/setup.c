/* x86_64 setup_arch and trap_init: the per-cpu block and the syscall MSRs. */
#include "linux/kernel.h"

struct pcpu_hot {
  unsigned long top_of_stack;     /* cpu_current_top_of_stack: written by the model */
  unsigned long user_rsp_scratch; /* entry_SYSCALL_64's scratch */
  unsigned long cpu_number;
} __aligned(PCPU_HOT_SIZE);

_Static_assert(sizeof(struct pcpu_hot) == PCPU_HOT_SIZE, "pcpu_hot layout");
_Static_assert(offsetof(struct pcpu_hot, top_of_stack) == PCPU_TOP_OF_STACK, "pcpu_hot layout");
_Static_assert(offsetof(struct pcpu_hot, user_rsp_scratch) == PCPU_USER_RSP_SCRATCH,
               "pcpu_hot layout");
_Static_assert(offsetof(struct pcpu_hot, cpu_number) == PCPU_CPU_NUMBER, "pcpu_hot layout");

struct pcpu_hot pcpu_hot[NR_CPUS];

extern char entry_SYSCALL_64[];

static inline void wrmsrl(unsigned int msr, unsigned long val) {
  __asm__ volatile("wrmsr" ::"c"(msr), "a"((unsigned int)val), "d"((unsigned int)(val >> 32))
                   : "memory");
}

/* Kernel mode runs with GS_BASE = &pcpu_hot[cpu]; the boot CPU is cpu 0. */
noinline void setup_arch(char **cmdline_p) {
  boot_step(BOOT_STEP_SETUP_ARCH);
  *cmdline_p = boot_command_line;
  for (unsigned long cpu = 0; cpu < NR_CPUS; cpu++) pcpu_hot[cpu].cpu_number = cpu;
  wrmsrl(X86_MSR_GS_BASE, (unsigned long)&pcpu_hot[0]);
}

/* MSR_LSTAR and MSR_SYSCALL_MASK are what the model's `syscall` emulation reads. */
noinline void syscall_init(void) {
  wrmsrl(X86_MSR_LSTAR, (unsigned long)entry_SYSCALL_64);
  wrmsrl(X86_MSR_SYSCALL_MASK, X86_SYSCALL_MASK);
}

noinline void trap_init(void) {
  boot_step(BOOT_STEP_TRAP_INIT);
  syscall_init();
}
