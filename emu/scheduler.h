// Scheduler: N logical CPUs over a deterministic sequential simulation. Each logical CPU has
// its own virtual clock; the CPU whose clock is furthest behind always runs next (ties: lowest
// index), so time advances in a deterministic order whatever the host does. A CPU runs one
// task for one quantum, then the task goes back to the run queue and the strategy
// (sched/strategy.h) picks the next one. Every decision is a logged, explicit event (cpu, task,
// reason, instruction count). A ScheduleObserver sees the decisions (recording); with a
// ScheduleSource the decisions come from a trace instead (replay), keyed by task and retired
// user instructions, so virtual clocks (which probes move) never change them.
//
// Who may touch what: the run loop (MachineState::run) and syscall handlers on the emulation
// thread. Tasks are owned by their processes; the scheduler holds non-owning pointers and
// forgets a task when it dies (remove()).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "emu/deterministic_rng.h"
#include "emu/sched/strategy.h"
#include "emu/task.h"
#include "emu/virtual_clock.h"

namespace probesim::emu {

// Recording: told about every decision before the quantum runs.
class ScheduleObserver {
 public:
  virtual ~ScheduleObserver() = default;
  virtual void on_deadline_wake(const Task& t) = 0;  // a sleeper's deadline woke it
  // A timer of process `pid` fired (ids as TraceTimerFire: -1..-3 itimers, >= 0 POSIX).
  virtual void on_timer_fire(int pid, int timer, uint64_t periods) = 0;
  virtual void on_pick(int cpu, const Task& t) = 0;
};

// A timer expiry as a replay repeats it (the recorded periods, whatever the clocks say).
struct TimerFire {
  int pid = 0;
  int timer = 0;
  uint64_t periods = 1;
  size_t after_wakes = 0;  // deadline wakes of the same decision that came first
};

// One recorded decision, as a replay consumes it.
struct ReplayDecision {
  int cpu = 0;
  int tid = 0;
  uint64_t start_insns = 0;             // the task's user_insns when it was picked
  std::optional<uint64_t> end_insns;    // preempted at this count; empty: a natural end
  std::vector<int> deadline_wakes;      // sleepers whose deadline fired just before the pick
  std::vector<TimerFire> timer_fires;   // then the timers that fired
};

// Replay: the decisions in order. diverged() reports why the machine cannot follow them.
class ScheduleSource {
 public:
  virtual ~ScheduleSource() = default;
  virtual std::optional<ReplayDecision> next_decision() = 0;  // empty at the end of the trace
  virtual void diverged(const Task* t, std::string what) = 0;
};

struct SchedEvent {
  uint64_t seq;
  int cpu;
  int tid;           // -1: idle
  std::string reason;  // "pick", "preempt", "block", "exit", "wake", "idle"
  uint64_t insns;    // the task's retired user instructions at the event (probe-invariant)
  uint64_t time_ns;  // the CPU's virtual time at the event
};

class Scheduler {
 public:
  Scheduler(int ncpus, std::unique_ptr<SchedStrategy> strategy, uint64_t hz, int64_t epoch_sec);
  void set_strategy(std::unique_ptr<SchedStrategy> s) { strategy_ = std::move(s); }
  void set_observer(ScheduleObserver* o) { observer_ = o; }
  void set_source(ScheduleSource* s) { source_ = s; }
  bool replaying() const { return source_ != nullptr; }
  // User instructions retired by all tasks (the strategies' step count).
  uint64_t steps() const { return steps_; }
  // Atomic and syscall instructions retired by all tasks (the strategies' point count).
  uint64_t points() const { return points_; }

  int ncpus() const { return static_cast<int>(cpus_.size()); }
  VirtualClock& clock(int cpu) { return cpus_[cpu].clock; }
  // The clock of the CPU running now (between steps: the one furthest behind).
  VirtualClock& now_clock() { return cpus_[running_cpu_].clock; }
  int running_cpu() const { return running_cpu_; }

  // Task lifecycle (called by spawn/clone, blocking syscalls, wakers, exit).
  void add(Task& t);                          // a new runnable task
  void block(Task& t, WaitInfo wait);         // the running task blocks
  void wake(Task& t, int64_t ret);            // a blocked task becomes runnable, returning `ret`
  void wake_restart(Task& t);                 // ... and re-executes its syscall instead
  void remove(Task& t);                       // a task died

  struct Step {
    int cpu;
    Task* task;
    uint64_t budget;       // in steps (user instructions)
    uint64_t start_insns;  // the task's user_insns when picked
    uint64_t sync_budget = 0;  // end in front of the n-th atomic/syscall (Cpu::run; 0: none)
    uint64_t start_syncs = 0;  // the task's sync_ops when picked
  };
  // A quantum budget that never runs out (replay of a quantum that ended by itself).
  static constexpr uint64_t kNoBudget = ~0ull >> 2;
  // The next quantum to run, after waking expired sleepers and letting idle CPUs catch up.
  // Empty when nothing can ever run again (all tasks dead, or every live task blocked forever),
  // or when every CPU's clock reached `horizon_ns` (idle CPUs stop there: horizon_reached()).
  std::optional<Step> next(uint64_t quantum, uint64_t horizon_ns = UINT64_MAX);
  bool horizon_reached(uint64_t horizon_ns) const;
  // After a quantum: the task is preempted (back to the queue) unless it blocked or died.
  // `preempted`: the quantum ended by its budget (else the task stopped by itself: blocked,
  // exited, yielded); strategies hear it as PickContext::prev_preempted.
  void finish(const Step& step, bool preempted = false);

  const std::vector<SchedEvent>& log() const { return log_; }
  // The last `n` events, one per line, oldest first (assert contexts).
  std::string recent_events(size_t n) const;
  bool has_work() const {
    return !runq_.empty() || !sleepers_.empty() || (next_timer && next_timer() != 0);
  }
  uint64_t max_time_ns() const;    // the latest CPU clock

 private:
  struct LogicalCpu {
    VirtualClock clock;
    Task* current = nullptr;
  };
  int behind_cpu() const;
  bool wake_expired(uint64_t now_ns);
 public:
  // Called for a task whose deadline fired, before it is woken (the futex table drops it).
  std::function<void(Task&)> on_deadline;
  // Hears every event() (reasons: pick, idle, block, wake, preempt) with its CPU and task
  // (null for idle); null: nobody (tracefs sets it while a sched tracepoint is on). It may
  // record, never change the scheduler.
  std::function<void(int cpu, Task* t, const char* reason)> on_event;
  // The strategy wants the running quantum to end at its next scheduling point.
  std::function<void()> on_preempt_request;
  // Timers (the machine's): the earliest armed expiry (virtual monotonic ns, 0: none), which an
  // idle CPU advances to like a sleeper's deadline, and the call that fires those due before
  // each pick, with the clock of the CPU furthest behind (it reports each fire through
  // note_timer_fire, for the recording). A replay fires the recorded ones instead
  // (replay_timer: false when that timer is not armed), never by its clocks.
  std::function<uint64_t()> next_timer;
  std::function<void(uint64_t now_ns)> fire_timers;
  std::function<bool(const TimerFire&)> replay_timer;
  void note_timer_fire(const TimerFire& f) {
    if (observer_) observer_->on_timer_fire(f.pid, f.timer, f.periods);
  }

 private:
  uint64_t earliest_deadline() const;
  std::optional<Step> next_replayed();
  void deadline_wake(Task& t);
  void maybe_preempt_for(const Task& woken);
  void event(int cpu, Task* t, const char* reason);

  std::vector<LogicalCpu> cpus_;
  std::deque<Task*> runq_;
  std::vector<Task*> sleepers_;  // blocked tasks with a deadline
  std::unique_ptr<SchedStrategy> strategy_;
  ScheduleObserver* observer_ = nullptr;
  ScheduleSource* source_ = nullptr;
  uint64_t steps_ = 0;
  uint64_t points_ = 0;
  bool last_at_point_ = false;  // the last quantum ended in front of a scheduling point
  int last_tid_ = -1;           // the task of the last quantum and its retired instructions
  uint64_t last_insns_ = 0;     // then (PickContext::prev_tid, prev_insns)
  bool last_preempted_ = false;  // it ended by its budget (PickContext::prev_preempted)
  int running_cpu_ = 0;
  std::vector<SchedEvent> log_;
  uint64_t seq_ = 0;
};

}  // namespace probesim::emu
