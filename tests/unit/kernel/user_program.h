// The user side of the syscall tests: one syscall instruction and a pt_regs image whose
// registers all hold distinct patterns, so a test can tell every register apart.
#pragma once

#include <cstdint>
#include <vector>

#include "kernel_harness.h"

namespace probesim::kernel_test {

inline constexpr uint64_t kX86UserFlags = 0x283;  // IF SF CF + the reserved bit
inline constexpr uint64_t kArm64UserPstate = 0x80000000 | 0x3c0 | ARM64_PSTATE_EL1T;  // N set

// x86_64 `syscall` / arm64 `svc #0`; the harness stops right after it.
inline std::vector<uint8_t> syscall_insn(Arch a) {
  if (a == Arch::X86_64) return {0x0f, 0x05};
  return {0x01, 0x00, 0x00, 0xd4};
}

inline uint64_t pattern(size_t i) { return 0xa5a5000000000000 | (i << 32) | (i * 0x01010101); }

// pt_regs word index of syscall argument n and of the number / return register.
inline size_t arg_word(Arch a, size_t n) {
  static constexpr size_t kX86[] = {PTREGS_X86_64_DI / 8, PTREGS_X86_64_SI / 8,
                                    PTREGS_X86_64_DX / 8, PTREGS_X86_64_R10 / 8,
                                    PTREGS_X86_64_R8 / 8, PTREGS_X86_64_R9 / 8};
  return a == Arch::X86_64 ? kX86[n] : n;
}
inline size_t nr_word(Arch a) { return a == Arch::X86_64 ? PTREGS_X86_64_AX / 8 : 8; }
inline size_t ret_word(Arch a) { return a == Arch::X86_64 ? PTREGS_X86_64_AX / 8 : 0; }
inline size_t ip_word(Arch a) { return a == Arch::X86_64 ? PTREGS_X86_64_IP / 8 : PTREGS_ARM64_PC / 8; }
inline size_t sp_word(Arch a) { return a == Arch::X86_64 ? PTREGS_X86_64_SP / 8 : PTREGS_ARM64_SP / 8; }
inline size_t flags_word(Arch a) {
  return a == Arch::X86_64 ? PTREGS_X86_64_FLAGS / 8 : PTREGS_ARM64_PSTATE / 8;
}
// The general-purpose register words: x86_64 r15..di, arm64 x0..x30.
inline size_t gpr_words(Arch a) { return a == Arch::X86_64 ? PTREGS_X86_64_ORIG_AX / 8 : 31; }

// The first user program's pt_regs: patterns everywhere, `nr` in rax/x8, `args` in the
// syscall argument registers, ip/pc at the user code, sp at the user stack.
inline std::vector<uint64_t> user_regs(Arch a, uint64_t nr, const std::vector<uint64_t>& args = {}) {
  std::vector<uint64_t> r((a == Arch::X86_64 ? PTREGS_X86_64_SIZE : PTREGS_ARM64_SIZE) / 8, 0);
  for (size_t i = 0; i < gpr_words(a); i++) r[i] = pattern(i);
  r[nr_word(a)] = nr;
  for (size_t i = 0; i < args.size(); i++) r[arg_word(a, i)] = args[i];
  r[ip_word(a)] = KernelHarness::kUserCode.value;
  r[sp_word(a)] = KernelHarness::kUserStackTop.value;
  r[flags_word(a)] = a == Arch::X86_64 ? kX86UserFlags : kArm64UserPstate;
  if (a == Arch::X86_64) {
    r[PTREGS_X86_64_CS / 8] = X86_64_USER_CS;
    r[PTREGS_X86_64_SS / 8] = X86_64_USER_DS;
  }
  return r;
}

// Syscall numbers per arch.
struct Nr {
  uint64_t x86_64, arm64;
  uint64_t of(Arch a) const { return a == Arch::X86_64 ? x86_64 : arm64; }
};
inline constexpr Nr kGetpid{39, 172};
inline constexpr Nr kWrite{1, 64};
inline constexpr Nr kOpenat{257, 56};
inline constexpr Nr kMmap{9, 222};
inline constexpr Nr kClone{56, 220};
inline constexpr Nr kExit{60, 93};
inline constexpr Nr kExitGroup{231, 94};

// The Linux prefix of syscall wrappers.
inline std::string sys(Arch a, const std::string& name) {
  return (a == Arch::X86_64 ? "__x64_sys_" : "__arm64_sys_") + name;
}

}  // namespace probesim::kernel_test
