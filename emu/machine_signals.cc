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
  if (t.sigwait_mask & sig_bit(sig)) {  // rt_sigtimedwait: runs again and dequeues it
    t.sigwait_mask = 0;
    sched_.wake_restart(t);
    return;
  }
  if (t.sigmask & sig_bit(sig)) return;
  const KSigaction& sa = t.proc().sigactions[sig];
  bool ignored = sa.handler == kSigIgn ||
                 (sa.handler == kSigDfl && default_action(sig) == SigDefault::Ignore);
  if (ignored) return;
  bool restart = t.wait.restart_noint ||
                 (t.wait.kind == WaitInfo::Kind::Queue && t.wait.restartable &&
                  (sa.flags & kSaRestart) && sa.handler != kSigDfl) ||
                 t.wait.kind == WaitInfo::Kind::Poll;  // it returns -EINTR itself
  futexes_.remove(t);
  waitq_.remove(t);
  t.sigwait_mask = 0;
  if (restart)
    sched_.wake_restart(t);
  else
    sched_.wake(t, -EINTR);
}

// The signal `sig` would be acted on by default in `p` (for `t` alone when given): it is not
// blocked there (a process-wide signal: some live thread does not block it).
bool MachineState::unblocked_somewhere(Process& p, Task* t, int sig) const {
  if (t) return !(t->sigmask & sig_bit(sig));
  for (auto& task : p.tasks())
    if (task->state != TaskState::Dead && !(task->sigmask & sig_bit(sig))) return true;
  return false;
}

// prepare_signal's job control (kernel/signal.c): a stop signal drops pending SIGCONTs;
// SIGCONT drops pending stop signals and resumes a stopped process (the parent hears it);
// SIGKILL resumes it silently, so that it can die. A stop signal with the default action that
// some thread would take stops the process now (Linux: the first thread to dequeue it, at its
// next return to user mode) and is consumed; blocked, it stays pending (deliver_signals).
bool MachineState::job_control_at_generation(Process& p, Task* t, int sig) {
  auto flush = [&p](uint64_t mask) {
    p.shared_pending.flush(mask);
    for (auto& task : p.tasks()) task->pending.flush(mask);
  };
  if (sig == kSigCont) {
    flush(kStopSignals);
    do_signal_continue(p, /*report=*/true);
  } else if (sig == kSigKill) {
    do_signal_continue(p, /*report=*/false);
  } else if (sig_bit(sig) & kStopSignals) {
    flush(sig_bit(kSigCont));
    if (p.sigactions[sig].handler == kSigDfl && unblocked_somewhere(p, t, sig)) {
      do_signal_stop(p, sig);
      return true;
    }
  }
  return false;
}

void MachineState::send_signal(Process& p, Task* t, const SigInfo& si) {
  if (p.exited() || si.signo < 1 || si.signo > kNsig) return;
  if (job_control_at_generation(p, t, si.signo)) return;
  const KSigaction& sa = p.sigactions[si.signo];
  // sig_ignored: a blocked (or sigwait-ed) signal is kept even when its action ignores it.
  const Task& target = t ? *t : p.main_task();
  const bool blocked = (target.sigmask | target.sigwait_mask) & sig_bit(si.signo);
  bool ignored = si.signo != kSigKill && !blocked &&
                 (sa.handler == kSigIgn ||
                  (sa.handler == kSigDfl && default_action(si.signo) == SigDefault::Ignore));
  if (ignored) return;  // discarded at generation, as Linux does for ignored signals
  if (t) {
    t->pending.add(si);
    interrupt_wait(*t, si.signo);
    return;
  }
  p.shared_pending.add(si);
  for (auto& task : p.tasks())
    if (task->state == TaskState::Blocked &&
        !(task->sigmask & ~task->sigwait_mask & sig_bit(si.signo))) {
      interrupt_wait(*task, si.signo);
      break;  // one thread takes a process-wide signal
    }
}

// do_notify_parent_cldstop: SIGCHLD with CLD_STOPPED / CLD_CONTINUED and the signal as
// si_status, unless the parent's SIGCHLD action has SA_NOCLDSTOP; a parent in wait4 re-checks.
void MachineState::notify_parent_cldstop(Process& p, int code, int status) {
  Process* parent = process(p.ppid());
  if (!parent || parent->exited()) return;
  if (!(parent->sigactions[kSigChld].flags & kSaNocldstop)) {
    SigInfo si;
    si.signo = kSigChld;
    si.code = code;
    si.pid = p.pid();
    si.status = status;
    send_signal(*parent, nullptr, si);
  }
  waitq_.wake_all(parent, sched_);
}

// The process stops as a whole: each task blocks at its next turn (enter_group_stop), a
// blocked one stays blocked; wait4 WUNTRACED reports `sig` once.
void MachineState::do_signal_stop(Process& p, int sig) {
  if (p.group_stop || p.exited()) return;
  p.group_stop = sig;
  p.stop_report = sig;
  p.cont_report = false;
  notify_parent_cldstop(p, kCldStopped, sig);
}

void MachineState::do_signal_continue(Process& p, bool report) {
  if (!p.group_stop) return;
  p.group_stop = 0;
  p.stop_report = 0;
  p.cont_report = report;
  for (auto& t : p.tasks())
    if (t->stopped) leave_group_stop(*t);
  if (report) notify_parent_cldstop(p, kCldContinued, kSigCont);
}

// The task's turn came while its process is stopped: it blocks (TASK_STOPPED), neither
// interruptible nor timed, keeping the result of the syscall it was in.
bool MachineState::enter_group_stop(Task& t) {
  if (!t.proc().group_stop || t.state != TaskState::Runnable) return false;
  t.stopped = true;
  sched_.block(t, WaitInfo{WaitInfo::Kind::Sleep, 0, 0, /*interruptible=*/false});
  return true;
}

void MachineState::leave_group_stop(Task& t) {
  t.stopped = false;
  const std::optional<int64_t> ret = t.pending_ret;
  const bool restart = t.restart_syscall;
  sched_.wake(t, 0);
  t.pending_ret = ret;
  t.restart_syscall = restart;
}

// rt_sigsuspend's temporary mask ends on the way back to user mode unless a handler's frame
// saved the caller's mask (then sigreturn restores it).
void MachineState::restore_saved_sigmask(Task& t) {
  if (t.saved_sigmask) t.sigmask = *t.saved_sigmask;
  t.saved_sigmask.reset();
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
    if (si.code == kSiTimer) p.timers.delivered(si.timer_id, si.overrun);
    if (lifecycle_) lifecycle_->on_signal(t, sig);
    KSigaction& sa = p.sigactions[sig];
    if (sa.handler == kSigIgn) continue;
    if (sa.handler == kSigDfl) {
      SigDefault act = default_action(sig);
      if (act == SigDefault::Ignore) continue;
      if (act == SigDefault::Stop) {  // blocked when sent, unblocked since: stop now
        do_signal_stop(p, sig);      // the caller sees group_stop (enter_group_stop)
        return true;
      }
      kill_by_signal(p, sig);
      return false;
    }
    // The frame saves the mask to restore: rt_sigsuspend's caller's, if the task is in it.
    const uint64_t sigtramp = vdso_ && p.vdso.value ? p.vdso.value + vdso_->sigtramp_offset() : 0;
    FrameRequest req{sig, si, sa.handler, sa.flags, sa.restorer, sigtramp,
                     t.saved_sigmask.value_or(t.sigmask), t.altstack};
    t.saved_sigmask.reset();
    UserRegs regs = user_regs(t);
    if (!setup_rt_frame(regs, p.mm(), req)) {
      kill_by_signal(p, kSigSegv);
      return false;
    }
    if (t.altstack.flags & kSsAutodisarm) t.altstack = AltStack{};  // signal_delivered: sas_ss_reset
    t.sigmask |= sa.mask | ((sa.flags & kSaNodefer) ? 0 : sig_bit(sig));
    t.sigmask &= ~kUnblockable;
    if (sa.flags & kSaResethand) sa = KSigaction{};
    ++stats_.signals_delivered;
    // Linux's exit_to_user_mode_loop delivers again while a signal is deliverable: each frame
    // goes on top of the last, so the last one set up runs first.
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
