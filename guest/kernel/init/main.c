/* The boot path: start_kernel and the steps it runs, each reported to the model with
 * HC_BOOT_STEP so the model (and tests) see the order. */
#include "asm/hypercall.h"
#include "linux/kernel.h"
#include "linux/kprobes.h"

static char *command_line;

noinline void boot_step(long step) { hypercall6(HC_BOOT_STEP, step, 0, 0, 0, 0, 0); }

noinline void mm_init(void) { boot_step(BOOT_STEP_MM_INIT); }

/* Hands the CPU to the model to start the first user program; never returns. */
noinline __noreturn void rest_init(void) {
  boot_step(BOOT_STEP_REST_INIT);
  hypercall6(HC_RUN_INIT, 0, 0, 0, 0, 0, 0);
  panic("rest_init: the model returned from HC_RUN_INIT");
}

__visible noinline __noreturn void start_kernel(void) {
  boot_step(BOOT_STEP_START_KERNEL);
  setup_arch(&command_line);
  trap_init();
  mm_init();
  init_kprobes();
  rest_init();
}
