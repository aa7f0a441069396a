// Arm64Kprobes::unframed_return_address: where the caller's return address is while a function
// has no frame record (GCC's prologue `stp x29, x30, [sp, #-N]!` ... `mov x29, sp`, possibly
// with other instructions scheduled in between; `ret` after the epilogue's `ldp x29, x30`).
// Until the frame record exists the address is still in the link register (x30).
#include "probes/arch/arm64/arm64_insn.h"
#include "probes/arch/arm64/arm64_kprobes.h"

namespace probesim::probes::arm64 {
namespace {

constexpr size_t kMaxPrologueInsns = 16;  // instructions looked at from the function start
// `mov x29, sp` is `add x29, sp, #0`; `add x29, sp, #imm` sets a frame record further up.
constexpr InsnPattern kAddFpSp{0xFFC003FF, 0x910003FD};
// Anything that changes x30 before the frame record: bl/blr, or any write of x30 (Rd = 30
// in data-processing and load forms is approximated by the two calls, which GCC's prologue
// never contains).
bool clobbers_lr(uint32_t insn) { return kBl.matches(insn) || kBlr.matches(insn); }

std::optional<uint32_t> read_insn(const TextReader& text, GuestAddr a) {
  uint32_t insn = 0;
  if (!text(a, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&insn), 4))) return std::nullopt;
  return insn;
}

}  // namespace

std::optional<GuestAddr> Arm64Kprobes::unframed_return_address(GuestAddr fn, GuestAddr at,
                                                               const Regs& regs,
                                                               const TextReader& text,
                                                               const KernelMemory&) const {
  const GuestAddr lr{regs.x(30)};
  auto here = read_insn(text, at);
  if (!here) return std::nullopt;
  if (kRet.matches(*here) && ((*here >> 5) & 31) == 30) return lr;  // ret (x30)
  GuestAddr cur = fn;
  for (size_t i = 0; i < kMaxPrologueInsns && cur < at; ++i, cur += 4) {
    auto insn = read_insn(text, cur);
    if (!insn || kAddFpSp.matches(*insn) || clobbers_lr(*insn)) return std::nullopt;
  }
  if (cur != at) return std::nullopt;
  return lr;
}

}  // namespace probesim::probes::arm64
