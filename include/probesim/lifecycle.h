// LifecycleObserver: processes forked, exec'ed, exiting, and signals delivered, as they happen
// (Linux's sched_process_fork / sched_process_exec / sched_process_exit / signal_deliver
// tracepoints). Set with Machine::set_lifecycle_observer; called on the emulation thread
// during run(), only while one is set. An observer may read the Machine (snapshots, exit_of,
// request_stop), never change it.
#pragma once

namespace probesim {

class LifecycleObserver {
 public:
  virtual ~LifecycleObserver() = default;
  // fork/vfork/clone of a new process: the child is complete and runnable.
  virtual void on_fork(int parent_pid, int child_pid) = 0;
  // execve succeeded: pid runs the new image (comm, exe and mm already replaced).
  virtual void on_exec(int pid) = 0;
  // pid's last task died: its exit status is set (Machine::exit_of).
  virtual void on_exit(int pid) = 0;
  // Signal `sig` was dequeued for delivery to task `tid` of `pid`, whatever its action.
  virtual void on_signal(int pid, int tid, int sig) = 0;
};

}  // namespace probesim
