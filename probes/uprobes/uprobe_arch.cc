#include "probes/uprobes/uprobe_arch.h"

#include "probes/uprobes/arm64_uprobes.h"
#include "probes/uprobes/x86_uprobes.h"

namespace probesim::probes {

std::unique_ptr<UprobeArch> UprobeArch::create(Arch arch) {
  if (arch == Arch::X86_64) return std::make_unique<x86::X86Uprobes>();
  return std::make_unique<arm64::Arm64Uprobes>();
}

}  // namespace probesim::probes
