#include "emu/machine_state.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "emu/arch_info.h"
#include "emu/cpu_identity.h"
#include "emu/futex_key.h"
#include "emu/futex_pi.h"
#include "emu/kthread/bugs.h"
#include "emu/proc_pid.h"
#include "emu/proc_system.h"
#include "emu/syscalls/dispatch.h"
#include "emu/syscalls/strace.h"
#include "emu/tracefs/trace_events.h"
#include "emu/uc_regions.h"
#include "emu/vfs/caller.h"
#include "emu/vfs/vfs_abi.h"
#include "loader/elf_file.h"
#include "loader/exec.h"
#include "probesim/assert.h"

namespace probesim::emu {
namespace {

// Independent RNG streams (DeterministicRng::fork), so that one consumer's draws never shift
// another's values.
constexpr uint64_t kStreamSyscalls = 2;
constexpr uint64_t kStreamDevRandom = 3;  // kStreamAtRandom (1): machine_process.cc

// Writes to a pipe without readers raise SIGPIPE as well as returning -EPIPE.
bool raises_sigpipe(std::string_view syscall) {
  return syscall == "write" || syscall == "writev" || syscall == "pwrite64" ||
         syscall == "sendfile";
}

// account_user_time / account_system_time for one quantum: its cycles, split between the modes
// in proportion to the instructions retired in each (all user time when none ran).
Cycles user_share(Cycles cycles, InsnCount insns, InsnCount user) {
  if (insns.value == 0 || user.value >= insns.value) return cycles;
  return Cycles{static_cast<uint64_t>(static_cast<unsigned __int128>(cycles.value) * user.value /
                                      insns.value)};
}

void account_cputime(CpuTime& cpu, Task& t, Cycles cycles, InsnCount insns, InsnCount user) {
  const Cycles u = user_share(cycles, insns, user);
  const Cycles s{cycles.value - u.value};
  t.utime += u;
  t.stime += s;
  cpu.user += u;
  cpu.system += s;
}

}  // namespace

MachineState::MachineState(MachineConfig config)
    : config_(std::move(config)),
      limits_(config_.limits),
      sched_(config_.cpus, make_strategy(config_.strategy, config_.seed, config_.run_index),
             config_.cpu_hz, config_.epoch_sec),
      rng_(DeterministicRng(config_.seed).fork(kStreamSyscalls)),
      dev_rng_(DeterministicRng(config_.seed).fork(kStreamDevRandom)),
      inodes_(std::make_unique<mmu::InodeCache>()) {
  sched_.on_deadline = [this](Task& t) {
    futexes_.remove(t);
    waitq_.remove(t);
    t.sigwait_mask = 0;
  };
  inodes_->set_write_budget(&limits_.disk());
  sched_.next_timer = [this] { return next_timer_ns(); };
  sched_.fire_timers = [this](uint64_t now_ns) { fire_timers(now_ns); };
  sched_.replay_timer = [this](const TimerFire& f) { return replay_timer(f); };
  sched_.on_preempt_request = [this] {
    if (current_ && running_engine_ == current_->proc().cpu()) running_engine_->end_quantum();
  };
  locks_.lockdep().set_sink([this](std::string report) { add_violation(std::move(report)); });
}

// Teardown order (issue 11): wait structures hold non-owning Task pointers, and closing a file
// can wake its waiters (a pipe's last writer), so every task first leaves the scheduler, the
// futex table and the wait queues; only then do files close and processes go. Processes hold
// inode references: they go before the cache, and so do uprobes.
MachineState::~MachineState() {
  trace_events_.reset();  // its probes go while the engines, inodes and Vfs still exist
  for (auto& [pid, p] : procs_)
    for (auto& t : p->tasks()) detach_task(*t);
  procs_.clear();
  uprobes_.reset();
  vdso_.reset();
  vfs_.reset();
}

void MachineState::detach_task(Task& t) {
  futexes_.remove(t);
  waitq_.remove(t);
  sched_.remove(t);
}

Result<void> MachineState::init() {
  auto vfs = Vfs::create(*inodes_, sched_.clock(0), dev_rng_, config_.root);
  if (!vfs) return vfs.take_error();
  vfs_ = std::move(vfs.value());
  // The guest's counter: x86 rdtsc counts cycles; arm64 cntvct_el0 ticks at CNTFRQ.
  const uint64_t counter_hz = config_.arch == Arch::X86_64 ? config_.cpu_hz : Cpu::kArm64CntFreq;
  vdso_ = PROBESIM_TRY(Vdso::create(config_.arch, *inodes_, counter_hz, config_.epoch_sec));
  uprobes_ = std::make_unique<probes::UprobeManager>(config_.arch, static_cast<probes::UprobeHost&>(*this),
                                                     probes::UprobeConfig{config_.cpu_hz, config_.probe_cost});
  trace_events_ = std::make_unique<TraceEvents>(*this);
  trace_events_->mount(*vfs_);
  vfs_->set_proc(static_cast<ProcHost*>(this));
  PROBESIM_TRY_VOID(check_bug_names(config_.bugs));
  if (config_.kernel) {  // hooks reach kernel_ from its first instruction on
    kernel_ = std::make_unique<GuestKernel>(kernel_config(), static_cast<KernelHost&>(*this));
    PROBESIM_TRY_VOID(kernel_->boot());
    uprobes_->set_printk([k = kernel_.get()](const std::string& s) { k->printk(s); });
  }
  return {};
}

InsnCount MachineState::insns() const {
  if (!in_flight_) return InsnCount{total_insns_};
  return InsnCount{total_insns_ + in_flight_->cpu->insns().value - in_flight_->insns};
}

uint64_t MachineState::charged_cycles() const {
  if (!in_flight_) return total_cycles_;
  return total_cycles_ + in_flight_->clock->cycles().value - in_flight_->cycles;
}

std::string MachineState::panic_text() const {
  return panicked() ? "Kernel panic - not syncing: " + kernel_->panic() : std::string();
}

Result<void> MachineState::refuse_if_panicked(std::string_view what) const {
  if (!panicked()) return {};
  return Error::make(std::string(what) + ": the guest kernel panicked (" + panic_text() +
                         "): this machine runs nothing any more; create a new one",
                     EIO);
}

Process* MachineState::process(int pid) {
  auto it = procs_.find(pid);
  return it == procs_.end() ? nullptr : it->second.get();
}

std::optional<std::string> MachineState::proc_text(int pid, int tid, std::string_view name) {
  Process* p = process(pid);
  if (p == nullptr || p->exited()) return std::nullopt;  // a zombie's mm is gone
  const Task* t = nullptr;
  if (tid != 0) {
    t = p->task(tid);
    if (t == nullptr || t->state == TaskState::Dead) return std::nullopt;
  }
  ProcSystem sys{0, static_cast<uint64_t>(config_.cpus), config_.arch, config_.cpu_hz};
  for (auto& [id, q] : procs_) {  // user->sigpending: every queued signal (all guests are root)
    sys.queued_signals += q->shared_pending.queue.size();
    for (const auto& each : q->tasks()) sys.queued_signals += each->pending.queue.size();
  }
  return proc_pid_text(*p, t, name, sys);
}

std::vector<int> MachineState::proc_pids() {
  std::vector<int> out;
  for (auto& [pid, p] : procs_)
    if (!p->exited()) out.push_back(pid);
  return out;
}

std::vector<int> MachineState::proc_tids(int pid) {
  std::vector<int> out;
  Process* p = process(pid);
  if (p == nullptr || p->exited()) return out;
  for (const auto& t : p->tasks())
    if (t->state != TaskState::Dead) out.push_back(t->tid());
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<ProcHost::View> MachineState::proc_view(int pid) {
  Process* p = process(pid);
  if (p == nullptr || p->exited()) return std::nullopt;
  return View{p->exe_path, p->fs().cwd, &p->fds()};
}

// The machine's counters as the running task sees them (its CPU's clock for the uptime).
std::optional<std::string> MachineState::system_text(std::string_view path) {
  ProcMachine m;
  m.arch = config_.arch;
  m.hz = config_.cpu_hz;
  m.boot_epoch_sec = config_.epoch_sec;
  m.now_ns = clock().monotonic_ns();
  cpu_time_.resize(static_cast<size_t>(sched_.ncpus()));
  for (int cpu = 0; cpu < sched_.ncpus(); ++cpu)
    m.cpu_ns.push_back(sched_.clock(cpu).monotonic_ns());
  m.cpu_time = cpu_time_;
  m.context_switches = stats_.context_switches;
  // total_forks: every task made (spawn, fork, clone) took the next pid, from 100 up.
  m.forks = static_cast<uint64_t>(next_pid_ - 100);
  for (auto& [pid, p] : procs_) {
    if (p->exited()) continue;
    for (const auto& t : p->tasks()) {
      if (t->state == TaskState::Dead) continue;
      ++m.threads;
      if (t->state == TaskState::Runnable && !t->stopped) ++m.running;
    }
  }
  m.last_pid = next_pid_ - 1;
  m.mem_total = limits_.memory().limit();
  m.mem_committed = limits_.memory().used();
  m.max_map_count = uc_regions::max_map_count(config_.arch);
  // The identity costs a throwaway engine the first time: only /proc/cpuinfo asks for it.
  if (path == "/proc/cpuinfo") m.cpu = &cpu_identity(config_.arch);
  m.hwcap = arch_info(config_.arch).hwcap;
  m.hwcap2 = arch_info(config_.arch).hwcap2;
  return proc_system_text(path, m);
}

const std::vector<SystemPath>& MachineState::system_paths() {
  if (system_paths_.empty())
    system_paths_ = emu::system_paths(config_.arch, static_cast<size_t>(sched_.ncpus()));
  return system_paths_;
}

std::vector<Process*> MachineState::processes() {
  std::vector<Process*> out;
  for (auto& [pid, p] : procs_) out.push_back(p.get());
  return out;
}

Task* MachineState::live_task(int tid) {
  for (auto& [pid, p] : procs_)
    if (Task* t = p->task(tid); t && t->state != TaskState::Dead) return t;
  return nullptr;
}

bool MachineState::run(uint64_t max_insns, const std::function<bool()>& should_stop) {
  const uint64_t start = total_insns_;
  for (;;) {
    uint64_t quantum = config_.quantum;
    if (max_insns) {
      uint64_t used = total_insns_ - start;
      if (used >= max_insns) return false;
      quantum = std::min(quantum, max_insns - used);
    }
    if (panicked()) return true;  // nothing runs any more
    trace_events_->flush_wakeups();  // trace_pipe readers of the last quantum's records
    kwork_before_pick(quantum);
    std::optional<Scheduler::Step> step =
        sched_.next(quantum, time_limit_ns_ ? time_limit_ns_ : UINT64_MAX);
    if (!step && trace_events_->flush_wakeups()) continue;  // records made while picking
    if (!step && !time_limit_reached() && kwork_start_early()) continue;
    if (!step) return !time_limit_reached();
    const bool kernel_step = kworker_ && step->task == &kworker_->task();
    bool preempted = kernel_step ? run_kernel_step(*step) : run_quantum(*step);
    if (kworker_ && !kernel_step && !kworker_->in_flight()) check_invariants(true, false);
    if (tap_) tap_quantum_end(*step, preempted);
    if (race_watch_ && preempted)
      race_watch_->preempted(step->task->tid(), step->task->user_insns.value);
    kwork_wake_due(*step);  // before finish: a due kworker queues ahead of the preempted task
    sched_.finish(*step, preempted);
    run_kprobe_optimizer();  // kernel work: the delayed kprobe_optimizer
    if (tap_ && tap_->divergence()) return false;
    if (stop_requested_) {
      stop_requested_ = false;
      return false;
    }
    if (should_stop && should_stop()) return false;
  }
}

// The task is about to run: put it on the CPU and finish what it was doing (a blocked
// syscall's result, a restart), then deliver a pending signal as on any return to user mode;
// rt_sigsuspend's temporary mask ends there. False if the process died of the signal.
bool MachineState::return_to_task(Task& t, Cpu& cpu, int cpu_index) {
  if (kernel_) {
    kernel_->put_on_cpu(t, cpu, cpu_index);
    if (t.in_hypercall) return kernel_->resume_in_kernel(t, cpu);
    if (kernel_->in_kernel_mode(cpu) || uprobe_stepping(t)) return true;  // mid-kernel: at syscall exit
  } else {
    if (t.pending_ret) {
      cpu.set_reg(cpu.info().reg_ret, static_cast<uint64_t>(*t.pending_ret));
      t.pending_ret.reset();
    }
    if (t.restart_syscall) {  // woken from a wait queue: run the syscall instruction again
      cpu.set_pc(cpu.pc() - cpu.info().syscall_insn_len);
      t.restart_syscall = false;
      // A Poll wait's syscall decides about signals itself: it runs before any handler.
      if (std::exchange(t.restart_in_syscall, false)) return true;
    }
    if (uprobe_stepping(t)) return true;  // never in the middle of a uprobe's out-of-line step
  }
  if (has_deliverable_signal(t) && !deliver_signals(t)) return false;
  restore_saved_sigmask(t);
  return true;
}

// One quantum of one task: make it resident in its mm's Cpu, deliver a blocked syscall's
// result, run, account, and turn the stop into its consequence.
// __schedule's context-switch counts: leaving a task that blocked is voluntary (counted at
// once: its CPU runs something else, if only the idle task); leaving a runnable one is
// involuntary only when the CPU's next pick is another task.
CpuTime& MachineState::cpu_time_at(int cpu) {
  if (cpu_time_.size() <= static_cast<size_t>(cpu)) cpu_time_.resize(static_cast<size_t>(cpu) + 1);
  return cpu_time_[static_cast<size_t>(cpu)];
}

void MachineState::account_switch_in(int cpu, const Task& next) {
  if (preempted_on_cpu_.size() <= static_cast<size_t>(cpu))
    preempted_on_cpu_.resize(static_cast<size_t>(cpu) + 1, 0);
  int& prev = preempted_on_cpu_[static_cast<size_t>(cpu)];
  if (prev != 0 && prev != next.tid())
    if (Task* p = live_task(prev)) {
      ++p->nivcsw;
      ++stats_.context_switches;
    }
  prev = 0;
}

void MachineState::account_switch_out(int cpu, Task& t) {
  if (t.state == TaskState::Blocked) {
    ++t.nvcsw;
    ++stats_.context_switches;
  } else if (t.state == TaskState::Runnable && !t.proc().exited())
    preempted_on_cpu_[static_cast<size_t>(cpu)] = t.tid();
}

bool MachineState::run_quantum(const Scheduler::Step& step) {
  Task& t = *step.task;
  Process& p = t.proc();
  account_switch_in(step.cpu, t);
  if (enter_group_stop(t)) return false;  // its process is stopped (SIGSTOP...)
  Cpu& cpu = *p.cpu();
  p.switch_to(t);
  if (!return_to_task(t, cpu, step.cpu)) {
    reap_resources(p);
    return false;
  }
  if (enter_group_stop(t)) return false;  // a stop signal unblocked since it was sent
  VirtualClock& clock = sched_.clock(step.cpu);
  cpu.set_clock(clock);
  cpu.set_precise_faults(p.handles_fault_signals());
  cpu.set_time_source(tap_ ? this : nullptr);
  cpu.set_observer(config_.probe_cost == 0 ? this : nullptr);
  cpu.set_tsc_aux(static_cast<uint32_t>(step.cpu));  // node 0
  cpu.set_assert_info(t.tid(), [this] { return sched_.recent_events(Cpu::kSyscallTrail); });
  uint64_t syncs_before = cpu.sync_ops();
  quantum_ = {&t, &cpu, &clock, cpu.insns().value, cpu.user_insns().value, clock.cycles()};
  CpuStop stop;
  {
    EngineScope scope(*this, cpu, clock, &t);
    stop = cpu.run(InsnCount{step.budget}, step.sync_budget);
  }
  account_quantum(step.cpu, t);
  t.sync_ops += cpu.sync_ops() - syncs_before;
  t.at_sync_point = stop.sync_point;
  ++stats_.quanta;
  handle_stop(p, t, stop);
  if (p.pending_exec && !p.exited()) finish_exec(p, t);
  account_switch_out(step.cpu, t);
  if (p.exited()) reap_resources(p);
  // The CPU-time timers this quantum reached (a replay fires the recorded ones at its picks).
  if (!replayer_ && !p.exited()) fire_cpu_timers(p);
  return stop.kind == StopKind::Budget && t.state == TaskState::Runnable && !p.exited();
}

// The quantum that just ended: its instructions and CPU time.
void MachineState::account_quantum(int cpu_index, Task& t) {
  const QuantumStart q = quantum_;
  quantum_ = {};
  const InsnCount insns{q.cpu->insns().value - q.insns};
  const InsnCount user{q.cpu->user_insns().value - q.user};
  t.insns += insns;
  t.user_insns += user;
  account_cputime(cpu_time_at(cpu_index), t, Cycles{q.clock->cycles().value - q.cycles.value},
                  insns, user);
  t.last_cpu = cpu_index;
}

CpuTime MachineState::task_cputime(const Task& t) const {
  CpuTime c{t.utime, t.stime};
  if (quantum_.task != &t) return c;
  // The running quantum so far, split as account_cputime splits a whole one.
  const Cycles cycles{quantum_.clock->cycles().value - quantum_.cycles.value};
  const Cycles u = user_share(cycles, InsnCount{quantum_.cpu->insns().value - quantum_.insns},
                              InsnCount{quantum_.cpu->user_insns().value - quantum_.user});
  c.user += u;
  c.system += Cycles{cycles.value - u.value};
  return c;
}

CpuTime MachineState::process_cputime(const Process& p) const {
  CpuTime sum;
  for (const auto& t : p.tasks()) {
    const CpuTime c = task_cputime(*t);
    sum.user += c.user;
    sum.system += c.system;
  }
  return sum;
}

uint64_t MachineState::cputime_ns(Cycles c) const {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(c.value) * 1'000'000'000u /
                               config_.cpu_hz);
}

void MachineState::stop_current() {
  stop_requested_ = true;
  if (running_engine_) running_engine_->end_quantum();
}

void MachineState::syscall_counts(std::map<std::string, uint64_t>& all,
                                  std::map<std::string, uint64_t>& unknown) const {
  const SyscallTable& table = SyscallTable::get(config_.arch);
  auto add = [&](uint64_t nr, uint64_t n) {
    const SyscallEntry* e = table.find(nr);
    std::string name = e ? std::string(e->name) : "syscall_" + std::to_string(nr);
    all[name] += n;
    if (!e || !e->fn) unknown[name] += n;
  };
  for (uint64_t nr = 0; nr < stats_.syscalls_by_nr.size(); ++nr)
    if (stats_.syscalls_by_nr[nr]) add(nr, stats_.syscalls_by_nr[nr]);
  for (const auto& [nr, n] : stats_.syscalls_beyond) add(nr, n);
}

std::vector<Task*> MachineState::blocked_forever() {
  std::vector<Task*> out;
  for (auto& [pid, p] : procs_)
    for (auto& t : p->tasks())
      if (t->state == TaskState::Blocked) out.push_back(t.get());  // stopped ones too
  return out;
}

void MachineState::exit_task(Task& t, int code) {
  Process& p = t.proc();
  futex_exit_release(*this, t);  // mm_release: robust futexes first, then clear_child_tid
  if (t.clear_child_tid.value) {
    uint32_t zero = 0;
    if (p.mm().copy_to_user(t.clear_child_tid, &zero, sizeof zero)) {
      auto key = futex_key(p.mm(), t.clear_child_tid.value, /*shared=*/true);
      for (Task* w : futexes_.dequeue(key, 1, ~0u)) sched_.wake(*w, 0);
    }
  }
  detach_task(t);
  task_dead(t);
  if (p.live_tasks() == 0) {
    ExitStatus s;
    s.code = code & 0xff;
    p.set_exit(s);
    process_exited(p);
  }
}

void MachineState::exit_process(Process& p, ExitStatus status) {
  p.set_exit(std::move(status));
  for (auto& t : p.tasks()) {
    if (t->state == TaskState::Dead) continue;
    futex_exit_release(*this, *t);
    detach_task(*t);
    task_dead(*t);
  }
  process_exited(p);
}

// A process became a zombie: a vfork parent resumes, a parent in wait4 re-checks.
void MachineState::process_exited(Process& p) {
  if (lifecycle_) lifecycle_->on_exit(p);
  if (p.vfork_parent) {
    sched_.wake(*p.vfork_parent, p.pid());
    p.vfork_parent = nullptr;
  }
  if (Process* parent = process(p.ppid())) {
    const ExitStatus& es = *p.exit_status();
    SigInfo si;
    si.signo = kSigChld;
    si.code = !es.signaled ? kCldExited : es.core_dumped ? kCldDumped : kCldKilled;
    si.pid = p.pid();
    si.status = es.signaled ? es.signo : es.code;
    send_signal(*parent, nullptr, si);
    waitq_.wake_all(parent, sched_);
  }
  // Orphans are adopted by the modelled init (which never reaps them).
  for (auto& [pid, c] : procs_)
    if (c->ppid() == p.pid()) c->set_parent(kInitPid);
}

void MachineState::release_mm(Process& p) {
  PROBESIM_ASSERT_MSG(p.cpu() == nullptr, "release_mm of a process that still has an engine");
  mmu::Mm& mm = p.mm();
  while (mm.vma_count() > 0) {
    const mmu::Vma* v = mm.vmas().front();
    PROBESIM_ASSERT_MSG(mm.munmap(v->vm_start, v->vm_end - v->vm_start) == 0,
                        "exit_mmap: a VMA could not be unmapped");
  }
}

// After exit the process is a zombie: its engine and files go, its mm stays for inspection.
void MachineState::reap_resources(Process& p) {
  uprobes_->uprobe_clear_state(p.mm());
  p.release_cpu();
  p.engine_charge.release();
  p.exe_file.reset();  // exit_mm: the executable is writable again
  for (int fd : p.fds().open_fds()) p.fds().close(fd);
  ipc_.exit_sem(p.pid());  // SEM_UNDO
}

// A syscall instruction on a machine without a guest kernel: straight to the model.
void MachineState::model_syscall(Cpu& cpu) {
  PROBESIM_ASSERT(current_ != nullptr);
  Task& t = *current_;
  Process& p = t.proc();
  const ArchInfo& info = cpu.info();
  SyscallArgs a;
  a.nr = cpu.reg(info.reg_syscall_nr);
  for (int i = 0; i < 6; ++i) a.a[i] = cpu.reg(info.reg_args[i]);
  SyscallContext ctx(*this, p, t);
  int64_t ret = dispatch_syscall(ctx, a);
  if (ctx.disposition == SyscallDisposition::Return)
    cpu.set_reg(info.reg_ret, static_cast<uint64_t>(ret));
  // Leave the quantum when the task cannot go on, or a signal must be delivered before it
  // executes another user instruction.
  // rt_sigsuspend/ppoll's temporary mask ends here unless the task blocked or a handler's
  // frame will save it (the next return_to_task).
  if (ctx.disposition != SyscallDisposition::Blocked && !(!p.exited() && has_deliverable_signal(t)))
    restore_saved_sigmask(t);
  // A stopped process's task leaves too (its syscall result is in its registers).
  if (ctx.disposition == SyscallDisposition::Exited ||
      ctx.disposition == SyscallDisposition::Blocked || p.pending_exec || p.group_stop ||
      (!p.exited() && has_deliverable_signal(t)))
    cpu.request_stop();
}

int64_t MachineState::dispatch_syscall(SyscallContext& ctx, const SyscallArgs& a) {
  const SyscallEntry* e = SyscallTable::get(config_.arch).find(a.nr);
  if ((locks_.holds() || kworker_) && e && wait_for_kernel_lock(ctx, a, e->name)) return 0;
  const bool traced = trace_events_->syscall_tps_on();
  if (traced) trace_events_->sys_enter(ctx.task(), a.nr, std::span<const uint64_t, 6>(a.a));
  // strace -f prints a line's "[pid N] " when the syscall enters, while it traces more than one
  // task: counted before the call (clone's line has none, the last exit_group's has one).
  size_t tasks = 0;
  if (strace_)
    for (const auto& [pid, proc] : procs_) tasks += proc->live_tasks();
  int64_t ret = -ENOSYS;
  if (e && e->fn) ret = e->fn(ctx, a);
  if (a.nr < stats_.syscalls_by_nr.size())
    ++stats_.syscalls_by_nr[a.nr];
  else
    ++stats_.syscalls_beyond[a.nr];
  bool returns = ctx.disposition == SyscallDisposition::Return;
  if (kworker_ && returns && e) note_racing_syscall(ctx, a, e->name, ret);
  if (traced) trace_events_->sys_exit(ctx.task(), a.nr, ret, returns);
  if (strace_)
    strace_->line(
        format_syscall(ctx, e, a, ret, returns, StraceStyle{strace_->string_size(), tasks > 1}));
  if (ret == -EPIPE && e && raises_sigpipe(e->name)) send_signal(ctx.proc(), &ctx.task(), SigInfo{kSigPipe});
  return ret;
}

}  // namespace probesim::emu
