/* probesim's own trampolines, in .kprobes.text (blacklisted). */
#include "asm/linkage.h"
#include "hypercall_abi.h"

	.section .kprobes.text, "ax"

/* kernel_call: the model sets sp to a 16-byte aligned kernel stack (EL1h), the arguments in
 * x0-x5, the function in x16, and pc here; the result comes back in HC_KERNEL_CALL_DONE. */
SYM_CODE_START(probesim_kernel_call_trampoline)
	blr	x16
	mov	x8, #HC_KERNEL_CALL_DONE
	hvc	#0
	brk	#0x800
SYM_CODE_END(probesim_kernel_call_trampoline)

/* kretprobe return trampoline: a hijacked return (x30) lands on this BRK #4; probes/
 * recognises the address (its contents belong to the kprobes implementation). */
SYM_CODE_START(__kretprobe_trampoline)
	brk	#0x4
	brk	#0x800
SYM_CODE_END(__kretprobe_trampoline)
