#include "emu/user_regs.h"

#include <cstring>

#include "guest/kernel/include/entry_abi.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kArm64Nzcv = 0xf0000000ull;  // PSTATE.{N,Z,C,V}
constexpr int kNzcvWord = -2;                   // the NZCV view of pt_regs->pstate

struct RegOffset {
  int uc_reg;
  int offset;
};

constexpr RegOffset kX86[] = {
    {UC_X86_REG_R15, PTREGS_X86_64_R15}, {UC_X86_REG_R14, PTREGS_X86_64_R14},
    {UC_X86_REG_R13, PTREGS_X86_64_R13}, {UC_X86_REG_R12, PTREGS_X86_64_R12},
    {UC_X86_REG_RBP, PTREGS_X86_64_BP},  {UC_X86_REG_RBX, PTREGS_X86_64_BX},
    {UC_X86_REG_R11, PTREGS_X86_64_R11}, {UC_X86_REG_R10, PTREGS_X86_64_R10},
    {UC_X86_REG_R9, PTREGS_X86_64_R9},   {UC_X86_REG_R8, PTREGS_X86_64_R8},
    {UC_X86_REG_RAX, PTREGS_X86_64_AX},  {UC_X86_REG_RCX, PTREGS_X86_64_CX},
    {UC_X86_REG_RDX, PTREGS_X86_64_DX},  {UC_X86_REG_RSI, PTREGS_X86_64_SI},
    {UC_X86_REG_RDI, PTREGS_X86_64_DI},  {UC_X86_REG_RIP, PTREGS_X86_64_IP},
    {UC_X86_REG_RFLAGS, PTREGS_X86_64_FLAGS}, {UC_X86_REG_EFLAGS, PTREGS_X86_64_FLAGS},
    {UC_X86_REG_RSP, PTREGS_X86_64_SP},
};

constexpr RegOffset kArm64Named[] = {
    {UC_ARM64_REG_X29, PTREGS_ARM64_X(29)}, {UC_ARM64_REG_X30, PTREGS_ARM64_X(30)},
    {UC_ARM64_REG_SP, PTREGS_ARM64_SP},     {UC_ARM64_REG_PC, PTREGS_ARM64_PC},
    {UC_ARM64_REG_NZCV, kNzcvWord},
};

}  // namespace

int UserRegs::offset_of(int uc_reg) const {
  if (cpu_.arch() == Arch::X86_64) {
    for (const RegOffset& r : kX86)
      if (r.uc_reg == uc_reg) return r.offset;
    return -1;
  }
  if (uc_reg >= UC_ARM64_REG_X0 && uc_reg <= UC_ARM64_REG_X28)
    return PTREGS_ARM64_X(uc_reg - UC_ARM64_REG_X0);
  for (const RegOffset& r : kArm64Named)
    if (r.uc_reg == uc_reg) return r.offset;
  return -1;
}

uint64_t UserRegs::word(int off) const {
  uint64_t v;
  std::memcpy(&v, pt_regs_ + off, 8);
  return v;
}

void UserRegs::set_word(int off, uint64_t v) { std::memcpy(pt_regs_ + off, &v, 8); }

uint64_t UserRegs::reg(int uc_reg) const {
  if (!pt_regs_) return cpu_.reg(uc_reg);
  if (cpu_.arch() == Arch::X86_64 && uc_reg == UC_X86_REG_GS_BASE)
    return cpu_.msr(X86_MSR_KERNEL_GS_BASE);
  int off = offset_of(uc_reg);
  if (off == kNzcvWord) return word(PTREGS_ARM64_PSTATE) & kArm64Nzcv;
  return off < 0 ? cpu_.reg(uc_reg) : word(off);
}

void UserRegs::set_reg(int uc_reg, uint64_t value) {
  if (!pt_regs_) return cpu_.set_reg(uc_reg, value);
  if (cpu_.arch() == Arch::X86_64 && uc_reg == UC_X86_REG_GS_BASE)
    return cpu_.set_msr(X86_MSR_KERNEL_GS_BASE, value);
  int off = offset_of(uc_reg);
  if (off == kNzcvWord) {
    uint64_t ps = word(PTREGS_ARM64_PSTATE);
    return set_word(PTREGS_ARM64_PSTATE, (ps & ~kArm64Nzcv) | (value & kArm64Nzcv));
  }
  if (off < 0) return cpu_.set_reg(uc_reg, value);
  set_word(off, value);
}

uint64_t UserRegs::pc() const { return pt_regs_ ? reg(cpu_.info().reg_pc) : cpu_.pc(); }

void UserRegs::set_pc(uint64_t pc) {
  if (pt_regs_) return set_reg(cpu_.info().reg_pc, pc);
  cpu_.set_pc(pc);
}

}  // namespace probesim::emu
