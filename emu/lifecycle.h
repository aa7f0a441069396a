// LifecycleObserver: who wants to hear of processes being forked, exec'ed, exiting, and of
// signals being delivered (the Python layer's Machine.on_fork / on_exec / on_exit /
// on_signal). MachineState calls it on the emulation thread, only when one is set (zero cost
// otherwise); an observer must not mutate the machine (it may read it).
#pragma once

namespace probesim::emu {

class Process;
class Task;

class LifecycleObserver {
 public:
  virtual ~LifecycleObserver() = default;
  // fork/vfork/clone of a new process: child is complete and runnable (sched_process_fork).
  virtual void on_fork(Process& parent, Process& child) = 0;
  // execve succeeded: p runs the new image (comm, exe_path, mm already replaced).
  virtual void on_exec(Process& p) = 0;
  // p's last task died: its exit status is set (sched_process_exit).
  virtual void on_exit(Process& p) = 0;
  // Signal sig was dequeued for delivery to t, whatever its action (signal_deliver).
  virtual void on_signal(Task& t, int sig) = 0;
};

}  // namespace probesim::emu
