#include "emu/scheduler.h"

#include <algorithm>

#include "probesim/assert.h"

namespace probesim::emu {

Scheduler::Scheduler(int ncpus, SchedPolicy policy, uint64_t seed, uint64_t hz, int64_t epoch)
    : policy_(policy), rng_(DeterministicRng(seed).fork(0x5c4ed)) {
  PROBESIM_ASSERT(ncpus >= 1);
  for (int i = 0; i < ncpus; ++i) cpus_.push_back(LogicalCpu{VirtualClock(hz, epoch), nullptr});
}

void Scheduler::event(int cpu, Task* t, const char* reason) {
  uint64_t insns = t ? t->insns.value : 0;
  log_.push_back(SchedEvent{seq_++, cpu, t ? t->tid() : -1, reason, insns,
                            cpus_[cpu].clock.monotonic_ns()});
}

void Scheduler::add(Task& t) {
  t.state = TaskState::Runnable;
  runq_.push_back(&t);
}

void Scheduler::block(Task& t, WaitInfo wait) {
  t.state = TaskState::Blocked;
  t.wait = wait;
  // A deadline at KTIME_MAX is never reached (sleep infinity): the task has none.
  if (wait.deadline_ns >= kKtimeMax) t.wait.deadline_ns = 0;
  if (t.wait.deadline_ns) sleepers_.push_back(&t);
  event(running_cpu_, &t, "block");
}

void Scheduler::wake(Task& t, int64_t ret) {
  if (t.state != TaskState::Blocked) return;
  std::erase(sleepers_, &t);
  t.state = TaskState::Runnable;
  t.wait = WaitInfo{};
  t.pending_ret = ret;
  t.ready_at_ns = cpus_[running_cpu_].clock.monotonic_ns();
  runq_.push_back(&t);
  event(running_cpu_, &t, "wake");
}

void Scheduler::wake_restart(Task& t) {
  if (t.state != TaskState::Blocked) return;
  wake(t, 0);
  t.pending_ret.reset();
  t.restart_syscall = true;
}

void Scheduler::remove(Task& t) {
  t.state = TaskState::Dead;
  std::erase(runq_, &t);
  std::erase(sleepers_, &t);
  for (LogicalCpu& c : cpus_)
    if (c.current == &t) c.current = nullptr;
}

int Scheduler::behind_cpu() const {
  int best = 0;
  for (int i = 1; i < ncpus(); ++i)
    if (cpus_[i].clock.cycles() < cpus_[best].clock.cycles()) best = i;
  return best;
}

uint64_t Scheduler::earliest_deadline() const {
  uint64_t best = 0;
  for (Task* t : sleepers_)
    if (!best || t->wait.deadline_ns < best) best = t->wait.deadline_ns;
  return best;
}

bool Scheduler::wake_expired(uint64_t now_ns) {
  bool any = false;
  // Deterministic order: by deadline, then tid.
  std::vector<Task*> due;
  for (Task* t : sleepers_)
    if (t->wait.deadline_ns <= now_ns) due.push_back(t);
  std::sort(due.begin(), due.end(), [](Task* a, Task* b) {
    return a->wait.deadline_ns != b->wait.deadline_ns ? a->wait.deadline_ns < b->wait.deadline_ns
                                                      : a->tid() < b->tid();
  });
  for (Task* t : due) {
    int64_t ret = t->wait.timeout_ret;
    if (on_deadline) on_deadline(*t);
    wake(*t, ret);
    any = true;
  }
  return any;
}

Task* Scheduler::pick(int cpu) {
  if (runq_.empty()) return nullptr;
  size_t i = 0;
  if (policy_ == SchedPolicy::Random) i = rng_.next_u64() % runq_.size();
  Task* t = runq_[i];
  runq_.erase(runq_.begin() + static_cast<long>(i));
  cpus_[cpu].current = t;
  return t;
}

bool Scheduler::horizon_reached(uint64_t horizon_ns) const {
  return cpus_[behind_cpu()].clock.monotonic_ns() >= horizon_ns;
}

std::optional<Scheduler::Step> Scheduler::next(uint64_t quantum, uint64_t horizon_ns) {
  for (;;) {
    int cpu = behind_cpu();
    running_cpu_ = cpu;
    VirtualClock& clock = cpus_[cpu].clock;
    if (clock.monotonic_ns() >= horizon_ns) return std::nullopt;  // the furthest behind is there
    wake_expired(clock.monotonic_ns());
    Task* t = pick(cpu);
    if (t) {
      clock.advance_to_ns(t->ready_at_ns);
      event(cpu, t, "pick");
      uint64_t budget = quantum;
      if (policy_ == SchedPolicy::Random) budget = 1 + rng_.next_u64() % quantum;
      return Step{cpu, t, budget};
    }
    // Idle: catch up with the next CPU ahead of us, or the next deadline.
    uint64_t target = earliest_deadline();
    for (int i = 0; i < ncpus(); ++i) {
      uint64_t ns = cpus_[i].clock.monotonic_ns();
      if (i != cpu && ns > clock.monotonic_ns() && (!target || ns < target)) target = ns;
    }
    if (!target) return std::nullopt;  // nothing will ever run again
    target = std::min(target, horizon_ns);
    // Every idle step moves this clock forward; one whose time cannot grow any more
    // (saturated) never reaches the target: nothing runs again.
    if (clock.cycles_for_ns(target) <= clock.cycles().value) return std::nullopt;
    event(cpu, nullptr, "idle");
    clock.advance_to_ns(target);
  }
}

void Scheduler::finish(const Step& step) {
  LogicalCpu& c = cpus_[step.cpu];
  if (c.current != step.task) return;  // it blocked or died during the quantum
  c.current = nullptr;
  if (step.task->state == TaskState::Runnable) {
    runq_.push_back(step.task);
    event(step.cpu, step.task, "preempt");
  }
}

uint64_t Scheduler::max_time_ns() const {
  uint64_t m = 0;
  for (const LogicalCpu& c : cpus_) m = std::max(m, c.clock.monotonic_ns());
  return m;
}

}  // namespace probesim::emu
