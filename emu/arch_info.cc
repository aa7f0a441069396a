#include "emu/arch_info.h"

namespace probesim::emu {
namespace {

// x86_64: TASK_SIZE_MAX = 2^47 - 4096. With ASLR off Linux puts the stack top at TASK_SIZE and
// mmap_base at TASK_SIZE - (RLIMIT_STACK 8 MiB + stack guard gap 1 MiB rounded to 128 MiB min gap)
// = 0x7ffff7fff000, which is what gdb shows for non-randomized processes.
// AT_HWCAP on x86 is ELF_HWCAP = boot_cpu_data.x86_capability[CPUID_1_EDX]: CPUID.1:EDX of
// the CPU model as the guest reads it, 0x078bfbfd for Unicorn's qemu64 (fpu..sse2, no vme,
// no ht). AT_HWCAP2 is 0: HWCAP2_FSGSBASE needs CPUID.7.0:EBX.FSGSBASE, which the model
// lacks (arch/x86/kernel/cpu/common.c). guest/tests/hwcap.c checks both against CPUID.
constexpr ArchInfo kX86_64{
    .arch = Arch::X86_64,
    .uc_arch_id = UC_ARCH_X86,
    .uc_mode_id = UC_MODE_64,
    .reg_pc = UC_X86_REG_RIP,
    .reg_sp = UC_X86_REG_RSP,
    .reg_fp = UC_X86_REG_RBP,
    .reg_syscall_nr = UC_X86_REG_RAX,
    .reg_ret = UC_X86_REG_RAX,
    .reg_args = {UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX, UC_X86_REG_R10, UC_X86_REG_R8,
                 UC_X86_REG_R9},
    .reg_tls = UC_X86_REG_FS_BASE,
    .syscall_insn_len = 2,
    .platform = "x86_64",
    .hwcap = 0x078bfbfd,
    .hwcap2 = 0,
    .task_size = 0x7ffffffff000,
    .stack_top = 0x7ffffffff000,
    .mmap_base = 0x7ffff7fff000,
    .uname_machine = "x86_64",
    .minsigstksz = 2048,  // arch/x86/include/uapi/asm/signal.h
    .epoll_data_offset = 4,  // include/uapi/linux/eventpoll.h: EPOLL_PACKED on x86-64
};

// arm64 with 48-bit VA: TASK_SIZE = 2^48. AT_HWCAP = the features Unicorn's Cortex-A72 model
// executes (arch/arm64/include/uapi/asm/hwcap.h): FP (1<<0), ASIMD (1<<1), AES (1<<3),
// PMULL (1<<4), SHA1 (1<<5), SHA2 (1<<6), CRC32 (1<<7). Not EVTSTRM (no timer event stream),
// not CPUID (EL0 reads of ID registers are not emulated), no ARMv8.1+ features (ATOMICS...).
// guest/tests/hwcap.c executes an instruction of each feature and checks the claim.
constexpr ArchInfo kAArch64{
    .arch = Arch::AArch64,
    .uc_arch_id = UC_ARCH_ARM64,
    .uc_mode_id = UC_MODE_ARM,
    .reg_pc = UC_ARM64_REG_PC,
    .reg_sp = UC_ARM64_REG_SP,
    .reg_fp = UC_ARM64_REG_X29,
    .reg_syscall_nr = UC_ARM64_REG_X8,
    .reg_ret = UC_ARM64_REG_X0,
    .reg_args = {UC_ARM64_REG_X0, UC_ARM64_REG_X1, UC_ARM64_REG_X2, UC_ARM64_REG_X3,
                 UC_ARM64_REG_X4, UC_ARM64_REG_X5},
    .reg_tls = UC_ARM64_REG_TPIDR_EL0,
    .syscall_insn_len = 4,
    .platform = "aarch64",
    .hwcap = (1u << 0) | (1u << 1) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7),
    .hwcap2 = 0,
    .task_size = 0x1000000000000,
    .stack_top = 0xfffffffff000,
    .mmap_base = 0xfffff7fff000,
    .uname_machine = "aarch64",
    .minsigstksz = 5120,  // arch/arm64/include/uapi/asm/signal.h
    .epoll_data_offset = 8,
};

}  // namespace

const ArchInfo& arch_info(Arch arch) { return arch == Arch::X86_64 ? kX86_64 : kAArch64; }

}  // namespace probesim::emu
