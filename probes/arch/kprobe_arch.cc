#include "probes/arch/kprobe_arch.h"

#include <cerrno>

#include "probes/arch/arm64/arm64_kprobes.h"
#include "probes/arch/x86_64/x86_kprobes.h"
#include "probesim/assert.h"

namespace probesim::probes {

std::unique_ptr<KprobeArch> KprobeArch::create(Arch arch) {
  if (arch == Arch::X86_64) return std::make_unique<x86::X86Kprobes>();
  return std::make_unique<arm64::Arm64Kprobes>();
}

// Arches without optprobes (Linux: no HAVE_OPTPROBES, e.g. arm64): every probe stays a trap.
OptPrep KprobeArch::prepare_optimized(GuestAddr, const TextReader&, const SymbolSource&) const {
  return OptPrep{OptRefusal::NoArchSupport};
}

Result<std::vector<uint8_t>> KprobeArch::detour_contents(const OptPrep&, GuestAddr, GuestAddr,
                                                         uint64_t, GuestAddr) const {
  return Error::make(std::string(opt_refusal_text(OptRefusal::NoArchSupport)), EOPNOTSUPP);
}

std::vector<uint8_t> KprobeArch::optimized_jump(GuestAddr, GuestAddr) const {
  PROBESIM_ASSERT_MSG(false, "optimized_jump on an arch without optprobes");
  return {};
}

void KprobeArch::optimized_regs(GuestAddr, Regs&) const {}

}  // namespace probesim::probes
