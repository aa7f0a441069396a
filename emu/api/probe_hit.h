// make_hit: the ProbeHit (include/probesim/probes.h) a handler gets, from the machine's
// current task and the hit CPU's clock.
#pragma once

#include "emu/machine_state.h"
#include "probes/regs.h"
#include "probesim/probes.h"

namespace probesim::emu {

inline ProbeHit make_hit(MachineState& s, probes::Regs& regs) {
  ProbeHit h{PtRegs(regs)};
  h.cpu = s.hit_cpu();
  h.cycles = s.sched().clock(h.cpu).cycles().value;
  if (Task* t = s.current_task()) {
    h.pid = t->proc().pid();
    h.tid = t->tid();
  }
  return h;
}

}  // namespace probesim::emu
