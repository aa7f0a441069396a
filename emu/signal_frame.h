// Linux's rt_sigframe for x86_64 and arm64, written into guest memory on signal delivery and
// read back by rt_sigreturn. Layouts: arch/x86/include/uapi/asm/sigcontext.h + ucontext.h
// (uc_mcontext at 40, sigcontext 256 bytes, uc_sigmask at 296, siginfo after the ucontext,
// legacy fxsave fpstate), arch/arm64/include/uapi/asm/sigcontext.h + kernel/signal.c
// (siginfo, then ucontext with uc_mcontext at 176, __reserved holding fpsimd_context).
#pragma once

#include <cstdint>

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
  uint64_t saved_mask;  // the mask to restore on sigreturn
};

// Builds the frame on the current stack and points the CPU at the handler. False when the
// frame cannot be written (bad stack) or x86_64 lacks SA_RESTORER: the caller then kills the
// process with SIGSEGV, as Linux's force_sigsegv does.
bool setup_rt_frame(UserRegs& cpu, mmu::Mm& mm, const FrameRequest& req);

// rt_sigreturn: restores registers, FP/SIMD state and returns the saved signal mask. False on a
// bad frame (the caller kills with SIGSEGV).
bool restore_rt_frame(UserRegs& cpu, const mmu::Mm& mm, uint64_t* mask);

}  // namespace probesim::emu
