// X86Kprobes: kprobes on x86-64 in Linux's v6 model (arch/x86/kernel/kprobes/core.c): int3
// (CC) breakpoints; the probed instruction copied to a 16-byte slot as [insn][CC] or, boosted,
// [insn][E9 rel32 -> addr+len]; RIP-relative disp32 rebased to the slot; branches, calls, rets,
// loops and IF modifiers emulated inside the first trap; can_probe decodes from the function
// start to prove an instruction boundary (-EILSEQ).
#pragma once

#include "probes/arch/kprobe_arch.h"
#include "probes/arch/x86_64/x86_insn.h"

namespace probesim::probes::x86 {

constexpr uint8_t kInt3 = 0xcc;  // INT3_INSN_OPCODE
constexpr uint8_t kJmp32 = 0xe9;  // JMP32_INSN_OPCODE
constexpr uint64_t kKernelCs = 0x10;  // __KERNEL_CS (GDT_ENTRY_KERNEL_CS 2 * 8)

class X86Kprobes final : public KprobeArch {
 public:
  Arch arch() const override { return Arch::X86_64; }
  std::span<const uint8_t> breakpoint() const override;
  size_t opcode_size() const override { return 1; }
  size_t insn_slot_size() const override { return kMaxInsnSize; }
  GuestAddr probe_address(const Regs& regs) const override { return regs.ip() - 1; }

  Result<ArchInsn> prepare(GuestAddr addr, const TextReader& text,
                           const SymbolSource& syms) const override;
  Result<ArchInsn> analyze(GuestAddr addr, std::span<const uint8_t> code) const override;
  Result<std::vector<uint8_t>> slot_contents(const ArchInsn& insn, GuestAddr addr,
                                             GuestAddr slot, bool boosted) const override;
  EmulateResult emulate(const ArchInsn& insn, GuestAddr addr, Regs& regs,
                        KernelMemory& mem) const override;

  uint64_t enter_slot(GuestAddr slot, Regs& regs) const override;
  bool is_step_trap(GuestAddr slot, const Regs& regs) const override;
  void leave_slot(const ArchInsn& insn, GuestAddr addr, Regs& regs,
                  uint64_t saved) const override;

  std::optional<Hijack> hijack_return(Regs& regs, KernelMemory& mem,
                                      GuestAddr tramp) const override;
  GuestAddr trampoline_frame(const Regs& regs) const override { return GuestAddr{regs.sp() - 8}; }
  std::optional<GuestAddr> unframed_return_address(GuestAddr fn, GuestAddr at,
                                                   const Regs& regs,
                                                   const TextReader& text,
                                                   const KernelMemory& mem) const override;
  void return_to(Regs& regs, GuestAddr ret_addr) const override { regs.set_ip(ret_addr); }

  // optprobes (x86_optprobe.cc)
  size_t optinsn_slot_size() const override;
  OptPrep prepare_optimized(GuestAddr addr, const TextReader& text,
                            const SymbolSource& syms) const override;
  Result<std::vector<uint8_t>> detour_contents(const OptPrep& prep, GuestAddr addr,
                                               GuestAddr slot, uint64_t op,
                                               GuestAddr callback) const override;
  size_t detour_copy_offset() const override;
  std::vector<uint8_t> optimized_jump(GuestAddr addr, GuestAddr slot) const override;
  void optimized_regs(GuestAddr addr, Regs& regs) const override;
  bool optimized_restores(unsigned index) const override;

  const X86Decoder& decoder() const { return decoder_; }

 private:
  // can_optimize; `at` = the offending instruction.
  OptRefusal can_optimize(GuestAddr addr, const TextReader& text, const SymbolSource& syms,
                          GuestAddr& at) const;
  bool can_probe(GuestAddr addr, const TextReader& text, const SymbolSource& syms) const;

  X86Decoder decoder_;
};

// Reads up to kMaxInsnSize original bytes at addr (fewer near the end of mapped text).
size_t read_insn_bytes(const TextReader& text, GuestAddr addr, std::span<uint8_t, kMaxInsnSize> out);

}  // namespace probesim::probes::x86
