// Signal generation and delivery (kernel/signal.c's job): queueing, interrupting blocked
// receivers, default actions, handler frames. Frames themselves: signal_frame.cc.
#include <cerrno>

#include "emu/machine_state.h"
#include "emu/signal_frame.h"

namespace probesim::emu {

bool MachineState::has_deliverable_signal(const Task& t) const {
  return ((t.pending.mask | t.proc().shared_pending.mask) & ~t.sigmask) != 0;
}

void MachineState::kill_by_signal(Process& p, int sig, std::optional<GuestFault> fault) {
  ExitStatus s;
  s.signaled = true;
  s.signo = sig;
  s.core_dumped = default_action(sig) == SigDefault::Core;
  s.fault = std::move(fault);
  exit_process(p, std::move(s));
}

// A blocked task that can take `sig` returns from its syscall: -EINTR, or a restart when the
// handler has SA_RESTART and the wait restarts anyway (wait queues).
void MachineState::interrupt_wait(Task& t, int sig) {
  if (t.state != TaskState::Blocked || !t.wait.interruptible) return;
  if (t.sigmask & sig_bit(sig)) return;
  const KSigaction& sa = t.proc().sigactions[sig];
  bool ignored = sa.handler == kSigIgn ||
                 (sa.handler == kSigDfl && default_action(sig) == SigDefault::Ignore);
  if (ignored) return;
  bool restart = t.wait.kind == WaitInfo::Kind::Queue && (sa.flags & kSaRestart) &&
                 sa.handler != kSigDfl;
  futexes_.remove(t);
  waitq_.remove(t);
  if (restart)
    sched_.wake_restart(t);
  else
    sched_.wake(t, -EINTR);
}

void MachineState::send_signal(Process& p, Task* t, const SigInfo& si) {
  if (p.exited() || si.signo < 1 || si.signo > kNsig) return;
  const KSigaction& sa = p.sigactions[si.signo];
  bool ignored = si.signo != kSigKill &&
                 (sa.handler == kSigIgn ||
                  (sa.handler == kSigDfl && default_action(si.signo) != SigDefault::Term &&
                   default_action(si.signo) != SigDefault::Core));
  if (ignored) return;  // discarded at generation, as Linux does for ignored signals
  if (t) {
    t->pending.add(si);
    interrupt_wait(*t, si.signo);
    return;
  }
  p.shared_pending.add(si);
  for (auto& task : p.tasks())
    if (task->state == TaskState::Blocked && !(task->sigmask & sig_bit(si.signo))) {
      interrupt_wait(*task, si.signo);
      break;  // one thread takes a process-wide signal
    }
}

bool MachineState::deliver_signals(Task& t) {
  Process& p = t.proc();
  for (;;) {
    int sig = t.pending.next(t.sigmask);
    SigInfo si;
    if (sig) {
      si = t.pending.take(sig);
    } else if ((sig = p.shared_pending.next(t.sigmask))) {
      si = p.shared_pending.take(sig);
    } else {
      return true;
    }
    KSigaction& sa = p.sigactions[sig];
    if (sa.handler == kSigIgn) continue;
    if (sa.handler == kSigDfl) {
      SigDefault act = default_action(sig);
      if (act == SigDefault::Ignore || act == SigDefault::Stop) continue;
      kill_by_signal(p, sig);
      return false;
    }
    FrameRequest req{sig, si, sa.handler, sa.flags, sa.restorer, t.sigmask};
    UserRegs regs = user_regs(t);
    if (!setup_rt_frame(regs, p.mm(), req)) {
      kill_by_signal(p, kSigSegv);
      return false;
    }
    t.sigmask |= sa.mask | ((sa.flags & kSaNodefer) ? 0 : sig_bit(sig));
    t.sigmask &= ~kUnblockable;
    if (sa.flags & kSaResethand) sa = KSigaction{};
    ++stats_.signals_delivered;
    return true;  // one frame per return to user mode
  }
}

// A synchronous fault (force_sig_fault): delivered now if a handler can take it; a blocked or
// ignored fault signal reverts to the default action. False if the process died.
bool MachineState::handle_fault_signal(Process& p, Task& t, const GuestFault& f) {
  const KSigaction& sa = p.sigactions[f.signo];
  bool catchable = sa.handler > kSigIgn && !(t.sigmask & sig_bit(f.signo));
  if (!catchable) {
    kill_by_signal(p, f.signo, f);
    return false;
  }
  SigInfo si{f.signo, f.si_code, 0, 0, 0, f.addr};
  t.pending.add(si);
  return deliver_signals(t);
}

}  // namespace probesim::emu
