// Modelled cost of each uprobe path, charged to the trapping CPU's cycle counter by the
// integrator (the hit functions return it in UprobeHitResult::cost). Published Linux numbers,
// stored in nanoseconds (uprobe_costs.cc names the sources and the derivations) and converted
// at the modelled clock, as probes/probe_costs.h does for kprobes.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "probesim/types.h"

namespace probesim::probes {

enum class UprobePath : uint8_t {
  Trap,             // breakpoint trap + handlers (+ emulation, or the jump into the XOL slot)
  SingleStep,       // the trap ending an out-of-line step (x86 int3 / arm64 BRK #6)
  UretprobeReturn,  // the trampoline trap at function return + ret_handlers
  kCount
};

struct UprobePathCost {
  UprobePath path;
  uint32_t nanoseconds;
  std::string_view name;
};

std::span<const UprobePathCost> uprobe_path_costs(Arch arch);
Cycles uprobe_path_cycles(Arch arch, UprobePath path, uint64_t clock_hz);

}  // namespace probesim::probes
