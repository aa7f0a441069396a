#include "emu/arch_info.h"

namespace probesim::emu {
namespace {

// x86_64: TASK_SIZE_MAX = 2^47 - 4096. With ASLR off Linux puts the stack top at TASK_SIZE and
// mmap_base at TASK_SIZE - (RLIMIT_STACK 8 MiB + stack guard gap 1 MiB rounded to 128 MiB min gap)
// = 0x7ffff7fff000, which is what gdb shows for non-randomized processes.
// AT_HWCAP on x86 is CPUID.1:EDX of the CPU model; Unicorn's default model is qemu64, whose
// CPUID.1:EDX is 0x078bfbff (fpu..sse2 without ht). AT_HWCAP2 = 0x2 (HWCAP2_FSGSBASE).
constexpr ArchInfo kX86_64{
    .arch = Arch::X86_64,
    .uc_arch_id = UC_ARCH_X86,
    .uc_mode_id = UC_MODE_64,
    .reg_pc = UC_X86_REG_RIP,
    .reg_sp = UC_X86_REG_RSP,
    .reg_syscall_nr = UC_X86_REG_RAX,
    .reg_ret = UC_X86_REG_RAX,
    .reg_args = {UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX, UC_X86_REG_R10, UC_X86_REG_R8,
                 UC_X86_REG_R9},
    .reg_tls = UC_X86_REG_FS_BASE,
    .syscall_insn_len = 2,
    .platform = "x86_64",
    .hwcap = 0x078bfbff,
    .hwcap2 = 0x2,
    .task_size = 0x7ffffffff000,
    .stack_top = 0x7ffffffff000,
    .mmap_base = 0x7ffff7fff000,
    .uname_machine = "x86_64",
};

// arm64 with 48-bit VA: TASK_SIZE = 2^48. AT_HWCAP = FP|ASIMD|EVTSTRM-less minimal set the
// Cortex-A72 model implements: HWCAP_FP (1<<0) | HWCAP_ASIMD (1<<1) | HWCAP_CPUID (1<<11).
constexpr ArchInfo kAArch64{
    .arch = Arch::AArch64,
    .uc_arch_id = UC_ARCH_ARM64,
    .uc_mode_id = UC_MODE_ARM,
    .reg_pc = UC_ARM64_REG_PC,
    .reg_sp = UC_ARM64_REG_SP,
    .reg_syscall_nr = UC_ARM64_REG_X8,
    .reg_ret = UC_ARM64_REG_X0,
    .reg_args = {UC_ARM64_REG_X0, UC_ARM64_REG_X1, UC_ARM64_REG_X2, UC_ARM64_REG_X3,
                 UC_ARM64_REG_X4, UC_ARM64_REG_X5},
    .reg_tls = UC_ARM64_REG_TPIDR_EL0,
    .syscall_insn_len = 4,
    .platform = "aarch64",
    .hwcap = (1u << 0) | (1u << 1),
    .hwcap2 = 0,
    .task_size = 0x1000000000000,
    .stack_top = 0xfffffffff000,
    .mmap_base = 0xfffff7fff000,
    .uname_machine = "aarch64",
};

}  // namespace

const ArchInfo& arch_info(Arch arch) { return arch == Arch::X86_64 ? kX86_64 : kAArch64; }

}  // namespace probesim::emu
