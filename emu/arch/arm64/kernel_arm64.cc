// The guest kernel on arm64 (kernel_arch.h). Linux: arch/arm64/kernel/entry.S (el0_sync via
// VBAR_EL1 + 0x400, kernel_exit's eret), arch/arm64/kernel/entry-common.c, and the Arm ARM's
// exception entry (ELR_EL1, SPSR_EL1, ESR_EL1 with EC = SVC64). Unicorn cannot run EL0, so user
// mode is EL1t and kernel mode EL1h (guest/kernel/README.md).
#include "emu/arch/kernel_arch.h"

#include <cstring>

#include "guest/kernel/include/entry_abi.h"
#include "guest/kernel/include/hypercall_abi.h"

namespace probesim::emu {
namespace {

constexpr uint32_t kExcpUdef = 1;  // Unicorn's EXCP_UDEF (also hvc from EL1 here)
constexpr uint32_t kExcpBkpt = 7;  // EXCP_BKPT: BRK
constexpr uint32_t kBrkKprobe = 4, kBrkSingleStep = 6;  // KPROBES_BRK_IMM, KPROBES_BRK_SS_IMM
constexpr uint64_t kEl1hMasked = 0x3c0 | ARM64_PSTATE_EL1H;  // DAIF set, EL1h
constexpr int kArgs[] = {UC_ARM64_REG_X0, UC_ARM64_REG_X1, UC_ARM64_REG_X2,
                         UC_ARM64_REG_X3, UC_ARM64_REG_X4, UC_ARM64_REG_X5};

class KernelArm64 final : public KernelArch {
 public:
  explicit KernelArm64(KernelSpace& space) : KernelArch(space) {}

  size_t pt_regs_size() const override { return PTREGS_ARM64_SIZE; }
  size_t orig_ret_offset() const override { return PTREGS_ARM64_ORIG_X0; }

  void setup(int) override {}
  void save_boot_state(Cpu& boot) override { vbar_ = boot.reg(UC_ARM64_REG_VBAR_EL1); }
  void load_boot_state(Cpu& e) const override { e.set_reg(UC_ARM64_REG_VBAR_EL1, vbar_); }

  bool in_kernel_mode(Cpu& cpu) const override {
    return (cpu.reg(UC_ARM64_REG_PSTATE) & ARM64_PSTATE_MODE_MASK) == ARM64_PSTATE_EL1H;
  }

  void init_user_regs(GuestAddr regs, Cpu& cpu) override {
    space_.write_u64(regs + PTREGS_ARM64_PSTATE, ARM64_PSTATE_EL1T);
    cpu.set_reg(UC_ARM64_REG_PSTATE, kEl1hMasked);
  }

  // SP_EL1 while the task runs on SP_EL0 (its kernel stack is empty then).
  void put_on_cpu(GuestAddr kstack_top, Cpu& cpu, int) override {
    if ((cpu.reg(UC_ARM64_REG_PSTATE) & ARM64_PSTATE_MODE_MASK) == ARM64_PSTATE_EL1T)
      cpu.set_reg(UC_ARM64_REG_SP_EL1, kstack_top.value);
  }

  void set_call_registers(Cpu& e, GuestAddr target, std::span<const uint64_t> args,
                          int) override {
    for (size_t i = 0; i < args.size(); ++i) e.set_reg(kArgs[i], args[i]);
    e.set_reg(UC_ARM64_REG_X29, 0);
    e.set_reg(UC_ARM64_REG_X30, 0);
    e.set_reg(UC_ARM64_REG_X16, target.value);
    e.set_reg(UC_ARM64_REG_PSTATE, kEl1hMasked);
  }

  // `svc #imm` (PC after it): ELR_EL1, SPSR_EL1, ESR_EL1, PC = VBAR_EL1 + 0x400 (the vector
  // selects SP_EL1).
  void syscall_entry(Cpu& cpu) override {
    uint64_t pc = cpu.pc();
    uint32_t insn = 0;
    cpu.read_mem(GuestAddr{pc - 4}, &insn, 4);
    cpu.set_reg(UC_ARM64_REG_ELR_EL1, pc);
    cpu.set_spsr_el1(cpu.reg(UC_ARM64_REG_PSTATE));
    cpu.set_reg(UC_ARM64_REG_ESR_EL1, (uint64_t{ARM64_ESR_EC_SVC64} << ARM64_ESR_EC_SHIFT) |
                                          ARM64_ESR_IL | ((insn >> 5) & 0xffff));
    cpu.set_pc(vbar_ + ARM64_VECTOR_EL0_SYNC);
  }

  // hvc is undefined at EL0 (SIGILL); in kernel text it is a hypercall or (hvc #1) ERET.
  KernelTrap classify_trap(Cpu& cpu, uint32_t intno) override {
    if (intno == kExcpBkpt) return KernelTrap::Breakpoint;
    if (intno != kExcpUdef) return KernelTrap::NotOurs;
    const uint8_t* p = space_.host(GuestAddr{cpu.pc()}, 4);
    if (!p) return KernelTrap::NotOurs;  // a user UDF or hvc: SIGILL
    uint32_t insn;
    std::memcpy(&insn, p, 4);
    if (insn == HYPERCALL_ARM64_HVC_INSN) return KernelTrap::Hypercall;
    if (insn == HYPERCALL_ARM64_ERET_INSN) return KernelTrap::Eret;
    return KernelTrap::NotOurs;
  }

  void hypercall_args(Cpu& cpu, uint64_t args[6]) const override { cpu.read_regs(kArgs, args); }
  void hypercall_return(Cpu& cpu, uint64_t ret) override {
    cpu.set_reg(UC_ARM64_REG_X0, ret);
    cpu.set_pc(cpu.pc() + 4);  // PC stayed at the hvc
  }
  void restart_hypercall(Cpu&) override {}  // PC is still at the hvc
  bool arch_hypercall(Cpu&, uint64_t, const uint64_t*, const char*&) override { return false; }

  void eret(Cpu& cpu) override {
    cpu.set_reg(UC_ARM64_REG_PSTATE, cpu.spsr_el1());
    cpu.set_pc(cpu.reg(UC_ARM64_REG_ELR_EL1));
  }

  GuestAddr trap_insn_addr(uint64_t pc) const override { return GuestAddr{pc}; }  // at the BRK
  KprobeTrap kprobe_trap(GuestAddr insn_addr) const override {
    const uint8_t* p = space_.host(insn_addr, 4);
    if (!p) return KprobeTrap::NotOurs;
    uint32_t insn;
    std::memcpy(&insn, p, 4);
    uint32_t imm = (insn >> 5) & 0xffff;
    if (imm == kBrkKprobe) return KprobeTrap::Breakpoint;
    if (imm == kBrkSingleStep) return KprobeTrap::SingleStep;
    return KprobeTrap::NotOurs;
  }

 private:
  uint64_t vbar_ = 0;
};

}  // namespace

std::unique_ptr<KernelArch> make_kernel_arch_arm64(KernelSpace& space) {
  return std::make_unique<KernelArm64>(space);
}

}  // namespace probesim::emu
