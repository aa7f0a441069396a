// X86Fpu: what probesim adds to the x87/SSE unit of one Unicorn x86-64 engine (QEMU 5.0's
// target/i386), so guests see the FPU Linux and the hardware give them. Part of the Cpu
// realization: like Cpu, it calls uc_* on the Cpu's engine, and only from the Cpu's thread.
//
//  - Start state (init_state): Linux's init_fpstate (arch/x86/kernel/fpu/init.c,
//    fpstate_init_fx): FCW 0x037f, FSW 0, an empty x87 stack, MXCSR 0x1f80, zero registers.
//    Unicorn's reset leaves FCW and MXCSR 0 (24-bit long double, every exception unmasked).
//  - Exception flags: QEMU 5.0 accumulates IEEE flags in the softfloat status of each unit
//    (env->fp_status, env->sse_status) but never folds them into FSW/MXCSR. Invariant kept
//    here: the guest's flags = the register's flags | the pending softfloat flags. fold()
//    moves the pending flags into FSW/MXCSR; it runs before every instruction that reads or
//    loads them (fold sites: fnstsw, fnstenv, fnsave, fnclex, fninit, fldenv, frstor,
//    stmxcsr, ldmxcsr, fxsave/fxrstor, xsave*/xrstor*), and before signal frames, sigreturn
//    and exec use the state. A loading instruction then overwrites what was folded.
//    The softfloat flags are reached through the engine's saved context at byte offsets
//    found once per process by experiment on a scratch engine (flag_offsets()).
//    QEMU sets FSW.ZE for 0/0, inf/0 and NaN/0 too: x87 divisions are sites that mark ZE
//    untrusted (in env->fpop, unused by QEMU), and fold() keeps only softfloat's divbyzero.
//  - x87 transcendental and remainder instructions (fyl2x, fyl2xp1, f2xm1, fpatan, fptan,
//    fsin, fcos, fsincos, fprem, fprem1, fscale, fxtract) are computed by QEMU 5.0 through host
//    doubles. On an x86-64 host they run on the host x87 instead (host sites), with the
//    guest's whole x87 state loaded, so results, condition codes, stack and flags are the
//    hardware's, bit for bit. Other hosts keep Unicorn's results.
#pragma once

#include <capstone/capstone.h>
#include <unicorn/unicorn.h>

#include <cstdint>
#include <optional>

#include "emu/cycle_model.h"

namespace probesim::emu {

class X86Fpu {
 public:
  static constexpr size_t kFxsaveSize = 512;

  // EmulatedKind::FpuFold or FpuHostX87 for an FPU site (see above), else None.
  static EmulatedKind site_of(const cs_insn& insn);
  // Byte offsets of the x87 and SSE softfloat exception flags inside a uc_context of this
  // Unicorn (nullopt when Unicorn folds the flags itself). Calibrated once per process.
  struct FlagOffsets {
    size_t x87, sse;
  };
  static const std::optional<FlagOffsets>& flag_offsets();

  explicit X86Fpu(uc_engine* uc);
  ~X86Fpu();
  X86Fpu(const X86Fpu&) = delete;
  X86Fpu& operator=(const X86Fpu&) = delete;

  // Linux's initial FPU state (exec, a new engine, a signal handler's entry).
  void init_state();
  // Once per engine: the CR4 bits Linux sets for FXSAVE/SSE (the guest's fxsave/fxrstor then
  // save and load MXCSR and XMM0-15, and SSE exceptions are SIMD exceptions).
  void enable_os_support();
  // From the code hook before the instruction of a site of `kind` runs; last_byte is the
  // instruction's last byte (D9 xx: xx names the x87 operation). True when it was executed
  // here: the caller then moves PC past it.
  bool at_site(EmulatedKind kind, uint8_t last_byte);
  // Moves the pending softfloat flags into FSW and MXCSR (see the invariant above).
  void fold();
  // The x87/SSE state as FXSAVE stores it (Intel SDM vol. 1, 10.5.1), flags folded; XMM0-15.
  void fxsave(uint8_t out[kFxsaveSize]);
  // Loads an FXSAVE image (pending flags are dropped: the image's flags replace them).
  void fxrstor(const uint8_t in[kFxsaveSize]);

 private:
  void before_divide();
  void drop_untrusted_ze();

  uc_engine* uc_;
  uc_context* scratch_ = nullptr;  // for fold(): the engine's state as bytes
};

}  // namespace probesim::emu
