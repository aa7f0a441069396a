/* kprobes live in the host (probes/); this boot step tells the model that breakpoints can be
 * handled from now on (before it, early probes must be branches). */
#include "linux/kernel.h"
#include "linux/kprobes.h"

noinline int init_kprobes(void) {
  boot_step(BOOT_STEP_INIT_KPROBES);
  return 0;
}
