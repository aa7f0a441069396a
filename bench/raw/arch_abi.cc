#include "bench/raw/arch_abi.h"

#include <elf.h>

#include "probesim/assert.h"

namespace probesim::bench {
namespace {

// Layouts follow Linux with ASLR off (ELF_ET_DYN_BASE, TASK_SIZE) so that addresses look
// familiar; AT_HWCAP is what glibc expects to see (x86-64: CPUID.1:EDX of a qemu64-class CPU,
// glibc reads CPUID itself anyway; arm64: HWCAP_FP | HWCAP_ASIMD, docs/stack-facts.md §9).
constexpr ArchAbi kAbis[] = {
    {Arch::X86_64,
     EM_X86_64,
     UC_ARCH_X86,
     UC_MODE_64,
     UC_X86_REG_RIP,
     UC_X86_REG_RSP,
     UC_X86_REG_RAX,
     {UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX, UC_X86_REG_R10, UC_X86_REG_R8, UC_X86_REG_R9},
     UC_X86_REG_RAX,
     0x555555554000,
     0x7f0000000000,
     0x7ffffffff000,
     0x078bfbff,
     "x86_64"},
    {Arch::AArch64,
     EM_AARCH64,
     UC_ARCH_ARM64,
     UC_MODE_ARM,
     UC_ARM64_REG_PC,
     UC_ARM64_REG_SP,
     UC_ARM64_REG_X8,
     {UC_ARM64_REG_X0, UC_ARM64_REG_X1, UC_ARM64_REG_X2, UC_ARM64_REG_X3, UC_ARM64_REG_X4,
      UC_ARM64_REG_X5},
     UC_ARM64_REG_X0,
     0xaaaaaaaa0000,
     0xffff00000000,
     0xfffffffff000,
     0x3,
     "aarch64"},
};

}  // namespace

const ArchAbi& abi_for(Arch arch) {
  for (const ArchAbi& abi : kAbis)
    if (abi.arch == arch) return abi;
  PROBESIM_ASSERT_MSG(false, "no ArchAbi row for an Arch value");
}

const ArchAbi* abi_for_machine(uint16_t e_machine) {
  for (const ArchAbi& abi : kAbis)
    if (abi.e_machine == e_machine) return &abi;
  return nullptr;
}

}  // namespace probesim::bench
