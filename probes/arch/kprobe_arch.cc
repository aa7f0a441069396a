#include "probes/arch/kprobe_arch.h"

#include "probes/arch/arm64/arm64_kprobes.h"
#include "probes/arch/x86_64/x86_kprobes.h"

namespace probesim::probes {

std::unique_ptr<KprobeArch> KprobeArch::create(Arch arch) {
  if (arch == Arch::X86_64) return std::make_unique<x86::X86Kprobes>();
  return std::make_unique<arm64::Arm64Kprobes>();
}

}  // namespace probesim::probes
