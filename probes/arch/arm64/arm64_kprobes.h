// Arm64Kprobes: kprobes on AArch64 (Linux arch/arm64/kernel/probes/{kprobes,decode-insn}.c):
// BRK #4 breakpoints; steppable instructions copied to an 8-byte slot [insn][BRK #6] and run
// with DAIF masked; PC-relative and branch instructions simulated (arm64_simulate.h); others
// rejected, as are probes inside a load/store-exclusive sequence (backward scan of up to 32
// instructions, bounded by the function start).
#pragma once

#include "probes/arch/kprobe_arch.h"

namespace probesim::probes::arm64 {

constexpr size_t kMaxAtomicContext = 32;  // MAX_ATOMIC_CONTEXT_SIZE (128 bytes / 4)

class Arm64Kprobes final : public KprobeArch {
 public:
  Arch arch() const override { return Arch::AArch64; }
  std::span<const uint8_t> breakpoint() const override;
  size_t opcode_size() const override { return 4; }
  size_t insn_slot_size() const override { return 8; }
  GuestAddr probe_address(const Regs& regs) const override { return regs.ip(); }

  Result<ArchInsn> prepare(GuestAddr addr, const TextReader& text,
                           const SymbolSource& syms) const override;
  Result<ArchInsn> analyze(GuestAddr addr, std::span<const uint8_t> code) const override;
  Result<std::vector<uint8_t>> slot_contents(const ArchInsn& insn, GuestAddr addr,
                                             GuestAddr slot, bool boosted) const override;
  EmulateResult emulate(const ArchInsn& insn, GuestAddr addr, Regs& regs,
                        KernelMemory& mem) const override;

  uint64_t enter_slot(GuestAddr slot, Regs& regs) const override;
  bool is_step_trap(GuestAddr slot, const Regs& regs) const override {
    return regs.ip() == slot + 4;
  }
  void leave_slot(const ArchInsn& insn, GuestAddr addr, Regs& regs,
                  uint64_t saved) const override;

  std::optional<Hijack> hijack_return(Regs& regs, KernelMemory& mem,
                                      GuestAddr tramp) const override;
  GuestAddr trampoline_frame(const Regs& regs) const override { return GuestAddr{regs.sp()}; }
  std::optional<GuestAddr> unframed_return_address(GuestAddr fn, GuestAddr at,
                                                   const Regs& regs,
                                                   const TextReader& text,
                                                   const KernelMemory& mem) const override;
  void return_to(Regs& regs, GuestAddr ret_addr) const override;

  // optprobes beyond mainline (arm64_optprobe.cc)
  size_t optinsn_slot_size() const override;
  OptPrep prepare_optimized(GuestAddr addr, const TextReader& text,
                            const SymbolSource& syms) const override;
  Result<std::vector<uint8_t>> detour_contents(const OptPrep& prep, GuestAddr addr,
                                               GuestAddr slot, uint64_t op,
                                               GuestAddr callback) const override;
  size_t detour_copy_offset() const override;
  std::vector<uint8_t> optimized_jump(GuestAddr addr, GuestAddr slot) const override;
  size_t optimized_jump_size() const override { return 4; }
  void optimized_regs(GuestAddr addr, Regs& regs) const override;
  bool optimized_restores(unsigned index) const override;

 private:
  bool in_atomic_sequence(GuestAddr addr, const TextReader& text, const SymbolSource& syms) const;
};

}  // namespace probesim::probes::arm64
