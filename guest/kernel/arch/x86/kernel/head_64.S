/* The image's ELF entry point. The model only sets RIP here (README.md, "Boot"). */
#include "asm/linkage.h"
#include "entry_abi.h"

	.section .head.text, "ax"
SYM_CODE_START(startup_64)
	/* The boot task runs on init_thread_union, with room for a pt_regs at the top as every
	 * task stack has. */
	leaq	init_thread_union + THREAD_SIZE - PTREGS_X86_64_SIZE(%rip), %rsp
	xorl	%ebp, %ebp
	cld
	call	start_kernel
	ud2
SYM_CODE_END(startup_64)
