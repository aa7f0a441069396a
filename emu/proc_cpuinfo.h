// /proc/cpuinfo as Linux 6.1 formats it (x86: arch/x86/kernel/cpu/proc.c show_cpuinfo; arm64:
// arch/arm64/kernel/cpuinfo.c c_show), from the modelled CPU's identity (emu/cpu_identity.h)
// and the AT_HWCAP words the loader gives, so the file, CPUID and the auxv agree.
// Left out, because the model has no value for them: x86's synthetic and scattered feature
// words (rep_good, nopl, constant_tsc...), "bugs" (empty), microcode and TLB size.
#pragma once

#include <cstdint>
#include <string>

#include "emu/cpu_identity.h"

namespace probesim::emu {

struct CpuinfoInput {
  const CpuIdentity* cpu = nullptr;
  uint64_t hwcap = 0, hwcap2 = 0;  // AT_HWCAP/AT_HWCAP2 (arm64's "Features")
  size_t ncpus = 1;                // online logical CPUs
  uint64_t hz = 0;                 // cycles per second ("cpu MHz"; x86 BogoMIPS)
};

std::string cpuinfo_text(const CpuinfoInput& in);

}  // namespace probesim::emu
