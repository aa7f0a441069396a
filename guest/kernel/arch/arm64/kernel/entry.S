/* arm64 exception vectors, el0t_64_sync and ret_to_user (Linux: arch/arm64/kernel/entry.S).
 *
 * User mode is EL1t (SP = SP_EL0); the kernel runs in EL1h (SP = SP_EL1 = the task's kernel
 * stack top). On a user `svc` the model does what the exception entry does (README.md):
 * ELR_EL1 = the instruction after svc, SPSR_EL1 = PSTATE, ESR_EL1 = SVC64 syndrome,
 * PC = VBAR_EL1 + 0x400; the vector selects SP_EL1 itself. */
#include "asm/linkage.h"
#include "entry_abi.h"
#include "hypercall_abi.h"

	.section .entry.text, "ax"

	.macro	ventry label
	.balign	0x80
	b	\label
	.endm

	.balign	2048
SYM_CODE_START(vectors)
	ventry	el1_unexpected		/* EL1t: sync, irq, fiq, serror */
	ventry	el1_unexpected
	ventry	el1_unexpected
	ventry	el1_unexpected
	ventry	el1_unexpected		/* EL1h: sync, irq, fiq, serror */
	ventry	el1_unexpected
	ventry	el1_unexpected
	ventry	el1_unexpected
	.balign	0x80			/* lower EL, AArch64: sync (ARM64_VECTOR_EL0_SYNC) */
	msr	spsel, #1		/* what taking the exception to EL1h does to sp */
	b	el0t_64_sync
	ventry	el1_unexpected		/* lower EL, AArch64: irq, fiq, serror */
	ventry	el1_unexpected
	ventry	el1_unexpected
	ventry	el1_unexpected		/* lower EL, AArch32 */
	ventry	el1_unexpected
	ventry	el1_unexpected
	ventry	el1_unexpected
	.balign	0x80
SYM_CODE_END(vectors)

SYM_CODE_START(el1_unexpected)
	adrp	x0, unexpected_vector_msg
	add	x0, x0, :lo12:unexpected_vector_msg
	mov	x8, #HC_PANIC
	hvc	#0
	brk	#0x800
SYM_CODE_END(el1_unexpected)

/* kernel_entry 0: build struct pt_regs on the task's kernel stack. */
SYM_CODE_START(el0t_64_sync)
	sub	sp, sp, #PTREGS_ARM64_SIZE
	stp	x0, x1, [sp, #16 * 0]
	stp	x2, x3, [sp, #16 * 1]
	stp	x4, x5, [sp, #16 * 2]
	stp	x6, x7, [sp, #16 * 3]
	stp	x8, x9, [sp, #16 * 4]
	stp	x10, x11, [sp, #16 * 5]
	stp	x12, x13, [sp, #16 * 6]
	stp	x14, x15, [sp, #16 * 7]
	stp	x16, x17, [sp, #16 * 8]
	stp	x18, x19, [sp, #16 * 9]
	stp	x20, x21, [sp, #16 * 10]
	stp	x22, x23, [sp, #16 * 11]
	stp	x24, x25, [sp, #16 * 12]
	stp	x26, x27, [sp, #16 * 13]
	stp	x28, x29, [sp, #16 * 14]
	mrs	x21, sp_el0
	mrs	x22, elr_el1
	mrs	x23, spsr_el1
	stp	x30, x21, [sp, #PTREGS_ARM64_X(30)]	/* regs[30], sp */
	stp	x22, x23, [sp, #PTREGS_ARM64_PC]	/* pc, pstate */
	stp	xzr, xzr, [sp, #PTREGS_ARM64_STACKFRAME]	/* terminal frame record */
	add	x29, sp, #PTREGS_ARM64_STACKFRAME
	mov	x0, sp
	bl	el0t_64_sync_handler
	b	ret_to_user
SYM_CODE_END(el0t_64_sync)

/* kernel_exit 0: every register from pt_regs, then the exception return. */
SYM_CODE_START(ret_to_user)
	ldp	x21, x22, [sp, #PTREGS_ARM64_PC]	/* pc, pstate */
	ldr	x23, [sp, #PTREGS_ARM64_SP]
	msr	sp_el0, x23
	msr	elr_el1, x21
	msr	spsr_el1, x22
	ldp	x0, x1, [sp, #16 * 0]
	ldp	x2, x3, [sp, #16 * 1]
	ldp	x4, x5, [sp, #16 * 2]
	ldp	x6, x7, [sp, #16 * 3]
	ldp	x8, x9, [sp, #16 * 4]
	ldp	x10, x11, [sp, #16 * 5]
	ldp	x12, x13, [sp, #16 * 6]
	ldp	x14, x15, [sp, #16 * 7]
	ldp	x16, x17, [sp, #16 * 8]
	ldp	x18, x19, [sp, #16 * 9]
	ldp	x20, x21, [sp, #16 * 10]
	ldp	x22, x23, [sp, #16 * 11]
	ldp	x24, x25, [sp, #16 * 12]
	ldp	x26, x27, [sp, #16 * 13]
	ldp	x28, x29, [sp, #16 * 14]
	ldr	x30, [sp, #PTREGS_ARM64_X(30)]
	add	sp, sp, #PTREGS_ARM64_SIZE	/* SP_EL1 = the stack top again */
	msr	spsel, #0			/* sp = SP_EL0 = the user's */
	hvc	#1				/* ERET: PC = ELR_EL1, PSTATE = SPSR_EL1 */
	brk	#0x800
SYM_CODE_END(ret_to_user)

/* A new task's first instruction (clone's child, the first user program): EL1h, sp points
 * to its pt_regs at the top of its kernel stack. */
SYM_CODE_START(ret_from_fork)
	b	ret_to_user
SYM_CODE_END(ret_from_fork)

	.section .rodata
unexpected_vector_msg:
	.asciz	"unexpected exception vector"
