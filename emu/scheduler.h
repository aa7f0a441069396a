// Scheduler: N logical CPUs over a deterministic sequential simulation. Each logical CPU has
// its own virtual clock; the CPU whose clock is furthest behind always runs next (ties: lowest
// index), so time advances in a deterministic order whatever the host does. A CPU runs one
// task for one quantum, then the task goes back to the run queue (round robin) and the policy
// picks the next one. Every decision is a logged, explicit event (cpu, task, reason,
// instruction count), so a later issue can record and replay schedules.
//
// Who may touch what: the run loop (MachineState::run) and syscall handlers on the emulation
// thread. Tasks are owned by their processes; the scheduler holds non-owning pointers and
// forgets a task when it dies (remove()).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "emu/deterministic_rng.h"
#include "emu/task.h"
#include "emu/virtual_clock.h"

namespace probesim::emu {

enum class SchedPolicy {
  RoundRobin,  // FIFO run queue, full quanta
  Random,      // seeded: a random runnable task and a random quantum length in [1, quantum]
};

struct SchedEvent {
  uint64_t seq;
  int cpu;
  int tid;           // -1: idle
  std::string reason;  // "pick", "preempt", "block", "exit", "wake", "idle"
  uint64_t insns;    // the task's instruction count at the event
  uint64_t time_ns;  // the CPU's virtual time at the event
};

class Scheduler {
 public:
  Scheduler(int ncpus, SchedPolicy policy, uint64_t seed, uint64_t hz, int64_t epoch_sec);

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
    uint64_t budget;
  };
  // The next quantum to run, after waking expired sleepers and letting idle CPUs catch up.
  // Empty when nothing can ever run again (all tasks dead, or every live task blocked forever),
  // or when every CPU's clock reached `horizon_ns` (idle CPUs stop there: horizon_reached()).
  std::optional<Step> next(uint64_t quantum, uint64_t horizon_ns = UINT64_MAX);
  bool horizon_reached(uint64_t horizon_ns) const;
  // After a quantum: the task is preempted (back to the queue) unless it blocked or died.
  void finish(const Step& step);

  const std::vector<SchedEvent>& log() const { return log_; }
  uint64_t max_time_ns() const;    // the latest CPU clock

 private:
  struct LogicalCpu {
    VirtualClock clock;
    Task* current = nullptr;
  };
  int behind_cpu() const;
  Task* pick(int cpu);
  bool wake_expired(uint64_t now_ns);
 public:
  // Called for a task whose deadline fired, before it is woken (the futex table drops it).
  std::function<void(Task&)> on_deadline;

 private:
  uint64_t earliest_deadline() const;
  void event(int cpu, Task* t, const char* reason);

  std::vector<LogicalCpu> cpus_;
  std::deque<Task*> runq_;
  std::vector<Task*> sleepers_;  // blocked tasks with a deadline
  SchedPolicy policy_;
  DeterministicRng rng_;
  int running_cpu_ = 0;
  std::vector<SchedEvent> log_;
  uint64_t seq_ = 0;
};

}  // namespace probesim::emu
