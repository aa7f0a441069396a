#include "probes/arch/arm64/arm64_insn.h"

namespace probesim::probes::arm64 {
namespace {

// aarch64_insn_encoding_class, indexed by bits 28:25.
constexpr InsnClass kClasses[16] = {
    InsnClass::Unknown, InsnClass::Unknown, InsnClass::Sve,      InsnClass::Unknown,
    InsnClass::Ldst,    InsnClass::DpReg,   InsnClass::Ldst,     InsnClass::DpFpsimd,
    InsnClass::DpImm,   InsnClass::DpImm,   InsnClass::BrSys,    InsnClass::BrSys,
    InsnClass::Ldst,    InsnClass::DpReg,   InsnClass::Ldst,     InsnClass::DpFpsimd};

constexpr InsnPattern kBranches[] = {kB,  kBl,     kCbz,     kCbnz,    kTbz,    kTbnz,  kRet,
                                     kRetAuth, kBr, kBrAuth, kBlr, kBlrAuth, kBcond};

// aarch64_insn_is_steppable_hint: NOP, XPACLRI, PACIA/IB1716, PACIAZ/ASP, PACIBZ/BSP, BTI*.
constexpr uint32_t kSteppableHints[] = {0x00 << 5, 0x07 << 5, 0x08 << 5, 0x0A << 5,
                                        0x18 << 5, 0x19 << 5, 0x1A << 5, 0x1B << 5,
                                        0x20 << 5, 0x22 << 5, 0x24 << 5, 0x26 << 5};

}  // namespace

InsnClass insn_class(uint32_t insn) { return kClasses[(insn >> 25) & 0xf]; }

bool is_branch(uint32_t insn) {
  for (const auto& p : kBranches) {
    if (p.matches(insn)) return true;
  }
  return false;
}

bool uses_literal(uint32_t insn) {
  // Linux lists ldr/ldrsw/prfm literal and adr/adrp. We add the FP/SIMD literal loads, which
  // Linux would (wrongly) step from the slot.
  return kLdrLit.matches(insn) || kLdrswLit.matches(insn) || kAdr.matches(insn) ||
         kAdrp.matches(insn) || kPrfmLit.matches(insn) || kLdrLitFpsimd.matches(insn);
}

bool is_steppable_hint(uint32_t insn) {
  if (!kHint.matches(insn)) return false;
  for (uint32_t h : kSteppableHints) {
    if ((insn & 0xFE0) == h) return true;
  }
  return false;
}

bool is_steppable(uint32_t insn) {
  if (insn_class(insn) == InsnClass::BrSys) {
    if (is_branch(insn) || kMsrImm.matches(insn) || kMsrReg.matches(insn) ||
        kException.matches(insn) || kEret.matches(insn) || kEretAuth.matches(insn)) {
      return false;
    }
    // MRS is stepped except when it reads DAIF (masked during the step, so the value is wrong).
    if (kMrs.matches(insn)) return ((insn & 0x1FFFE0) >> 5) != kSysregDaif;
    if (kHint.matches(insn)) return is_steppable_hint(insn);
    return true;
  }
  return !uses_literal(insn) && !kExclusive.matches(insn);
}

int brk_imm(uint32_t insn) {
  if ((insn & 0xFFE0001F) != 0xD4200000) return -1;
  return static_cast<int>((insn >> 5) & 0xFFFF);
}

}  // namespace probesim::probes::arm64
