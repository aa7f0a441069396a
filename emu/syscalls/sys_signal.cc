// Signal syscalls: kill/tgkill/tkill generate, rt_sigreturn returns from a handler.
// (rt_sigaction and rt_sigprocmask live in sys_process.cc with the other dispositions.)
#include <cerrno>

#include "emu/machine_state.h"
#include "emu/signal_frame.h"
#include "emu/syscalls/syscall_handlers.h"

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

int64_t sys_rt_sigreturn(SyscallContext& ctx, const SyscallArgs&) {
  uint64_t mask = 0;
  UserRegs regs = ctx.regs();
  if (!restore_rt_frame(regs, ctx.mm(), &mask)) {
    ctx.machine().kill_by_signal(ctx.proc(), kSigSegv);
    ctx.disposition = SyscallDisposition::Exited;
    return 0;
  }
  ctx.task().sigmask = mask & ~kUnblockable;
  ctx.disposition = SyscallDisposition::NoReturn;
  return 0;
}

}  // namespace probesim::emu
