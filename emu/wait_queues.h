// WaitQueues: tasks blocked on an object (a pipe, a parent waiting for children) until that
// object changes; waking restarts their syscall, as Linux's -ERESTARTSYS does: the task's PC
// goes back to the syscall instruction, whose number and arguments are still in its
// registers, and it runs again. FIFO per object, so wake order is deterministic. A woken task
// leaves every queue it was on (a poller sleeps on several: poll_freewait).
//
// Watchers (PollWatcher, poll.h) hear every wake of an object without sleeping on it, with the
// events the wake concerns: Linux's wait queue entries with a callback (ep_poll_callback).
//
// Who may touch what: syscall handlers and the run loop on the emulation thread. Objects are
// identified by address only (never dereferenced); Task and watcher pointers are non-owning
// (a watcher unwatches before it dies).
#pragma once

#include <deque>
#include <map>
#include <vector>

#include "emu/task.h"
#include "emu/vfs/poll.h"

namespace probesim::emu {

class Scheduler;

class WaitQueues {
 public:
  void add(const void* object, Task& t) { queues_[object].push_back(&t); }
  // Every task waiting on `object` becomes runnable and restarts its syscall; then every
  // watcher of `object` whose interest `key` concerns is told (in the order they watched).
  void wake_all(const void* object, Scheduler& sched, PollMask key = kPollAnyEvent);
  void remove(Task& t);
  // The waiters of `object`, taken off its queue (the caller wakes them with a result).
  std::deque<Task*> take(const void* object);
  // `t` waits on `object` now (compares pointers only).
  bool contains(const void* object, const Task* t) const;

  void watch(const void* object, PollWatcher* w) { watchers_[object].push_back(w); }
  void unwatch(const void* object, PollWatcher* w);

 private:
  std::map<const void*, std::deque<Task*>> queues_;
  std::map<const void*, std::vector<PollWatcher*>> watchers_;
};

// The machine's wait queues as files see them (PollHub): waking goes through the scheduler.
class WaitQueueHub final : public PollHub {
 public:
  WaitQueueHub(WaitQueues& q, Scheduler& s) : q_(q), s_(s) {}
  void wake(const void* object, PollMask key) override { q_.wake_all(object, s_, key); }
  void watch(const void* object, PollWatcher* w) override { q_.watch(object, w); }
  void unwatch(const void* object, PollWatcher* w) override { q_.unwatch(object, w); }

 private:
  WaitQueues& q_;
  Scheduler& s_;
};

}  // namespace probesim::emu
