// The guest kernel on x86_64 (kernel_arch.h). Linux: arch/x86/entry/entry_64.S (syscall
// entry, swapgs), arch/x86/kernel/cpu/common.c (syscall_init: MSR_LSTAR, MSR_SYSCALL_MASK),
// arch/x86/include/asm/current.h (pcpu_hot), arch/x86/kernel/traps.c (#GP for an int through
// a DPL 0 gate).
#include "emu/arch/kernel_arch.h"

#include <cstring>
#include <iterator>

#include "guest/kernel/include/entry_abi.h"
#include "guest/kernel/include/hypercall_abi.h"
#include "probes/arch/pt_regs_table.h"

namespace probesim::emu {
namespace {

constexpr uint32_t kVectorInt3 = 3;
constexpr uint64_t kIntLen = 2;          // int $0xe9
constexpr uint64_t kUserFlags = 0x202;   // IF | reserved bit 1
constexpr uint64_t kKernelFlags = 0x2;
constexpr int kHypercallArgs[] = {UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX,
                                  UC_X86_REG_R10, UC_X86_REG_R8,  UC_X86_REG_R9};
constexpr int kCallArgs[] = {UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX,
                             UC_X86_REG_RCX, UC_X86_REG_R8,  UC_X86_REG_R9};

// HC_IRET's registers: every pt_regs word a CPU register holds (pt_regs_table.h).
struct IretReg {
  int uc_reg;
  int offset;
};
#define PROBESIM_IRET_REG(name, offset, uc_reg) IretReg{(uc_reg), (offset)},
constexpr IretReg kPtRegs[] = {PROBESIM_PT_REGS_X86_64(PROBESIM_IRET_REG)};
#undef PROBESIM_IRET_REG
constexpr size_t kIretCount = [] {
  size_t n = 0;
  for (const IretReg& r : kPtRegs) n += r.uc_reg >= 0;
  return n;
}();

class KernelX86_64 final : public KernelArch {
 public:
  explicit KernelX86_64(KernelSpace& space) : KernelArch(space) {}

  size_t pt_regs_size() const override { return PTREGS_X86_64_SIZE; }
  size_t orig_ret_offset() const override { return PTREGS_X86_64_ORIG_AX; }

  void setup(int cpus) override {
    cpus_ = cpus;
    pcpu_hot_ = space_.sym("pcpu_hot");
  }

  // trap_init programmed the syscall MSRs; each CPU's pcpu_hot knows its number.
  void save_boot_state(Cpu& boot) override {
    lstar_ = boot.msr(X86_MSR_LSTAR);
    syscall_mask_ = boot.msr(X86_MSR_SYSCALL_MASK);
    for (int cpu = 0; cpu < cpus_; ++cpu)
      space_.write_u64(pcpu(cpu) + PCPU_CPU_NUMBER, static_cast<uint64_t>(cpu));
  }

  void load_boot_state(Cpu& e) const override {
    e.set_msr(X86_MSR_LSTAR, lstar_);
    e.set_msr(X86_MSR_SYSCALL_MASK, syscall_mask_);
  }

  bool in_kernel_mode(Cpu& cpu) const override {
    return space_.contains(GuestAddr{cpu.reg(UC_X86_REG_RIP)});
  }

  void init_user_regs(GuestAddr regs, Cpu& cpu) override {
    space_.write_u64(regs + PTREGS_X86_64_FLAGS, kUserFlags);
    space_.write_u64(regs + PTREGS_X86_64_CS, X86_64_USER_CS);
    space_.write_u64(regs + PTREGS_X86_64_SS, X86_64_USER_DS);
    cpu.set_reg(UC_X86_REG_RFLAGS, kKernelFlags);
    cpu.set_reg(UC_X86_REG_GS_BASE, pcpu_hot_.value);  // kernel mode: put_on_cpu fixes the cpu
    cpu.set_msr(X86_MSR_KERNEL_GS_BASE, 0);
  }

  // pcpu_hot[cpu].top_of_stack, and whichever GS base holds a pcpu_hot address (GS_BASE in
  // kernel mode, MSR_KERNEL_GS_BASE in user mode; the PC cannot tell between `syscall` and
  // the entry's swapgs) now holds this CPU's.
  void put_on_cpu(GuestAddr kstack_top, Cpu& cpu, int logical_cpu) override {
    GuestAddr mine = pcpu(logical_cpu);
    space_.write_u64(mine + PCPU_TOP_OF_STACK, kstack_top.value);
    uint64_t gs = cpu.reg(UC_X86_REG_GS_BASE);
    bool gs_is_pcpu = gs >= pcpu_hot_.value && gs < pcpu_hot_.value + NR_CPUS * PCPU_HOT_SIZE;
    if (gs_is_pcpu)
      cpu.set_reg(UC_X86_REG_GS_BASE, mine.value);
    else
      cpu.set_msr(X86_MSR_KERNEL_GS_BASE, mine.value);
  }

  void set_call_registers(Cpu& e, GuestAddr target, std::span<const uint64_t> args,
                          int logical_cpu) override {
    for (size_t i = 0; i < args.size(); ++i) e.set_reg(kCallArgs[i], args[i]);
    e.set_reg(UC_X86_REG_RBP, 0);
    e.set_reg(UC_X86_REG_R11, target.value);
    e.set_reg(UC_X86_REG_GS_BASE, pcpu(logical_cpu).value);
    e.set_reg(UC_X86_REG_RFLAGS, kKernelFlags);
  }

  // `syscall` (pc() is after it): RCX = return address, R11 = RFLAGS, RFLAGS masked,
  // RIP = LSTAR.
  void syscall_entry(Cpu& cpu) override {
    uint64_t flags = cpu.reg(UC_X86_REG_RFLAGS);
    cpu.set_reg(UC_X86_REG_RCX, cpu.pc());
    cpu.set_reg(UC_X86_REG_R11, flags);
    cpu.set_reg(UC_X86_REG_RFLAGS, flags & ~syscall_mask_);
    cpu.set_pc(lstar_);
  }

  // Hypercalls are the kernel's: `int $0xe9` from user code goes through a DPL 0 gate, a #GP
  // (SIGSEGV at the int).
  KernelTrap classify_trap(Cpu& cpu, uint32_t intno) override {
    if (intno == kVectorInt3) return KernelTrap::Breakpoint;
    if (intno != HYPERCALL_X86_VECTOR) return KernelTrap::NotOurs;
    if (space_.contains(GuestAddr{cpu.pc() - kIntLen})) return KernelTrap::Hypercall;
    cpu.set_pc(cpu.pc() - kIntLen);  // a fault: reported at the instruction
    return KernelTrap::NotOurs;
  }

  void hypercall_args(Cpu& cpu, uint64_t args[6]) const override {
    cpu.read_regs(kHypercallArgs, args);
  }
  void hypercall_return(Cpu& cpu, uint64_t ret) override { cpu.set_reg(UC_X86_REG_RAX, ret); }
  void restart_hypercall(Cpu& cpu) override { cpu.set_pc(cpu.pc() - kIntLen); }

  // HC_IRET: every user register from the pt_regs at args[0] (the guest already did swapgs).
  bool arch_hypercall(Cpu& cpu, uint64_t nr, const uint64_t* args, const char*& oops) override {
    if (nr != HC_IRET) return false;
    const uint8_t* p = space_.host(GuestAddr{args[0]}, PTREGS_X86_64_SIZE);
    if (!p) {
      oops = "HC_IRET with pt_regs outside kernel memory";
      return false;
    }
    int ids[kIretCount];
    uint64_t v[kIretCount];
    size_t n = 0;
    for (const IretReg& r : kPtRegs) {
      if (r.uc_reg < 0) continue;
      ids[n] = r.uc_reg;
      std::memcpy(&v[n++], p + r.offset, 8);
    }
    cpu.write_regs(ids, v);
    return true;
  }

  void eret(Cpu&) override {}  // no ERET hypercall on x86 (classify_trap never says Eret)

  GuestAddr trap_insn_addr(uint64_t pc) const override { return GuestAddr{pc - 1}; }  // after int3
  KprobeTrap kprobe_trap(GuestAddr insn_addr) const override {
    return space_.host(insn_addr, 1) ? KprobeTrap::Breakpoint : KprobeTrap::NotOurs;
  }

 private:
  GuestAddr pcpu(int cpu) const { return pcpu_hot_ + cpu * PCPU_HOT_SIZE; }

  int cpus_ = 1;
  GuestAddr pcpu_hot_;
  uint64_t lstar_ = 0, syscall_mask_ = 0;
};

}  // namespace

std::unique_ptr<KernelArch> make_kernel_arch_x86_64(KernelSpace& space) {
  return std::make_unique<KernelX86_64>(space);
}

}  // namespace probesim::emu
