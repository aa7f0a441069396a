// arm64 kprobe simulation (Linux arch/arm64/kernel/probes/simulate-insn.c): instructions that
// read or write the PC cannot run from a slot and are done as register math in the first trap.
// One function per op, in a table; ArchInsn::bytes holds the instruction word.
#pragma once

#include <cstdint>

#include "probes/arch/kprobe_arch.h"

namespace probesim::probes::arm64 {

enum class Arm64Op : uint8_t {
  None = 0,
  BCond,     // b.cond
  CbzCbnz,   // cbz / cbnz (X or W)
  TbzTbnz,   // tbz / tbnz
  AdrAdrp,   // adr / adrp
  BBl,       // b / bl
  BrBlrRet,  // br / blr / ret
  LdrLit,    // ldr (literal) X or W
  LdrswLit,  // ldrsw (literal)
  Nop,       // nop (simulated by Linux 6.x for speed)
  kCount
};

// Classifies a non-steppable word; None if it cannot be simulated (INSN_REJECTED).
Arm64Op simulate_op(uint32_t insn);
// A64 ConditionHolds on PSTATE.NZCV.
bool condition_holds(uint8_t cond, uint64_t pstate);

EmulateResult simulate(const ArchInsn& insn, GuestAddr addr, Regs& regs, KernelMemory& mem);

}  // namespace probesim::probes::arm64
