/* Optprobes beyond mainline, guest half (Linux has no arm64 optprobes; issue 17 asks for them,
 * modelled on arch/arm/probes/kprobes/opt-arm.c): optimized_callback is what a detour buffer
 * calls (BL) with the struct pt_regs it saved on the stack. Its first instruction is a nop with
 * a host call site on it (GuestKernel::new_engine -> Cpu::add_call_site): the host's kprobes
 * engine runs there with x0 = op and x1 = regs, from inside the translated code (no trap, no
 * exit; the retired HC_OPTPROBE hypercall cost an exception). In .kprobes.text
 * (blacklisted). */
#include "asm/ptrace.h"
#include "linux/kernel.h"
#include "linux/kprobes.h"

void optimized_callback(unsigned long op, struct pt_regs *regs);

__asm__(".pushsection .kprobes.text, \"ax\"\n"
        ".globl optimized_callback\n"
        ".type optimized_callback, %function\n"
        "optimized_callback:\n"
        "\tnop\n" /* the host call site */
        "\tret\n"
        ".size optimized_callback, . - optimized_callback\n"
        ".popsection\n");
