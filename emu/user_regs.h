// UserRegs: a task's user-mode registers as syscalls and signal delivery see them.
// Without a guest kernel, and whenever the task is in user mode, they are the CPU's. While the
// task is inside a syscall of the guest kernel (stopped in HC_SYSCALL), its general registers,
// PC, SP and flags are the struct pt_regs on its kernel stack (the entry code saved them; the
// exit path restores them, through HC_IRET / ERET when they changed), and everything the
// kernel never touches (FP/SIMD, FS base, TPIDR_EL0) is still the CPU's. x86 GS base is the
// swapped MSR_KERNEL_GS_BASE then.
#pragma once

#include <cstdint>

#include "emu/cpu.h"

namespace probesim::emu {

class UserRegs {
 public:
  // pt_regs: host bytes of the task's pt_regs, or null when the CPU holds user mode.
  explicit UserRegs(Cpu& cpu, uint8_t* pt_regs = nullptr) : cpu_(cpu), pt_regs_(pt_regs) {}

  uint64_t reg(int uc_reg) const;
  void set_reg(int uc_reg, uint64_t value);
  uint64_t pc() const;
  void set_pc(uint64_t pc);
  void reg128(int uc_reg, uint8_t out[16]) const { cpu_.reg128(uc_reg, out); }
  void set_reg128(int uc_reg, const uint8_t in[16]) { cpu_.set_reg128(uc_reg, in); }
  Cpu& cpu() { return cpu_; }
  Arch arch() const { return cpu_.arch(); }
  bool in_kernel() const { return pt_regs_ != nullptr; }

 private:
  // Byte offset of a Unicorn register in pt_regs; -1 for registers the CPU keeps.
  int offset_of(int uc_reg) const;
  uint64_t word(int off) const;
  void set_word(int off, uint64_t v);

  Cpu& cpu_;
  uint8_t* pt_regs_;
};

}  // namespace probesim::emu
