// MachineState, kernel work side (issue 16): the kworker on the scheduler, the modelled
// sleeping locks that guest syscalls take, bug toggles, and the invariants checked at
// quiescent points.
#include <algorithm>

#include "emu/kthread/bugs.h"
#include "emu/machine_state.h"
#include "emu/syscalls/dispatch.h"
#include "mmu/inode_cache.h"

namespace probesim::emu {
namespace {

// One kworker step's modelled cost on its CPU's clock: an uncontended rwsem operation plus a
// few hundred instructions of kernel work (a modelled order of magnitude, not a measurement;
// it only orders the kworker's steps against other CPUs' clocks).
constexpr Cycles kKernelStepCycles{1000};
// The scheduling steps one kworker step counts as (its "retired instructions"): a modelled
// size, about what build_map_info or one install retires in the kernel. Strategies hand out
// budgets in steps, so a random or pct budget ends the kworker's turn between any two of its
// steps with a probability proportional to this size, as for the guest's instructions.
constexpr uint64_t kKernelStepInsns = 1000;

constexpr uint64_t kCloneVm = 0x100;  // include/uapi/linux/sched.h

// The guest syscalls that take the caller's mmap_lock for write (mm/mmap.c, mm/mprotect.c,
// mm/mremap.c, mm/madvise.c for the advice that changes vmas, kernel/fork.c dup_mmap on the
// parent's mm) and the ones that also take dup_mmap_sem for read (dup_mmap).
constexpr std::string_view kMmapLockWriters[] = {"mmap", "munmap", "mremap", "mprotect",
                                                 "brk", "madvise", "fork", "vfork", "clone"};
// And the ones that take it for read before the mm goes: exec_mmap (fs/exec.c) takes the old
// mm's mmap_lock (read; the core dump handshake) before replacing it, so an exec waits while
// the kworker holds that lock between its mmap_write_lock and install/remove steps (here the
// old mm is freed at the exec; Linux's build_map_info mmget keeps it until the kworker's mmput).
constexpr std::string_view kMmapLockReaders[] = {"execve", "execveat"};

bool takes_mmap_lock(std::string_view name) {
  auto in = [name](const auto& table) {
    return std::find(std::begin(table), std::end(table), name) != std::end(table);
  };
  return in(kMmapLockWriters) || in(kMmapLockReaders);
}

bool dups_mmap(std::string_view name, const SyscallArgs& a) {
  return name == "fork" || name == "vfork" || (name == "clone" && !(a.a[0] & kCloneVm));
}

}  // namespace

bool MachineState::bug(std::string_view name) const {
  return std::find(config_.bugs.begin(), config_.bugs.end(), name) != config_.bugs.end();
}

void MachineState::queue_kernel_work(std::unique_ptr<KernelWork> w) {
  if (!kworker_) kworker_ = std::make_unique<KernelThread>();
  kworker_->queue(std::move(w));
}

Process* MachineState::process_of_mm(const mmu::Mm* mm) {
  for (auto& [pid, p] : procs_)
    if (&p->mm() == mm && !p->exited()) return p.get();
  return nullptr;
}

// Before each pick: a due item puts the kworker on the run queue; until the next item is due,
// quanta end at its start so it starts exactly there.
void MachineState::kwork_before_pick(uint64_t& quantum) {
  if (!kworker_ || kworker_->scheduled) return;
  KernelWork* w = kworker_->front();
  if (!w) return;
  const uint64_t steps = sched_.steps();
  if (w->start_at > steps) {
    quantum = std::min(quantum, w->start_at - steps);
    return;
  }
  kworker_->scheduled = true;
  sched_.add(kworker_->task());
}

// The quantum that just ran reached the front item's start: the kworker is woken before the
// preempted task goes back to the run queue, so it is queued first (as Linux's wakeup
// preemption runs a woken kworker next); FIFO strategies run it at once.
void MachineState::kwork_wake_due(const Scheduler::Step& step) {
  if (!kworker_ || kworker_->scheduled || !kworker_->front()) return;
  const uint64_t steps = sched_.steps() + (step.task->user_insns.value - step.start_insns);
  if (kworker_->front()->start_at > steps) return;
  kworker_->scheduled = true;
  sched_.add(kworker_->task());
}

// Nothing else can run: queued work starts now rather than never (its start moves to now, or
// run_kernel_step would find it not due and idle the kworker again, forever).
bool MachineState::kwork_start_early() {
  if (!kworker_ || kworker_->scheduled || !kworker_->front()) return false;
  KernelWork& w = *kworker_->front();
  w.start_at = std::min(w.start_at, sched_.steps());
  kworker_->scheduled = true;
  sched_.add(kworker_->task());
  return true;
}

// The kworker's quantum: steps of the queued work while the strategy's budget lasts. Each step
// ends at a lock operation, a scheduling point, and counts kKernelStepInsns scheduling steps.
// True when the budget ended it with the kworker still runnable (preempted there).
bool MachineState::run_kernel_step(const Scheduler::Step& step) {
  Task& kw = kworker_->task();
  uint64_t used = 0;
  for (;;) {
    KernelWork* w = kworker_->front();
    if (!w || (!kworker_->in_flight() && w->start_at > sched_.steps() + used)) break;
    if (used >= step.budget) return true;
    kernel_steps_.push_back({kworker_->steps, sched_.steps() + used,
                             w->next_step() + " of " + w->describe()});
    locks_.lockdep().set_context(kw, kernel_steps_.back().what);
    // In flight during its step too, first step included: work the step queues (a completion
    // kicking the optimizer) then never goes ahead of it, so pop() below takes this item.
    const bool was_in_flight = kworker_->in_flight();
    kworker_->set_in_flight(true);
    KernelWork::Step r = w->step(*this, kw);
    sched_.clock(step.cpu).advance(kKernelStepCycles);
    if (r == KernelWork::Step::Blocked) {
      kworker_->set_in_flight(was_in_flight);
      kernel_steps_.back().what += " (blocked)";
      return false;
    }
    ++kworker_->steps;
    used += kKernelStepInsns;
    kw.user_insns += InsnCount{kKernelStepInsns};
    kworker_->set_in_flight(r == KernelWork::Step::More);
    if (r == KernelWork::Step::Done) kworker_->pop();
    check_invariants(!kworker_->in_flight(), !kworker_->in_flight());
  }
  kworker_->scheduled = false;
  sched_.remove(kw);  // idle: off the scheduler until its next item is due
  return false;
}

// Quiescent (no kernel work between its steps): every breakpoint invariant. Otherwise only
// the ones that hold at every moment (no breakpoint in another file's page). `verify` also
// runs the structures' verify() (the uprobes tree, every mm and its VMAs' i_mmap links).
void MachineState::check_invariants(bool quiescent, bool verify) {
  if (violations_.size() >= kMaxViolations) return;
  std::vector<probes::UprobeManager::NamedMm> mms;
  for (auto& [pid, p] : procs_)
    if (!p->exited()) mms.push_back({&p->mm(), "pid " + std::to_string(pid)});
  std::vector<std::string> found = uprobes_->check_breakpoints(mms, quiescent);
  if (verify) {
    uprobes_->verify();  // our own structures: a failure is a probesim bug (asserts)
    for (auto& [pid, p] : procs_) p->mm().verify();
  }
  for (std::string& f : found) add_violation(std::move(f));
}

void MachineState::add_violation(std::string v) {
  if (violations_.size() >= kMaxViolations) return;
  if (std::find(violations_.begin(), violations_.end(), v) == violations_.end())
    violations_.push_back(std::move(v));
}

bool MachineState::wait_for_kernel_lock(SyscallContext& ctx, const SyscallArgs& a,
                                        std::string_view name) {
  if (!takes_mmap_lock(name)) return false;
  Task& t = ctx.task();
  bool blocked = false;
  if (RwSemaphore* lock = locks_.find_mmap_lock(&ctx.proc().mm()))
    blocked = locks_.wait_if_held(*lock, t);
  const bool dup = dups_mmap(name, a);
  if (!blocked && dup) blocked = locks_.wait_if_held(locks_.dup_mmap_sem(), t);
  if (blocked) {
    ctx.disposition = SyscallDisposition::Blocked;  // restarts when released
    return true;
  }
  // dup_mmap's order for the lock checker: dup_mmap_sem (read), then the parent's mmap_lock.
  if (dup)
    locks_.annotate_step(
        t, "dup_mmap of " + std::string(name) + "()",
        {{&locks_.dup_mmap_sem(), Lockdep::Mode::Read},
         {&locks_.mmap_lock(&ctx.proc().mm(), "pid " + std::to_string(ctx.proc().pid())),
          Lockdep::Mode::Write}});
  return false;
}

}  // namespace probesim::emu
