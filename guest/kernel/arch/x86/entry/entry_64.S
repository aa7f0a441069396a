/* x86_64 syscall entry and return to user mode (Linux: arch/x86/entry/entry_64.S).
 *
 * On a user `syscall` the model does what the instruction does (README.md): RCX = the next
 * instruction, R11 = RFLAGS, RFLAGS &= ~MSR_SYSCALL_MASK, RIP = MSR_LSTAR =
 * entry_SYSCALL_64. User mode runs with the user's GS base and MSR_KERNEL_GS_BASE =
 * &pcpu_hot[cpu]; swapgs exchanges them. */
#include "asm/linkage.h"
#include "entry_abi.h"
#include "hypercall_abi.h"
#include "linux/errno.h"

	.section .entry.text, "ax"

SYM_CODE_START(entry_SYSCALL_64)
	swapgs
	movq	%rsp, %gs:PCPU_USER_RSP_SCRATCH
	movq	%gs:PCPU_TOP_OF_STACK, %rsp

	/* Build struct pt_regs on the task's kernel stack, ss first. */
	pushq	$X86_64_USER_DS			/* pt_regs->ss */
	pushq	%gs:PCPU_USER_RSP_SCRATCH	/* pt_regs->sp */
	pushq	%r11				/* pt_regs->flags */
	pushq	$X86_64_USER_CS			/* pt_regs->cs */
	pushq	%rcx				/* pt_regs->ip */
	.globl	entry_SYSCALL_64_after_hwframe
entry_SYSCALL_64_after_hwframe:
	pushq	%rax				/* pt_regs->orig_ax */
	pushq	%rdi
	pushq	%rsi
	pushq	%rdx
	pushq	%rcx
	pushq	$-ENOSYS			/* pt_regs->ax */
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15

	movq	%rsp, %rdi
	movslq	%eax, %rsi
	call	do_syscall_64			/* returns true if SYSRET semantics hold */
	testb	%al, %al
	jz	swapgs_restore_regs_and_return_to_usermode

	/* SYSRET path: every register from pt_regs except rcx = ip and r11 = flags. */
	.globl	syscall_return_via_sysret
syscall_return_via_sysret:
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rax
	popq	%rcx
	popq	%rdx
	popq	%rsi
	popq	%rdi
	addq	$8, %rsp			/* orig_ax; rsp -> ip, cs, flags, sp, ss */
	movq	0(%rsp), %rcx
	movq	16(%rsp), %r11
	pushq	%r11
	popfq
	movq	24(%rsp), %rsp
	swapgs
	jmp	*%rcx
SYM_CODE_END(entry_SYSCALL_64)

/* IRET path: the model loads every register of the pt_regs at rsp (HC_IRET). Used when
 * rcx/r11 differ from ip/flags (a rewritten pt_regs) and by new tasks. */
SYM_CODE_START(swapgs_restore_regs_and_return_to_usermode)
	movq	%rsp, %rdi
	swapgs
	movl	$HC_IRET, %eax
	int	$HYPERCALL_X86_VECTOR
	ud2
SYM_CODE_END(swapgs_restore_regs_and_return_to_usermode)

/* A new task's first instruction (clone's child, the first user program): rsp points to its
 * pt_regs at the top of its kernel stack, GS_BASE = &pcpu_hot[cpu] (kernel mode). */
SYM_CODE_START(ret_from_fork)
	jmp	swapgs_restore_regs_and_return_to_usermode
SYM_CODE_END(ret_from_fork)
