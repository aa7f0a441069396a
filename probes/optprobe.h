// Optprobes (Linux CONFIG_OPTPROBES, kernel/kprobes.c + arch/x86/kernel/kprobes/opt.c): a kprobe
// whose int3 is replaced by a `jmp rel32` into a detour buffer that saves pt_regs, calls
// optimized_callback, restores, runs the displaced instructions and jumps back.
// OptRefusal says why a probe is (still) an int3 probe; every reason is visible through
// KprobeInfo and the Python API. Two kinds:
// - prepare refusals (arch_prepare_optimized_kprobe failed): permanent for this registration;
// - state refusals (optimize_kprobe's conditions): re-evaluated whenever the state changes
//   (a post-handler child leaves, a blocking probe goes away, the probe is enabled, ...).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "probesim/types.h"

namespace probesim::probes {

enum class OptRefusal : uint8_t {
  None,
  // prepare refusals
  NoArchSupport,      // the arch has no optprobes (KprobeArch::optinsn_slot_size() == 0)
  NoCallback,         // the kernel image has no optimized_callback (or none was given)
  NotInFunction,      // kallsyms_lookup_size_offset failed
  CrossesFunctionEnd, // size - offset < JMP32_INSN_SIZE
  Undecodable,        // an instruction of the function does not decode
  IndirectJump,       // the function has an indirect jump (a jump table may target the range)
  JumpIntoRange,      // a relative jump in the function targets the 4 bytes the rel32 overwrites
  NotRelocatable,     // an instruction of the copied range cannot run from the detour
  DetourOutOfRange,   // the detour is more than +-2 GiB away (-ERANGE)
  NoDetourSlot,       // no optinsn slot (-ENOMEM)
  // state refusals
  SysctlOff,          // debug.kprobes-optimization = 0
  PostHandler,        // a probe at the address has a post handler
  ProbeInRange,       // another kprobe is armed inside the jump's range
  Disabled,           // the probe (every probe at the address) is disabled
  AllDisarmed,        // kprobes/enabled = 0
  Gone,               // its text went away
};

// "indirect-jump", ... (stable names for the API) and a sentence for people.
std::string_view opt_refusal_name(OptRefusal r);
std::string_view opt_refusal_text(OptRefusal r);

// One instruction of the copied range (x86: RIP-relative disp32 at disp_offset, 0 = none).
struct OptCopiedInsn {
  GuestAddr addr;
  uint8_t len = 0;
  uint8_t disp_offset = 0;
  std::array<uint8_t, 16> bytes{};
};

// What arch_prepare_optimized_kprobe needs to know about a probed address, computed without a
// slot: refusal == None means the range [addr, addr + size) can be copied to a detour.
struct OptPrep {
  OptRefusal refusal = OptRefusal::None;
  GuestAddr at{};             // the offending instruction (refusals that have one)
  uint8_t size = 0;           // optinsn.size: bytes of whole instructions replaced (5..20)
  std::vector<OptCopiedInsn> insns;  // the copied instructions, in order
};

constexpr uint8_t kMaxOptimizedLength = 16 + 4;  // MAX_OPTIMIZED_LENGTH (x86)

}  // namespace probesim::probes
