// Interval timers (kernel/time/itimer.c: alarm, setitimer, getitimer) and POSIX timers
// (kernel/time/posix-timers.c: timer_create, timer_settime, timer_gettime, timer_getoverrun,
// timer_delete) on the virtual clock and on CPU time (set_cpu_itimer, posix-cpu-timers.c). The
// state lives in Process::timers (emu/itimers.h); the machine fires expiries between quanta
// (MachineState::fire_timers, fire_cpu_timers).
#include <cerrno>

#include "emu/machine_state.h"
#include "emu/syscalls/cpu_clock.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/virtual_clock.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000, kNsPerUsec = 1000;
constexpr int kTimerAbstime = 1;
// Clocks a POSIX timer may use (posix_clocks[] entries with timer_create): REALTIME 0,
// MONOTONIC 1, PROCESS/THREAD_CPUTIME 2/3, BOOTTIME 7, REALTIME_ALARM 8, BOOTTIME_ALARM 9,
// TAI 11. MONOTONIC_RAW and the COARSE clocks have none (-EOPNOTSUPP); others are -EINVAL.
constexpr int kClockRealtime = 0, kClockRealtimeAlarm = 8, kClockTai = 11;
bool timer_clock(int clk) { return clk == 0 || clk == 1 || (clk >= 7 && clk <= 9) || clk == 11; }
bool no_timer_clock(int clk) { return clk == 4 || clk == 5 || clk == 6; }
bool realtime_clock(int clk) { return clk == kClockRealtime || clk == kClockRealtimeAlarm || clk == kClockTai; }

struct KTimeval {
  int64_t sec, usec;
};
struct KItimerval {
  KTimeval interval, value;
};
struct KTimespec {
  int64_t sec, nsec;
};
struct KItimerspec {
  KTimespec interval, value;
};

uint64_t now_ns(SyscallContext& ctx) { return ctx.clock().monotonic_ns(); }

// Now on a timer's base: the monotonic clock, or CPU time read as guest time (recorded).
uint64_t base_now(SyscallContext& ctx, TimerBase base, int tid) {
  if (base == TimerBase::Monotonic) return now_ns(ctx);
  return ctx.machine().guest_time_read(ctx.machine().timer_base_ns(ctx.proc(), base, tid));
}

KTimeval to_timeval(uint64_t ns) {
  // itimer_get_remtime rounds a remaining time below 1 us up to 1 us (never 0 while armed).
  uint64_t us = (ns + kNsPerUsec - 1) / kNsPerUsec;
  return {static_cast<int64_t>(us / 1'000'000), static_cast<int64_t>(us % 1'000'000)};
}
KTimespec to_timespec(uint64_t ns) {
  return {static_cast<int64_t>(ns / kNsPerSec), static_cast<int64_t>(ns % kNsPerSec)};
}

Result<uint64_t> timeval_ns(const KTimeval& tv) {
  if (tv.sec < 0 || tv.usec < 0 || tv.usec >= 1'000'000) return Error::make("", EINVAL);
  if (static_cast<uint64_t>(tv.sec) >= kKtimeMax / kNsPerSec) return kKtimeMax;
  return static_cast<uint64_t>(tv.sec) * kNsPerSec + static_cast<uint64_t>(tv.usec) * kNsPerUsec;
}
Result<uint64_t> timespec_ns(const KTimespec& ts) {
  if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= static_cast<int64_t>(kNsPerSec))
    return Error::make("", EINVAL);
  if (static_cast<uint64_t>(ts.sec) >= kKtimeMax / kNsPerSec) return kKtimeMax;
  return static_cast<uint64_t>(ts.sec) * kNsPerSec + static_cast<uint64_t>(ts.nsec);
}

KItimerval itimer_value(const IntervalTimer& t, uint64_t now) {
  return {to_timeval(t.interval_ns), to_timeval(t.remaining_ns(now))};
}

// get_cpu_itimer: the CPU time left (a tick when about to fire), truncated to microseconds as
// put_itimerval does.
KItimerval cpu_itimer_value(const IntervalTimer& t, uint64_t now) {
  auto tv = [](uint64_t ns) {
    return KTimeval{static_cast<int64_t>(ns / kNsPerSec), static_cast<int64_t>(ns % kNsPerSec / kNsPerUsec)};
  };
  const uint64_t left = !t.armed() ? 0 : t.expires_ns <= now ? kTickNs : t.expires_ns - now;
  return {tv(t.interval_ns), tv(left)};
}

// Arms `t` with a relative first expiry (0 disarms) and an interval.
void arm(IntervalTimer& t, uint64_t now, uint64_t value_ns, uint64_t interval_ns) {
  t.expires_ns = value_ns == 0 ? 0 : ktime_add_safe(now, value_ns);
  t.interval_ns = value_ns == 0 ? 0 : interval_ns;
}

PosixTimer* find_timer(SyscallContext& ctx, uint64_t id) {
  auto it = ctx.proc().timers.posix.find(static_cast<int>(static_cast<int32_t>(id)));
  return it == ctx.proc().timers.posix.end() ? nullptr : &it->second;
}

}  // namespace

// setitimer(which, new, old). A null `new` disarms (the historical behaviour Linux keeps).
int64_t sys_setitimer(SyscallContext& ctx, const SyscallArgs& a) {
  const int which = static_cast<int>(a.a[0]);
  if (which < ProcessTimers::kReal || which > ProcessTimers::kProf) return -EINVAL;
  KItimerval nv{};
  if (a.a[1] && !ctx.read_user(GuestAddr{a.a[1]}, &nv, sizeof nv)) return -EFAULT;
  auto value = timeval_ns(nv.value);
  auto interval = timeval_ns(nv.interval);
  if (!value || !interval) return -EINVAL;
  IntervalTimer& t = ctx.proc().timers.itimers[which];
  const TimerBase base = ProcessTimers::itimer_base(which);
  const uint64_t now = base_now(ctx, base, 0);
  if (a.a[2]) {
    KItimerval old = base == TimerBase::Monotonic ? itimer_value(t, now) : cpu_itimer_value(t, now);
    if (!ctx.write_user(GuestAddr{a.a[2]}, &old, sizeof old)) return -EFAULT;
  }
  if (base == TimerBase::Monotonic) {
    arm(t, now, value.value(), interval.value());
  } else {  // set_cpu_itimer: a tick more for the first expiry; the interval is kept as given
    if (t.armed() || value.value() != 0)
      t.expires_ns = value.value() == 0 ? 0 : ktime_add_safe(now, ktime_add_safe(value.value(), kTickNs));
    t.interval_ns = interval.value();
  }
  return 0;
}

int64_t sys_getitimer(SyscallContext& ctx, const SyscallArgs& a) {
  const int which = static_cast<int>(a.a[0]);
  if (which < ProcessTimers::kReal || which > ProcessTimers::kProf) return -EINVAL;
  const TimerBase base = ProcessTimers::itimer_base(which);
  const IntervalTimer& t = ctx.proc().timers.itimers[which];
  const uint64_t now = base_now(ctx, base, 0);
  KItimerval cur = base == TimerBase::Monotonic ? itimer_value(t, now) : cpu_itimer_value(t, now);
  return ctx.write_user(GuestAddr{a.a[1]}, &cur, sizeof cur) ? 0 : -EFAULT;
}

// alarm(seconds): ITIMER_REAL one-shot; returns the seconds that were left, rounded to the
// nearest (and 1, not 0, for less than a second left), as alarm_setitimer.
int64_t sys_alarm(SyscallContext& ctx, const SyscallArgs& a) {
  IntervalTimer& t = ctx.proc().timers.itimers[ProcessTimers::kReal];
  const uint64_t now = now_ns(ctx);
  const KTimeval left = to_timeval(t.remaining_ns(now));
  int64_t secs = left.sec;
  if ((secs == 0 && left.usec != 0) || left.usec >= 500'000) ++secs;
  arm(t, now, static_cast<uint64_t>(static_cast<uint32_t>(a.a[0])) * kNsPerSec, 0);
  return secs;
}

// timer_create(clockid, sevp, timerid): a null sevp is SIGEV_SIGNAL with SIGALRM and the
// timer id as si_value.
int64_t sys_timer_create(SyscallContext& ctx, const SyscallArgs& a) {
  const int clk = static_cast<int32_t>(a.a[0]);
  if (no_timer_clock(clk)) return -EOPNOTSUPP;
  std::optional<CpuClockRef> cpu;
  if (is_cpu_clock_id(clk)) {
    cpu = cpu_clock(ctx, clk);  // a timer counts the caller's process or one of its threads
    if (!cpu || cpu->proc != &ctx.proc()) return -EINVAL;
  } else if (!timer_clock(clk)) {
    return -EINVAL;
  }
  ProcessTimers& timers = ctx.proc().timers;
  if (static_cast<int>(timers.posix.size()) >= ProcessTimers::kMaxTimers) return -EAGAIN;
  PosixTimer pt;
  pt.clock = clk;
  if (cpu) pt.base = cpu->base, pt.cpu_tid = cpu->tid;
  pt.signo = kSigAlrm;
  pt.value = static_cast<uint64_t>(timers.next_id);
  if (a.a[1]) {
    struct {
      uint64_t value;
      int32_t signo, notify, tid;
    } ev{};
    if (!ctx.read_user(GuestAddr{a.a[1]}, &ev, sizeof ev)) return -EFAULT;
    // good_sigevent: SIGEV_SIGNAL, SIGEV_THREAD (a process signal to the kernel), SIGEV_NONE,
    // or SIGEV_THREAD_ID naming a thread of the caller's process.
    constexpr int kSigevThread = 2;
    const bool known = ev.notify == kSigevSignal || ev.notify == kSigevThread ||
                       ev.notify == kSigevNone || ev.notify == kSigevThreadId;
    if (!known) return -EINVAL;
    if (ev.notify == kSigevThreadId) {
      Task* t = ctx.proc().task(ev.tid);
      if (!t || t->state == TaskState::Dead) return -EINVAL;
    }
    if (ev.notify != kSigevNone && (ev.signo <= 0 || ev.signo > kNsig)) return -EINVAL;
    pt.notify = ev.notify == kSigevThread ? kSigevSignal : ev.notify;
    pt.signo = ev.signo, pt.value = ev.value, pt.tid = ev.tid;
  }
  const int id = timers.next_id;
  if (!ctx.write_user(GuestAddr{a.a[2]}, &id, sizeof id)) return -EFAULT;
  timers.next_id = id == INT32_MAX ? 0 : id + 1;
  timers.posix[id] = pt;
  return 0;
}

// timer_settime(id, flags, new, old): TIMER_ABSTIME takes the expiry on the timer's clock.
int64_t sys_timer_settime(SyscallContext& ctx, const SyscallArgs& a) {
  PosixTimer* pt = find_timer(ctx, a.a[0]);
  if (!pt) return -EINVAL;
  KItimerspec nv;
  if (!ctx.read_user(GuestAddr{a.a[2]}, &nv, sizeof nv)) return -EFAULT;
  auto value = timespec_ns(nv.value);
  auto interval = timespec_ns(nv.interval);
  if (!value || !interval) return -EINVAL;
  const uint64_t now = base_now(ctx, pt->base, pt->cpu_tid);
  if (a.a[3]) {
    KItimerspec old{to_timespec(pt->timer.interval_ns), to_timespec(pt->timer.remaining_ns(now))};
    if (!ctx.write_user(GuestAddr{a.a[3]}, &old, sizeof old)) return -EFAULT;
  }
  uint64_t rel = value.value();
  if ((a.a[1] & kTimerAbstime) && rel != 0) {
    // An absolute expiry on the timer's clock; realtime = epoch + monotonic. One in the past
    // fires at the next chance (1 ns from now).
    const uint64_t epoch_ns = static_cast<uint64_t>(ctx.clock().epoch_sec()) * kNsPerSec;
    const uint64_t on_base = realtime_clock(pt->clock) ? (rel > epoch_ns ? rel - epoch_ns : 0) : rel;
    rel = on_base > now ? on_base - now : 1;
  }
  arm(pt->timer, now, rel, interval.value());
  return 0;
}

int64_t sys_timer_gettime(SyscallContext& ctx, const SyscallArgs& a) {
  PosixTimer* pt = find_timer(ctx, a.a[0]);
  if (!pt) return -EINVAL;
  KItimerspec cur{to_timespec(pt->timer.interval_ns),
                  to_timespec(pt->timer.remaining_ns(base_now(ctx, pt->base, pt->cpu_tid)))};
  return ctx.write_user(GuestAddr{a.a[1]}, &cur, sizeof cur) ? 0 : -EFAULT;
}

int64_t sys_timer_getoverrun(SyscallContext& ctx, const SyscallArgs& a) {
  PosixTimer* pt = find_timer(ctx, a.a[0]);
  return pt ? pt->overrun_last : -EINVAL;
}

// timer_delete(id): the timer goes, and so does its signal if still queued.
int64_t sys_timer_delete(SyscallContext& ctx, const SyscallArgs& a) {
  const int id = static_cast<int32_t>(a.a[0]);
  if (!find_timer(ctx, a.a[0])) return -EINVAL;
  ctx.machine().forget_timer_signal(ctx.proc(), id);
  ctx.proc().timers.posix.erase(id);
  return 0;
}

}  // namespace probesim::emu
