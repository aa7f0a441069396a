#include "probes/arch/arm64/arm64_kprobes.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "probes/arch/arm64/arm64_insn.h"
#include "probes/arch/arm64/arm64_simulate.h"
#include "probesim/assert.h"

namespace probesim::probes::arm64 {
namespace {

constexpr uint8_t kBreakpoint[] = {0x80, 0x00, 0x20, 0xd4};  // BRK #4, little endian

bool read_word(const TextReader& text, GuestAddr a, uint32_t& w) {
  uint8_t b[4];
  if (!text(a, b)) return false;
  std::memcpy(&w, b, 4);
  return true;
}

Error rejected(uint32_t word, const char* why) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "cannot probe arm64 instruction %08x: %s", word, why);
  return Error::make(buf, EINVAL);
}

}  // namespace

std::span<const uint8_t> Arm64Kprobes::breakpoint() const { return kBreakpoint; }

// is_probed_address_atomic: scanning back from addr-4 (to the function start, at most 32
// instructions), a load-exclusive met before any store-exclusive means addr is inside an
// LL/SC sequence. No symbol: no scan (Linux).
bool Arm64Kprobes::in_atomic_sequence(GuestAddr addr, const TextReader& text,
                                      const SymbolSource& syms) const {
  const auto fn = syms.function_containing(addr);
  if (!fn) return false;
  const uint64_t offset = addr - fn->addr;
  const uint64_t back = offset < kMaxAtomicContext * 4 ? offset / 4 : kMaxAtomicContext;
  for (uint64_t i = 1; i <= back; ++i) {
    uint32_t w;
    if (!read_word(text, addr - 4 * i, w)) return false;
    if (kStoreEx.matches(w)) return false;
    if (kLoadEx.matches(w)) return true;
  }
  return false;
}

Result<ArchInsn> Arm64Kprobes::prepare(GuestAddr addr, const TextReader& text,
                                       const SymbolSource& syms) const {
  if (addr.value & 3) return Error::make("arm64 probe address is not 4-byte aligned", EINVAL);
  uint8_t b[4];
  if (!text(addr, b)) return Error::make("probe address is not readable", EINVAL);
  auto insn = analyze(addr, b);
  if (!insn) return insn;
  if (in_atomic_sequence(addr, text, syms)) {
    uint32_t w;
    std::memcpy(&w, b, 4);
    return rejected(w, "inside a load/store-exclusive sequence");
  }
  return insn;
}

Result<ArchInsn> Arm64Kprobes::analyze(GuestAddr, std::span<const uint8_t> code) const {
  if (code.size() < 4) return Error::make("truncated arm64 instruction", EINVAL);
  uint32_t w;
  std::memcpy(&w, code.data(), 4);
  ArchInsn a;
  a.len = 4;
  std::memcpy(a.bytes.data(), &w, 4);
  if (kNop.matches(w)) {
    a.step = StepKind::Emulate;
    a.needs_slot = false;
    a.op = static_cast<uint8_t>(Arm64Op::Nop);
    return a;
  }
  if (is_steppable(w)) return a;  // INSN_GOOD: [insn][BRK #6]
  const Arm64Op op = simulate_op(w);
  if (op == Arm64Op::None) return rejected(w, "neither steppable nor simulated");
  a.step = StepKind::Emulate;  // INSN_GOOD_NO_SLOT
  a.needs_slot = false;
  a.op = static_cast<uint8_t>(op);
  return a;
}

Result<std::vector<uint8_t>> Arm64Kprobes::slot_contents(const ArchInsn& insn, GuestAddr,
                                                         GuestAddr, bool boosted) const {
  PROBESIM_ASSERT(!boosted);
  std::vector<uint8_t> out(insn.bytes.begin(), insn.bytes.begin() + 4);
  uint8_t ss[4];
  std::memcpy(ss, &kBrkKprobesSs, 4);
  out.insert(out.end(), ss, ss + 4);
  return out;
}

EmulateResult Arm64Kprobes::emulate(const ArchInsn& insn, GuestAddr addr, Regs& regs,
                                    KernelMemory& mem) const {
  return simulate(insn, addr, regs, mem);
}

// kprobes_save_local_irqflag: remember DAIF, mask all of it for the step.
uint64_t Arm64Kprobes::enter_slot(GuestAddr slot, Regs& regs) const {
  const uint64_t saved = regs.flags() & kArm64DaifMask;
  regs.set_flags(regs.flags() | kArm64DaifMask);
  regs.set_ip(slot);
  return saved;
}

void Arm64Kprobes::leave_slot(const ArchInsn&, GuestAddr addr, Regs& regs,
                              uint64_t saved) const {
  regs.set_flags((regs.flags() & ~kArm64DaifMask) | saved);
  regs.set_ip(addr + 4);  // ainsn.api.restore
}

std::optional<KprobeArch::Hijack> Arm64Kprobes::hijack_return(Regs& regs, KernelMemory&,
                                                              GuestAddr tramp) const {
  const Hijack h{GuestAddr{regs.x(30)}, GuestAddr{regs.sp()}};
  regs.set_x(30, tramp.value);
  return h;
}

void Arm64Kprobes::return_to(Regs& regs, GuestAddr ret_addr) const {
  regs.set_x(30, ret_addr.value);
  regs.set_ip(ret_addr);
}

}  // namespace probesim::probes::arm64
