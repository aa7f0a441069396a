// KernelThread: the machine's kworker (Linux's kworker/0:1 running queued work items), a task
// the scheduler runs like the guest's under the active strategy. It has no mm (Linux: a
// kernel thread's task->mm is NULL): its Process exists only to own the Task, and is not one
// of the machine's processes. A KernelWork is a sequence of steps; each step ends at a lock
// operation (a scheduling point) and counts as a fixed number of scheduling steps (its
// "retired user instructions", what schedules are keyed by), so a strategy's budget ends the
// kworker's turn between steps (machine_kwork.cc).
//
// Work is queued by the host (Machine API, CLI) to start once the machine's scheduling steps
// reach `start_at`; items run one after the other in queue order (by start_at, then FIFO).
//
// Who may touch what: the emulation thread; MachineState drives it (machine_kwork.cc).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "emu/process.h"

namespace probesim::emu {

class MachineState;

class KernelWork {
 public:
  enum class Step {
    More,     // ran a step; more steps follow
    Blocked,  // blocked on a lock before doing anything: the same step runs again when woken
    Done,     // finished (successfully or not: error() says)
  };
  virtual ~KernelWork() = default;
  // Runs the next step in the kworker's context.
  virtual Step step(MachineState& m, Task& kworker) = 0;
  virtual std::string describe() const = 0;   // "uprobe_register(/bin/x:main)"
  virtual std::string next_step() const = 0;  // the step that runs next, in kernel terms
  const std::string& error() const { return error_; }
  uint64_t start_at = 0;  // scheduling steps (retired user instructions of all tasks)

 protected:
  std::string error_;
};

class KernelThread {
 public:
  static constexpr int kPid = 2;  // pids of guest processes start at 100

  KernelThread();
  Task& task() { return proc_.main_task(); }
  const std::string& comm() const { return proc_.comm; }  // "kworker/0:1"
  void queue(std::unique_ptr<KernelWork> w);
  // The item running or due next (null: nothing queued).
  KernelWork* front() { return work_.empty() ? nullptr : work_.front().get(); }
  std::unique_ptr<KernelWork> pop();
  bool in_flight() const { return started_; }  // the front item ran a step and is not done
  void set_in_flight(bool v) { started_ = v; }
  bool scheduled = false;  // on the scheduler (runnable or blocked), not idle
  uint64_t steps = 0;      // steps run, over all items

 private:
  Process proc_;
  std::deque<std::unique_ptr<KernelWork>> work_;
  bool started_ = false;
};

}  // namespace probesim::emu
