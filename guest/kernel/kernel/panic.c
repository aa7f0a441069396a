#include "asm/hypercall.h"
#include "linux/kernel.h"

/* Stops the machine with msg (HC_PANIC). Unlike Linux's, msg is not a format string. */
noinline __noreturn void panic(const char *msg) {
  for (;;) {
    hypercall6(HC_PANIC, (unsigned long)msg, 0, 0, 0, 0, 0);
    hypercall_unreachable();
  }
}
