// Linux's rt_sigframe for x86_64 and arm64, written into guest memory on signal delivery and
// read back by rt_sigreturn. Layouts: arch/x86/include/uapi/asm/sigcontext.h + ucontext.h
// (uc_mcontext at 40, sigcontext 256 bytes, uc_sigmask at 296, siginfo after the ucontext,
// legacy fxsave fpstate), arch/arm64/include/uapi/asm/sigcontext.h + kernel/signal.c
// (siginfo, then ucontext with uc_mcontext at 176, __reserved holding fpsimd_context).
#pragma once

#include <cstdint>
#include <vector>

#include "emu/user_regs.h"
#include "emu/signals.h"
#include "mmu/mm.h"

namespace probesim::emu {

struct FrameRequest {
  int sig;
  SigInfo info;
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t sigtramp;    // arm64 without SA_RESTORER: the vDSO's __kernel_rt_sigreturn (0: none)
  uint64_t saved_mask;  // the mask to restore on sigreturn
  AltStack altstack;    // the task's sigaltstack: saved as uc_stack; SA_ONSTACK frames go there
};

// Builds the frame and points the CPU at the handler: on the current stack, or for an
// SA_ONSTACK handler on the alternate stack when one is set and not in use (Linux's sigsp).
// False when the frame cannot be written (a bad stack, e.g. an unmapped alternate stack) or
// x86_64 lacks SA_RESTORER: the caller then kills the process with SIGSEGV, as Linux's
// force_sigsegv does.
bool setup_rt_frame(UserRegs& cpu, mmu::Mm& mm, const FrameRequest& req);

// siginfo_t as the guest sees it (128 bytes): for sigtimedwait/waitid-style copies.
inline constexpr size_t kSiginfoSize = 128;
std::vector<uint8_t> siginfo_bytes(const SigInfo& si);

// What rt_sigreturn reads back besides the registers.
struct RestoredFrame {
  uint64_t mask = 0;  // the signal mask to restore
  AltStack uc_stack;  // the sigaltstack the frame saved (restore_altstack)
};

// rt_sigreturn: restores registers and FP/SIMD state. False on a bad frame (the caller kills
// with SIGSEGV).
bool restore_rt_frame(UserRegs& cpu, const mmu::Mm& mm, RestoredFrame* out);

}  // namespace probesim::emu
