// Queued signals (kernel/signal.c): rt_sigqueueinfo / rt_tgsigqueueinfo send a signal with the
// caller's siginfo (sigqueue's si_value), and rt_sigtimedwait (sigwait, sigwaitinfo,
// sigtimedwait) takes a pending signal from a set synchronously instead of running a handler.
// Real-time signals queue one instance per send (PendingSignals).
#include <cerrno>
#include <cstring>
#include <optional>

#include "emu/machine_state.h"
#include "emu/signal_frame.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/syscalls/user_time.h"
#include "emu/virtual_clock.h"

namespace probesim::emu {
namespace {

// The fields of a user siginfo_t that a queued signal carries (the _rt layout).
Result<SigInfo> read_user_siginfo(SyscallContext& ctx, uint64_t addr, int sig) {
  uint8_t b[kSiginfoSize];
  if (!ctx.read_user(GuestAddr{addr}, b, sizeof b)) return Error::make("", EFAULT);
  SigInfo si;
  si.signo = sig;  // the kernel overrides si_signo with the syscall's argument
  std::memcpy(&si.code, b + 8, 4);
  std::memcpy(&si.pid, b + 16, 4);
  std::memcpy(&si.uid, b + 20, 4);
  std::memcpy(&si.value, b + 24, 8);
  return si;
}

// do_rt_sigqueueinfo's check: only the kernel sends si_code >= 0, and only tgkill SI_TKILL,
// except to oneself.
bool may_forge(const SigInfo& si, int64_t target_tgid, int self_tgid) {
  return !((si.code >= 0 || si.code == kSiTkill) && target_tgid != self_tgid);
}

// The first pending signal of `set` for t: its own, then its process's.
std::optional<SigInfo> dequeue_from(Task& t, uint64_t set) {
  std::optional<SigInfo> si;
  if (int sig = t.pending.next(~set))
    si = t.pending.take(sig);
  else if (int shared = t.proc().shared_pending.next(~set))
    si = t.proc().shared_pending.take(shared);
  if (si && si->code == kSiTimer) t.proc().timers.delivered(si->timer_id, si->overrun);
  return si;
}

}  // namespace

// rt_sigqueueinfo(tgid, sig, uinfo): a process-wide signal with the caller's siginfo.
int64_t sys_rt_sigqueueinfo(SyscallContext& ctx, const SyscallArgs& a) {
  const int64_t tgid = static_cast<int32_t>(a.a[0]), sig = static_cast<int32_t>(a.a[1]);
  auto si = read_user_siginfo(ctx, a.a[2], static_cast<int>(sig));
  if (!si) return -si.error().err;
  if (!may_forge(si.value(), tgid, ctx.pid())) return -EPERM;
  if (sig < 0 || sig > kNsig) return -EINVAL;
  Process* p = tgid > 0 ? ctx.machine().process(static_cast<int>(tgid)) : nullptr;
  if (!p || p->exited()) return -ESRCH;
  if (sig) ctx.machine().send_signal(*p, nullptr, si.value());
  return 0;
}

// rt_tgsigqueueinfo(tgid, tid, sig, uinfo): the same for one thread.
int64_t sys_rt_tgsigqueueinfo(SyscallContext& ctx, const SyscallArgs& a) {
  const int64_t tgid = static_cast<int32_t>(a.a[0]), tid = static_cast<int32_t>(a.a[1]);
  const int64_t sig = static_cast<int32_t>(a.a[2]);
  if (tgid <= 0 || tid <= 0) return -EINVAL;
  auto si = read_user_siginfo(ctx, a.a[3], static_cast<int>(sig));
  if (!si) return -si.error().err;
  if (!may_forge(si.value(), tgid, ctx.pid())) return -EPERM;
  if (sig < 0 || sig > kNsig) return -EINVAL;
  Process* p = ctx.machine().process(static_cast<int>(tgid));
  Task* t = p && !p->exited() ? p->task(static_cast<int>(tid)) : nullptr;
  if (!t || t->state == TaskState::Dead) return -ESRCH;
  if (sig) ctx.machine().send_signal(*p, t, si.value());
  return 0;
}

// rt_sigtimedwait(set, info, timeout, sigsetsize): a pending signal of `set` is dequeued and
// returned (its siginfo copied out); else the task sleeps with the set as its real_blocked
// until one arrives (interrupt_wait re-runs this call), the timeout (-EAGAIN; a zero timeout
// polls) or another signal's handler (-EINTR).
int64_t sys_rt_sigtimedwait(SyscallContext& ctx, const SyscallArgs& a) {
  if (a.a[3] != sizeof(uint64_t)) return -EINVAL;
  uint64_t set = 0;
  if (!ctx.read_user(GuestAddr{a.a[0]}, &set, sizeof set)) return -EFAULT;
  set &= ~kUnblockable;
  std::optional<uint64_t> tmo;
  if (a.a[2]) {
    auto ns = read_timespec_ns(ctx, a.a[2]);
    if (!ns) return -ns.error().err;
    tmo = ns.value();
  }
  Task& t = ctx.task();
  if (auto si = dequeue_from(t, set)) {
    if (a.a[1] && !ctx.write_user(GuestAddr{a.a[1]}, siginfo_bytes(*si).data(), kSiginfoSize))
      return -EFAULT;
    return si->signo;
  }
  if (tmo && *tmo == 0) return -EAGAIN;
  const uint64_t deadline = tmo ? ktime_add_safe(ctx.clock().monotonic_ns(), *tmo) : 0;
  t.sigwait_mask = set;
  ctx.machine().sched().block(t, WaitInfo{WaitInfo::Kind::Sleep, deadline, -EAGAIN});
  ctx.disposition = SyscallDisposition::Blocked;
  return 0;
}

}  // namespace probesim::emu
