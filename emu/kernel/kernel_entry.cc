// Guest kernel: the user syscall instruction's architectural effect, the
// hypercalls (HC_SYSCALL performs the syscall for the task whose pt_regs the guest passes),
// the return to user mode (KernelArch: x86 HC_IRET, arm64 hvc #1 = ERET), and resuming a task that
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
#include "guest/kernel/include/hypercall_abi.h"
#include "probesim/assert.h"

namespace probesim::emu {

// The user syscall instruction: its architectural effect, then the kernel's entry code runs.
void GuestKernel::syscall_entry(Cpu& cpu) { arch_->syscall_entry(cpu); }

// Hypercalls are the guest kernel's: only its own text may make them (KernelArch decides:
// from user code Linux gives what the instruction does at CPL 3 / EL0, x86 #GP, arm64 SIGILL).
// A breakpoint goes to the kprobes engine when it is in kernel memory, else to uprobes.
bool GuestKernel::on_trap(Cpu& cpu, uint32_t intno) {
  switch (arch_->classify_trap(cpu, intno)) {
    case KernelTrap::Hypercall:
      on_hypercall(cpu);
      return true;
    case KernelTrap::Eret:
      arch_->eret(cpu);
      return true;
    case KernelTrap::Breakpoint:
      return kprobe_trap(cpu) || host_.uprobe_trap(cpu, intno);
    case KernelTrap::NotOurs:
      break;
  }
  return false;
}

void GuestKernel::on_hypercall(Cpu& cpu) {
  uint64_t args[6];
  arch_->hypercall_args(cpu, args);
  uint64_t nr = cpu.reg(cpu.info().reg_syscall_nr);
  ++hypercalls_;
  const char* arch_oops = nullptr;
  if (arch_->arch_hypercall(cpu, nr, args, arch_oops)) return;  // x86 HC_IRET
  if (arch_oops) return hypercall_oops(cpu, arch_oops);
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
  arch_->hypercall_return(cpu, ret);
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
  arch_->hypercall_return(cpu, ret);
}

// A task that stopped inside HC_SYSCALL runs again: restart the syscall (re-execute the
// hypercall, or, when a handler must run first, go back to the user syscall instruction as
// Linux's -ERESTARTSYS does), or return the waker's value; deliver a pending signal.
bool GuestKernel::resume_in_kernel(Task& t, Cpu& cpu) {
  UserRegs u = entry_user_regs(t);
  if (t.restart_syscall) {
    t.restart_syscall = false;
    const bool in_syscall = std::exchange(t.restart_in_syscall, false);
    if (in_syscall || !host_.has_deliverable_signal(t)) {
      t.in_hypercall = false;
      arch_->restart_hypercall(cpu);
      return true;
    }
    KernelSpace& ks = *space_;
    u.set_pc(u.pc() - cpu.info().syscall_insn_len);
    uint64_t orig = ks.read_u64(pt_regs_of(t) + arch_->orig_ret_offset());
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

}  // namespace probesim::emu
