/* The C half of el0t_64_sync (Linux: arch/arm64/kernel/entry-common.c). */
#include "linux/syscalls.h"

void do_el0_svc(struct pt_regs *regs);

static inline unsigned long read_esr_el1(void) {
  unsigned long esr;
  __asm__ volatile("mrs %0, esr_el1" : "=r"(esr));
  return esr;
}

static noinstr void el0_svc(struct pt_regs *regs) { do_el0_svc(regs); }

asmlinkage noinstr void el0t_64_sync_handler(struct pt_regs *regs) {
  unsigned long esr = read_esr_el1();
  if (likely(((esr >> ARM64_ESR_EC_SHIFT) & 0x3f) == ARM64_ESR_EC_SVC64)) {
    el0_svc(regs);
    return;
  }
  panic("el0t_64_sync_handler: unexpected exception class in ESR_EL1");
}
