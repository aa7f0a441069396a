// Guest kernel, machine side: the user syscall instruction's architectural effect, the
// hypercalls (HC_SYSCALL performs the syscall for the task whose pt_regs the guest passes),
// the return to user mode (x86 HC_IRET, arm64 hvc #1 = ERET), and resuming a task that
// stopped inside HC_SYSCALL (guest/kernel/README.md "The model's contract").
//
// Rule: inside HC_SYSCALL the task's user registers are its pt_regs (UserRegs), and the
// hypercall always returns pt_regs->ax / regs[0], which the guest stores back there; so a
// model change of the user state (signal delivery, sigreturn, exec) needs nothing else.
#include <cerrno>
#include <cstring>
#include <utility>

#include "emu/machine_state.h"
#include "emu/syscalls/dispatch.h"
#include "guest/kernel/include/entry_abi.h"
#include "guest/kernel/include/hypercall_abi.h"
#include "probesim/assert.h"

namespace probesim::emu {
namespace {

constexpr uint32_t kX86VectorInt3 = 3;
constexpr uint32_t kArm64ExcpUdef = 1;
constexpr int kX86HcArgs[] = {UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX,
                              UC_X86_REG_R10, UC_X86_REG_R8,  UC_X86_REG_R9};
constexpr int kArm64HcArgs[] = {UC_ARM64_REG_X0, UC_ARM64_REG_X1, UC_ARM64_REG_X2,
                                UC_ARM64_REG_X3, UC_ARM64_REG_X4, UC_ARM64_REG_X5};
constexpr uint64_t kX86IntLen = 2;  // int $0xe9: re-executed to restart a syscall

// pt_regs word order of x86_64 (PTREGS_X86_64_*/8) as Unicorn registers; -1: not loaded.
constexpr int kX86PtRegs[] = {
    UC_X86_REG_R15, UC_X86_REG_R14, UC_X86_REG_R13, UC_X86_REG_R12, UC_X86_REG_RBP,
    UC_X86_REG_RBX, UC_X86_REG_R11, UC_X86_REG_R10, UC_X86_REG_R9,  UC_X86_REG_R8,
    UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RSI, UC_X86_REG_RDI,
    UC_X86_REG_RIP, UC_X86_REG_RFLAGS, UC_X86_REG_RSP};
constexpr int kX86PtRegsOffsets[] = {
    PTREGS_X86_64_R15, PTREGS_X86_64_R14, PTREGS_X86_64_R13, PTREGS_X86_64_R12,
    PTREGS_X86_64_BP,  PTREGS_X86_64_BX,  PTREGS_X86_64_R11, PTREGS_X86_64_R10,
    PTREGS_X86_64_R9,  PTREGS_X86_64_R8,  PTREGS_X86_64_AX,  PTREGS_X86_64_CX,
    PTREGS_X86_64_DX,  PTREGS_X86_64_SI,  PTREGS_X86_64_DI,  PTREGS_X86_64_IP,
    PTREGS_X86_64_FLAGS, PTREGS_X86_64_SP};

}  // namespace

UserRegs MachineState::user_regs(Task& t) {
  Cpu& cpu = *t.proc().cpu();
  if (kernel_ && t.in_hypercall)
    return UserRegs(cpu, kernel_->space->host(pt_regs_of(t), 8));
  return UserRegs(cpu);
}

UserRegs MachineState::entry_user_regs(Task& t) {
  PROBESIM_ASSERT(kernel_ != nullptr);
  return UserRegs(*t.proc().cpu(), kernel_->space->host(pt_regs_of(t), 8));
}

// x86 `syscall` (pc() is after it): RCX, R11, masked RFLAGS, RIP = LSTAR. arm64 `svc` (PC
// after it): ELR_EL1, SPSR_EL1, ESR_EL1, PC = VBAR_EL1 + 0x400 (the vector selects SP_EL1).
void MachineState::kernel_entry(Cpu& cpu) {
  GuestKernel& k = *kernel_;
  if (config_.arch == Arch::X86_64) {
    uint64_t flags = cpu.reg(UC_X86_REG_RFLAGS);
    cpu.set_reg(UC_X86_REG_RCX, cpu.pc());
    cpu.set_reg(UC_X86_REG_R11, flags);
    cpu.set_reg(UC_X86_REG_RFLAGS, flags & ~k.syscall_mask);
    cpu.set_pc(k.lstar);
    return;
  }
  uint64_t pc = cpu.pc();
  uint32_t insn = 0;
  cpu.read_mem(GuestAddr{pc - 4}, &insn, 4);
  cpu.set_reg(UC_ARM64_REG_ELR_EL1, pc);
  cpu.set_spsr_el1(cpu.reg(UC_ARM64_REG_PSTATE));
  cpu.set_reg(UC_ARM64_REG_ESR_EL1, (uint64_t{ARM64_ESR_EC_SVC64} << ARM64_ESR_EC_SHIFT) |
                                        ARM64_ESR_IL | ((insn >> 5) & 0xffff));
  cpu.set_pc(k.vbar + ARM64_VECTOR_EL0_SYNC);
}

bool MachineState::on_trap(Cpu& cpu, uint32_t intno) {
  if (!kernel_) return uprobe_trap(cpu, intno);
  bool x86 = config_.arch == Arch::X86_64;
  // Hypercalls are the guest kernel's: only its own text may make them. From user code Linux
  // gives what the instruction does at CPL 3 / EL0: x86 `int $0xe9` through a DPL 0 gate is a
  // #GP (SIGSEGV at the int, arch/x86/kernel/traps.c), arm64 `hvc` is undefined (SIGILL).
  if (x86 && intno == HYPERCALL_X86_VECTOR) {
    if (!kernel_->space->contains(GuestAddr{cpu.pc() - kX86IntLen})) {
      cpu.set_pc(cpu.pc() - kX86IntLen);  // a fault: reported at the instruction
      return false;
    }
    on_hypercall(cpu);
    return true;
  }
  if (!x86 && intno == kArm64ExcpUdef) {
    uint32_t insn = 0;
    const uint8_t* p = kernel_->space->host(GuestAddr{cpu.pc()}, 4);
    if (!p) return false;  // a user UDF or hvc: SIGILL
    std::memcpy(&insn, p, 4);
    if (insn == HYPERCALL_ARM64_HVC_INSN) return on_hypercall(cpu), true;
    if (insn == HYPERCALL_ARM64_ERET_INSN) return arm64_eret(cpu), true;
    return false;
  }
  if ((x86 && intno == kX86VectorInt3) || (!x86 && intno == 7))
    return kprobe_trap(cpu) || uprobe_trap(cpu, intno);  // kernel memory first, then user
  return false;
}

void MachineState::on_hypercall(Cpu& cpu) {
  bool x86 = config_.arch == Arch::X86_64;
  uint64_t args[6];
  cpu.read_regs(x86 ? std::span<const int>(kX86HcArgs) : std::span<const int>(kArm64HcArgs), args);
  uint64_t nr = cpu.reg(cpu.info().reg_syscall_nr);
  ++kernel_->hypercalls;
  if (x86 && nr == HC_IRET) return x86_iret(cpu, GuestAddr{args[0]});
  if (nr == HC_SYSCALL) {
    // Only a task's own syscall path may ask: not kernel_call (no task), not a pt_regs or an
    // argument block a probe handler pointed elsewhere. Otherwise the guest kernel is broken:
    // an oops (the task dies, kernel_call fails), never a host crash.
    const char* why = !current_ ? "HC_SYSCALL without a task (a syscall path run by kernel_call)"
                      : GuestAddr{args[2]} != pt_regs_of(*current_) ? "HC_SYSCALL with a foreign pt_regs"
                      : !kernel_->space->host(GuestAddr{args[1]}, 48) ? "HC_SYSCALL arguments outside kernel memory"
                                                                      : nullptr;
    if (why) return hypercall_oops(cpu, why);
    return hc_syscall(cpu, *current_, args[0], GuestAddr{args[1]}, GuestAddr{args[2]});
  }
  uint64_t ret = hypercall(cpu, nr, args);
  if (nr == HC_RUN_INIT || nr == HC_KERNEL_CALL_DONE || !kernel_->panic.empty()) {
    cpu.request_stop();  // never-returning hypercalls: no register or PC write
    return;
  }
  cpu.set_reg(cpu.info().reg_ret, ret);
  if (!x86) cpu.set_pc(cpu.pc() + 4);
}

// The hypercalls other than HC_SYSCALL and HC_IRET.
uint64_t MachineState::hypercall(Cpu& cpu, uint64_t nr, const uint64_t* args) {
  static constexpr const char* kBootSteps[] = {"",        "start_kernel", "setup_arch", "trap_init",
                                               "mm_init", "init_kprobes", "rest_init"};
  GuestKernel& k = *kernel_;
  switch (nr) {
    case HC_BOOT_STEP:
      k.boot_log.push_back(args[0] < std::size(kBootSteps) ? kBootSteps[args[0]]
                                                           : "step " + std::to_string(args[0]));
      boot_step_action(args[0]);
      return 0;
    case HC_RUN_INIT:
      k.run_init = true;
      return 0;
    case HC_KERNEL_CALL_DONE:
      k.call_result = args[0];
      return 0;
    case HC_OPTPROBE:
      return hc_optprobe(args[0], GuestAddr{args[1]});
    case HC_PANIC: {
      char msg[128] = {};
      k.space->read(GuestAddr{args[0]}, std::span<uint8_t>(reinterpret_cast<uint8_t*>(msg), 127));
      k.panic = msg[0] ? msg : "(no message)";
      return 0;
    }
  }
  k.panic = "unknown hypercall " + std::to_string(nr) + " at " +
            k.space->kallsyms().format(GuestAddr{cpu.pc()});
  return 0;
}

// HC_SYSCALL(nr, args, regs) for task t. Stops the CPU (no register writes: the task resumes
// through resume_in_kernel) when the task exited, blocked, execs or died of a signal.
void MachineState::hc_syscall(Cpu& cpu, Task& t, uint64_t nr, GuestAddr args, GuestAddr regs) {
  KernelSpace& ks = *kernel_->space;
  (void)regs;  // == pt_regs_of(t), checked by on_hypercall
  SyscallArgs a;
  a.nr = nr;
  std::memcpy(a.a, ks.host(args, sizeof a.a), sizeof a.a);
  Process& p = t.proc();
  t.in_hypercall = true;
  SyscallContext ctx(*this, p, t);
  int64_t ret = dispatch_syscall(ctx, a);
  if (ctx.disposition == SyscallDisposition::Return)
    user_regs(t).set_reg(cpu.info().reg_ret, static_cast<uint64_t>(ret));
  if (ctx.disposition == SyscallDisposition::Exited ||
      ctx.disposition == SyscallDisposition::Blocked || p.pending_exec || p.exited())
    return cpu.request_stop();
  if (has_deliverable_signal(t) && !deliver_signals(t)) return cpu.request_stop();
  restore_saved_sigmask(t);
  // Stopped (SIGSTOP...): it stays in HC_SYSCALL, the result in its pt_regs, until SIGCONT
  // (resume_in_kernel returns it).
  if (p.group_stop) return cpu.request_stop();
  finish_hypercall(cpu, t);
}

// Returns from HC_SYSCALL: the result register = the user's return register in pt_regs.
void MachineState::finish_hypercall(Cpu& cpu, Task& t) {
  UserRegs u = user_regs(t);
  uint64_t ret = u.reg(cpu.info().reg_ret);
  t.in_hypercall = false;
  if (config_.arch == Arch::X86_64) {
    cpu.set_reg(UC_X86_REG_RAX, ret);
  } else {
    cpu.set_reg(UC_ARM64_REG_X0, ret);
    cpu.set_pc(cpu.pc() + 4);  // PC stayed at the hvc
  }
}

// A task that stopped inside HC_SYSCALL runs again: restart the syscall (re-execute the
// hypercall, or, when a handler must run first, go back to the user syscall instruction as
// Linux's -ERESTARTSYS does), or return the waker's value; deliver a pending signal.
bool MachineState::resume_in_kernel(Task& t, Cpu& cpu) {
  UserRegs u = user_regs(t);
  bool x86 = config_.arch == Arch::X86_64;
  if (t.restart_syscall) {
    t.restart_syscall = false;
    const bool in_syscall = std::exchange(t.restart_in_syscall, false);
    if (in_syscall || !has_deliverable_signal(t)) {
      t.in_hypercall = false;
      if (x86) cpu.set_pc(cpu.pc() - kX86IntLen);  // arm64: PC is still at the hvc
      return true;
    }
    KernelSpace& ks = *kernel_->space;
    u.set_pc(u.pc() - cpu.info().syscall_insn_len);
    uint64_t orig = ks.read_u64(pt_regs_of(t) + (x86 ? PTREGS_X86_64_ORIG_AX : PTREGS_ARM64_ORIG_X0));
    u.set_reg(cpu.info().reg_ret, orig);
  } else if (t.pending_ret) {
    u.set_reg(cpu.info().reg_ret, static_cast<uint64_t>(*t.pending_ret));
  }
  t.pending_ret.reset();
  if (has_deliverable_signal(t) && !deliver_signals(t)) return false;
  restore_saved_sigmask(t);
  if (t.proc().group_stop) return true;  // a stop signal delivered: still in HC_SYSCALL
  finish_hypercall(cpu, t);
  return true;
}

// A hypercall the guest kernel should never make (a corrupted state, or a path run where it
// cannot be): recorded as an oops; the CPU stops, the running task's process dies.
void MachineState::hypercall_oops(Cpu& cpu, const char* why) {
  GuestKernel& k = *kernel_;
  k.oopses.push_back(std::string("kernel oops: ") + why + " at " +
                     k.space->kallsyms().format(GuestAddr{cpu.pc()}));
  cpu.request_stop();
  if (current_) kill_by_signal(current_->proc(), kSigSegv);
}

// HC_IRET: every user register from the pt_regs at regs (the guest already did swapgs).
void MachineState::x86_iret(Cpu& cpu, GuestAddr regs) {
  const uint8_t* p = kernel_->space->host(regs, PTREGS_X86_64_SIZE);
  if (!p) return hypercall_oops(cpu, "HC_IRET with pt_regs outside kernel memory");
  uint64_t v[std::size(kX86PtRegs)];
  for (size_t i = 0; i < std::size(kX86PtRegs); ++i) std::memcpy(&v[i], p + kX86PtRegsOffsets[i], 8);
  cpu.write_regs(kX86PtRegs, v);
}

// hvc #1: PC = ELR_EL1, PSTATE = SPSR_EL1 (ret_to_user already selected SP_EL0).
void MachineState::arm64_eret(Cpu& cpu) {
  cpu.set_reg(UC_ARM64_REG_PSTATE, cpu.spsr_el1());
  cpu.set_pc(cpu.reg(UC_ARM64_REG_ELR_EL1));
}

}  // namespace probesim::emu
