// MachineState, timers side: firing the itimers and POSIX timers of the live processes
// (emu/itimers.h) when the scheduler's clock reaches them, as kernel/time/itimer.c it_real_fn
// and posix-timers.c posix_timer_event do from their hrtimers.
#include <algorithm>
#include <climits>
#include <vector>

#include "emu/machine_state.h"

namespace probesim::emu {
namespace {

constexpr int kItimerSignals[] = {kSigAlrm, kSigVtalrm, kSigProf};  // ITIMER_REAL, VIRTUAL, PROF

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

// Each due timer fires once, whatever the number of periods that passed (hrtimer_forward);
// a POSIX timer whose signal is still queued counts them as overruns instead of queueing
// another. Due timers of a process fire in expiry order (itimers first on a tie).
void MachineState::fire_timers(uint64_t now_ns) {
  for (auto& [pid, p] : procs_) {
    if (p->exited()) continue;
    ProcessTimers& timers = p->timers;
    for (int which = 0; which < 3; ++which) {
      IntervalTimer& t = timers.itimers[which];
      if (!t.armed() || t.expires_ns > now_ns) continue;
      t.expire(now_ns);
      SigInfo si;
      si.signo = kItimerSignals[which];
      si.code = kSiKernel;  // SEND_SIG_PRIV
      send_signal(*p, nullptr, si);
      if (p->exited()) break;
    }
    std::vector<std::pair<uint64_t, int>> due;  // (expiry, id)
    for (auto& [id, pt] : timers.posix)
      if (pt.timer.armed() && pt.timer.expires_ns <= now_ns) due.emplace_back(pt.timer.expires_ns, id);
    std::sort(due.begin(), due.end());
    for (const auto& [expires, id] : due) {
      if (p->exited()) break;
      auto it = timers.posix.find(id);
      if (it == timers.posix.end()) continue;
      PosixTimer& pt = it->second;
      const uint64_t periods = pt.timer.expire(now_ns);
      if (pt.notify == kSigevNone) continue;
      Task* target = pt.notify == kSigevThreadId ? p->task(pt.tid) : nullptr;
      if (target && target->state == TaskState::Dead) target = nullptr;  // the process gets it
      PendingSignals& q = target ? target->pending : p->shared_pending;
      if (SigInfo* queued = queued_timer_signal(q, id)) {
        queued->overrun = add_overrun(queued->overrun, periods);
        continue;
      }
      SigInfo si;
      si.signo = pt.signo;
      si.code = kSiTimer;
      si.timer_id = id;
      si.overrun = add_overrun(0, periods - 1);
      si.value = pt.value;
      send_signal(*p, target, si);
    }
  }
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
