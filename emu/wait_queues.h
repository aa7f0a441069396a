// WaitQueues: tasks blocked on an object (a pipe, a parent waiting for children) until that
// object changes; waking restarts their syscall, as Linux's -ERESTARTSYS does: the task's PC
// goes back to the syscall instruction, whose number and arguments are still in its
// registers, and it runs again. FIFO per object, so wake order is deterministic.
//
// Who may touch what: syscall handlers and the run loop on the emulation thread. Objects are
// identified by address only (never dereferenced); Task pointers are non-owning.
#pragma once

#include <deque>
#include <map>

#include "emu/task.h"

namespace probesim::emu {

class Scheduler;

class WaitQueues {
 public:
  void add(const void* object, Task& t) { queues_[object].push_back(&t); }
  // Every task waiting on `object` becomes runnable and restarts its syscall.
  void wake_all(const void* object, Scheduler& sched);
  void remove(Task& t);

 private:
  std::map<const void*, std::deque<Task*>> queues_;
};

}  // namespace probesim::emu
