/* Optprobes beyond mainline, guest half (Linux has no arm64 optprobes; issue 17 asks for them,
 * modelled on arch/arm/probes/kprobes/opt-arm.c): optimized_callback is what a detour buffer
 * calls (BL) with the struct pt_regs it saved on the stack; the host's kprobes engine gets
 * (op, regs) through HC_OPTPROBE. In .kprobes.text (blacklisted). */
#include "asm/hypercall.h"
#include "asm/ptrace.h"
#include "linux/kernel.h"
#include "linux/kprobes.h"

__visible noinline __kprobes void optimized_callback(unsigned long op, struct pt_regs *regs) {
  hypercall6(HC_OPTPROBE, op, (unsigned long)regs, 0, 0, 0, 0);
}
