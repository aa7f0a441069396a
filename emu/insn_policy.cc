// User-mode instruction policy (insn_policy.h). Tables, not switches (docs/conventions.md §11).
// Linux's outcomes: x86 #GP in user mode is SIGSEGV/SI_KERNEL (exc_general_protection,
// arch/x86/kernel/traps.c), #UD is SIGILL/ILL_ILLOPN (handle_invalid_op); arm64 EL0 accesses to
// EL1 state are UNDEFINED: SIGILL/ILL_ILLOPC (do_el0_undef, arch/arm64/kernel/traps.c), except
// the ID registers Linux emulates (emulate_mrs, arch/arm64/kernel/cpufeature.c).
#include "emu/insn_policy.h"

#include <algorithm>
#include <array>

namespace probesim::emu {
namespace {

struct X86Rule {
  unsigned id;
  uint32_t intno;
};

// CPL0-only instructions (Intel SDM vol. 3A 2.8, "privileged instructions"), IOPL-sensitive
// ones (Linux runs user code at IOPL 0), and those that are #UD outside ring 0.
constexpr X86Rule kX86UserRules[] = {
    {X86_INS_HLT, kX86Gp},      {X86_INS_SYSENTER, kX86Gp}, {X86_INS_SYSEXIT, kX86Gp},
    {X86_INS_SYSEXITQ, kX86Gp}, {X86_INS_SYSRET, kX86Gp},   {X86_INS_SYSRETQ, kX86Gp},
    {X86_INS_LGDT, kX86Gp},     {X86_INS_LIDT, kX86Gp},     {X86_INS_LLDT, kX86Gp},
    {X86_INS_LTR, kX86Gp},      {X86_INS_LMSW, kX86Gp},     {X86_INS_CLTS, kX86Gp},
    {X86_INS_INVD, kX86Gp},     {X86_INS_WBINVD, kX86Gp},   {X86_INS_WBNOINVD, kX86Gp},
    {X86_INS_INVLPG, kX86Gp},   {X86_INS_INVPCID, kX86Gp},  {X86_INS_RDMSR, kX86Gp},
    {X86_INS_WRMSR, kX86Gp},    {X86_INS_SWAPGS, kX86Gp},   {X86_INS_RDPMC, kX86Gp},
    {X86_INS_CLI, kX86Gp},      {X86_INS_STI, kX86Gp},      {X86_INS_IN, kX86Gp},
    {X86_INS_OUT, kX86Gp},      {X86_INS_INSB, kX86Gp},     {X86_INS_INSW, kX86Gp},
    {X86_INS_INSD, kX86Gp},     {X86_INS_OUTSB, kX86Gp},    {X86_INS_OUTSW, kX86Gp},
    {X86_INS_OUTSD, kX86Gp},    {X86_INS_XSETBV, kX86Gp},   {X86_INS_MONITOR, kX86Ud},
    {X86_INS_MWAIT, kX86Ud},    {X86_INS_CLAC, kX86Ud},     {X86_INS_STAC, kX86Ud},
    {X86_INS_INVLPGA, kX86Ud},
};

bool is_control_or_debug_reg(unsigned r) {
  return (r >= X86_REG_CR0 && r <= X86_REG_CR15) || (r >= X86_REG_DR0 && r <= X86_REG_DR15);
}

std::optional<EmulatedSite> x86_user_site(const cs_insn& insn) {
  EmulatedSite s{insn.address, EmulatedKind::UserTrap, 0};
  for (const X86Rule& r : kX86UserRules)
    if (r.id == insn.id) return s.intno = r.intno, s;
  if (insn.id == X86_INS_INT) {  // only vectors 3, 4 and 0x80 have user (DPL 3) gates
    const cs_x86& x = insn.detail->x86;
    int64_t v = x.op_count == 1 && x.operands[0].type == X86_OP_IMM ? x.operands[0].imm : -1;
    if (v != 3 && v != 4 && v != 0x80) return s.intno = kX86Gp, s;
  }
  if (insn.id == X86_INS_MOV) {  // mov to/from CRn / DRn
    const cs_x86& x = insn.detail->x86;
    for (uint8_t i = 0; i < x.op_count; ++i)
      if (x.operands[i].type == X86_OP_REG && is_control_or_debug_reg(x.operands[i].reg))
        return s.intno = kX86Gp, s;
  }
  return std::nullopt;
}

// ---- arm64: decided from the instruction word (Arm ARM C4.1, "System" and "Exception
// generation" encodings) ----

struct SysReg {
  uint8_t op0, op1, crn, crm, op2;
  bool el0_write;
};

// The registers Linux user code may access (op0=3, op1=3 unless noted).
constexpr SysReg kEl0SysRegs[] = {
    {3, 3, 4, 2, 0, true},    // NZCV
    {3, 3, 4, 2, 5, true},    // DIT
    {3, 3, 4, 2, 6, true},    // SSBS
    {3, 3, 4, 2, 7, true},    // TCO
    {3, 3, 4, 4, 0, true},    // FPCR
    {3, 3, 4, 4, 1, true},    // FPSR
    {3, 3, 13, 0, 2, true},   // TPIDR_EL0
    {3, 3, 13, 0, 3, false},  // TPIDRRO_EL0
    {3, 3, 0, 0, 1, false},   // CTR_EL0 (SCTLR_EL1.UCT)
    {3, 3, 0, 0, 7, false},   // DCZID_EL0
    {3, 3, 14, 0, 0, false},  // CNTFRQ_EL0
    {3, 3, 14, 0, 1, false},  // CNTPCT_EL0 (virtual, Cpu::on_arm64_mrs)
    {3, 3, 14, 0, 2, false},  // CNTVCT_EL0 (CNTKCTL_EL1.EL0VCTEN)
};

// EL0 cache maintenance (SYS, op1=3 CRn=7): dc zva (SCTLR_EL1.DZE), dc cvac/cvau/cvap/cvadp/
// civac and ic ivau (SCTLR_EL1.UCI), all set by Linux.
constexpr std::array<std::pair<uint8_t, uint8_t>, 7> kEl0CacheOps = {
    {{4, 1}, {10, 1}, {11, 1}, {12, 1}, {13, 1}, {14, 1}, {5, 1}}};

struct SysFields {
  bool read;  // L: mrs / sysl
  uint8_t op0, op1, crn, crm, op2;
};

SysFields sys_fields(uint32_t w) {
  return {((w >> 21) & 1) != 0,        static_cast<uint8_t>((w >> 19) & 3),
          static_cast<uint8_t>((w >> 16) & 7), static_cast<uint8_t>((w >> 12) & 15),
          static_cast<uint8_t>((w >> 8) & 15),  static_cast<uint8_t>((w >> 5) & 7)};
}

bool el0_sysreg_ok(const SysFields& f) {
  if (f.read && f.op0 == 3 && f.op1 == 0 && f.crn == 0) return true;  // ID registers: emulated
  for (const SysReg& r : kEl0SysRegs)
    if (r.op0 == f.op0 && r.op1 == f.op1 && r.crn == f.crn && r.crm == f.crm && r.op2 == f.op2)
      return f.read || r.el0_write;
  return false;
}

// MSR (immediate): PAN, UAO, SPSel (op1=0, op2=3..5) are EL1 state; DAIFSet/DAIFClr (op1=3,
// op2=6/7) need SCTLR_EL1.UMA, which Linux leaves clear.
bool el0_pstate_ok(const SysFields& f) {
  if (f.op1 == 0) return f.op2 < 3;
  if (f.op1 == 3) return f.op2 != 6 && f.op2 != 7;
  return true;
}

std::optional<EmulatedKind> arm64_system(uint32_t w) {
  SysFields f = sys_fields(w);
  constexpr uint8_t kHint = 2, kPstate = 4;
  if (f.op0 == 0 && !f.read) {
    if (f.crn == kHint && f.op1 == 3 && f.crm == 0 && (f.op2 == 2 || f.op2 == 3))
      return EmulatedKind::UserNop;  // wfe, wfi
    if (f.crn == kPstate && !el0_pstate_ok(f)) return EmulatedKind::UserTrap;
    return std::nullopt;
  }
  if (f.op0 == 1) {
    if (f.read) return EmulatedKind::UserTrap;  // SYSL: nothing at EL0
    bool ok = f.op1 == 3 && f.crn == 7 &&
              std::find(kEl0CacheOps.begin(), kEl0CacheOps.end(),
                        std::pair<uint8_t, uint8_t>{f.crm, f.op2}) != kEl0CacheOps.end();
    return ok ? std::nullopt : std::optional{EmulatedKind::UserTrap};  // tlbi, at, other dc/ic
  }
  if (f.op0 >= 2 && !el0_sysreg_ok(f)) return EmulatedKind::UserTrap;  // mrs / msr (register)
  return std::nullopt;
}

// hvc, smc, hlt, dcps1-3 (exception generation) and eret, eretaa, eretab, drps.
bool arm64_el1_only(uint32_t w) {
  if ((w & 0xff000000u) == 0xd4000000u) {
    uint32_t opc = (w >> 21) & 7, ll = w & 3;
    return (opc == 0 && ll >= 2) || (opc == 2 && ll == 0) || (opc == 5 && ll != 0);
  }
  return w == 0xd69f03e0u || w == 0xd69f0bffu || w == 0xd69f0fffu || w == 0xd6bf03e0u;
}

std::optional<EmulatedSite> arm64_user_site(const cs_insn& insn) {
  if (insn.size != 4) return std::nullopt;
  uint32_t w = static_cast<uint32_t>(insn.bytes[0]) | static_cast<uint32_t>(insn.bytes[1]) << 8 |
               static_cast<uint32_t>(insn.bytes[2]) << 16 |
               static_cast<uint32_t>(insn.bytes[3]) << 24;
  std::optional<EmulatedKind> a;
  if ((w & 0xffc00000u) == 0xd5000000u)
    a = arm64_system(w);
  else if (arm64_el1_only(w))
    a = EmulatedKind::UserTrap;
  if (!a) return std::nullopt;
  return EmulatedSite{insn.address, *a, *a == EmulatedKind::UserTrap ? kArm64Udef : 0};
}

// ---- translator aborts (Unicorn 2.1.1, qemu/target/i386/translate.c) ----

// Prefix bytes QEMU's disas_insn collects, in any order: legacy prefixes and (64-bit) REX.
bool x86_prefix(uint8_t b) {
  constexpr uint8_t kLegacy[] = {0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x66, 0x67};
  return (b >= 0x40 && b <= 0x4f) || std::find(std::begin(kLegacy), std::end(kLegacy), b) !=
                                         std::end(kLegacy);
}

// LOCK bt/bts/btr/btc (0f a3/ab/b3/bb, 0f ba /4../7) with a register operand: the translator
// emits an atomic operation on an address it never computed, and tcg_abort()s. The CPU raises
// #UD for LOCK with a register destination (SDM vol. 2 "LOCK"); BT is never lockable, so
// LOCK bt with a memory operand is #UD too and is included.
bool x86_aborts(std::span<const uint8_t> c) {
  size_t i = 0;
  bool lock = false;
  while (i < c.size() && x86_prefix(c[i])) lock |= c[i++] == 0xf0;
  if (!lock || i + 3 > c.size() || c[i] != 0x0f) return false;
  uint8_t op = c[i + 1], modrm = c[i + 2], reg = (modrm >> 3) & 7;
  // Longer than 15 bytes: #GP before the operation is translated (imm8 of 0f ba included).
  if (i + 3 + (op == 0xba) > kMaxInsnBytes) return false;
  bool reg_form = (modrm >> 6) == 3;
  if (op == 0xa3) return true;                            // bt r/m, r
  if (op == 0xba) return reg == 4 || (reg > 4 && reg_form);  // bt/bts/btr/btc r/m, imm8
  return reg_form && (op == 0xab || op == 0xb3 || op == 0xbb);  // bts/btr/btc r, r
}

}  // namespace

std::optional<EmulatedSite> user_site(Arch arch, const cs_insn& insn) {
  return arch == Arch::X86_64 ? x86_user_site(insn) : arm64_user_site(insn);
}

bool aborts_translator(Arch arch, std::span<const uint8_t> code) {
  return arch == Arch::X86_64 && x86_aborts(code);
}

}  // namespace probesim::emu
