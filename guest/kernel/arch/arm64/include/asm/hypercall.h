/* arm64 hypercall: hvc #0 with the number in x8 (hypercall_abi.h). */
#ifndef _ASM_ARM64_HYPERCALL_H
#define _ASM_ARM64_HYPERCALL_H

#include "hypercall_abi.h"

static inline long hypercall6(long nr, unsigned long a0, unsigned long a1, unsigned long a2,
                              unsigned long a3, unsigned long a4, unsigned long a5) {
  register long x8 __asm__("x8") = nr;
  register unsigned long x0 __asm__("x0") = a0;
  register unsigned long x1 __asm__("x1") = a1;
  register unsigned long x2 __asm__("x2") = a2;
  register unsigned long x3 __asm__("x3") = a3;
  register unsigned long x4 __asm__("x4") = a4;
  register unsigned long x5 __asm__("x5") = a5;
  __asm__ volatile("hvc #0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory");
  return (long)x0;
}

/* After a hypercall that never returns: BRK #0x800 (Linux's BUG_BRK_IMM). */
#define hypercall_unreachable() __asm__ volatile("brk #0x800")

#endif /* _ASM_ARM64_HYPERCALL_H */
