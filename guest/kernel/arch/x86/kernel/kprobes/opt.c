/* Optprobes, guest half (Linux arch/x86/kernel/kprobes/opt.c): optimized_callback is what an
 * optprobe's detour buffer calls with the struct pt_regs it saved on the stack. The kprobes
 * engine lives in the host (probes/): the callback hands (op, regs) to it with HC_OPTPROBE.
 * In .kprobes.text (blacklisted), as Linux marks it NOKPROBE_SYMBOL. */
#include "asm/hypercall.h"
#include "asm/ptrace.h"
#include "linux/kernel.h"
#include "linux/kprobes.h"

__visible noinline __kprobes void optimized_callback(unsigned long op, struct pt_regs *regs) {
  hypercall6(HC_OPTPROBE, op, (unsigned long)regs, 0, 0, 0, 0);
}
