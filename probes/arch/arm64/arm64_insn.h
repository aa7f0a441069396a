// A64 instruction-word predicates the kprobes decoder needs, as (mask, value) pairs from
// Linux's arch/arm64/include/asm/insn.h (__AARCH64_INSN_FUNCS). Capstone's arm64 groups are
// unreliable (docs/stack-facts.md §7), so arm64 classification works on raw words only.
#pragma once

#include <cstdint>

namespace probesim::probes::arm64 {

struct InsnPattern {
  uint32_t mask;
  uint32_t value;
  constexpr bool matches(uint32_t insn) const { return (insn & mask) == value; }
};

constexpr InsnPattern kB{0xFC000000, 0x14000000}, kBl{0xFC000000, 0x94000000},
    kCbz{0x7F000000, 0x34000000}, kCbnz{0x7F000000, 0x35000000},
    kTbz{0x7F000000, 0x36000000}, kTbnz{0x7F000000, 0x37000000},
    kBcond{0xFF000010, 0x54000000}, kException{0xFF000000, 0xD4000000},
    kBr{0xFFFFFC1F, 0xD61F0000}, kBlr{0xFFFFFC1F, 0xD63F0000}, kRet{0xFFFFFC1F, 0xD65F0000},
    kBrAuth{0xFEFFF800, 0xD61F0800}, kBlrAuth{0xFEFFF800, 0xD63F0800},
    kRetAuth{0xFFFFFBFF, 0xD65F0BFF}, kEret{0xFFFFFFFF, 0xD69F03E0},
    kEretAuth{0xFFFFFBFF, 0xD69F0BFF}, kMrs{0xFFF00000, 0xD5300000},
    kMsrImm{0xFFF8F01F, 0xD500401F}, kMsrReg{0xFFF00000, 0xD5100000},
    kHint{0xFFFFF01F, 0xD503201F}, kNop{0xFFFFFFFF, 0xD503201F},
    kAdr{0x9F000000, 0x10000000}, kAdrp{0x9F000000, 0x90000000},
    kLdrLit{0xBF000000, 0x18000000}, kLdrswLit{0xFF000000, 0x98000000},
    kPrfmLit{0xFF000000, 0xD8000000}, kLdrLitFpsimd{0x3F000000, 0x1C000000},
    kExclusive{0x3F800000, 0x08000000}, kLoadEx{0x3F400000, 0x08400000},
    kStoreEx{0x3F400000, 0x08000000};

constexpr uint32_t kBrkKprobes = 0xd4200080;    // BRK #4  (BRK64_OPCODE_KPROBES)
constexpr uint32_t kBrkUprobes = 0xd42000a0;    // BRK #5  (BRK64_OPCODE_UPROBES)
constexpr uint32_t kBrkKprobesSs = 0xd42000c0;  // BRK #6  (BRK64_OPCODE_KPROBES_SS)
constexpr uint32_t kSysregDaif = 0xDA11;        // AARCH64_INSN_SPCLREG_DAIF

enum class InsnClass : uint8_t { Unknown, Sve, Ldst, DpReg, DpFpsimd, DpImm, BrSys };

InsnClass insn_class(uint32_t insn);  // aarch64_get_insn_class (bits 28:25)
bool is_branch(uint32_t insn);        // b, bl, cb*, tb*, ret*, b.cond, br*, blr*
bool uses_literal(uint32_t insn);     // ldr/ldrsw/prfm literal, adr/adrp (+ FP/SIMD literal)
bool is_steppable_hint(uint32_t insn);
// aarch64_insn_is_steppable: may run from an out-of-line slot.
bool is_steppable(uint32_t insn);
// The BRK imm16 of a BRK word, or -1.
int brk_imm(uint32_t insn);

}  // namespace probesim::probes::arm64
