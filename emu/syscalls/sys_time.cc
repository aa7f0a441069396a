// Time and randomness syscalls. Every value comes from the virtual clock or the machine's
// seeded RNG: nothing reads the host's time or entropy (docs/design.md "Determinism contract").
#include <cerrno>
#include <cstring>

#include "emu/deterministic_rng.h"
#include "emu/machine_state.h"
#include "emu/syscalls/cpu_clock.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/syscalls/user_time.h"
#include "emu/virtual_clock.h"

namespace probesim::emu {
namespace {

constexpr int kClockRealtime = 0;
constexpr int kClockRealtimeCoarse = 5;
constexpr int kClockTai = 11;
constexpr int kTimerAbstime = 1;
constexpr uint64_t kClockTicksPerSec = 100;  // USER_HZ
constexpr uint64_t kGrndValidFlags = 0x1 | 0x2 | 0x4;  // GRND_NONBLOCK|RANDOM|INSECURE
constexpr uint64_t kGetrandomMax = 33554431;           // Linux caps one call at this

struct KTimespec {
  int64_t tv_sec;
  int64_t tv_nsec;
};

bool valid_clock(int64_t clk) { return clk >= 0 && clk <= kClockTai && clk != 10; }

Timespec clock_value(SyscallContext& ctx, int64_t clk) {
  if (clk == kClockRealtime || clk == kClockRealtimeCoarse || clk == kClockTai)
    return ctx.clock().realtime();
  return ctx.clock().monotonic();  // MONOTONIC*, BOOTTIME
}

Timespec ns_timespec(uint64_t ns) {
  return Timespec{static_cast<int64_t>(ns / 1'000'000'000u), static_cast<int64_t>(ns % 1'000'000'000u)};
}

int64_t write_timespec(SyscallContext& ctx, uint64_t addr, Timespec t) {
  KTimespec k{t.sec, t.nsec};
  return ctx.write_user(GuestAddr{addr}, &k, sizeof k) ? 0 : -EFAULT;
}

// Sleeping blocks the task until the deadline on the virtual clock; its CPU runs other tasks
// or idles forward to the deadline (Scheduler).
int64_t sleep_until_ns(SyscallContext& ctx, uint64_t target_ns) {
  if (target_ns <= ctx.clock().monotonic_ns()) return 0;
  ctx.machine().sched().block(ctx.task(), WaitInfo{WaitInfo::Kind::Sleep, target_ns, 0});
  ctx.disposition = SyscallDisposition::Blocked;
  return 0;
}


}  // namespace

Result<uint64_t> read_timespec_ns(SyscallContext& ctx, uint64_t addr) {
  KTimespec k;
  if (!ctx.read_user(GuestAddr{addr}, &k, sizeof k)) return Error::make("", EFAULT);
  if (k.tv_sec < 0 || k.tv_nsec < 0 || k.tv_nsec >= 1'000'000'000) return Error::make("", EINVAL);
  constexpr int64_t kKtimeSecMax = static_cast<int64_t>(kKtimeMax / 1'000'000'000u);
  if (k.tv_sec >= kKtimeSecMax) return kKtimeMax;
  return static_cast<uint64_t>(k.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(k.tv_nsec);
}

int64_t sys_clock_gettime(SyscallContext& ctx, const SyscallArgs& a) {
  const int32_t clk = static_cast<int32_t>(a.a[0]);
  if (is_cpu_clock_id(clk)) {
    const std::optional<CpuClockRef> c = cpu_clock(ctx, clk);
    if (!c) return -EINVAL;
    return write_timespec(ctx, a.a[1], ns_timespec(cpu_clock_now_ns(ctx, *c)));
  }
  if (!valid_clock(clk)) return -EINVAL;
  return write_timespec(ctx, a.a[1], clock_value(ctx, clk));
}

// Resolutions: 1 ns (hrtimers, CPUCLOCK_SCHED), a tick at HZ=250 for the coarse clocks and the
// PROF/VIRT CPU clocks (posix_cpu_clock_getres).
int64_t sys_clock_getres(SyscallContext& ctx, const SyscallArgs& a) {
  const int32_t clk = static_cast<int32_t>(a.a[0]);
  bool tick = clk == kClockRealtimeCoarse || clk == 6;
  if (is_cpu_clock_id(clk)) {
    if (!cpu_clock(ctx, clk)) return -EINVAL;
    tick = clk < 0 && (clk & 3) != 2;  // not CPUCLOCK_SCHED
  } else if (!valid_clock(clk)) {
    return -EINVAL;
  }
  if (a.a[1] == 0) return 0;
  return write_timespec(ctx, a.a[1], Timespec{0, tick ? static_cast<int64_t>(kTickNs) : 1});
}

int64_t sys_gettimeofday(SyscallContext& ctx, const SyscallArgs& a) {
  Timespec t = ctx.clock().realtime();
  if (a.a[0]) {
    int64_t tv[2] = {t.sec, t.nsec / 1000};
    if (!ctx.write_user(GuestAddr{a.a[0]}, tv, sizeof tv)) return -EFAULT;
  }
  if (a.a[1]) {
    int32_t tz[2] = {0, 0};  // UTC, no DST
    if (!ctx.write_user(GuestAddr{a.a[1]}, tz, sizeof tz)) return -EFAULT;
  }
  return 0;
}

int64_t sys_time(SyscallContext& ctx, const SyscallArgs& a) {
  int64_t t = ctx.clock().realtime().sec;
  if (a.a[0] && !ctx.write_user(GuestAddr{a.a[0]}, &t, sizeof t)) return -EFAULT;
  return t;
}

int64_t sys_nanosleep(SyscallContext& ctx, const SyscallArgs& a) {
  auto d = read_timespec_ns(ctx, a.a[0]);
  if (!d) return -d.error().err;
  return sleep_until_ns(ctx, ktime_add_safe(ctx.clock().monotonic_ns(), d.value()));
}

int64_t sys_clock_nanosleep(SyscallContext& ctx, const SyscallArgs& a) {
  int64_t clk = static_cast<int32_t>(a.a[0]);
  if (!valid_clock(clk) || clk == 2 || clk == 3) return -EINVAL;
  auto d = read_timespec_ns(ctx, a.a[2]);
  if (!d) return -d.error().err;
  uint64_t now = ctx.clock().monotonic_ns();
  if (!(a.a[1] & kTimerAbstime)) return sleep_until_ns(ctx, ktime_add_safe(now, d.value()));
  // Absolute deadline: realtime = epoch + monotonic, so convert realtime deadlines.
  bool realtime = clk == kClockRealtime || clk == kClockTai;
  uint64_t epoch_ns = static_cast<uint64_t>(ctx.clock().epoch_sec()) * 1'000'000'000u;
  uint64_t target = !realtime ? d.value() : (d.value() > epoch_ns ? d.value() - epoch_ns : 0);
  return sleep_until_ns(ctx, target);
}

// times(buf): the process's CPU time and its reaped children's in clock ticks (USER_HZ), each
// value read as guest time (recorded); returns the ticks since boot.
int64_t sys_times(SyscallContext& ctx, const SyscallArgs& a) {
  constexpr uint64_t kNsPerTick = 1'000'000'000u / kClockTicksPerSec;
  MachineState& m = ctx.machine();
  uint64_t ticks = ctx.clock().monotonic_ns() / kNsPerTick;
  if (a.a[0]) {
    const CpuTime self = m.process_cputime(ctx.proc());
    const Cycles times[4] = {self.user, self.system, ctx.proc().cutime, ctx.proc().cstime};
    int64_t tms[4];
    for (size_t i = 0; i < 4; ++i)
      tms[i] = static_cast<int64_t>(m.guest_time_read(m.cputime_ns(times[i])) / kNsPerTick);
    if (!ctx.write_user(GuestAddr{a.a[0]}, tms, sizeof tms)) return -EFAULT;
  }
  return static_cast<int64_t>(ticks);
}

int64_t sys_getrandom(SyscallContext& ctx, const SyscallArgs& a) {
  if (a.a[2] & ~kGrndValidFlags) return -EINVAL;
  uint64_t n = a.a[1] < kGetrandomMax ? a.a[1] : kGetrandomMax;
  std::vector<uint8_t> buf(n);
  ctx.rng().fill(buf);
  if (!ctx.write_user(GuestAddr{a.a[0]}, buf.data(), n)) return -EFAULT;
  return static_cast<int64_t>(n);
}

}  // namespace probesim::emu
