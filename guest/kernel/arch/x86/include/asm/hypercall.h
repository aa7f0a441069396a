/* x86_64 hypercall: int $HYPERCALL_X86_VECTOR (hypercall_abi.h). */
#ifndef _ASM_X86_HYPERCALL_H
#define _ASM_X86_HYPERCALL_H

#include "hypercall_abi.h"

#define __HC_STR2(x) #x
#define __HC_STR(x) __HC_STR2(x)

static inline long hypercall6(long nr, unsigned long a0, unsigned long a1, unsigned long a2,
                              unsigned long a3, unsigned long a4, unsigned long a5) {
  register unsigned long r10 __asm__("r10") = a3;
  register unsigned long r8 __asm__("r8") = a4;
  register unsigned long r9 __asm__("r9") = a5;
  long ret = nr;
  __asm__ volatile("int $" __HC_STR(HYPERCALL_X86_VECTOR)
                   : "+a"(ret)
                   : "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                   : "memory", "cc");
  return ret;
}

/* After a hypercall that never returns. */
#define hypercall_unreachable() __asm__ volatile("ud2")

#endif /* _ASM_X86_HYPERCALL_H */
