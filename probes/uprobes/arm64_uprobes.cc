#include "probes/uprobes/arm64_uprobes.h"

#include <cerrno>
#include <cstring>

#include "probes/arch/arm64/arm64_insn.h"
#include "probes/arch/arm64/arm64_simulate.h"

namespace probesim::probes::arm64 {
namespace {
constexpr uint8_t kSwbp[] = {0xa0, 0x00, 0x20, 0xd4};  // BRK #5 (UPROBE_SWBP_INSN)

uint32_t word_of(std::span<const uint8_t> code) {
  uint32_t w = 0;
  std::memcpy(&w, code.data(), 4);
  return w;
}
}  // namespace

std::span<const uint8_t> Arm64Uprobes::swbp() const {
  return kSwbp;
}

bool Arm64Uprobes::is_trap_insn(std::span<const uint8_t> code) const {
  return code.size() >= 4 && word_of(code) == kBrkUprobes;
}

std::vector<uint8_t> Arm64Uprobes::trampoline() const {
  return std::vector<uint8_t>(std::begin(kSwbp), std::end(kSwbp));
}

Result<ArchUprobe> Arm64Uprobes::analyze(std::span<const uint8_t> code, GuestAddr vaddr) const {
  if (vaddr.value & 3) return Error::make("uprobe: arm64 probe address is not aligned", EINVAL);
  if (code.size() < 4) return Error::make("uprobe: truncated arm64 instruction", EINVAL);
  ArchInsn insn = PROBESIM_TRY(decoder_.analyze(vaddr, code));  // REJECTED -> EINVAL
  ArchUprobe au;
  au.len = 4;
  std::memcpy(au.insn.data(), code.data(), 4);
  if (insn.step == StepKind::Emulate) {  // INSN_GOOD_NO_SLOT: simulate
    au.emulate = true;
    au.op = insn;
    const auto op = static_cast<Arm64Op>(insn.op);
    au.branch = op != Arm64Op::AdrAdrp && op != Arm64Op::LdrLit && op != Arm64Op::LdrswLit &&
                op != Arm64Op::Nop;
    return au;
  }
  au.ixol.assign(code.begin(), code.begin() + 4);
  uint8_t ss[4];
  std::memcpy(ss, &kBrkKprobesSs, 4);
  au.ixol.insert(au.ixol.end(), ss, ss + 4);
  return au;
}

EmulateResult Arm64Uprobes::emulate(const ArchUprobe& au, GuestAddr vaddr, Regs& regs,
                                    KernelMemory& mem) const {
  return simulate(au.op, vaddr, regs, mem);
}

std::optional<GuestAddr> Arm64Uprobes::hijack_return_addr(GuestAddr tramp, Regs& regs,
                                                          KernelMemory&) const {
  const GuestAddr orig{regs.x(30)};
  if (orig != tramp) regs.set_x(30, tramp.value);
  return orig;
}

}  // namespace probesim::probes::arm64
