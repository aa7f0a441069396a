/* Optprobes, guest half (Linux arch/x86/kernel/kprobes/opt.c): optimized_callback is what an
 * optprobe's detour buffer calls with the struct pt_regs it saved on the stack. The kprobes
 * engine lives in the host (probes/). optimized_callback's first instruction is a nop with a
 * host call site on it (GuestKernel::new_engine -> Cpu::add_call_site): the engine runs there
 * with rdi = op and rsi = regs as the detour passed them, from inside the translated code, so
 * an optimized hit takes no trap and no exit (the retired HC_OPTPROBE hypercall cost an
 * exception). In .kprobes.text (blacklisted), as Linux marks it NOKPROBE_SYMBOL. */
#include "asm/ptrace.h"
#include "linux/kernel.h"
#include "linux/kprobes.h"

void optimized_callback(unsigned long op, struct pt_regs *regs);

__asm__(".pushsection .kprobes.text, \"ax\"\n"
        ".globl optimized_callback\n"
        ".type optimized_callback, @function\n"
        "optimized_callback:\n"
        "\t.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n" /* nopl 0x0(%rax,%rax,1): the host call site
                                                 (spelt out: gas drops the zero disp8) */
        "\tret\n"
        ".size optimized_callback, . - optimized_callback\n"
        ".popsection\n");
