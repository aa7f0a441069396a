/* probesim's own trampolines, in .kprobes.text (blacklisted). */
#include "asm/linkage.h"
#include "hypercall_abi.h"

	.section .kprobes.text, "ax"

/* kernel_call: the model sets rsp to a 16-byte aligned kernel stack, the arguments in rdi rsi
 * rdx rcx r8 r9, the function in r11, and rip here; the result comes back in
 * HC_KERNEL_CALL_DONE. */
SYM_CODE_START(probesim_kernel_call_trampoline)
	call	*%r11
	movq	%rax, %rdi
	movl	$HC_KERNEL_CALL_DONE, %eax
	int	$HYPERCALL_X86_VECTOR
	ud2
SYM_CODE_END(probesim_kernel_call_trampoline)

/* kretprobe return trampoline: a hijacked return lands on this int3; probes/ recognises the
 * address (its contents belong to the kprobes implementation). */
SYM_CODE_START(__kretprobe_trampoline)
	int3
	ud2
SYM_CODE_END(__kretprobe_trampoline)
