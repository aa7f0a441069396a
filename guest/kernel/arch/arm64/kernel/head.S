/* The image's ELF entry point. The model only sets PC here (README.md, "Boot"); the CPU is
 * in EL1h (Unicorn's reset state), so sp is SP_EL1. */
#include "asm/linkage.h"
#include "entry_abi.h"

	.section .head.text, "ax"
SYM_CODE_START(primary_entry)
	/* The boot task runs on init_thread_union, with room for a pt_regs at the top as every
	 * task stack has. */
	adrp	x0, init_thread_union
	add	x0, x0, :lo12:init_thread_union
	add	sp, x0, #THREAD_SIZE
	sub	sp, sp, #PTREGS_ARM64_SIZE
	mov	x29, xzr
	mov	x30, xzr
	bl	start_kernel
	brk	#0x800
SYM_CODE_END(primary_entry)
