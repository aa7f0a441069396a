// MachineState, timers side: firing the itimers and POSIX timers of the live processes
// (emu/itimers.h) when the scheduler's clock reaches them, as kernel/time/itimer.c it_real_fn
// and posix-timers.c posix_timer_event do from their hrtimers. Timer ids are TimerFire's:
// -1, -2, -3 for ITIMER_REAL, VIRTUAL, PROF; a POSIX timer's own id (>= 0) otherwise.
#include <algorithm>
#include <climits>
#include <vector>

#include "emu/machine_state.h"

namespace probesim::emu {
namespace {

constexpr int kItimerSignals[] = {kSigAlrm, kSigVtalrm, kSigProf};  // ITIMER_REAL, VIRTUAL, PROF

int itimer_id(int which) { return -(which + 1); }

IntervalTimer* timer_of(Process& p, int id) {
  if (id < 0) return -id <= 3 ? &p.timers.itimers[static_cast<size_t>(-id - 1)] : nullptr;
  auto it = p.timers.posix.find(id);
  return it == p.timers.posix.end() ? nullptr : &it->second.timer;
}

// The queued signal of POSIX timer `id` in `q`, if it has not been delivered yet.
SigInfo* queued_timer_signal(PendingSignals& q, int id) {
  for (SigInfo& si : q.queue)
    if (si.code == kSiTimer && si.timer_id == id) return &si;
  return nullptr;
}

int add_overrun(int overrun, uint64_t more) {
  const uint64_t sum = static_cast<uint64_t>(overrun) + more;
  return sum > INT_MAX ? INT_MAX : static_cast<int>(sum);  // DELAYTIMER_MAX
}

}  // namespace

uint64_t MachineState::next_timer_ns() const {
  uint64_t best = 0;
  for (const auto& [pid, p] : procs_) {
    if (p->exited()) continue;
    const uint64_t e = p->timers.next_expiry();
    if (e && (!best || e < best)) best = e;
  }
  return best;
}

// Each due timer fires once, whatever the number of periods that passed (hrtimer_forward), in
// expiry order within a process (then by id); each fire is told to the recording.
void MachineState::fire_timers(uint64_t now_ns) {
  for (auto& [pid, p] : procs_) {
    if (p->exited()) continue;
    std::vector<std::pair<uint64_t, int>> due;  // (expiry, id)
    const IntervalTimer& real = p->timers.itimers[ProcessTimers::kReal];
    if (real.armed() && real.expires_ns <= now_ns)
      due.emplace_back(real.expires_ns, itimer_id(ProcessTimers::kReal));
    for (const auto& [id, pt] : p->timers.posix)
      if (pt.base == TimerBase::Monotonic && pt.timer.armed() && pt.timer.expires_ns <= now_ns)
        due.emplace_back(pt.timer.expires_ns, id);
    std::sort(due.begin(), due.end());
    for (const auto& [expires, id] : due) {
      IntervalTimer* t = timer_of(*p, id);
      if (p->exited() || !t || !t->armed()) continue;  // a signal's effect may have changed it
      const uint64_t periods = t->expire(now_ns);
      sched_.note_timer_fire(TimerFire{pid, id, periods, 0});
      signal_timer(*p, id, periods);
    }
  }
}

uint64_t MachineState::timer_base_ns(Process& p, TimerBase base, int tid) {
  switch (base) {
    case TimerBase::Monotonic: return sched_.now_clock().monotonic_ns();
    case TimerBase::ProcessUser: return cputime_ns(process_cputime(p).user);
    case TimerBase::ProcessTotal: {
      const CpuTime c = process_cputime(p);
      return cputime_ns(c.user + c.system);
    }
    case TimerBase::ThreadUser:
    case TimerBase::Thread: {
      const Task* t = p.task(tid);
      if (!t) return 0;
      const CpuTime c = task_cputime(*t);
      return cputime_ns(base == TimerBase::Thread ? c.user + c.system : c.user);
    }
  }
  return 0;
}

// run_posix_cpu_timers for one process: its thread timers, then ITIMER_PROF, ITIMER_VIRTUAL
// (check_cpu_itimer: one signal, the expiry moves one interval) and the process-wide POSIX
// timers (bump_cpu_timer: past now by whole intervals, the rest as overrun).
void MachineState::fire_cpu_timers(Process& p) {
  if (!p.timers.cpu_timer_armed()) return;
  std::vector<int> due;
  auto posix_due = [&](bool thread) {
    for (const auto& [id, pt] : p.timers.posix)
      if (pt.base != TimerBase::Monotonic && pt.thread_base() == thread && pt.timer.armed() &&
          pt.timer.expires_ns <= timer_base_ns(p, pt.base, pt.cpu_tid))
        due.push_back(id);
  };
  posix_due(true);
  for (int which : {ProcessTimers::kProf, ProcessTimers::kVirtual}) {
    const IntervalTimer& t = p.timers.itimers[static_cast<size_t>(which)];
    if (t.armed() && t.expires_ns <= timer_base_ns(p, ProcessTimers::itimer_base(which), 0))
      due.push_back(itimer_id(which));
  }
  posix_due(false);
  for (int id : due) {
    IntervalTimer* t = timer_of(p, id);
    if (p.exited() || !t || !t->armed()) continue;  // a signal's effect may have changed it
    uint64_t periods = 1;
    if (id < 0) {
      t->advance(1);
    } else {
      const PosixTimer& pt = p.timers.posix.at(id);
      periods = t->expire(timer_base_ns(p, pt.base, pt.cpu_tid));
    }
    sched_.note_timer_fire(TimerFire{p.pid(), id, periods, 0});
    signal_timer(p, id, periods);
  }
}

bool MachineState::replay_timer(const TimerFire& f) {
  Process* p = process(f.pid);
  IntervalTimer* t = p && !p->exited() ? timer_of(*p, f.timer) : nullptr;
  if (!t || !t->armed() || f.periods == 0) return false;
  t->advance(f.periods);
  signal_timer(*p, f.timer, f.periods);
  return true;
}

// An itimer sends its signal (SEND_SIG_PRIV: SI_KERNEL). A POSIX timer queues SI_TIMER with
// its id, value and the periods beyond the first as overrun, or, while its signal is still
// queued, adds them to that signal's overrun instead (SIGEV_NONE: nothing).
void MachineState::signal_timer(Process& p, int id, uint64_t periods) {
  if (id < 0) {
    SigInfo si;
    si.signo = kItimerSignals[-id - 1];
    si.code = kSiKernel;
    send_signal(p, nullptr, si);
    return;
  }
  const PosixTimer& pt = p.timers.posix.at(id);
  if (pt.notify == kSigevNone) return;
  Task* target = pt.notify == kSigevThreadId ? p.task(pt.tid) : nullptr;
  if (target && target->state == TaskState::Dead) target = nullptr;  // the process gets it
  PendingSignals& q = target ? target->pending : p.shared_pending;
  if (SigInfo* queued = queued_timer_signal(q, id)) {
    queued->overrun = add_overrun(queued->overrun, periods);
    return;
  }
  SigInfo si;
  si.signo = pt.signo;
  si.code = kSiTimer;
  si.timer_id = id;
  si.overrun = add_overrun(0, periods - 1);
  si.value = pt.value;
  send_signal(p, target, si);
}

void MachineState::forget_timer_signal(Process& p, int timer_id) {
  auto drop = [timer_id](PendingSignals& q) {
    SigInfo* si = queued_timer_signal(q, timer_id);
    if (!si) return;
    const int sig = si->signo;
    std::erase_if(q.queue, [timer_id](const SigInfo& s) {
      return s.code == kSiTimer && s.timer_id == timer_id;
    });
    if (std::none_of(q.queue.begin(), q.queue.end(), [sig](const SigInfo& s) { return s.signo == sig; }))
      q.mask &= ~sig_bit(sig);
  };
  drop(p.shared_pending);
  for (auto& t : p.tasks()) drop(t->pending);
}

}  // namespace probesim::emu
