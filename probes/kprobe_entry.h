// Internal records of the kprobes engine, shaped like Linux's: one KprobeEntry per probed
// address in the table (a plain probe, or an aggregate "ap" whose children are the user
// probes), and one KprobeCtlblk per CPU (current_kprobe + kprobe_ctlblk). Only KprobeManager
// creates or mutates them.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "probes/arch/kprobe_arch.h"
#include "probes/kprobe.h"
#include "probes/optprobe.h"

namespace probesim::probes {

// KPROBE_HIT_* (include/linux/kprobes.h).
enum class KprobeStatus : uint8_t { None = 0, HitActive = 1, HitSs = 2, Reenter = 4, HitSsDone = 8 };

// struct optimized_kprobe's state (CONFIG_OPTPROBES). flag is KPROBE_FLAG_OPTIMIZED: set when
// the probe is queued on optimizing_list (Linux sets it there too) and kept while the jump is
// in the text; kprobes/list shows [OPTIMIZED] from then on.
struct OptState {
  OptRefusal prep = OptRefusal::None;  // arch_prepare_optimized_kprobe's refusal, if any
  bool prepared = false;               // the detour buffer is written (kprobe_optready)
  GuestAddr detour{};                  // optinsn.insn
  uint8_t size = 0;                    // optinsn.size: bytes the jump replaces
  std::array<uint8_t, 4> copied_insn{};  // original bytes under the rel32 (jump written)
  bool flag = false;                   // KPROBE_FLAG_OPTIMIZED
  bool queued = false;                 // on optimizing_list, jump not written yet
  // text_poke_bp steps done while queued (kprobe_optimizer.cc): 0 none, 1 the int3, 2 also the
  // rel32 tail (copied_insn holds the bytes it replaced). The E9 step ends it (jumped).
  uint8_t poked = 0;
  // On unoptimizing_list (Linux's delayed unoptimizing, optprobe_queued_unopt): the jump stays
  // in the text until the optimizer's unoptimize_poke steps put the int3 and the tail back.
  bool unopt_queued = false;
  bool unpoking = false;  // unoptimize_poke wrote the int3 over the E9, not the tail yet
  bool jumped = false;                 // `E9 rel32` is in the text
  bool early = false;                  // detour is a static early kprobe slot (early_kprobes.cc)
  OptRefusal why_not = OptRefusal::None;  // optimize_kprobe's last refusal
};

struct KprobeEntry {
  GuestAddr addr;
  // false: a plain probe, children[0] is the user's Kprobe and its flags are the entry's.
  // true: an aggregate (alloc_aggr_kprobe); children in list order, newest first.
  bool aggregated = false;
  uint32_t aggr_flags = 0;  // the aggregate's own flags
  std::vector<Kprobe*> children;

  ArchInsn insn;             // shared by every child (copy_kprobe)
  GuestAddr slot{};          // out-of-line copy, or 0
  bool boosted = false;      // the slot ends with `jmp back` (no step trap, no post handler)
  bool ever_boosted = false; // a CPU may still run the slot untracked: free it DIRTY
  std::array<uint8_t, 4> opcode{};  // original bytes under the breakpoint
  bool armed = false;        // the breakpoint is written in text now
  // register_kprobe_prepare ran (the entry is in the table) and register_kprobe_arm has not:
  // the probe waits for its breakpoint (kernel work, emu/kthread/kprobe_register_work.h).
  bool arm_pending = false;
  OptState opt;              // optprobes (kprobe_optimizer.cc)

  // A plain entry's flags are its probe's; an aggregate (or a retired entry) has its own.
  uint32_t& flags() { return own_flags() ? aggr_flags : children.front()->flags; }
  uint32_t flags() const { return own_flags() ? aggr_flags : children.front()->flags; }
  bool own_flags() const { return aggregated || children.empty(); }
  bool disabled() const { return (flags() & (kKprobeFlagDisabled | kKprobeFlagGone)) != 0; }
  bool gone() const { return (flags() & kKprobeFlagGone) != 0; }
};

struct PrevKprobe {
  KprobeEntry* kp = nullptr;
  KprobeStatus status = KprobeStatus::None;
  uint64_t saved_flags = 0;
};

// Per-CPU state (DEFINE_PER_CPU current_kprobe, kprobe_ctlblk, kprobe_instance).
struct KprobeCtlblk {
  KprobeEntry* current = nullptr;
  KprobeStatus status = KprobeStatus::None;
  uint64_t saved_flags = 0;  // x86: IF before the step; arm64: DAIF
  PrevKprobe prev;
  Kprobe* instance = nullptr;  // the child whose handler is running (aggregates)
};

}  // namespace probesim::probes
