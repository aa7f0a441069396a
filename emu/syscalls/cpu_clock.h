// CPU-time clocks (kernel/time/posix-cpu-timers.c) for clock_gettime/getres, timer_create and
// the itimers: CLOCK_PROCESS_CPUTIME_ID (2), CLOCK_THREAD_CPUTIME_ID (3), and the ids that
// clock_getcpuclockid/pthread_getcpuclockid make: ~pid << 3 | 4 for a thread | PROF 0, VIRT 1 or
// SCHED 2 (pid 0: the caller). A process clock names any process (its pid); a thread clock a
// thread of the caller's process (lookup_task). Values are CPU time (MachineState::task_cputime)
// read as the guest reads time: recorded, and replayed from the trace.
#pragma once

#include <cstdint>
#include <optional>

#include "emu/itimers.h"

namespace probesim::emu {

class Process;
class SyscallContext;

struct CpuClockRef {
  Process* proc = nullptr;
  TimerBase base = TimerBase::ProcessTotal;
  int tid = 0;  // thread bases: the thread
};

// nullopt: clk is not a CPU-time clock, or names no process/thread it may read.
std::optional<CpuClockRef> cpu_clock(SyscallContext& ctx, int32_t clk);
uint64_t cpu_clock_now_ns(SyscallContext& ctx, const CpuClockRef& c);
bool is_cpu_clock_id(int32_t clk);  // 2, 3 or a well-formed negative id

}  // namespace probesim::emu
