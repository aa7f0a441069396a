// KernelLocks: the machine's modelled sleeping locks, named as in Linux, created on first use:
// mmap_lock (one per mm), i_mmap_rwsem (one per address_space), a uprobe's register_rwsem,
// uprobes_treelock and dup_mmap_sem (global). down_* are scheduling points: a task that cannot
// take the lock blocks in the scheduler (uninterruptible, as mmap_write_lock) on the machine's
// WaitQueues keyed by the lock, and retries its operation when a holder releases it (up_*
// wakes every waiter). Guest syscalls take and drop their locks inside one step, so only the
// kworker holds a lock across a scheduling point; a syscall whose lock is held blocks and
// restarts (wait_if_held). Every operation goes through the lock checker (lockdep(), Lockdep):
// lock order inversions and sleeping locks in atomic context are reported to its sink.
//
// Who may touch what: the emulation thread. Keys are identities only (never dereferenced).
#pragma once

#include <initializer_list>
#include <map>
#include <memory>
#include <string>

#include "emu/kthread/lockdep.h"
#include "emu/kthread/rwsem.h"
#include "emu/task.h"

namespace probesim::emu {

class Scheduler;
class WaitQueues;

class KernelLocks {
 public:
  KernelLocks(Scheduler& sched, WaitQueues& waitq) : sched_(sched), waitq_(waitq) {}

  RwSemaphore& mmap_lock(const void* mm, const std::string& owner);
  RwSemaphore& i_mmap_rwsem(const void* mapping, const std::string& file);
  RwSemaphore& register_rwsem(const void* uprobe, const std::string& probe);
  RwSemaphore& uprobes_treelock() { return treelock_; }
  RwSemaphore& dup_mmap_sem() { return dup_mmap_sem_; }
  // Mutexes (the writer-only use): kernel/kprobes.c's kprobe_mutex, kernel/extable.c's
  // text_mutex (held around every text_poke).
  RwSemaphore& kprobe_mutex() { return kprobe_mutex_; }
  RwSemaphore& text_mutex() { return text_mutex_; }
  // The mm's lock if it was ever created (no allocation: the syscall fast path).
  RwSemaphore* find_mmap_lock(const void* mm);

  // false: t blocked on the lock and runs its operation again when woken.
  bool down_read(RwSemaphore& sem, Task& t);
  bool down_write(RwSemaphore& sem, Task& t);
  void up_read(RwSemaphore& sem, Task& t);
  void up_write(RwSemaphore& sem, Task& t);
  // For an operation that takes and drops sem within one step: true when another task holds
  // it, and then t is blocked until it is released.
  bool wait_if_held(RwSemaphore& sem, Task& t);
  // An operation that takes `chain` in order and drops them within one step (fork's dup_mmap:
  // dup_mmap_sem, then the parent's mmap_lock), told to the lock checker as `what` of t.
  struct Taken {
    RwSemaphore* sem;
    Lockdep::Mode mode;
  };
  void annotate_step(Task& t, std::string what, std::initializer_list<Taken> chain);
  int holds() const { return holds_; }  // locks held now, by anyone
  Lockdep& lockdep() { return lockdep_; }

 private:
  RwSemaphore& named(std::map<const void*, std::unique_ptr<RwSemaphore>>& m, const void* key,
                     const std::string& name);
  void block(RwSemaphore& sem, Task& t);
  void wake_waiters(RwSemaphore& sem);

  Scheduler& sched_;
  WaitQueues& waitq_;
  std::map<const void*, std::unique_ptr<RwSemaphore>> mmap_locks_, i_mmap_, register_;
  RwSemaphore treelock_{"uprobes_treelock"};
  RwSemaphore dup_mmap_sem_{"dup_mmap_sem"};
  RwSemaphore kprobe_mutex_{"kprobe_mutex"};
  RwSemaphore text_mutex_{"text_mutex"};
  int holds_ = 0;
  Lockdep lockdep_;
};

}  // namespace probesim::emu
