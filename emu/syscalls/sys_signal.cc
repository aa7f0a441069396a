// Signal syscalls: kill/tgkill/tkill generate, pause/rt_sigsuspend wait, rt_sigreturn returns
// from a handler.
// (rt_sigaction and rt_sigprocmask live in sys_process.cc with the other dispositions.)
#include <cerrno>
#include <optional>

#include "emu/machine_state.h"
#include "emu/arch_info.h"
#include "emu/signal_frame.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/virtual_clock.h"

namespace probesim::emu {
namespace {

bool valid_sig(int64_t sig) { return sig >= 0 && sig <= kNsig; }

SigInfo user_info(SyscallContext& ctx, int sig, int code) {
  SigInfo si;
  si.signo = sig;
  si.code = code;
  si.pid = ctx.pid();
  return si;
}

}  // namespace

int64_t sys_kill(SyscallContext& ctx, const SyscallArgs& a) {
  int64_t pid = static_cast<int32_t>(a.a[0]);
  int64_t sig = static_cast<int32_t>(a.a[1]);
  if (!valid_sig(sig)) return -EINVAL;
  int sent = 0;
  for (Process* p : ctx.machine().processes()) {
    if (p->exited()) continue;
    bool match = pid > 0 ? p->pid() == pid
               : pid == 0 ? p->pgid == ctx.proc().pgid
               : pid == -1 ? p->pid() != ctx.pid()
                           : p->pgid == -pid;
    if (!match) continue;
    ++sent;
    if (sig) ctx.machine().send_signal(*p, nullptr, user_info(ctx, static_cast<int>(sig), kSiUser));
  }
  return sent ? 0 : -ESRCH;
}

int64_t sys_tgkill(SyscallContext& ctx, const SyscallArgs& a) {
  int64_t tgid = static_cast<int32_t>(a.a[0]), tid = static_cast<int32_t>(a.a[1]);
  int64_t sig = static_cast<int32_t>(a.a[2]);
  if (!valid_sig(sig) || tgid <= 0 || tid <= 0) return -EINVAL;
  Process* p = ctx.machine().process(static_cast<int>(tgid));
  Task* t = p && !p->exited() ? p->task(static_cast<int>(tid)) : nullptr;
  if (!t || t->state == TaskState::Dead) return -ESRCH;
  if (sig) ctx.machine().send_signal(*p, t, user_info(ctx, static_cast<int>(sig), kSiTkill));
  return 0;
}

int64_t sys_tkill(SyscallContext& ctx, const SyscallArgs& a) {
  int64_t tid = static_cast<int32_t>(a.a[0]);
  for (Process* p : ctx.machine().processes())
    if (!p->exited() && p->task(static_cast<int>(tid))) {
      SyscallArgs b;
      b.a[0] = static_cast<uint64_t>(p->pid());
      b.a[1] = a.a[0];
      b.a[2] = a.a[1];
      return sys_tgkill(ctx, b);
    }
  return tid <= 0 ? -EINVAL : -ESRCH;
}

namespace {

// Sleeps until a signal that is not ignored arrives (interrupt_wait wakes it with -EINTR);
// -EINTR at once when one is deliverable already. Linux's -ERESTARTNOHAND: EINTR after a
// handler; a stop and SIGCONT leave it sleeping.
int64_t sleep_until_signal(SyscallContext& ctx) {
  if (ctx.machine().has_deliverable_signal(ctx.task())) return -EINTR;
  ctx.machine().sched().block(ctx.task(), WaitInfo{WaitInfo::Kind::Sleep, 0, -EINTR});
  ctx.disposition = SyscallDisposition::Blocked;
  return 0;
}

}  // namespace

int64_t sys_pause(SyscallContext& ctx, const SyscallArgs&) { return sleep_until_signal(ctx); }

// rt_sigpending(set, sigsetsize): the pending signals that are blocked (do_sigpending).
int64_t sys_rt_sigpending(SyscallContext& ctx, const SyscallArgs& a) {
  if (a.a[1] > sizeof(uint64_t)) return -EINVAL;
  const Task& t = ctx.task();
  const uint64_t set = (t.pending.mask | ctx.proc().shared_pending.mask) & t.sigmask;
  return ctx.write_user(GuestAddr{a.a[0]}, &set, a.a[1]) ? 0 : -EFAULT;
}

// rt_sigsuspend(set, sigsetsize): sleeps with `set` as the mask (SIGKILL/SIGSTOP stay open);
// the handler's frame saves the caller's mask, so sigreturn restores it (Task::saved_sigmask).
int64_t sys_rt_sigsuspend(SyscallContext& ctx, const SyscallArgs& a) {
  if (a.a[1] != sizeof(uint64_t)) return -EINVAL;
  uint64_t set = 0;
  if (!ctx.read_user(GuestAddr{a.a[0]}, &set, sizeof set)) return -EFAULT;
  Task& t = ctx.task();
  t.saved_sigmask = t.sigmask;
  t.sigmask = set & ~kUnblockable;
  return sleep_until_signal(ctx);
}

// Registers, FP/SIMD state and mask from the frame; the sigaltstack as the frame saved it
// (restore_altstack: its errors other than EFAULT are ignored, e.g. EPERM when the
// interrupted code ran on the alternate stack).
int64_t sys_rt_sigreturn(SyscallContext& ctx, const SyscallArgs&) {
  RestoredFrame f;
  UserRegs regs = ctx.regs();
  if (!restore_rt_frame(regs, ctx.mm(), &f)) {
    ctx.machine().kill_by_signal(ctx.proc(), kSigSegv);
    ctx.disposition = SyscallDisposition::Exited;
    return 0;
  }
  const uint64_t sp = regs.reg(arch_info(ctx.arch()).reg_sp);
  change_altstack(ctx.task().altstack, f.uc_stack, sp, arch_info(ctx.arch()).minsigstksz);
  ctx.task().sigmask = f.mask & ~kUnblockable;
  ctx.disposition = SyscallDisposition::NoReturn;
  return 0;
}

}  // namespace probesim::emu
