// The lock checker of the modelled kernel locks (emu/kthread/lockdep.h, issue 16): lock order
// inversions between classes and sleeping locks in atomic context are reported once each, with
// the acquisition chains; on real guests, a test-only kernel work taking two locks against
// uprobe_register's or fork's order is an invariant violation, and the normal work is not.
#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "emu/kthread/kernel_locks.h"
#include "emu/kthread/kernel_thread.h"
#include "emu/machine_state.h"
#include "emu/sched/strategy.h"
#include "emu/scheduler.h"
#include "emu/wait_queues.h"
#include "mmu/inode.h"
#include "probesim/machine.h"
#include "probesim/probes.h"

using namespace probesim;
using namespace probesim::emu;

namespace {

struct Fixture {
  Fixture() { locks.lockdep().set_sink([this](std::string r) { reports.push_back(r); }); }
  Process proc{100, 0, nullptr, false};
  Scheduler sched{1, make_strategy(StrategySpec{}, 1, 0), VirtualClock::kDefaultHz, 0};
  WaitQueues waitq;
  KernelLocks locks{sched, waitq};
  std::vector<std::string> reports;
  std::map<std::string, int> keys;  // a lock's identity: the address of its entry
  RwSemaphore& lock(const std::string& name) {
    const void* key = &keys[name];
    if (name == "dup_mmap_sem") return locks.dup_mmap_sem();
    if (name == "uprobes_treelock") return locks.uprobes_treelock();
    if (name.starts_with("mmap_lock")) return locks.mmap_lock(key, name.substr(13));
    if (name.starts_with("register_rwsem")) return locks.register_rwsem(key, name.substr(18));
    return locks.i_mmap_rwsem(key, name.substr(16));
  }
  // t takes `sems` in order (for write), then drops them in reverse.
  void take(Task& t, std::vector<RwSemaphore*> sems) {
    for (RwSemaphore* s : sems) REQUIRE(locks.down_write(*s, t));
    for (auto it = sems.rbegin(); it != sems.rend(); ++it) locks.up_write(**it, t);
  }
};

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("lockdep: a lock's class is the Linux name it starts with, uprobes_treelock spins") {
  CHECK(Lockdep::lock_class("mmap_lock of pid 100") == "mmap_lock");
  CHECK(Lockdep::lock_class("i_mmap_rwsem of /bin/x") == "i_mmap_rwsem");
  CHECK(Lockdep::lock_class("dup_mmap_sem") == "dup_mmap_sem");
  CHECK(Lockdep::spins("uprobes_treelock"));
  for (const char* c : {"mmap_lock", "i_mmap_rwsem", "register_rwsem", "dup_mmap_sem", "text_mutex"})
    CHECK_FALSE(Lockdep::spins(c));
}

TEST_CASE("lockdep: one order from two tasks is no report, the inverted order is reported once with both chains") {
  Fixture f;
  Task& kworker = f.proc.main_task();
  Task& other = f.proc.add_task(101);
  RwSemaphore& dup = f.lock("dup_mmap_sem");
  RwSemaphore& i_mmap = f.lock("i_mmap_rwsem of /bin/x");
  f.locks.lockdep().set_context(kworker, "build_map_info of uprobe_register(/bin/x:f)");
  f.take(kworker, {&dup, &i_mmap});
  f.take(other, {&dup, &i_mmap});
  CHECK(f.reports.empty());
  CHECK(f.locks.lockdep().dependencies().size() == 1);
  f.locks.lockdep().set_context(other, "inverted");
  f.take(other, {&i_mmap, &dup});
  f.take(other, {&i_mmap, &dup});
  REQUIRE(f.reports.size() == 1);
  const std::string& r = f.reports[0];
  CHECK(contains(r, "WARNING: possible circular locking dependency detected: task 101 "));
  CHECK(contains(r, "is trying to acquire dup_mmap_sem while holding i_mmap_rwsem"));
  CHECK(contains(r, "#0 dup_mmap_sem -> i_mmap_rwsem: task 100 (build_map_info of "
                    "uprobe_register(/bin/x:f)) took i_mmap_rwsem of /bin/x (write) while holding "
                    "dup_mmap_sem;"));
  CHECK(contains(r, "and now: i_mmap_rwsem -> dup_mmap_sem: task 101 (inverted) took dup_mmap_sem "
                    "(write) while holding i_mmap_rwsem of /bin/x."));
  CHECK(contains(r, "*** DEADLOCK ***"));
  CHECK(f.locks.holds() == 0);
}

TEST_CASE("lockdep: a cycle through three classes names every edge of the existing chain") {
  Fixture f;
  Task& a = f.proc.main_task();
  Task& b = f.proc.add_task(101);
  RwSemaphore& reg = f.lock("register_rwsem of /bin/x:f");
  RwSemaphore& dup = f.lock("dup_mmap_sem");
  RwSemaphore& mm = f.lock("mmap_lock of pid 100");
  f.take(a, {&reg, &dup});
  f.take(a, {&dup, &mm});
  CHECK(f.reports.empty());
  f.take(b, {&mm, &reg});
  REQUIRE(f.reports.size() == 1);
  CHECK(contains(f.reports[0], "register_rwsem -> dup_mmap_sem: task 100 "));
  CHECK(contains(f.reports[0], "dup_mmap_sem -> mmap_lock: task 100 "));
  CHECK(contains(f.reports[0], "and now: mmap_lock -> register_rwsem: task 101 "));
}

TEST_CASE("lockdep: nested instances of one class are not an inversion") {
  Fixture f;
  Task& t = f.proc.main_task();
  RwSemaphore& a = f.lock("mmap_lock of pid 100");
  RwSemaphore& b = f.lock("mmap_lock of pid 101");
  f.take(t, {&a, &b});
  f.take(t, {&b, &a});
  CHECK(f.reports.empty());
}

TEST_CASE("lockdep: a sleeping lock under uprobes_treelock or with preemption disabled is reported") {
  Fixture f;
  Task& t = f.proc.main_task();
  RwSemaphore& tree = f.lock("uprobes_treelock");
  RwSemaphore& reg = f.lock("register_rwsem of /bin/x:f");
  f.take(t, {&reg, &tree});  // spinning under sleeping: allowed (alloc_uprobe's order)
  CHECK(f.reports.empty());
  f.take(t, {&tree, &reg});
  REQUIRE(f.reports.size() == 2);  // also an inversion of the order just seen
  CHECK(contains(f.reports[0], "BUG: sleeping function called from invalid context: task 100 "));
  CHECK(contains(f.reports[0], "took register_rwsem of uprobe /bin/x:f (write) while holding "
                               "uprobes_treelock: a sleeping lock (rw_semaphore) in atomic "
                               "context, uprobes_treelock (rwlock_t) is held"));
  CHECK(contains(f.reports[1], "possible circular locking dependency"));
  f.locks.lockdep().preempt_disable(t);
  f.take(t, {&f.lock("dup_mmap_sem")});
  f.take(t, {&tree});  // spinning: fine with preemption off
  f.locks.lockdep().preempt_enable(t);
  f.take(t, {&f.lock("mmap_lock of pid 100")});
  REQUIRE(f.reports.size() == 3);
  CHECK(contains(f.reports[2], "task 100 took dup_mmap_sem (write): a sleeping lock "
                               "(percpu_rw_semaphore) in atomic context, preemption is disabled "
                               "(preempt_count 1)"));
}

namespace {

// Test-only kernel work: takes `first` then `second` (for write), each a step, then drops them.
class InvertedWork final : public KernelWork {
 public:
  using Lock = std::function<RwSemaphore&(MachineState&)>;
  InvertedWork(Lock first, Lock second, uint64_t at) : first_(first), second_(second) {
    start_at = at;
  }
  Step step(MachineState& m, Task& kw) override {
    KernelLocks& l = m.locks();
    if (phase_ < 2) {
      if (!l.down_write((phase_ ? second_ : first_)(m), kw)) return Step::Blocked;
      ++phase_;
      return Step::More;
    }
    l.up_write(second_(m), kw);
    l.up_write(first_(m), kw);
    return Step::Done;
  }
  std::string describe() const override { return "lock_inversion_test"; }
  std::string next_step() const override { return "step " + std::to_string(phase_); }

 private:
  Lock first_, second_;
  int phase_ = 0;
};

std::string guest(const std::string& name) {
  return std::string(PROBESIM_GUEST_DIR) + "/x86_64-glibc/" + name;
}

std::unique_ptr<Machine> machine() {
  auto m = Machine::create(Options{.arch = Arch::X86_64, .seed = 1});
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message));
  return std::move(m.value());
}

constexpr uint64_t kAt = 100'000;  // uprobe_remap is in its remap loop then

// uprobe_remap with a uprobe registered by the kworker at kAt, and `extra` queued after it.
std::vector<std::string> remap_violations(bool inverted) {
  auto m = machine();
  const std::string prog = guest("uprobe_remap");
  auto pid = m->spawn({prog}, {});
  REQUIRE(pid.ok());
  auto up = m->register_uprobe({.target = prog + ":remap_target",
                                .handler = [](ProbeHit&) { return 0; }, .at = kAt});
  REQUIRE_MESSAGE(up.ok(), (up.ok() ? "" : up.error().message));
  MachineState& s = m->state();
  mmu::Inode* inode = s.lookup_inode(prog).value();
  if (inverted)
    s.queue_kernel_work(std::make_unique<InvertedWork>(
        [inode](MachineState& st) -> RwSemaphore& {
          return st.locks().i_mmap_rwsem(&inode->i_mapping(), inode->name());
        },
        [](MachineState& st) -> RwSemaphore& { return st.locks().dup_mmap_sem(); }, kAt));
  CHECK(m->run());
  CHECK(m->exit_of(pid.value())->shell_status == 0);
  CHECK(up.value()->registered());
  s.inodes().iput(inode);
  return m->invariant_violations();
}

}  // namespace

TEST_CASE("lockdep on a guest: uprobe_register's order is no report, a work taking i_mmap_rwsem then dup_mmap_sem is one") {
  CHECK(remap_violations(false).empty());
  std::vector<std::string> v = remap_violations(true);
  REQUIRE(v.size() == 1);
  CHECK(contains(v[0], "possible circular locking dependency detected: task 2 kworker/0:1 is "
                       "trying to acquire dup_mmap_sem while holding i_mmap_rwsem"));
  CHECK(contains(v[0], "dup_mmap_sem -> i_mmap_rwsem: task 2 kworker/0:1 (build_map_info of "
                       "uprobe_register("));
  CHECK(contains(v[0], "and now: i_mmap_rwsem -> dup_mmap_sem: task 2 kworker/0:1 (step 1 of "
                       "lock_inversion_test) took dup_mmap_sem (write) while holding "
                       "i_mmap_rwsem of "));
}

TEST_CASE("lockdep on a guest: fork's order (dup_mmap_sem, then mmap_lock) against a work taking mmap_lock then dup_mmap_sem") {
  auto m = machine();
  auto pid = m->spawn({guest("uprobe_fork"), "4", "50000"}, {});  // forks, then ~400k insns
  REQUIRE(pid.ok());
  MachineState& s = m->state();
  const mmu::Mm* mm = &s.process(pid.value())->mm();
  // Queued now (the kworker exists, so forks are told to the checker); runs at 100k steps,
  // when the guest has forked its children and is in its own calls.
  s.queue_kernel_work(std::make_unique<InvertedWork>(
      [mm, p = pid.value()](MachineState& st) -> RwSemaphore& {
        return st.locks().mmap_lock(mm, "pid " + std::to_string(p));
      },
      [](MachineState& st) -> RwSemaphore& { return st.locks().dup_mmap_sem(); }, 100'000));
  CHECK(m->run());
  CHECK(m->exit_of(pid.value())->shell_status == 0);
  std::vector<std::string> v = m->invariant_violations();
  REQUIRE(v.size() == 1);
  CHECK(contains(v[0], "#0 dup_mmap_sem -> mmap_lock: task 100 uprobe_fork (dup_mmap of "));
  CHECK(contains(v[0], ") took mmap_lock of pid 100 (write) while holding dup_mmap_sem;"));
  CHECK(contains(v[0], "and now: mmap_lock -> dup_mmap_sem: task 2 kworker/0:1 (step 1 of "
                       "lock_inversion_test) took dup_mmap_sem (write) while holding mmap_lock "
                       "of pid 100."));
}
