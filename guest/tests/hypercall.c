// hypercall: user code executes the guest kernel's hypercall instruction, asking for
// HC_BOOT_STEP (1) in a loop. Only the kernel may make hypercalls: Linux gives x86 `int $0xe9`
// at CPL 3 a #GP (SIGSEGV, status 139) and arm64 `hvc #0` at EL0 an undefined instruction
// (SIGILL, status 132), natively and under qemu-aarch64; probesim must agree (and not grow).
#include "guest_util.h"

static void hypercall_boot_step(void) {
#if defined(__x86_64__)
  __asm__ volatile("int $0xe9" : : "a"(1L), "D"(1L) : "memory");
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = 1;
  register long x0 __asm__("x0") = 1;
  __asm__ volatile("hvc #0" : "+r"(x0) : "r"(x8) : "memory");
#else
#error "unsupported architecture"
#endif
}

int main(void) {
  printf("hypercall from user mode\n");
  fflush(stdout);
  for (int i = 0; i < 1000000; ++i) hypercall_boot_step();
  printf("unreachable\n");
  return 1;
}
