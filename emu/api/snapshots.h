// The snapshot conversions behind Machine's inspection API (include/probesim/inspect.h), for
// the library and the bindings that still walk model objects themselves.
#pragma once

#include <cstdint>

#include "emu/machine_state.h"
#include "mmu/vma.h"
#include "probesim/inspect.h"

namespace probesim::emu {

// The pid of the process whose mm is `mm`, or 0.
int pid_of(MachineState& s, const mmu::Mm* mm);
VmaInfo vma_info(const mmu::Vma& v, int pid);
// Precondition: v contains addr.
PageInfo page_info(const mmu::Vma& v, uint64_t addr, int pid);

}  // namespace probesim::emu
