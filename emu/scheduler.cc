#include "emu/scheduler.h"

#include <algorithm>

#include "probesim/assert.h"

namespace probesim::emu {

Scheduler::Scheduler(int ncpus, std::unique_ptr<SchedStrategy> strategy, uint64_t hz,
                     int64_t epoch)
    : strategy_(std::move(strategy)) {
  PROBESIM_ASSERT(ncpus >= 1 && strategy_ != nullptr);
  for (int i = 0; i < ncpus; ++i) cpus_.push_back(LogicalCpu{VirtualClock(hz, epoch), nullptr});
}

void Scheduler::event(int cpu, Task* t, const char* reason) {
  uint64_t insns = t ? t->user_insns.value : 0;
  log_.push_back(SchedEvent{seq_++, cpu, t ? t->tid() : -1, reason, insns,
                            cpus_[cpu].clock.monotonic_ns()});
  if (on_event) on_event(cpu, t, reason);
}

std::string Scheduler::recent_events(size_t n) const {
  std::string out = "last scheduler events (oldest first):";
  if (log_.empty()) out += " none";
  for (size_t i = log_.size() > n ? log_.size() - n : 0; i < log_.size(); ++i) {
    const SchedEvent& e = log_[i];
    out += "\n  #" + std::to_string(e.seq) + " cpu " + std::to_string(e.cpu) + " tid " +
           std::to_string(e.tid) + " " + e.reason + " at " + std::to_string(e.time_ns) +
           " ns, " + std::to_string(e.insns) + " insns";
  }
  return out;
}

void Scheduler::add(Task& t) {
  t.state = TaskState::Runnable;
  runq_.push_back(&t);
  maybe_preempt_for(t);
}

// Only while a task is in its quantum (not between quanta, not during replay: the trace
// already says where every quantum ends).
void Scheduler::maybe_preempt_for(const Task& woken) {
  Task* running = cpus_[running_cpu_].current;
  if (!running || running == &woken || source_ || !on_preempt_request) return;
  if (strategy_->preempt_for(*running, woken)) on_preempt_request();
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
  maybe_preempt_for(t);
}

void Scheduler::wake_restart(Task& t) {
  if (t.state != TaskState::Blocked) return;
  const bool in_syscall = t.wait.kind == WaitInfo::Kind::Poll;
  wake(t, 0);
  t.restart_in_syscall = in_syscall;
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
  uint64_t best = next_timer ? next_timer() : 0;
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
    if (observer_) observer_->on_deadline_wake(*t);
    deadline_wake(*t);
    any = true;
  }
  return any;
}

void Scheduler::deadline_wake(Task& t) {
  int64_t ret = t.wait.timeout_ret;
  if (on_deadline) on_deadline(t);
  if (t.wait.kind == WaitInfo::Kind::Poll)
    wake_restart(t);  // the restarted syscall sees its deadline passed
  else
    wake(t, ret);
}

bool Scheduler::horizon_reached(uint64_t horizon_ns) const {
  return cpus_[behind_cpu()].clock.monotonic_ns() >= horizon_ns;
}

std::optional<Scheduler::Step> Scheduler::next(uint64_t quantum, uint64_t horizon_ns) {
  // A replay follows its trace (the horizon does not apply: the trace ends where it ends).
  if (source_) return next_replayed();
  for (;;) {
    int cpu = behind_cpu();
    running_cpu_ = cpu;
    VirtualClock& clock = cpus_[cpu].clock;
    if (clock.monotonic_ns() >= horizon_ns) return std::nullopt;  // the furthest behind is there
    wake_expired(clock.monotonic_ns());
    if (fire_timers) fire_timers(clock.monotonic_ns());
    if (!runq_.empty()) {
      std::vector<Task*> runnable(runq_.begin(), runq_.end());
      const PickContext ctx{steps_,   quantum,     points_,        last_at_point_,
                            last_tid_, last_insns_, last_preempted_};
      SchedStrategy::Pick p = strategy_->pick(runnable, ctx);
      PROBESIM_ASSERT(p.index < runq_.size() && p.budget >= 1);
      Task* t = runq_[p.index];
      runq_.erase(runq_.begin() + static_cast<long>(p.index));
      cpus_[cpu].current = t;
      clock.advance_to_ns(t->ready_at_ns);
      event(cpu, t, "pick");
      if (observer_) observer_->on_pick(cpu, *t);
      return Step{cpu, t, p.budget, t->user_insns.value, p.sync_budget, t->sync_ops};
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

// Replay: the recorded sleepers wake, then the recorded task runs on the recorded CPU, up to
// the recorded count (or to its natural end). Anything the machine cannot follow diverges.
std::optional<Scheduler::Step> Scheduler::next_replayed() {
  std::optional<ReplayDecision> d = source_->next_decision();
  if (!d) return std::nullopt;
  auto find = [](auto& tasks, int tid) -> Task* {
    for (Task* t : tasks)
      if (t->tid() == tid) return t;
    return nullptr;
  };
  running_cpu_ = d->cpu < ncpus() ? d->cpu : 0;
  size_t next_fire = 0;
  auto fire_up_to = [&](size_t wakes) {  // the recorded timer fires before wake number `wakes`
    for (; next_fire < d->timer_fires.size() && d->timer_fires[next_fire].after_wakes <= wakes; ++next_fire) {
      const TimerFire& f = d->timer_fires[next_fire];
      if (replay_timer && replay_timer(f)) continue;
      source_->diverged(nullptr, "timer " + std::to_string(f.timer) + " of pid " + std::to_string(f.pid) +
                                     " is not armed, but the trace fires it");
      return false;
    }
    return true;
  };
  for (size_t i = 0; i < d->deadline_wakes.size(); ++i) {
    if (!fire_up_to(i)) return std::nullopt;
    const int tid = d->deadline_wakes[i];
    Task* s = find(sleepers_, tid);
    if (!s) {
      source_->diverged(nullptr, "task " + std::to_string(tid) + " is not sleeping, but the trace wakes it");
      return std::nullopt;
    }
    deadline_wake(*s);
  }
  if (!fire_up_to(d->deadline_wakes.size())) return std::nullopt;
  Task* t = find(runq_, d->tid);
  if (!t) {
    source_->diverged(nullptr, "task " + std::to_string(d->tid) + " is not runnable, but the trace runs it");
    return std::nullopt;
  }
  if (t->user_insns.value != d->start_insns || (d->end_insns && *d->end_insns < d->start_insns)) {
    source_->diverged(t, "task starts its quantum at " + std::to_string(t->user_insns.value) +
                             " instructions, the trace at " + std::to_string(d->start_insns));
    return std::nullopt;
  }
  std::erase(runq_, t);
  cpus_[running_cpu_].current = t;
  VirtualClock& clock = cpus_[running_cpu_].clock;
  clock.advance_to_ns(t->ready_at_ns);
  event(running_cpu_, t, "pick");
  uint64_t budget = d->end_insns ? *d->end_insns - d->start_insns : kNoBudget;
  return Step{running_cpu_, t, budget, t->user_insns.value, 0, t->sync_ops};
}

void Scheduler::finish(const Step& step, bool preempted) {
  steps_ += step.task->user_insns.value - step.start_insns;
  points_ += step.task->sync_ops - step.start_syncs;
  last_at_point_ = step.task->at_sync_point;
  last_tid_ = step.task->tid();
  last_insns_ = step.task->user_insns.value;
  last_preempted_ = preempted;
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
