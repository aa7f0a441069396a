// KernelHarness, the model's side: hypercalls, the user syscall instruction, ERET / HC_IRET
// (docs/guest-kernel.md, "The model's contract"), and the Unicorn callbacks.

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "kernel_harness.h"

namespace probesim::kernel_test {
namespace {

void ck(uc_err e, const char* what) { probesim::test::UcEngine::check(e, what); }

constexpr int kX86Args[] = {UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX,
                            UC_X86_REG_R10, UC_X86_REG_R8,  UC_X86_REG_R9};

uc_arm64_cp_reg spsr_el1() { return uc_arm64_cp_reg{4, 0, 3, 0, 0, 0}; }  // crn crm op0 op1 op2

}  // namespace

uint64_t KernelHarness::hypercall(uint64_t nr, const std::array<uint64_t, 6>& args) {
  hypercalls.push_back(HypercallRecord{nr, args});
  switch (nr) {
    case HC_BOOT_STEP:
      return 0;
    case HC_SYSCALL: {
      SyscallRequest req{args[0], {}, GuestAddr{args[2]}};
      for (size_t i = 0; i < 6; i++) req.args[i] = read_u64(GuestAddr{args[1] + i * 8});
      syscalls.push_back(req);
      std::optional<int64_t> r = syscall_model ? syscall_model(req) : -ENOSYS;
      if (!r) stop(Stop::TaskExited);
      return r ? static_cast<uint64_t>(*r) : 0;
    }
    case HC_RUN_INIT:
      stop(Stop::RunInit);
      return 0;
    case HC_PANIC: {
      std::vector<uint8_t> s = read(GuestAddr{args[0]}, 128);
      panic_message.assign(s.begin(), std::find(s.begin(), s.end(), 0));
      stop(Stop::Panic);
      return 0;
    }
    case HC_KERNEL_CALL_DONE:
      kernel_call_result_ = args[0];
      stop(Stop::KernelCallDone);
      return 0;
  }
  throw std::runtime_error("unknown hypercall " + std::to_string(nr));
}

// int $0xe9: RIP is already after it.
void KernelHarness::on_x86_hypercall() {
  uint64_t nr = reg(UC_X86_REG_RAX);
  std::array<uint64_t, 6> args;
  for (size_t i = 0; i < 6; i++) args[i] = reg(kX86Args[i]);
  if (nr == HC_IRET) {
    hypercalls.push_back(HypercallRecord{nr, args});
    x86_iret(GuestAddr{args[0]});
    return;
  }
  uint64_t r = hypercall(nr, args);
  if (stop_ == Stop::None) set_reg(UC_X86_REG_RAX, r);
}

// What `syscall` does (README.md): RCX = next rip, R11 = RFLAGS, RFLAGS &= ~SYSCALL_MASK,
// RIP = LSTAR (Unicorn adds the instruction's 2 bytes after this hook).
void KernelHarness::on_x86_syscall() {
  uint64_t rip = reg(UC_X86_REG_RIP), flags = reg(UC_X86_REG_RFLAGS);
  set_reg(UC_X86_REG_RCX, rip + 2);
  set_reg(UC_X86_REG_R11, flags);
  set_reg(UC_X86_REG_RFLAGS, flags & ~msr(X86_MSR_SYSCALL_MASK));
  set_reg(UC_X86_REG_RIP, msr(X86_MSR_LSTAR) - 2);
}

// HC_IRET: every user register from the pt_regs at regs.
void KernelHarness::x86_iret(GuestAddr regs) {
  for (size_t i = 0; i < PTREGS_X86_64_SIZE / 8; i++)
    if (int r = x86_pt_reg(i); r >= 0) set_reg(r, read_u64(regs + i * 8));
}

void KernelHarness::on_arm64_intr(uint32_t intno) {
  uint64_t pc = reg(UC_ARM64_REG_PC);
  uint32_t insn = 0;
  if (intno == 2) {  // svc: PC is after it. The exception entry (README.md).
    ck(uc_mem_read(uc_, phys(pc - 4), &insn, 4), "read svc");
    set_reg(UC_ARM64_REG_ELR_EL1, pc);
    uc_arm64_cp_reg spsr = spsr_el1();
    spsr.val = reg(UC_ARM64_REG_PSTATE);
    ck(uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &spsr), "write SPSR_EL1");
    uint64_t esr = (uint64_t{ARM64_ESR_EC_SVC64} << ARM64_ESR_EC_SHIFT) | ARM64_ESR_IL |
                   ((insn >> 5) & 0xffff);
    set_reg(UC_ARM64_REG_ESR_EL1, esr);
    set_reg(UC_ARM64_REG_PC, reg(UC_ARM64_REG_VBAR_EL1) + ARM64_VECTOR_EL0_SYNC);
    return;
  }
  ck(uc_mem_read(uc_, phys(pc), &insn, 4), "read insn");
  if (intno == 1 && insn == HYPERCALL_ARM64_HVC_INSN) {
    std::array<uint64_t, 6> args;
    for (size_t i = 0; i < 6; i++) args[i] = reg(UC_ARM64_REG_X0 + static_cast<int>(i));
    uint64_t r = hypercall(reg(UC_ARM64_REG_X8), args);
    if (stop_ != Stop::None) return;  // a PC write would cancel uc_emu_stop
    set_reg(UC_ARM64_REG_X0, r);
    set_reg(UC_ARM64_REG_PC, pc + 4);
    return;
  }
  if (intno == 1 && insn == HYPERCALL_ARM64_ERET_INSN) return arm64_eret();
  throw std::runtime_error("unexpected exception " + std::to_string(intno) + " at " +
                           kallsyms_->format(GuestAddr{pc}));
}

// hvc #1: PC = ELR_EL1, PSTATE = SPSR_EL1 (ret_to_user already selected SP_EL0).
void KernelHarness::arm64_eret() {
  uc_arm64_cp_reg spsr = spsr_el1();
  ck(uc_reg_read(uc_, UC_ARM64_REG_CP_REG, &spsr), "read SPSR_EL1");
  set_reg(UC_ARM64_REG_PSTATE, spsr.val);
  set_reg(UC_ARM64_REG_PC, reg(UC_ARM64_REG_ELR_EL1));
}

void KernelHarness::syscall_cb(uc_engine*, void* self) {
  auto* h = static_cast<KernelHarness*>(self);
  h->guard([&] { h->on_x86_syscall(); });
}

void KernelHarness::intr_cb(uc_engine*, uint32_t intno, void* self) {
  auto* h = static_cast<KernelHarness*>(self);
  h->guard([&] {
    if (h->arch_ == Arch::AArch64) return h->on_arm64_intr(intno);
    if (intno == HYPERCALL_X86_VECTOR) return h->on_x86_hypercall();
    uint64_t rip = h->reg(UC_X86_REG_RIP);
    throw std::runtime_error("unexpected exception " + std::to_string(intno) + " at " +
                             h->kallsyms_->format(GuestAddr{rip}));
  });
}

}  // namespace probesim::kernel_test
