#include "emu/kthread/kernel_locks.h"

#include "emu/scheduler.h"
#include "emu/wait_queues.h"

namespace probesim::emu {

RwSemaphore& KernelLocks::named(std::map<const void*, std::unique_ptr<RwSemaphore>>& m,
                                const void* key, const std::string& name) {
  std::unique_ptr<RwSemaphore>& slot = m[key];
  if (!slot) slot = std::make_unique<RwSemaphore>(name);
  return *slot;
}

RwSemaphore& KernelLocks::mmap_lock(const void* mm, const std::string& owner) {
  return named(mmap_locks_, mm, "mmap_lock of " + owner);
}

RwSemaphore& KernelLocks::i_mmap_rwsem(const void* mapping, const std::string& file) {
  return named(i_mmap_, mapping, "i_mmap_rwsem of " + file);
}

RwSemaphore& KernelLocks::register_rwsem(const void* uprobe, const std::string& probe) {
  return named(register_, uprobe, "register_rwsem of uprobe " + probe);
}

RwSemaphore* KernelLocks::find_mmap_lock(const void* mm) {
  auto it = mmap_locks_.find(mm);
  return it == mmap_locks_.end() ? nullptr : it->second.get();
}

// Uninterruptible, as mmap_write_lock and down_write are (TASK_UNINTERRUPTIBLE).
void KernelLocks::block(RwSemaphore& sem, Task& t) {
  waitq_.add(&sem, t);
  sched_.block(t, WaitInfo{WaitInfo::Kind::Queue, 0, 0, /*interruptible=*/false});
}

void KernelLocks::wake_waiters(RwSemaphore& sem) { waitq_.wake_all(&sem, sched_); }

bool KernelLocks::down_read(RwSemaphore& sem, Task& t) {
  lockdep_.check(t, sem, Lockdep::Mode::Read);
  if (!sem.try_down_read(t.tid())) return block(sem, t), false;
  lockdep_.acquired(t, sem, Lockdep::Mode::Read);
  ++holds_;
  return true;
}

bool KernelLocks::down_write(RwSemaphore& sem, Task& t) {
  lockdep_.check(t, sem, Lockdep::Mode::Write);
  if (!sem.try_down_write(t.tid())) return block(sem, t), false;
  lockdep_.acquired(t, sem, Lockdep::Mode::Write);
  ++holds_;
  return true;
}

void KernelLocks::up_read(RwSemaphore& sem, Task& t) {
  sem.up_read(t.tid());
  lockdep_.released(t, sem);
  --holds_;
  wake_waiters(sem);
}

void KernelLocks::up_write(RwSemaphore& sem, Task& t) {
  sem.up_write(t.tid());
  lockdep_.released(t, sem);
  --holds_;
  wake_waiters(sem);
}

// The locks are not taken (the step that would take them does not block here): only the
// checker hears of them, in order, then of their release.
void KernelLocks::annotate_step(Task& t, std::string what, std::initializer_list<Taken> chain) {
  lockdep_.set_context(t, std::move(what));
  for (const Taken& k : chain) {
    lockdep_.check(t, *k.sem, k.mode);
    lockdep_.acquired(t, *k.sem, k.mode);
  }
  for (auto it = std::rbegin(chain); it != std::rend(chain); ++it) lockdep_.released(t, *it->sem);
}

bool KernelLocks::wait_if_held(RwSemaphore& sem, Task& t) {
  if (!sem.locked() || sem.held_by(t.tid())) return false;
  block(sem, t);
  return true;
}

}  // namespace probesim::emu
