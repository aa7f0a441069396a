// Arm64Uprobes: uprobes on AArch64 (Linux arch/arm64/kernel/probes/uprobes.c): BRK #5
// breakpoints; instructions decoded with kprobes' arm_probe_decode_insn tables (rejected ->
// EINVAL; PC-relative and branch instructions simulated: adr/adrp, ldr/ldrsw literal, b, bl,
// b.cond, cbz/cbnz, tbz/tbnz, br/blr/ret, nop); the rest stepped as [insn][BRK #6] in an
// 8-byte slot (our stand-in for Linux's hardware single-step). Return hijack swaps x30.
#pragma once

#include "probes/arch/arm64/arm64_kprobes.h"
#include "probes/uprobes/uprobe_arch.h"

namespace probesim::probes::arm64 {

class Arm64Uprobes final : public UprobeArch {
 public:
  Arch arch() const override { return Arch::AArch64; }
  std::span<const uint8_t> swbp() const override;
  size_t insn_bytes() const override { return 4; }
  size_t xol_slot_bytes() const override { return 8; }
  bool is_trap_insn(std::span<const uint8_t> code) const override;
  GuestAddr swbp_addr(const Regs& regs) const override { return regs.ip(); }
  std::vector<uint8_t> trampoline() const override;

  Result<ArchUprobe> analyze(std::span<const uint8_t> code, GuestAddr vaddr) const override;
  EmulateResult emulate(const ArchUprobe& au, GuestAddr vaddr, Regs& regs,
                        KernelMemory& mem) const override;
  uint64_t pre_xol(const ArchUprobe&, GuestAddr, GuestAddr xol, Regs& regs) const override {
    regs.set_ip(xol);
    return 0;
  }
  bool is_ss_trap(const ArchUprobe&, GuestAddr xol, const Regs& regs) const override {
    return regs.ip() == xol + 4;  // the BRK #6 after the copy
  }
  void post_xol(const ArchUprobe&, GuestAddr vaddr, Regs& regs, uint64_t) const override {
    regs.set_ip(vaddr + 4);
  }
  void abort_xol(const ArchUprobe&, GuestAddr vaddr, Regs& regs, uint64_t) const override {
    regs.set_ip(vaddr);
  }

  std::optional<GuestAddr> hijack_return_addr(GuestAddr tramp, Regs& regs,
                                              KernelMemory& mem) const override;
  bool is_alive(uint64_t ri_stack, RpCheck ctx, const Regs& regs) const override {
    return ctx == RpCheck::ChainCall ? regs.sp() <= ri_stack : regs.sp() < ri_stack;
  }

 private:
  Arm64Kprobes decoder_;  // arm_probe_decode_insn (analyze) and the simulation table
};

}  // namespace probesim::probes::arm64
