// Modelled cost of each kprobe path, charged to the trapping CPU's cycle counter by the caller
// (the hit functions return it). Values are Linux's published overheads (probe_costs.cc names
// the source), stored in nanoseconds and converted at the modelled clock, so a probe costs the
// same wall time on the modelled machine as on the measured one (docs/design.md: kprobe 0.5-1 us,
// optprobe 0.06 us).
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>

#include "probesim/types.h"

namespace probesim::probes {

enum class ProbePath : uint8_t {
  Trap,             // breakpoint trap + dispatch + pre handlers (also: boosted, emulated, skipped)
  SingleStep,       // the second trap after the out-of-line copy (int3 / BRK #6) + post handlers
  KretprobeReturn,  // the trampoline at function return + handlers
  Optimized,        // a jump-optimized probe hit: optimized_callback
  kCount
};

struct ProbePathCost {
  ProbePath path;
  uint32_t nanoseconds;
  std::string_view name;
};

std::span<const ProbePathCost> probe_path_costs(Arch arch);

// Cycles at the modelled clock (Hz) for one pass through `path`.
Cycles probe_path_cycles(Arch arch, ProbePath path, uint64_t clock_hz);

// cycles * scale, rounded to the nearest cycle (probe_cost: 0 is observer mode).
inline Cycles scale_cycles(Cycles cycles, double scale) {
  return Cycles{static_cast<uint64_t>(std::llround(static_cast<double>(cycles.value) * scale))};
}

constexpr uint64_t kDefaultModelledClockHz = 2'000'000'000;  // emu/virtual_clock.h default

}  // namespace probesim::probes
