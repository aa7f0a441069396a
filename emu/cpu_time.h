// CpuTime: the cycles a logical CPU spent running tasks, by mode (kernel/sched/cputime.c's
// CPUTIME_USER and CPUTIME_SYSTEM). The rest of its clock is idle time.
#pragma once

#include "probesim/types.h"

namespace probesim::emu {

struct CpuTime {
  Cycles user{0}, system{0};
};

}  // namespace probesim::emu
