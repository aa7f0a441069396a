// Kernel work rules without guest code (issue 16): modelled rw semaphores, blocking on them in
// the scheduler, the kworker's queue order, bug toggle names.
#include <doctest/doctest.h>

#include <memory>

#include "emu/kthread/bugs.h"
#include "emu/kthread/kernel_locks.h"
#include "emu/kthread/kernel_thread.h"
#include "emu/sched/strategy.h"
#include "emu/scheduler.h"
#include "emu/wait_queues.h"

using namespace probesim;
using namespace probesim::emu;

namespace {

struct Fixture {
  Process proc{100, 0, nullptr, false};
  Scheduler sched{1, make_strategy(StrategySpec{}, 1, 0), VirtualClock::kDefaultHz, 0};
  WaitQueues waitq;
  KernelLocks locks{sched, waitq};
};

class NamedWork final : public KernelWork {
 public:
  NamedWork(std::string name, uint64_t at) : name_(std::move(name)) { start_at = at; }
  Step step(MachineState&, Task&) override { return Step::Done; }
  std::string describe() const override { return name_; }
  std::string next_step() const override { return "only"; }

 private:
  std::string name_;
};

}  // namespace

TEST_CASE("rwsem: readers share it, a writer holds it alone") {
  RwSemaphore s("mmap_lock");
  CHECK(s.try_down_read(1));
  CHECK(s.try_down_read(2));
  CHECK_FALSE(s.try_down_write(3));
  s.up_read(1);
  s.up_read(2);
  CHECK(s.try_down_write(3));
  CHECK_FALSE(s.try_down_read(1));
  CHECK_FALSE(s.try_down_write(1));
  CHECK(s.held_by(3));
  s.up_write(3);
  CHECK_FALSE(s.locked());
}

TEST_CASE("kernel locks: a task that cannot take a lock blocks uninterruptibly, the release wakes it") {
  Fixture f;
  Task& holder = f.proc.main_task();
  Task& waiter = f.proc.add_task(101);
  RwSemaphore& lock = f.locks.mmap_lock(&f.proc, "pid 100");
  CHECK(&f.locks.mmap_lock(&f.proc, "pid 100") == &lock);  // one per mm
  CHECK(f.locks.down_write(lock, holder));
  CHECK(f.locks.holds() == 1);
  CHECK_FALSE(f.locks.down_read(lock, waiter));
  CHECK(waiter.state == TaskState::Blocked);
  CHECK_FALSE(waiter.wait.interruptible);
  f.locks.up_write(lock, holder);
  CHECK(f.locks.holds() == 0);
  CHECK(waiter.state == TaskState::Runnable);
  CHECK(f.locks.down_read(lock, waiter));  // its retry succeeds
}

TEST_CASE("kernel locks: an operation that takes the lock within one step waits while another holds it") {
  Fixture f;
  Task& kworker = f.proc.main_task();
  Task& guest = f.proc.add_task(101);
  RwSemaphore& lock = f.locks.mmap_lock(&f.proc, "pid 100");
  CHECK_FALSE(f.locks.wait_if_held(lock, guest));  // free: go on
  REQUIRE(f.locks.down_write(lock, kworker));
  CHECK_FALSE(f.locks.wait_if_held(lock, kworker));  // its own
  CHECK(f.locks.wait_if_held(lock, guest));
  CHECK(guest.state == TaskState::Blocked);
  f.locks.up_write(lock, kworker);
  CHECK(guest.state == TaskState::Runnable);
  CHECK(guest.restart_syscall);  // the syscall runs again
}

TEST_CASE("kworker: work runs by start step, FIFO among equals, never ahead of the running item") {
  KernelThread k;
  CHECK(k.task().tid() == KernelThread::kPid);
  CHECK(k.task().proc().comm == "kworker/0:1");
  k.queue(std::make_unique<NamedWork>("b", 50));
  k.queue(std::make_unique<NamedWork>("a", 10));
  k.queue(std::make_unique<NamedWork>("c", 50));
  CHECK(k.front()->describe() == "a");
  k.set_in_flight(true);
  k.queue(std::make_unique<NamedWork>("early", 0));
  CHECK(k.pop()->describe() == "a");
  CHECK(k.pop()->describe() == "early");
  CHECK(k.pop()->describe() == "b");
  CHECK(k.pop()->describe() == "c");
  CHECK(k.front() == nullptr);
}

TEST_CASE("bug toggles: known names pass, an unknown one is refused naming the known ones") {
  CHECK(check_bug_names({"uprobe_no_revalidate", "kprobe_unoptimize_flag_early",
                         "uprobe_no_dup_mmap_sem"}).ok());
  auto r = check_bug_names({"no_such_bug"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "unknown bug toggle 'no_such_bug' (known: uprobe_no_revalidate, "
                             "kprobe_unoptimize_flag_early, uprobe_no_dup_mmap_sem)");
  for (const BugToggle& b : bug_toggles()) CHECK(std::string(b.fixed_by).size() > 20);
}
