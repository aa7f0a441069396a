#include "emu/syscalls/cpu_clock.h"

#include "emu/machine_state.h"
#include "emu/syscalls/syscall_handlers.h"

namespace probesim::emu {
namespace {

constexpr int32_t kClockProcessCputime = 2, kClockThreadCputime = 3;
constexpr int32_t kPerThread = 4, kWhichMask = 3, kClockFd = 3;  // CPUCLOCK_PERTHREAD_MASK...
constexpr int32_t kCpuclockVirt = 1;

}  // namespace

bool is_cpu_clock_id(int32_t clk) {
  return clk == kClockProcessCputime || clk == kClockThreadCputime ||
         (clk < 0 && (clk & kWhichMask) != kClockFd);
}

std::optional<CpuClockRef> cpu_clock(SyscallContext& ctx, int32_t clk) {
  if (!is_cpu_clock_id(clk)) return std::nullopt;
  if (clk == kClockProcessCputime) return CpuClockRef{&ctx.proc(), TimerBase::ProcessTotal, 0};
  if (clk == kClockThreadCputime) return CpuClockRef{&ctx.proc(), TimerBase::Thread, ctx.task().tid()};
  const int pid = ~(clk >> 3);
  const bool thread = clk & kPerThread;
  const bool virt = (clk & kWhichMask) == kCpuclockVirt;
  if (thread) {
    const int tid = pid == 0 ? ctx.task().tid() : pid;
    const Task* t = ctx.proc().task(tid);
    if (!t || t->state == TaskState::Dead) return std::nullopt;  // same_thread_group
    return CpuClockRef{&ctx.proc(), virt ? TimerBase::ThreadUser : TimerBase::Thread, tid};
  }
  Process* p = pid == 0 ? &ctx.proc() : ctx.machine().process(pid);
  if (!p || p->exited()) return std::nullopt;
  return CpuClockRef{p, virt ? TimerBase::ProcessUser : TimerBase::ProcessTotal, 0};
}

uint64_t cpu_clock_now_ns(SyscallContext& ctx, const CpuClockRef& c) {
  MachineState& m = ctx.machine();
  return m.guest_time_read(m.timer_base_ns(*c.proc, c.base, c.tid));
}

}  // namespace probesim::emu
