// Instruction classification for the cycle model: Capstone instruction ids and operand kinds
// mapped to InsnClass. Tables, not switches (docs/conventions.md §11). Capstone's arm64 groups are
// unreliable (docs/stack-facts.md §7), so arm64 is classified by instruction id.
#include <algorithm>
#include <array>
#include <string_view>

#include "emu/cycle_model.h"

namespace probesim::emu {
namespace {

struct IdClass {
  unsigned id;
  InsnClass cls;
};

constexpr IdClass kX86Ids[] = {
    {X86_INS_IMUL, InsnClass::Mul},     {X86_INS_MUL, InsnClass::Mul},
    {X86_INS_MULX, InsnClass::Mul},     {X86_INS_DIV, InsnClass::Div},
    {X86_INS_IDIV, InsnClass::Div},     {X86_INS_DIVSD, InsnClass::FpDiv},
    {X86_INS_DIVSS, InsnClass::FpDiv},  {X86_INS_DIVPD, InsnClass::FpDiv},
    {X86_INS_DIVPS, InsnClass::FpDiv},  {X86_INS_SQRTSD, InsnClass::FpDiv},
    {X86_INS_SQRTSS, InsnClass::FpDiv}, {X86_INS_SYSCALL, InsnClass::Syscall},
    {X86_INS_NOP, InsnClass::Nop},      {X86_INS_XCHG, InsnClass::Atomic},
    {X86_INS_CMPXCHG, InsnClass::Atomic}, {X86_INS_XADD, InsnClass::Atomic},
    {X86_INS_MOVSB, InsnClass::StringOp}, {X86_INS_MOVSQ, InsnClass::StringOp},
    {X86_INS_MOVSD, InsnClass::StringOp}, {X86_INS_STOSB, InsnClass::StringOp},
    {X86_INS_STOSQ, InsnClass::StringOp}, {X86_INS_STOSD, InsnClass::StringOp},
    {X86_INS_CMPSB, InsnClass::StringOp}, {X86_INS_SCASB, InsnClass::StringOp},
};

constexpr IdClass kArm64Ids[] = {
    {ARM64_INS_MUL, InsnClass::Mul},    {ARM64_INS_MADD, InsnClass::Mul},
    {ARM64_INS_MSUB, InsnClass::Mul},   {ARM64_INS_SMULL, InsnClass::Mul},
    {ARM64_INS_UMULL, InsnClass::Mul},  {ARM64_INS_SMULH, InsnClass::Mul},
    {ARM64_INS_UMULH, InsnClass::Mul},  {ARM64_INS_SMADDL, InsnClass::Mul},
    {ARM64_INS_UMADDL, InsnClass::Mul}, {ARM64_INS_MNEG, InsnClass::Mul},
    {ARM64_INS_SDIV, InsnClass::Div},   {ARM64_INS_UDIV, InsnClass::Div},
    {ARM64_INS_FDIV, InsnClass::FpDiv}, {ARM64_INS_FSQRT, InsnClass::FpDiv},
    {ARM64_INS_SVC, InsnClass::Syscall}, {ARM64_INS_NOP, InsnClass::Nop},
    {ARM64_INS_B, InsnClass::Branch},   {ARM64_INS_CBZ, InsnClass::Branch},
    {ARM64_INS_CBNZ, InsnClass::Branch}, {ARM64_INS_TBZ, InsnClass::Branch},
    {ARM64_INS_TBNZ, InsnClass::Branch}, {ARM64_INS_BR, InsnClass::Branch},
    {ARM64_INS_BL, InsnClass::CallRet}, {ARM64_INS_BLR, InsnClass::CallRet},
    {ARM64_INS_RET, InsnClass::CallRet}, {ARM64_INS_LDXR, InsnClass::Atomic},
    {ARM64_INS_LDAXR, InsnClass::Atomic}, {ARM64_INS_STXR, InsnClass::Atomic},
    {ARM64_INS_STLXR, InsnClass::Atomic}, {ARM64_INS_LDAXP, InsnClass::Atomic},
    {ARM64_INS_STLXP, InsnClass::Atomic},  // Capstone 4 does not know the LSE atomics (CAS...)
};

template <size_t N>
constexpr std::array<IdClass, N> sorted(const IdClass (&in)[N]) {
  std::array<IdClass, N> out{};
  std::copy(std::begin(in), std::end(in), out.begin());
  std::sort(out.begin(), out.end(), [](IdClass a, IdClass b) { return a.id < b.id; });
  return out;
}

constexpr auto kX86Sorted = sorted(kX86Ids);
constexpr auto kArm64Sorted = sorted(kArm64Ids);

template <class Table>
bool find_class(const Table& t, unsigned id, InsnClass* out) {
  auto it = std::lower_bound(t.begin(), t.end(), id, [](IdClass e, unsigned v) { return e.id < v; });
  if (it == t.end() || it->id != id) return false;
  *out = it->cls;
  return true;
}

bool has_group(const cs_insn& insn, uint8_t group) {
  const cs_detail* d = insn.detail;
  return std::find(d->groups, d->groups + d->groups_count, group) != d->groups + d->groups_count;
}

InsnClass classify_x86(const cs_insn& insn) {
  InsnClass cls;
  if (find_class(kX86Sorted, insn.id, &cls)) return cls;
  if (has_group(insn, CS_GRP_CALL) || has_group(insn, CS_GRP_RET)) return InsnClass::CallRet;
  if (has_group(insn, CS_GRP_JUMP)) return InsnClass::Branch;
  const cs_x86& x = insn.detail->x86;
  bool sse = has_group(insn, X86_GRP_SSE1) || has_group(insn, X86_GRP_SSE2) ||
             has_group(insn, X86_GRP_SSE3) || has_group(insn, X86_GRP_SSSE3) ||
             has_group(insn, X86_GRP_SSE41) || has_group(insn, X86_GRP_SSE42) ||
             has_group(insn, X86_GRP_AVX) || has_group(insn, X86_GRP_FPU);
  if (sse) return InsnClass::FpSimd;
  for (uint8_t i = 0; i < x.op_count; ++i) {
    if (x.operands[i].type != X86_OP_MEM || insn.id == X86_INS_LEA) continue;
    return (x.operands[i].access & CS_AC_WRITE) ? InsnClass::Store : InsnClass::Load;
  }
  return InsnClass::Alu;
}

// Capstone 4's arm64 register enum interleaves the banks, so test each bank's own range.
bool is_fp_simd_reg(unsigned r) {
  auto in = [r](unsigned first, unsigned last) { return r >= first && r <= last; };
  return in(ARM64_REG_B0, ARM64_REG_B31) || in(ARM64_REG_H0, ARM64_REG_H31) ||
         in(ARM64_REG_S0, ARM64_REG_S31) || in(ARM64_REG_D0, ARM64_REG_D31) ||
         in(ARM64_REG_Q0, ARM64_REG_Q31) || in(ARM64_REG_V0, ARM64_REG_V31);
}

InsnClass classify_arm64(const cs_insn& insn) {
  InsnClass cls;
  if (find_class(kArm64Sorted, insn.id, &cls)) return cls;
  const cs_arm64& a = insn.detail->arm64;
  bool fp = false;
  for (uint8_t i = 0; i < a.op_count; ++i) {
    const cs_arm64_op& op = a.operands[i];
    if (op.type == ARM64_OP_MEM) {
      std::string_view m = insn.mnemonic;
      return (m.starts_with("st")) ? InsnClass::Store : InsnClass::Load;
    }
    if (op.type == ARM64_OP_REG && is_fp_simd_reg(op.reg)) fp = true;
  }
  return fp ? InsnClass::FpSimd : InsnClass::Alu;
}

}  // namespace

// ---- Scheduling points (SyncKind).

namespace {

constexpr unsigned kX86AtomicIds[] = {X86_INS_CMPXCHG, X86_INS_CMPXCHG8B, X86_INS_CMPXCHG16B};

// arm64 atomics by mnemonic prefix: load/store exclusive (ARMv8.0, incl. the acquire/release and
// pair forms) and the ARMv8.1 LSE atomics with their ST* aliases (Arm ARM C3.2.12, C6.2).
constexpr std::string_view kArm64AtomicPrefixes[] = {
    "ldxr",  "ldxp",  "ldaxr", "ldaxp", "stxr",   "stxp",   "stlxr",  "stlxp",  "cas",
    "swp",   "ldadd", "ldclr", "ldeor", "ldset",  "ldsmax", "ldsmin", "ldumax", "ldumin",
    "stadd", "stclr", "steor", "stset", "stsmax", "stsmin", "stumax", "stumin",
};

bool has_mem_operand(const cs_x86& x) {
  for (uint8_t i = 0; i < x.op_count; ++i)
    if (x.operands[i].type == X86_OP_MEM) return true;
  return false;
}

// lock-prefixed instructions, xchg with memory (implicitly locked: SDM vol. 3A 9.1.2.1) and
// cmpxchg/cmpxchg8b/cmpxchg16b.
SyncKind x86_sync(const cs_insn& insn) {
  if (insn.id == X86_INS_SYSCALL) return SyncKind::Syscall;
  const cs_x86& x = insn.detail->x86;
  if (x.prefix[0] == X86_PREFIX_LOCK) return SyncKind::Atomic;
  if (insn.id == X86_INS_XCHG && has_mem_operand(x)) return SyncKind::Atomic;
  for (unsigned id : kX86AtomicIds)
    if (insn.id == id) return SyncKind::Atomic;
  return SyncKind::None;
}

SyncKind arm64_sync(const cs_insn& insn) {
  if (insn.id == ARM64_INS_SVC) return SyncKind::Syscall;
  std::string_view m = insn.mnemonic;
  for (std::string_view p : kArm64AtomicPrefixes)
    if (m.starts_with(p)) return SyncKind::Atomic;
  return SyncKind::None;
}

}  // namespace

SyncKind sync_kind(Arch arch, const cs_insn& insn) {
  return arch == Arch::X86_64 ? x86_sync(insn) : arm64_sync(insn);
}

InsnClass CycleModel::classify(const cs_insn& insn) const {
  return arch_ == Arch::X86_64 ? classify_x86(insn) : classify_arm64(insn);
}

}  // namespace probesim::emu
