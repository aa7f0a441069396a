// Interval timers of a process (Linux's signal_struct: the three itimers of
// kernel/time/itimer.c, and the POSIX timers of kernel/time/posix-timers.c). ITIMER_REAL and
// timers on the other clocks run on the virtual monotonic clock: the machine fires them between
// quanta, when the clock of the CPU furthest behind reaches their expiry (late by at most one
// quantum; an idle machine advances to it). ITIMER_VIRTUAL, ITIMER_PROF and timers on CPU-time
// clocks run on the process's (or a thread's) CPU time (TimerBase; MachineState::task_cputime):
// they are checked after each quantum of the process, as run_posix_cpu_timers does at the tick.
// itimers send SIGALRM / SIGVTALRM / SIGPROF (SI_KERNEL), POSIX timers their sigevent's signal
// (SI_TIMER, with the timer id, overrun and value). Realtime timers follow the realtime clock
// (epoch + monotonic, nothing sets it), so absolute realtime expiries convert once.
#pragma once

#include <array>
#include <cstdint>
#include <map>

namespace probesim::emu {

// What a timer's expires_ns counts: virtual monotonic ns, or ns of CPU time: the process's user
// time (ITIMER_VIRTUAL), its user + system time (ITIMER_PROF, CLOCK_PROCESS_CPUTIME_ID), or one
// thread's user or user + system time (CLOCK_THREAD_CPUTIME_ID).
enum class TimerBase { Monotonic, ProcessUser, ProcessTotal, ThreadUser, Thread };
// TICK_NSEC at Debian's CONFIG_HZ=250: set_cpu_itimer adds it to a CPU itimer's first expiry.
inline constexpr uint64_t kTickNs = 4'000'000;

struct IntervalTimer {
  uint64_t expires_ns = 0;   // on its TimerBase; 0: disarmed
  uint64_t interval_ns = 0;  // 0: one-shot

  bool armed() const { return expires_ns != 0; }
  uint64_t remaining_ns(uint64_t now_ns) const {
    return !armed() ? 0 : expires_ns > now_ns ? expires_ns - now_ns : 1;  // due: 1 ns left
  }
  // At now_ns >= expires_ns: the expiries that passed (>= 1); the timer re-arms past now_ns
  // by whole intervals (hrtimer_forward) or disarms.
  uint64_t expire(uint64_t now_ns);
  // The same for a known number of expiries (a replay repeats the recorded count).
  void advance(uint64_t periods);
};

// sigevent.sigev_notify values the kernel takes (SIGEV_THREAD is glibc's, on THREAD_ID).
inline constexpr int kSigevSignal = 0, kSigevNone = 1, kSigevThreadId = 4;

struct PosixTimer {
  int clock = 0;
  int notify = kSigevSignal;
  int signo = 0;
  uint64_t value = 0;  // sigev_value, the siginfo's si_value
  int tid = 0;         // SIGEV_THREAD_ID's thread
  TimerBase base = TimerBase::Monotonic;
  int cpu_tid = 0;  // a thread CPU-time base: the thread whose CPU time it counts
  bool thread_base() const { return base == TimerBase::Thread || base == TimerBase::ThreadUser; }
  IntervalTimer timer;
  int overrun_last = 0;  // timer_getoverrun: the overrun of the last signal queued
};

struct ProcessTimers {
  static constexpr int kReal = 0, kVirtual = 1, kProf = 2;  // ITIMER_*
  static constexpr TimerBase itimer_base(int which) {
    return which == kVirtual ? TimerBase::ProcessUser
           : which == kProf  ? TimerBase::ProcessTotal
                             : TimerBase::Monotonic;
  }
  std::array<IntervalTimer, 3> itimers{};
  std::map<int, PosixTimer> posix;  // by id; ids count from 0 per process (Linux's next_posix_timer_id)
  int next_id = 0;
  static constexpr int kMaxTimers = 1 << 15;  // a bound on posix: EAGAIN past it (Linux: memory)

  // The earliest armed expiry on the monotonic clock, 0 when none is armed.
  uint64_t next_expiry() const;
  // Whether a timer on CPU time is armed (the machine then checks them after each quantum).
  bool cpu_timer_armed() const;
  // A timer's signal (SI_TIMER) was dequeued: timer_getoverrun reports its overrun from now
  // on (posixtimer_rearm's it_overrun_last).
  void delivered(int timer_id, int overrun) {
    if (auto it = posix.find(timer_id); it != posix.end()) it->second.overrun_last = overrun;
  }
};

}  // namespace probesim::emu
