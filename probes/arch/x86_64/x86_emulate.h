// x86-64 kprobe instruction emulation (Linux v6 arch/x86/kernel/kprobes/core.c:
// prepare_emulation + kprobe_emulate_*): instructions that change ip or IF are not run from the
// slot but done as register math inside the first int3. One function per op, in a table.
#pragma once

#include <cstdint>

#include "probes/arch/kprobe_arch.h"

namespace probesim::probes::x86 {

enum class X86Op : uint8_t {
  None = 0,
  IfModifier,    // fa cli, fb sti, 9c pushf, 9d popf (ArchInsn::cond = the opcode)
  Ret,           // c3 ret, c2 ret imm16 (ArchInsn::rel = imm16)
  Call,          // e8 call rel32
  Jmp,           // eb / e9 jmp rel
  Jcc,           // 70-7f, 0f 80-8f (ArchInsn::cond = condition nibble)
  Loop,          // e0 loopne, e1 loope, e2 loop, e3 jrcxz (cond = type, asize = 32/64)
  CallIndirect,  // ff /2, register form (reg = Linux addrmode index)
  JmpIndirect,   // ff /4, register form
  kCount
};

constexpr uint64_t kFlagCF = 1u << 0, kFlagPF = 1u << 2, kFlagAF = 1u << 4, kFlagZF = 1u << 6,
                   kFlagSF = 1u << 7, kFlagTF = 1u << 8, kFlagIF = 1u << 9, kFlagDF = 1u << 10,
                   kFlagOF = 1u << 11;

// The standard x86 condition codes (Jcc low nibble) evaluated on flags.
bool condition_holds(uint8_t cc, uint64_t flags);
// pt_regs index of Linux's addrmode register number (ax cx dx bx sp bp si di r8..r15).
unsigned addrmode_reg(uint8_t n);

EmulateResult emulate(const ArchInsn& insn, GuestAddr addr, Regs& regs, KernelMemory& mem);

}  // namespace probesim::probes::x86
