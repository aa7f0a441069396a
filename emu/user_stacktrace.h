// User stack traces: Linux's stack_trace_save_user / perf_callchain_user (frame-pointer walk,
// arch/x86/kernel/stacktrace.c arch_stack_walk_user, arch/arm64/kernel/stacktrace.c), and,
// where that finds no frame (code built without frame pointers: most x86-64 binaries), a
// bounded scan of the stack for return addresses, as Linux's "guess" unwinder prints them
// (arch/x86/kernel/unwind_guess.c): a word is taken when it points into an executable
// mapping just after a call instruction. Scanned frames are marked unreliable ("? " in
// Linux's traces). No .eh_frame/CFI unwinding.
#pragma once

#include <cstdint>
#include <vector>

#include "mmu/mm.h"
#include "probesim/types.h"

namespace probesim::emu {

struct UserStackFrame {
  GuestAddr addr;
  bool reliable = true;  // false: found by the scan, possibly a stale return address
};

struct UserStackStart {
  GuestAddr ip;
  uint64_t sp = 0, fp = 0;  // stack pointer, frame pointer (rbp / x29)
  uint64_t lr = 0;          // arm64 x30
  // ip is a function's first instruction (a uprobe on a function): its caller's return
  // address is still at [sp] (x86) or in x30 (arm64), not yet in a frame record; it is
  // reported (reliable) before the walk, which would skip it.
  bool at_entry = false;
};

constexpr size_t kUserStackScanWords = 512;  // the scan looks at most this far above sp

// At most `max` frames, innermost first; the first is start.ip. Reads with Mm::peek.
std::vector<UserStackFrame> user_stack_trace(const mmu::Mm& mm, Arch arch, UserStackStart start,
                                             size_t max);

}  // namespace probesim::emu
