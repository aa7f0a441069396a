// Guest kernel: the user syscall instruction's architectural effect, the
// hypercalls (HC_SYSCALL performs the syscall for the task whose pt_regs the guest passes),
// the return to user mode (x86 HC_IRET, arm64 hvc #1 = ERET), and resuming a task that
// stopped inside HC_SYSCALL (docs/guest-kernel.md "The model's contract").
//
// Rule: inside HC_SYSCALL the task's user registers are its pt_regs (UserRegs), and the
// hypercall always returns pt_regs->ax / regs[0], which the guest stores back there; so a
// model change of the user state (signal delivery, sigreturn, exec) needs nothing else.
#include <cerrno>
#include <cstring>
#include <utility>

#include "emu/kernel/guest_kernel.h"
#include "emu/process.h"
#include "guest/kernel/include/entry_abi.h"
#include "guest/kernel/include/hypercall_abi.h"
#include "probes/arch/pt_regs_table.h"
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

// HC_IRET's registers: every x86_64 pt_regs word a CPU register holds (pt_regs_table.h).
struct IretReg {
  int uc_reg;
  int offset;
};
#define PROBESIM_IRET_REG(name, offset, uc_reg) IretReg{(uc_reg), (offset)},
constexpr IretReg kX86PtRegsAll[] = {PROBESIM_PT_REGS_X86_64(PROBESIM_IRET_REG)};
#undef PROBESIM_IRET_REG
constexpr size_t kX86IretCount = [] {
  size_t n = 0;
  for (const IretReg& r : kX86PtRegsAll) n += r.uc_reg >= 0;
  return n;
}();

}  // namespace

// x86 `syscall` (pc() is after it): RCX, R11, masked RFLAGS, RIP = LSTAR. arm64 `svc` (PC
// after it): ELR_EL1, SPSR_EL1, ESR_EL1, PC = VBAR_EL1 + 0x400 (the vector selects SP_EL1).
void GuestKernel::syscall_entry(Cpu& cpu) {
  if (x86()) {
    uint64_t flags = cpu.reg(UC_X86_REG_RFLAGS);
    cpu.set_reg(UC_X86_REG_RCX, cpu.pc());
    cpu.set_reg(UC_X86_REG_R11, flags);
    cpu.set_reg(UC_X86_REG_RFLAGS, flags & ~syscall_mask_);
    cpu.set_pc(lstar_);
    return;
  }
  uint64_t pc = cpu.pc();
  uint32_t insn = 0;
  cpu.read_mem(GuestAddr{pc - 4}, &insn, 4);
  cpu.set_reg(UC_ARM64_REG_ELR_EL1, pc);
  cpu.set_spsr_el1(cpu.reg(UC_ARM64_REG_PSTATE));
  cpu.set_reg(UC_ARM64_REG_ESR_EL1, (uint64_t{ARM64_ESR_EC_SVC64} << ARM64_ESR_EC_SHIFT) |
                                        ARM64_ESR_IL | ((insn >> 5) & 0xffff));
  cpu.set_pc(vbar_ + ARM64_VECTOR_EL0_SYNC);
}

bool GuestKernel::on_trap(Cpu& cpu, uint32_t intno) {
  bool x86 = this->x86();
  // Hypercalls are the guest kernel's: only its own text may make them. From user code Linux
  // gives what the instruction does at CPL 3 / EL0: x86 `int $0xe9` through a DPL 0 gate is a
  // #GP (SIGSEGV at the int, arch/x86/kernel/traps.c), arm64 `hvc` is undefined (SIGILL).
  if (x86 && intno == HYPERCALL_X86_VECTOR) {
    if (!space_->contains(GuestAddr{cpu.pc() - kX86IntLen})) {
      cpu.set_pc(cpu.pc() - kX86IntLen);  // a fault: reported at the instruction
      return false;
    }
    on_hypercall(cpu);
    return true;
  }
  if (!x86 && intno == kArm64ExcpUdef) {
    uint32_t insn = 0;
    const uint8_t* p = space_->host(GuestAddr{cpu.pc()}, 4);
    if (!p) return false;  // a user UDF or hvc: SIGILL
    std::memcpy(&insn, p, 4);
    if (insn == HYPERCALL_ARM64_HVC_INSN) return on_hypercall(cpu), true;
    if (insn == HYPERCALL_ARM64_ERET_INSN) return arm64_eret(cpu), true;
    return false;
  }
  if ((x86 && intno == kX86VectorInt3) || (!x86 && intno == 7))
    return kprobe_trap(cpu) || host_.uprobe_trap(cpu, intno);  // kernel memory first, then user
  return false;
}

void GuestKernel::on_hypercall(Cpu& cpu) {
  bool x86 = this->x86();
  uint64_t args[6];
  cpu.read_regs(x86 ? std::span<const int>(kX86HcArgs) : std::span<const int>(kArm64HcArgs), args);
  uint64_t nr = cpu.reg(cpu.info().reg_syscall_nr);
  ++hypercalls_;
  if (x86 && nr == HC_IRET) return x86_iret(cpu, GuestAddr{args[0]});
  if (nr == HC_SYSCALL) {
    // Only a task's own syscall path may ask: not kernel_call (no task), not a pt_regs or an
    // argument block a probe handler pointed elsewhere. Otherwise the guest kernel is broken:
    // an oops (the task dies, kernel_call fails), never a host crash.
    Task* current = host_.current();
    const char* why = !current ? "HC_SYSCALL without a task (a syscall path run by kernel_call)"
                      : GuestAddr{args[2]} != pt_regs_of(*current) ? "HC_SYSCALL with a foreign pt_regs"
                      : !space_->host(GuestAddr{args[1]}, 48) ? "HC_SYSCALL arguments outside kernel memory"
                                                                      : nullptr;
    if (why) return hypercall_oops(cpu, why);
    return hc_syscall(cpu, *current, args[0], GuestAddr{args[1]});
  }
  uint64_t ret = hypercall(cpu, nr, args);
  if (nr == HC_RUN_INIT || nr == HC_KERNEL_CALL_DONE || !panic_.empty()) {
    cpu.request_stop();  // never-returning hypercalls: no register or PC write
    return;
  }
  cpu.set_reg(cpu.info().reg_ret, ret);
  if (!x86) cpu.set_pc(cpu.pc() + 4);
}

// The hypercalls other than HC_SYSCALL and HC_IRET.
uint64_t GuestKernel::hypercall(Cpu& cpu, uint64_t nr, const uint64_t* args) {
  static constexpr const char* kBootSteps[] = {"",        "start_kernel", "setup_arch", "trap_init",
                                               "mm_init", "init_kprobes", "rest_init"};
  switch (nr) {
    case HC_BOOT_STEP:
      boot_log_.push_back(args[0] < std::size(kBootSteps) ? kBootSteps[args[0]]
                                                           : "step " + std::to_string(args[0]));
      boot_step_action(args[0]);
      return 0;
    case HC_RUN_INIT:
      run_init_ = true;
      return 0;
    case HC_KERNEL_CALL_DONE:
      call_result_ = args[0];
      return 0;
    case HC_OPTPROBE:
      return hc_optprobe(args[0], GuestAddr{args[1]});
    case HC_PANIC: {
      char msg[128] = {};
      space_->read(GuestAddr{args[0]}, std::span<uint8_t>(reinterpret_cast<uint8_t*>(msg), 127));
      panic_ = msg[0] ? msg : "(no message)";
      return 0;
    }
  }
  panic_ = "unknown hypercall " + std::to_string(nr) + " at " +
            space_->kallsyms().format(GuestAddr{cpu.pc()});
  return 0;
}

// HC_SYSCALL(nr, args, regs) for task t. Stops the CPU (no register writes: the task resumes
// through resume_in_kernel) when the task exited, blocked, execs or died of a signal.
void GuestKernel::hc_syscall(Cpu& cpu, Task& t, uint64_t nr, GuestAddr args) {
  SyscallArgs a;
  a.nr = nr;
  std::memcpy(a.a, space_->host(args, sizeof a.a), sizeof a.a);
  Process& p = t.proc();
  t.in_hypercall = true;
  SyscallDisposition how = SyscallDisposition::Return;
  int64_t ret = host_.kernel_syscall(t, a, how);
  if (how == SyscallDisposition::Return)
    entry_user_regs(t).set_reg(cpu.info().reg_ret, static_cast<uint64_t>(ret));
  if (how == SyscallDisposition::Exited || how == SyscallDisposition::Blocked || p.pending_exec ||
      p.exited())
    return cpu.request_stop();
  if (host_.has_deliverable_signal(t) && !host_.deliver_signals(t)) return cpu.request_stop();
  host_.restore_saved_sigmask(t);
  // Stopped (SIGSTOP...): it stays in HC_SYSCALL, the result in its pt_regs, until SIGCONT
  // (resume_in_kernel returns it).
  if (p.group_stop) return cpu.request_stop();
  finish_hypercall(cpu, t);
}

// Returns from HC_SYSCALL: the result register = the user's return register in pt_regs.
void GuestKernel::finish_hypercall(Cpu& cpu, Task& t) {
  UserRegs u = entry_user_regs(t);
  uint64_t ret = u.reg(cpu.info().reg_ret);
  t.in_hypercall = false;
  if (x86()) {
    cpu.set_reg(UC_X86_REG_RAX, ret);
  } else {
    cpu.set_reg(UC_ARM64_REG_X0, ret);
    cpu.set_pc(cpu.pc() + 4);  // PC stayed at the hvc
  }
}

// A task that stopped inside HC_SYSCALL runs again: restart the syscall (re-execute the
// hypercall, or, when a handler must run first, go back to the user syscall instruction as
// Linux's -ERESTARTSYS does), or return the waker's value; deliver a pending signal.
bool GuestKernel::resume_in_kernel(Task& t, Cpu& cpu) {
  UserRegs u = entry_user_regs(t);
  bool x86 = this->x86();
  if (t.restart_syscall) {
    t.restart_syscall = false;
    const bool in_syscall = std::exchange(t.restart_in_syscall, false);
    if (in_syscall || !host_.has_deliverable_signal(t)) {
      t.in_hypercall = false;
      if (x86) cpu.set_pc(cpu.pc() - kX86IntLen);  // arm64: PC is still at the hvc
      return true;
    }
    KernelSpace& ks = *space_;
    u.set_pc(u.pc() - cpu.info().syscall_insn_len);
    uint64_t orig = ks.read_u64(pt_regs_of(t) + (x86 ? PTREGS_X86_64_ORIG_AX : PTREGS_ARM64_ORIG_X0));
    u.set_reg(cpu.info().reg_ret, orig);
  } else if (t.pending_ret) {
    u.set_reg(cpu.info().reg_ret, static_cast<uint64_t>(*t.pending_ret));
  }
  t.pending_ret.reset();
  if (host_.has_deliverable_signal(t) && !host_.deliver_signals(t)) return false;
  host_.restore_saved_sigmask(t);
  if (t.proc().group_stop) return true;  // a stop signal delivered: still in HC_SYSCALL
  finish_hypercall(cpu, t);
  return true;
}

// A hypercall the guest kernel should never make (a corrupted state, or a path run where it
// cannot be): recorded as an oops; the CPU stops, the running task's process dies.
void GuestKernel::hypercall_oops(Cpu& cpu, const char* why) {
  oopses_.push_back(std::string("kernel oops: ") + why + " at " +
                    space_->kallsyms().format(GuestAddr{cpu.pc()}));
  cpu.request_stop();
  if (Task* current = host_.current()) host_.kill_by_signal(current->proc(), kSigSegv, std::nullopt);
}

// HC_IRET: every user register from the pt_regs at regs (the guest already did swapgs).
void GuestKernel::x86_iret(Cpu& cpu, GuestAddr regs) {
  const uint8_t* p = space_->host(regs, PTREGS_X86_64_SIZE);
  if (!p) return hypercall_oops(cpu, "HC_IRET with pt_regs outside kernel memory");
  int ids[kX86IretCount];
  uint64_t v[kX86IretCount];
  size_t n = 0;
  for (const IretReg& r : kX86PtRegsAll) {
    if (r.uc_reg < 0) continue;
    ids[n] = r.uc_reg;
    std::memcpy(&v[n++], p + r.offset, 8);
  }
  cpu.write_regs(ids, v);
}

// hvc #1: PC = ELR_EL1, PSTATE = SPSR_EL1 (ret_to_user already selected SP_EL0).
void GuestKernel::arm64_eret(Cpu& cpu) {
  cpu.set_reg(UC_ARM64_REG_PSTATE, cpu.spsr_el1());
  cpu.set_pc(cpu.reg(UC_ARM64_REG_ELR_EL1));
}

}  // namespace probesim::emu
