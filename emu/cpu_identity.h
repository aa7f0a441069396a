// The modelled CPU's identity as a guest reads it: the x86 CPUID leaves and the arm64 MIDR_EL1
// of the Unicorn CPU model every Cpu engine runs (Unicorn's default model per arch: x86_64
// "qemu64", arm64 Cortex-A72). /proc/cpuinfo is formatted from it, so what the file says and
// what CPUID (or AT_HWCAP) answers cannot disagree.
#pragma once

#include <array>
#include <cstdint>

#include "probesim/types.h"

namespace probesim::emu {

struct CpuidLeaf {
  uint32_t leaf = 0, subleaf = 0;
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

struct CpuIdentity {
  Arch arch = Arch::X86_64;
  // x86_64: the leaves /proc/cpuinfo reads (kCpuidLeaves' order); all zero on arm64.
  std::array<CpuidLeaf, 11> cpuid{};
  uint64_t midr = 0;  // arm64: MIDR_EL1; 0 on x86_64

  // The leaf as CPUID answers it; a leaf not queried reads all zero.
  CpuidLeaf leaf(uint32_t leaf, uint32_t subleaf = 0) const;
};

// Queried once per arch from a throwaway engine of the same model (a few ms), then cached;
// thread-safe. Deterministic: the model's answers do not depend on the host CPU.
const CpuIdentity& cpu_identity(Arch arch);

}  // namespace probesim::emu
