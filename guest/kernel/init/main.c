/* The boot path: start_kernel and the steps it runs, each reported to the model with
 * HC_BOOT_STEP so the model (and tests) see the order. */
#include "asm/hypercall.h"
#include "linux/kernel.h"
#include "linux/kprobes.h"

/* Written by the model before start_kernel (hypercall_abi.h: COMMAND_LINE_SIZE). */
extern char _text[], _end[];
char boot_command_line[COMMAND_LINE_SIZE];
char saved_command_line[COMMAND_LINE_SIZE];
unsigned long totalram_pages;
static char *command_line;

noinline void boot_step(long step) { hypercall6(HC_BOOT_STEP, step, 0, 0, 0, 0, 0); }

/* Keeps a copy of the command line setup_arch handed out (/proc/cmdline's source). */
noinline void setup_command_line(char *line) {
  unsigned long i = 0;
  for (; i < COMMAND_LINE_SIZE - 1 && line[i]; i++) saved_command_line[i] = line[i];
  saved_command_line[i] = 0;
}

/* The pages this kernel manages itself: its image (the model owns every other frame). Linux's
 * mem_init counts the pages memblock frees into the buddy allocator. */
noinline void mem_init(void) { totalram_pages = (unsigned long)(_end - _text) >> 12; }

noinline void mm_init(void) {
  boot_step(BOOT_STEP_MM_INIT);
  mem_init();
}

/* Hands the CPU to the model to start the first user program; never returns. */
noinline __noreturn void rest_init(void) {
  boot_step(BOOT_STEP_REST_INIT);
  hypercall6(HC_RUN_INIT, 0, 0, 0, 0, 0, 0);
  panic("rest_init: the model returned from HC_RUN_INIT");
}

__visible noinline __noreturn void start_kernel(void) {
  boot_step(BOOT_STEP_START_KERNEL);
  setup_arch(&command_line);
  setup_command_line(command_line);
  trap_init();
  mm_init();
  init_kprobes();
  rest_init();
}
