// Modelled latencies per instruction class, in core cycles of the modelled CPU.
//
// x86_64 — Agner Fog, "Instruction tables", Intel Skylake section (2022 edition):
//   simple integer ALU/mov reg 1; imul r64 3; div/idiv r64 35-88 (we take 42, the r32/r64
//   midpoint used by gem5's O3 default FU latencies is 20-ish; we follow Agner's measured r64
//   typical); load-use latency 4-5 (L1 hit), store 1 (retired to the store buffer);
//   taken branch 1-2, call/ret 2-3; SSE/AVX add/mul 4; divsd 13-14; rep movs/stos startup ~20;
//   lock-prefixed RMW / xchg mem ~18; syscall+sysret round trip ~70 cycles of instruction cost
//   (the kernel work itself is charged by the syscall path, not here).
// aarch64 — Arm Cortex-A72 Software Optimization Guide (UAN0016A), section 3:
//   ALU 1; MUL/MADD 3; SDIV/UDIV 4-20 (we take 12); load 4 (L1 hit), store 1; branch 1;
//   BL/RET 1 (+ a modelled 1 for the link); FP/ASIMD 3-4; FDIV 6-18 (we take 11);
//   LDXR/STXR/CAS 8 (approximate; not in the guide's table); SVC round trip ~60.
#include "emu/cycle_model.h"

namespace probesim::emu {
namespace {

constexpr ClassCost kX86Costs[] = {
    {InsnClass::Alu, 1, "alu"},         {InsnClass::Mul, 3, "mul"},
    {InsnClass::Div, 42, "div"},        {InsnClass::Load, 4, "load"},
    {InsnClass::Store, 1, "store"},     {InsnClass::Branch, 1, "branch"},
    {InsnClass::CallRet, 2, "callret"}, {InsnClass::FpSimd, 4, "fp/simd"},
    {InsnClass::FpDiv, 14, "fpdiv"},    {InsnClass::StringOp, 20, "string"},
    {InsnClass::Syscall, 70, "syscall"}, {InsnClass::Atomic, 18, "atomic"},
    {InsnClass::Nop, 1, "nop"},
};

constexpr ClassCost kArm64Costs[] = {
    {InsnClass::Alu, 1, "alu"},         {InsnClass::Mul, 3, "mul"},
    {InsnClass::Div, 12, "div"},        {InsnClass::Load, 4, "load"},
    {InsnClass::Store, 1, "store"},     {InsnClass::Branch, 1, "branch"},
    {InsnClass::CallRet, 2, "callret"}, {InsnClass::FpSimd, 4, "fp/simd"},
    {InsnClass::FpDiv, 11, "fpdiv"},    {InsnClass::StringOp, 20, "string"},
    {InsnClass::Syscall, 60, "syscall"}, {InsnClass::Atomic, 8, "atomic"},
    {InsnClass::Nop, 1, "nop"},
};

static_assert(std::size(kX86Costs) == static_cast<size_t>(InsnClass::kCount));
static_assert(std::size(kArm64Costs) == static_cast<size_t>(InsnClass::kCount));

}  // namespace

std::span<const ClassCost> class_costs(Arch arch) {
  if (arch == Arch::X86_64) return kX86Costs;
  return kArm64Costs;
}

}  // namespace probesim::emu
