/* Hypercalls from the guest kernel image (vmprobesim) into probesim's kernel model.
 *
 * Plain C, no includes: compiled into the guest (C and assembly) and into host C++.
 *
 * Instruction and registers (see docs/guest-kernel.md for the full entry contract):
 *   x86_64: `int $HYPERCALL_X86_VECTOR` (bytes cd e9); rax = hypercall number, arguments in
 *           rdi, rsi, rdx, r10, r8, r9; the model writes the result to rax. Every other
 *           register is preserved. Unicorn raises it as UC_HOOK_INTR intno 0xe9 with RIP
 *           already after the instruction, so the model never adjusts RIP.
 *           (Not `out`: Unicorn 2.0.1 runs the rest of the translation block after an OUT
 *           hook, so neither uc_emu_stop nor a RIP write takes effect at the hypercall.)
 *   arm64:  `hvc #0` (word HYPERCALL_ARM64_HVC_INSN); x8 = number, arguments x0-x5; the
 *           model writes the result to x0 and sets PC = PC + 4. Unicorn raises this as
 *           UC_HOOK_INTR intno 1 (UDEF) with PC AT the hvc.
 *           `hvc #1` (word HYPERCALL_ARM64_ERET_INSN) is not a numbered hypercall: it is
 *           the exception return (ERET) of ret_to_user; the model sets PC = ELR_EL1 and
 *           PSTATE = SPSR_EL1. A real `eret` cannot be used: see README.md.
 * Stopping in a hypercall (a never-returning one, or a syscall that blocks): the model calls
 * uc_emu_stop and must NOT write the PC in that hook (in Unicorn 2.0.1 a PC write cancels a
 * pending uc_emu_stop). On arm64 the PC then still points at the hvc: resume at PC + 4.
 * Numbers are stable ABI: never renumber, only append. A hypercall marked "never returns"
 * is followed by a trapping instruction in the guest (ud2 / brk) in case the model resumes.
 */
#ifndef PROBESIM_GUEST_HYPERCALL_ABI_H
#define PROBESIM_GUEST_HYPERCALL_ABI_H

#define HYPERCALL_X86_VECTOR 0xe9           /* int $0xe9 */
#define HYPERCALL_ARM64_HVC_INSN 0xd4000002u  /* hvc #0 */
#define HYPERCALL_ARM64_ERET_INSN 0xd4000022u /* hvc #1 */

/* HC_BOOT_STEP(step): a boot function reached its body; step is a BOOT_STEP_* id.
 * Returns 0. The model may act on a step (e.g. arm early kprobes before INIT_KPROBES). */
#define HC_BOOT_STEP 1

/* HC_SYSCALL(nr, args, regs): perform syscall nr (this arch's numbering) with the six
 * arguments at args (const unsigned long[6], on the kernel stack), for the task whose
 * user-mode register frame is the struct pt_regs at regs. Returns the syscall's result
 * (>= 0 or -errno). The guest stores it into regs->ax / regs->regs[0]; a model that rewrites
 * the user state (execve, rt_sigreturn, signal delivery, clone's child) writes *regs and
 * returns the value it wants in ax / x0. exit and exit_group never return. */
#define HC_SYSCALL 2

/* HC_RUN_INIT(): rest_init hands over to the model to start the first user program.
 * Never returns (see README.md "Starting user tasks"). */
#define HC_RUN_INIT 3

/* HC_PANIC(msg): the kernel cannot continue; msg is a NUL-terminated guest string.
 * Never returns. */
#define HC_PANIC 4

/* HC_KERNEL_CALL_DONE(ret): probesim_kernel_call_trampoline's callee returned ret.
 * Never returns (the model stops the CPU and reports ret). */
#define HC_KERNEL_CALL_DONE 5

/* HC_IRET(regs) — x86_64 only: return to user mode with the complete state in the pt_regs
 * at regs (all 15 GPRs, rip, rflags, rsp), used when SYSRET semantics (rcx = rip,
 * r11 = rflags) cannot hold: ret_from_fork, or a pt_regs rewritten by the model or a probe.
 * The guest has already executed swapgs. Never returns to the caller. */
#define HC_IRET 6

/* 7 was HC_OPTPROBE(op, regs), optimized_callback's work as a hypercall. Retired: the image's
 * optimized_callback starts with a host call site instead, which costs no exception (see
 * docs/guest-kernel.md). Never reuse the number. */

/* The kernel command line: the model writes it into boot_command_line[COMMAND_LINE_SIZE]
 * before start_kernel (a boot loader's job; x86's COMMAND_LINE_SIZE) and, when setup_arch
 * reports, registers its `ekprobe=sym[+off][,...]` targets as early kprobes. */
#define COMMAND_LINE_SIZE 2048

/* Early kprobes (seed 002, CONFIG_NR_EARLY_KPROBES_SLOTS): the image's static pool
 * early_kprobe_insn_slots holds this many detour buffers of EARLY_KPROBE_SLOT_SIZE bytes. */
#define NR_EARLY_KPROBES_SLOTS 16
#define EARLY_KPROBE_SLOT_SIZE 256

/* Boot steps, in the order start_kernel reports them. */
#define BOOT_STEP_START_KERNEL 1
#define BOOT_STEP_SETUP_ARCH 2
#define BOOT_STEP_TRAP_INIT 3
#define BOOT_STEP_MM_INIT 4
#define BOOT_STEP_INIT_KPROBES 5
#define BOOT_STEP_REST_INIT 6

#endif /* PROBESIM_GUEST_HYPERCALL_ABI_H */
