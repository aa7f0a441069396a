#include "emu/user_regs.h"

#include <cstring>
#include <span>

#include "guest/kernel/include/entry_abi.h"
#include "probes/arch/pt_regs_table.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kArm64Nzcv = 0xf0000000ull;  // PSTATE.{N,Z,C,V}
constexpr int kNzcvWord = -2;                   // the NZCV view of pt_regs->pstate

struct RegOffset {
  int uc_reg;
  int offset;
};

#define PROBESIM_REG_OFFSET(name, offset, uc_reg) RegOffset{(uc_reg), (offset)},
constexpr RegOffset kX86[] = {PROBESIM_PT_REGS_X86_64(PROBESIM_REG_OFFSET)};
constexpr RegOffset kArm64[] = {PROBESIM_PT_REGS_ARM64(PROBESIM_REG_OFFSET)};
#undef PROBESIM_REG_OFFSET

// Other names of a pt_regs word: x86 EFLAGS is RFLAGS' low half (user flags live there, the
// upper half is zero); arm64 NZCV is the flags view of pstate.
constexpr RegOffset kX86Aliases[] = {{UC_X86_REG_EFLAGS, PTREGS_X86_64_FLAGS}};
constexpr RegOffset kArm64Aliases[] = {{UC_ARM64_REG_NZCV, kNzcvWord}};

int find_offset(std::span<const RegOffset> table, int uc_reg) {
  for (const RegOffset& r : table)
    if (r.uc_reg == uc_reg) return r.offset;
  return -1;
}

}  // namespace

int UserRegs::offset_of(int uc_reg) const {
  if (uc_reg < 0) return -1;
  const bool x86 = cpu_.arch() == Arch::X86_64;
  int off = find_offset(x86 ? std::span<const RegOffset>(kX86) : kArm64, uc_reg);
  return off != -1 ? off : find_offset(x86 ? std::span<const RegOffset>(kX86Aliases) : kArm64Aliases, uc_reg);
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
