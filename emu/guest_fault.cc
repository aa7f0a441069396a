// Guest faults: a CpuStop that is not a syscall becomes a signal, as Linux's trap handlers
// decide (arch/x86/kernel/traps.c, arch/arm64/mm/fault.c). Synchronous fault signals are
// forced: a guest handler runs if one is installed and the signal is not blocked; otherwise the
// default action (terminate with a core dump) applies and the fault is reported.
#include "emu/machine_state.h"

namespace probesim::emu {
namespace {


constexpr int kSegvMaperr = 1, kSegvAccerr = 2, kBusAdraln = 1, kBusAdrerr = 2;
constexpr int kIllIllopc = 1, kIllIllopn = 2;
constexpr int kFpeIntdiv = 1, kTrapBrkpt = 1;

struct TrapRow {
  Arch arch;
  uint32_t intno;
  int signo;
  int si_code;
  const char* what;
};

// Unicorn intno: x86 exception vectors; arm64 QEMU EXCP_* numbers (docs/stack-facts.md §5).
constexpr TrapRow kTraps[] = {
    {Arch::X86_64, 0, kSigFpe, kFpeIntdiv, "integer divide error"},
    {Arch::X86_64, 1, kSigTrap, kTrapBrkpt, "debug trap"},
    {Arch::X86_64, 3, kSigTrap, kSiKernel, "breakpoint (int3)"},
    {Arch::X86_64, 6, kSigIll, kIllIllopn, "invalid opcode"},  // handle_invalid_op
    {Arch::X86_64, 13, kSigSegv, kSiKernel, "general protection fault"},
    // int $0xe9 (the guest kernel's hypercall) from user mode: a #GP like any DPL 0 gate.
    {Arch::X86_64, 0xe9, kSigSegv, kSiKernel, "general protection fault (int $0xe9 in user mode)"},
    {Arch::AArch64, 1, kSigIll, kIllIllopc, "undefined instruction"},
    {Arch::AArch64, 7, kSigTrap, kTrapBrkpt, "breakpoint (brk)"},
    // EXCP_DATA_ABORT: an alignment fault (exclusives, atomics, acquire/release on a misaligned
    // address): do_alignment_fault's SIGBUS BUS_ADRALN at the access address.
    {Arch::AArch64, 4, kSigBus, kBusAdraln, "misaligned access (alignment fault)"},
};

// SI_KERNEL signals carry no address (force_sig(): si_addr 0), e.g. x86 #GP and int3.
GuestFault fault_from_trap(Arch arch, const CpuStop& s) {
  for (const TrapRow& r : kTraps)
    if (r.arch == arch && r.intno == s.intno) {
      const uint64_t at = r.signo == kSigBus ? s.addr : s.pc;  // data aborts: the data address
      return GuestFault{r.signo, r.si_code, r.si_code == kSiKernel ? 0 : at, s.pc, true, r.what};
    }
  return GuestFault{kSigSegv, kSiKernel, 0, s.pc, true,
                    "unexpected CPU exception " + std::to_string(s.intno)};
}

const char* access_word(mmu::Access a) {
  return a == mmu::Access::Write ? "write" : a == mmu::Access::Exec ? "execute" : "read";
}

GuestFault fault_from_memory(const mmu::Mm& mm, const CpuStop& s) {
  GuestFault f{kSigSegv, kSegvMaperr, s.addr, s.pc, s.pc_precise, ""};
  std::string verb = access_word(s.access);
  switch (mm.classify_fault(GuestAddr{s.addr}, s.access)) {
    case mmu::FaultKind::AccErr:
      f.si_code = kSegvAccerr;
      f.what = verb + " of memory without " + verb + " permission";
      break;
    case mmu::FaultKind::Bus:
      f.signo = kSigBus;
      f.si_code = kBusAdrerr;
      f.what = verb + " beyond the end of a mapped file";
      break;
    default:
      f.what = verb + " of unmapped memory";
      break;
  }
  return f;
}

// An instruction the engine could not deliver as a CPU exception is named with Unicorn's error.
std::string engine_detail(const CpuStop& stop) {
  if (stop.uc_error == UC_ERR_OK || stop.uc_error == UC_ERR_INSN_INVALID) return "";
  return " (" + engine_error_text(stop.uc_error) + ")";
}

}  // namespace

void MachineState::handle_stop(Process& p, Task& t, const CpuStop& stop) {
  std::optional<GuestFault> fault;
  switch (stop.kind) {
    case StopKind::Budget:
    case StopKind::Requested:
      return;
    default:
      break;
  }
  if (kernel_ && kernel_->owns_stop(*p.cpu(), stop)) {
    ++stats_.faults;
    return kernel_->oops(p, t, stop);
  }
  if (uprobe_stepping(t)) {  // a fault in an XOL copy is reported at the probed instruction
    uprobe_abort_step(t);
    CpuStop at_probe = stop;
    at_probe.pc = p.cpu()->pc();
    ++stats_.faults;
    GuestFault f = stop.kind == StopKind::Fault ? fault_from_memory(p.mm(), at_probe)
                                                : fault_from_trap(config_.arch, at_probe);
    return (void)handle_fault_signal(p, t, f);
  }
  switch (stop.kind) {
    case StopKind::Budget:
    case StopKind::Requested:
      return;
    case StopKind::Fault:
      fault = fault_from_memory(p.mm(), stop);
      break;
    case StopKind::Interrupt:
      fault = fault_from_trap(config_.arch, stop);
      break;
    case StopKind::InvalidInsn:  // what the CPU raises for it: x86 #UD, arm64 UNDEFINED
      fault = GuestFault{kSigIll, config_.arch == Arch::X86_64 ? kIllIllopn : kIllIllopc, stop.pc,
                         stop.pc, true, "illegal instruction" + engine_detail(stop)};
      break;
  }
  ++stats_.faults;
  if (stop.kind == StopKind::Fault) p.cpu()->set_pc(stop.pc);  // the faulting instruction
  handle_fault_signal(p, t, *fault);
}

}  // namespace probesim::emu
