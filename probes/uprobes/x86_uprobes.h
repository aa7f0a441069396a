// X86Uprobes: uprobes on x86-64 (Linux arch/x86/kernel/uprobes.c, v6.x). int3 (CC)
// breakpoints; instructions checked against Linux's good_insns_64 / good_2byte_insns tables;
// relative branches, nops and `push reg` emulated as Linux does; RIP-relative operands
// rewritten to a scratch register (rsi, else rdi, else rbx) that pre_xol loads with the
// address of the next original instruction; the rest stepped as [copy][int3] in a 128-byte
// slot. Because the step ends at that int3 rather than with the trap flag, every other
// instruction that changes ip is emulated too (ret, loop/jcxz, call/jmp through a register or
// memory); far returns and far indirect branches are refused (Linux would step them).
#pragma once

#include "probes/arch/x86_64/x86_insn.h"
#include "probes/uprobes/uprobe_arch.h"

namespace probesim::probes::x86 {

// Emulations only uprobes need (ArchUprobe::uop).
enum class X86UprobeOp : uint8_t { None = 0, Push, MemIndirect };

class X86Uprobes final : public UprobeArch {
 public:
  Arch arch() const override { return Arch::X86_64; }
  std::span<const uint8_t> swbp() const override;
  size_t insn_bytes() const override { return kMaxInsnSize; }
  size_t xol_slot_bytes() const override { return 128; }
  bool is_trap_insn(std::span<const uint8_t> code) const override;
  GuestAddr swbp_addr(const Regs& regs) const override { return regs.ip() - 1; }
  std::vector<uint8_t> trampoline() const override;

  Result<ArchUprobe> analyze(std::span<const uint8_t> code, GuestAddr vaddr) const override;
  EmulateResult emulate(const ArchUprobe& au, GuestAddr vaddr, Regs& regs,
                        KernelMemory& mem) const override;
  uint64_t pre_xol(const ArchUprobe& au, GuestAddr vaddr, GuestAddr xol, Regs& regs) const override;
  bool is_ss_trap(const ArchUprobe& au, GuestAddr xol, const Regs& regs) const override {
    return regs.ip() == xol + au.len + 1;  // just after the int3 that follows the copy
  }
  void post_xol(const ArchUprobe& au, GuestAddr vaddr, Regs& regs, uint64_t saved) const override;
  void abort_xol(const ArchUprobe& au, GuestAddr vaddr, Regs& regs, uint64_t saved) const override;

  std::optional<GuestAddr> hijack_return_addr(GuestAddr tramp, Regs& regs,
                                              KernelMemory& mem) const override;
  bool is_alive(uint64_t ri_stack, RpCheck ctx, const Regs& regs) const override {
    // sp was just decremented by the call: a live frame is strictly above it.
    return ctx == RpCheck::Call ? regs.sp() < ri_stack : regs.sp() <= ri_stack;
  }

 private:
  X86Decoder decoder_;
};

// Good-instruction tables (arch/x86/kernel/uprobes.c good_insns_64, good_2byte_insns).
bool good_insn_64(uint8_t opcode);
bool good_2byte_insn(uint8_t opcode2);

}  // namespace probesim::probes::x86
