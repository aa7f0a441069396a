/* Layouts shared by the guest kernel's entry code and probesim's model: struct pt_regs
 * (Linux's layouts), the x86_64 per-cpu block, kernel stacks, and the architectural
 * registers the model emulates on a user syscall instruction. See README.md.
 *
 * Plain C, no includes: compiled into guest C, guest assembly (via cpp) and host C++.
 */
#ifndef PROBESIM_GUEST_ENTRY_ABI_H
#define PROBESIM_GUEST_ENTRY_ABI_H

/* Link addresses of the image (its first byte, `_text`). */
#define KERNEL_BASE_X86_64 0xffffffff81000000
#define KERNEL_BASE_ARM64 0xffff800008000000

/* Kernel stacks: THREAD_SIZE bytes, THREAD_SIZE-aligned; a task's user-mode pt_regs sits
 * at the very top (current_pt_regs() relies on both). */
#define THREAD_SIZE 16384
#define NR_CPUS 64

/* x86_64 struct pt_regs (arch/x86/include/asm/ptrace.h), byte offsets. */
#define PTREGS_X86_64_R15 0
#define PTREGS_X86_64_R14 8
#define PTREGS_X86_64_R13 16
#define PTREGS_X86_64_R12 24
#define PTREGS_X86_64_BP 32
#define PTREGS_X86_64_BX 40
#define PTREGS_X86_64_R11 48
#define PTREGS_X86_64_R10 56
#define PTREGS_X86_64_R9 64
#define PTREGS_X86_64_R8 72
#define PTREGS_X86_64_AX 80
#define PTREGS_X86_64_CX 88
#define PTREGS_X86_64_DX 96
#define PTREGS_X86_64_SI 104
#define PTREGS_X86_64_DI 112
#define PTREGS_X86_64_ORIG_AX 120
#define PTREGS_X86_64_IP 128
#define PTREGS_X86_64_CS 136
#define PTREGS_X86_64_FLAGS 144
#define PTREGS_X86_64_SP 152
#define PTREGS_X86_64_SS 160
#define PTREGS_X86_64_SIZE 168
#define X86_64_USER_CS 0x33 /* __USER_CS, stored in pt_regs->cs */
#define X86_64_USER_DS 0x2b /* __USER_DS, stored in pt_regs->ss */

/* arm64 struct pt_regs (arch/arm64/include/asm/ptrace.h, v5.15), byte offsets. */
#define PTREGS_ARM64_X(n) ((n) * 8) /* regs[0..30]; regs[30] is the link register */
#define PTREGS_ARM64_SP 248
#define PTREGS_ARM64_PC 256
#define PTREGS_ARM64_PSTATE 264
#define PTREGS_ARM64_ORIG_X0 272
#define PTREGS_ARM64_SYSCALLNO 280 /* s32 */
#define PTREGS_ARM64_STACKFRAME 304
#define PTREGS_ARM64_SIZE 336

/* x86_64 per-cpu block `pcpu_hot[NR_CPUS]` (one PCPU_HOT_SIZE entry per CPU). In kernel
 * mode GS_BASE = &pcpu_hot[cpu]; in user mode MSR_KERNEL_GS_BASE holds it (swapgs). */
#define PCPU_HOT_SIZE 64
#define PCPU_TOP_OF_STACK 0     /* cpu_current_top_of_stack: the model writes it */
#define PCPU_USER_RSP_SCRATCH 8 /* entry scratch (Linux: cpu_tss_rw.sp2) */
#define PCPU_CPU_NUMBER 16

/* x86_64 MSRs that trap_init programs and the model reads. */
#define X86_MSR_LSTAR 0xc0000082
#define X86_MSR_SYSCALL_MASK 0xc0000084
#define X86_MSR_GS_BASE 0xc0000101
#define X86_MSR_KERNEL_GS_BASE 0xc0000102
/* RFLAGS bits cleared on syscall entry (Linux's MSR_SYSCALL_MASK value): CF PF AF ZF SF
 * TF IF DF OF IOPL NT RF AC ID. */
#define X86_SYSCALL_MASK 0x257fd5

/* arm64: offset of the "lower EL, AArch64, synchronous" entry in the VBAR_EL1 table, and
 * the ESR_EL1 the model writes for `svc #imm` (EC = SVC64, IL = 1). */
#define ARM64_VECTOR_EL0_SYNC 0x400
#define ARM64_ESR_EC_SHIFT 26
#define ARM64_ESR_EC_SVC64 0x15
#define ARM64_ESR_IL (1u << 25)
/* PSTATE of user mode: EL1t (Unicorn cannot run EL0: README.md). */
#define ARM64_PSTATE_MODE_MASK 0xf
#define ARM64_PSTATE_EL1T 0x4
#define ARM64_PSTATE_EL1H 0x5

#endif /* PROBESIM_GUEST_ENTRY_ABI_H */
