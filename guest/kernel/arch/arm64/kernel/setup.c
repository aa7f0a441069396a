/* arm64 setup_arch and trap_init: VBAR_EL1 is what the model's `svc` emulation reads. */
#include "linux/kernel.h"

extern char vectors[];

noinline void setup_arch(char **cmdline_p) {
  boot_step(BOOT_STEP_SETUP_ARCH);
  *cmdline_p = boot_command_line;
}

noinline void trap_init(void) {
  boot_step(BOOT_STEP_TRAP_INIT);
  __asm__ volatile("msr vbar_el1, %0\n\tisb" ::"r"(vectors) : "memory");
}
