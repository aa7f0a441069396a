// Instructions probesim must not hand to Unicorn as they are. Two kinds, both decided before
// Unicorn runs them (docs/conventions.md §6: a guest misdeed is a value, never a host crash):
//  - translator aborts: byte patterns on which Unicorn 2.1.1's translator calls tcg_abort()
//    (found by fuzz/insn_blocks, see fuzz/README.md). Cpu checks every code byte Unicorn fetches
//    while translating user code and stops the translation before it reaches such an
//    instruction; the guest gets what the CPU raises (#UD: SIGILL).
//  - user-mode sites: instructions that Unicorn, running the guest at CPL0 / EL1, would execute
//    but that Linux user code cannot (privileged instructions, EL1 system registers). Decided
//    per instruction when CycleModel decodes a block (EmulatedKind::UserTrap / UserNop); Cpu
//    hooks each such site and never lets Unicorn execute it.
#pragma once

#include <capstone/capstone.h>

#include <cstdint>
#include <optional>
#include <span>

#include "emu/cycle_model.h"
#include "probesim/types.h"

namespace probesim::emu {

// Unicorn intno values of the traps a site raises (x86 vectors / QEMU arm64 EXCP_*).
inline constexpr uint32_t kX86Ud = 6;   // #UD -> SIGILL
inline constexpr uint32_t kX86Gp = 13;  // #GP -> SIGSEGV (SI_KERNEL)
inline constexpr uint32_t kArm64Udef = 1;

// The UserTrap / UserNop site for `insn` at a user address, if any.
std::optional<EmulatedSite> user_site(Arch arch, const cs_insn& insn);

// Longest instruction: x86 15 bytes, arm64 4.
inline constexpr size_t kMaxInsnBytes = 15;

// True when an instruction starting at code[0] would make Unicorn's translator abort the host.
// `code` holds the bytes from there on (fewer near the end of a mapping). Exact for the
// patterns fuzzing found; every pattern is also an instruction the real CPU rejects with #UD.
bool aborts_translator(Arch arch, std::span<const uint8_t> code);

}  // namespace probesim::emu
