// MachineState: everything one emulated machine owns, behind the public Machine facade
// (include/probesim/machine.h). The run loop (machine_state.cc: run, run_quantum), the syscall
// dispatcher (syscalls/dispatch.cc) and the handlers operate on it; the guest kernel
// (GuestKernel) reaches it only through KernelHost.
//
// Ownership: MachineState owns the inode cache (and through it every page cache), the Vfs,
// the clock, the seeded RNG streams and all processes. Processes own their mm and Cpu.
// Who may touch what: only the thread that called Machine::run (the emulation thread),
// between or inside quanta; the Python layer releases the GIL while this happens.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <span>
#include <string_view>
#include <vector>

#include "emu/deterministic_rng.h"
#include "emu/futex_table.h"
#include "emu/limits.h"
#include "emu/record/race_watch.h"
#include "emu/record/recorder.h"
#include "emu/record/replayer.h"
#include "emu/kernel/guest_kernel.h"
#include "emu/kthread/kernel_locks.h"
#include "emu/kthread/kernel_thread.h"
#include "emu/lifecycle.h"
#include "emu/net/net_namespace.h"
#include "probes/uprobes/uprobe_manager.h"
#include "probes/uprobes/uprobe_target.h"
#include "emu/user_regs.h"
#include "emu/wait_queues.h"
#include "emu/scheduler.h"
#include "emu/cpu_time.h"
#include "emu/process.h"
#include "emu/syscalls/syscall.h"
#include "emu/vdso.h"
#include "emu/virtual_clock.h"
#include "emu/vfs/console_file.h"
#include "emu/vfs/file_locks.h"
#include "emu/ipc/ipc_namespace.h"
#include "emu/vfs/vfs.h"
#include "mmu/inode_cache.h"
#include "probesim/types.h"

namespace probesim::loader {
class ElfFile;
}

namespace probesim::emu {

class TraceEvents;

struct MachineConfig {
  Arch arch = Arch::X86_64;
  std::string root = "/";
  uint64_t seed = 0;
  uint64_t quantum = 1'000'000;          // instructions per scheduling quantum
  int cpus = 1;                          // logical CPUs
  StrategySpec strategy;                 // rr by default (sched/strategy.h)
  uint64_t run_index = 0;                // which run of the strategy (exploration)
  uint64_t cpu_hz = VirtualClock::kDefaultHz;
  int64_t epoch_sec = VirtualClock::kDefaultEpoch;
  // Boot the guest kernel image and route every syscall through it (kprobes need it). Off:
  // syscalls go straight from the syscall instruction to the model (fewer instructions).
  bool kernel = true;
  bool kprobe_boost = true;  // x86 kprobes: jump back from boostable slots (no second trap)
  bool kprobe_optimization = true;  // debug.kprobes-optimization at boot (optprobes)
  uint64_t kprobe_optimize_delay_ns = 20'000'000;  // OPTIMIZE_DELAY (virtual ns)
  double probe_cost = 1.0;  // scale of kprobe/uprobe hit costs (0: observer mode)
  // The guest kernel's command line (boot_command_line); early_kprobes ("sym[+off]") are
  // appended to it as one `ekprobe=` list, registered during boot (kernel_early_kprobes.cc).
  std::string kernel_cmdline;
  std::vector<std::string> early_kprobes;
  Limits limits;             // machine-wide resource limits (probesim/limits.h)
  // Historical kernel bugs re-created in the model (kthread/bugs.h); unknown names fail init.
  std::vector<std::string> bugs;
};

struct MachineStats {
  // Syscalls by number (the hot path only increments a counter; names are resolved when
  // statistics are read: syscall_counts()).
  std::vector<uint64_t> syscalls_by_nr = std::vector<uint64_t>(512);
  std::map<uint64_t, uint64_t> syscalls_beyond;  // numbers >= 512 (all unknown)
  uint64_t faults = 0;                           // guest faults (CPU exceptions)
  uint64_t signals_delivered = 0;                // handlers entered
  uint64_t quanta = 0;
  uint64_t context_switches = 0;  // every nvcsw and nivcsw counted (/proc/stat ctxt)
};

// Where --strace lines go; null = strace off (zero cost: the dispatcher checks first).
class StraceSink {
 public:
  virtual ~StraceSink() = default;
  virtual void line(const std::string& text) = 0;
  virtual size_t string_size() const { return 32; }  // strace -s
};

class MachineState final : public SyscallSink,
                           private probes::UprobeHost,
                           private GuestTimeSource,
                           private OriginalCode,
                           private AccessWatch,
                           private KernelHost,
                           private ProcHost {
 public:
  static constexpr int kInitPid = 1;  // the parent of spawned processes (the modelled init)

  explicit MachineState(MachineConfig config);
  ~MachineState() override;
  // Fallible part of construction (the guest root must exist). Call once, before anything else.
  Result<void> init();

  const MachineConfig& config() const { return config_; }
  MachineLimits& limits() { return limits_; }
  Arch arch() const { return config_.arch; }
  // The clock of the logical CPU running now.
  VirtualClock& clock() { return sched_.now_clock(); }
  // The clock as the guest reads it (time syscalls): recorded, or fed back during a replay.
  const VirtualClock& guest_clock();

  // Record and replay (machine_record.cc, record/). Either may start once, before the first
  // spawn. The recorder's trace is complete after run() (save it with save_trace()).
  Recorder& start_recording(TraceHeader header);
  Replayer& start_replay(Trace trace);
  Recorder* recorder() { return recorder_.get(); }
  // The process task tid belongs or belonged to (dead tasks included), or null.
  Process* process_of_tid(int tid);
  // The ELF file a VMA maps, read from the host (symbolizing reports).
  Result<loader::ElfFile> mapped_elf(const mmu::Vma& v);
  // "symbol+0xoff (guest path)" for a user pc of task tid, or "" when unknown.
  std::string symbolize_user(int tid, uint64_t pc);
  // "name" or "name+0xoff" for a user data address of task tid inside an object of its
  // program's symbol table, or "" when none.
  std::string symbolize_data(int tid, uint64_t addr);
  // Watch every user load and store from now on (an analysis run, before the first spawn):
  // RaceWatch finds the conflicting accesses around each preemption (memory_race).
  void watch_memory();
  // The conflict RaceWatch found around the preemption of tid at insns, for people: "task 101
  // read counter (0x...) at 0x... <bump+0x8 (...)> before it was preempted, ..."; "" when
  // none or not watched.
  std::string memory_race(int tid, uint64_t insns);
  Replayer* replayer() { return replayer_.get(); }
  Scheduler& sched() { return sched_; }
  FutexTable& futexes() { return futexes_; }
  WaitQueues& waitq() { return waitq_; }
  PollHub& poll_hub() { return poll_hub_; }  // waitq() for files (epoll, eventfd, sockets)
  NetNamespace& net() { return net_; }       // socket names (emu/net/)
  FileLocks& file_locks() { return file_locks_; }
  IpcNamespace& ipc() { return ipc_; }
  // fork/vfork: a child process with a copy of `t`'s registers (returning 0) and of the
  // parent's mm, fd table, cwd and dispositions. stack/tls as clone's arguments (0: keep).
  Result<Process*> fork_process(Task& t, uint64_t stack, std::optional<uint64_t> tls);
  // Signals (machine_signals.cc). send_signal queues `si` for task `t` (or, if null, for the
  // process) and interrupts a blocked receiver; delivery happens on its next return to user
  // mode. deliver_signals runs there: false if the process died of it.
  void send_signal(Process& p, Task* t, const SigInfo& si);
  bool deliver_signals(Task& t) override;
  bool has_deliverable_signal(const Task& t) const override;
  void kill_by_signal(Process& p, int sig, std::optional<GuestFault> fault = std::nullopt) override;
  void restore_saved_sigmask(Task& t) override;
  // Timers (machine_timers.cc, emu/itimers.h): the earliest armed expiry of any live process
  // (virtual monotonic ns, 0: none); firing the ones due at now_ns (the scheduler calls both,
  // between quanta); and dropping a deleted POSIX timer's queued signal.
  uint64_t next_timer_ns() const;
  void fire_timers(uint64_t now_ns);
  bool replay_timer(const TimerFire& f);  // a recorded fire; false: no such armed timer
  void forget_timer_signal(Process& p, int timer_id);
  // CPU time (kernel/sched/cputime.c): a task's utime/stime with, for the running task, its
  // quantum so far (task_sched_runtime); a process's over all its tasks, exited threads too
  // (thread_group_cputime); and cycles as ns of the modelled frequency.
  CpuTime task_cputime(const Task& t) const;
  CpuTime process_cputime(const Process& p) const;
  uint64_t cputime_ns(Cycles c) const;
  // The time a timer base of p counts now, in ns (tid: the thread of TimerBase::Thread).
  uint64_t timer_base_ns(Process& p, TimerBase base, int tid);
  // A time value the guest reads (CPU clocks, itimer values): recorded, or during a replay the
  // recorded value, as every guest-visible time is.
  uint64_t guest_time_read(uint64_t value) { return guest_cycles(value); }
  // Job control (kernel/signal.c do_signal_stop, prepare_signal's SIGCONT): the process stops
  // or continues as a whole; the parent hears of it (SIGCHLD CLD_STOPPED/CLD_CONTINUED unless
  // SA_NOCLDSTOP; wait4 WUNTRACED/WCONTINUED). A task stops at its next turn:
  // enter_group_stop (true: it did, do not run it).
  // setrlimit(RLIMIT_STACK) on p: a raised limit maps the main stack further down now.
  void stack_rlimit_changed(Process& p);
  void do_signal_stop(Process& p, int sig);
  void do_signal_continue(Process& p, bool report);
  bool enter_group_stop(Task& t);
  // execve, first half (inside the syscall): validate and build the new image; -errno style
  // errors leave the process untouched. The swap happens after the quantum (finish_exec).
  Result<void> prepare_exec(Process& p, const std::string& path,
                            const std::vector<std::string>& argv,
                            const std::vector<std::string>& envp);
  // Totals so far; inside a quantum (a probe handler) they include the running quantum's part.
  uint64_t charged_cycles() const;
  int alloc_pid() { return next_pid_++; }
  // The task with this TID if it has not died (any process), else null.
  Task* live_task(int tid);
  // Task and process exit (syscalls and faults): clear_child_tid wake-up, scheduler removal,
  // and when the last task goes, the process's exit status.
  void exit_task(Task& t, int code);
  // A reaped zombie's address space goes (exit_mmap): its VMAs leave the files' i_mmap trees,
  // so uprobe registration never visits it. Unreaped processes (spawned ones: their parent is
  // the modelled init) keep their mm for inspection.
  void release_mm(Process& p);
  void exit_process(Process& p, ExitStatus status);
  DeterministicRng& rng() { return rng_; }
  mmu::InodeCache& inodes() { return *inodes_; }
  Vfs& vfs() { return *vfs_; }
  MachineStats& stats() { return stats_; }
  // Syscall counts by name; `unknown` gets the -ENOSYS ones ("syscall_<nr>" if unnamed).
  void syscall_counts(std::map<std::string, uint64_t>& all,
                      std::map<std::string, uint64_t>& unknown) const;
  InsnCount insns() const;
  // The logical CPU a probe hit happens on now (a task's, or a kernel_call's).
  int hit_cpu() const;

  // The guest kernel panicked (HC_PANIC): the machine stops for good. run() returns true at
  // once, spawn and kernel_call fail with refuse_if_panicked's error.
  bool panicked() const { return kernel_ && !kernel_->panic().empty(); }
  // "Kernel panic - not syncing: <msg>" (Linux's panic() line), or "" when it did not panic.
  std::string panic_text() const;
  // EIO "<what>: the guest kernel panicked (...)" on a panicked machine, else nothing.
  Result<void> refuse_if_panicked(std::string_view what) const;

  // The guest kernel (null without MachineConfig::kernel) and its kprobes engine.
  GuestKernel* kernel() { return kernel_.get(); }
  const GuestKernel* kernel() const { return kernel_.get(); }
  probes::KprobeManager* kprobes() { return kernel_ ? &kernel_->kprobes() : nullptr; }
  // The task whose CPU is running now (inside hooks and probe handlers), else null.
  Task* current_task() { return current_; }
  // tracefs's dynamic events (emu/tracefs): the one table the guest's /sys/kernel/tracing,
  // the CLI's -e and Python's Machine.events share.
  TraceEvents& trace_events() { return *trace_events_; }
  // The uprobes engine (always present: uprobes need no guest kernel).
  probes::UprobeManager& uprobes() { return *uprobes_; }
  // Resolves a guest path (from /) to its inode, as uprobe registration needs; the reference
  // is the caller's (InodeCache::iput).
  Result<mmu::Inode*> lookup_inode(const std::string& path);
  // The file offset of a uprobe target in `inode` (spec.symbol from its .symtab/.dynsym, or
  // spec.offset as given): ENOENT unknown symbol, EINVAL outside it, ENOEXEC not an ELF.
  Result<FileOffset> uprobe_offset(mmu::Inode& inode, const probes::UprobeSpec& spec);
  // mm hooks for uprobes (machine_uprobes.cc), called by the mmap/munmap handlers.
  void uprobe_mmap(mmu::Mm& mm, GuestAddr vma_start);
  void uprobe_munmap(mmu::Mm& mm, GuestAddr start, uint64_t len);
  // Calls kernel function `fn` with up to six arguments on logical CPU 0 in kernel mode (no
  // task: like a kernel thread) and returns its result. Errors: no kernel, unknown symbol
  // (ENOENT), too many arguments (E2BIG), a fault or a runaway (EFAULT, with the oops).
  Result<uint64_t> kernel_call(std::string_view fn, std::span<const uint64_t> args);
  // The registers of a task clone/fork creates from `parent` inside its syscall (see
  // machine_state.cc); null when no kernel stack is left.
  std::unique_ptr<CpuContext> child_context(Task& parent, Task& child, uint64_t stack,
                                            std::optional<uint64_t> tls);
  // From a probe handler (or any hook): end the running quantum or kernel_call at the next
  // preemptible point, and make run() return (false) after it. Used by the Python layer when
  // a handler raised.
  void stop_current();
  // The user-mode registers of `t` (resident in its process's Cpu): see UserRegs.
  UserRegs user_regs(Task& t);
  // The user-mode registers of `t` while it runs in the guest kernel (a kprobe hit on its
  // behalf, not only inside HC_SYSCALL): the pt_regs its entry code saved. Needs a kernel.
  UserRegs entry_user_regs(Task& t);

  // Kernel work (kthread/, machine_kwork.cc). The modelled sleeping locks; whether a bug
  // toggle is on; queue work for the kworker (created on first use) to start once the
  // scheduling steps reach w->start_at. The kworker then competes with the guest's tasks.
  KernelLocks& locks() { return locks_; }
  bool bug(std::string_view name) const;
  void queue_kernel_work(std::unique_ptr<KernelWork> w);
  KernelThread* kworker() { return kworker_.get(); }
  // The live process whose address space is mm (null: it exited or exec'd). An exited
  // process's mm is kept for inspection, but for the kernel it is gone (exit_mmap after the
  // last mmput): kernel work skips it and invariants ignore it.
  Process* process_of_mm(const mmu::Mm* mm);
  // Invariant violations found at quiescent points while a kworker exists (issue 16: the
  // uprobes tree, i_mmap trees and mms verify(), breakpoints where and only where they
  // belong), and the lock checker's reports (locks().lockdep(): lock order inversions,
  // sleeping locks in atomic context). The first kMaxViolations are kept; a violation never
  // stops the machine.
  static constexpr size_t kMaxViolations = 16;
  const std::vector<std::string>& invariant_violations() const { return violations_; }
  // One line per kworker step run: "kworker/0:1 step N: <step> of <work>" (for reports).
  struct KernelStep {
    uint64_t index;      // the kworker's step count before it
    uint64_t at_steps;   // the machine's scheduling steps then
    std::string what;
  };
  const std::vector<KernelStep>& kernel_steps() const { return kernel_steps_; }
  // The address-space changes (mmap, munmap, mprotect, mremap, brk, madvise, fork) that guest
  // tasks made while the kworker had work queued, in order, each with the kworker's step count
  // then: "munmap()ed [0x7f0000, 0x7f1000)". The first kMaxRacingSyscalls are kept.
  struct RacingSyscall {
    int tid;
    uint64_t kworker_steps;  // kworker steps run before it (KernelStep::index of the next)
    std::string what;
  };
  static constexpr size_t kMaxRacingSyscalls = 100000;
  const std::vector<RacingSyscall>& racing_syscalls() const { return racing_syscalls_; }
  // A preemption that involves the kworker (tid KernelThread::kPid) in kernel terms: which of
  // its steps it was between and what other tasks did to their mappings meanwhile, or which
  // steps it ran while task `tid` was preempted. "" when the kworker is not in it. insns,
  // next_from and next_until are Preemption's (retired instructions; a kworker step is 1000).
  std::string kernel_race(int tid, uint64_t insns, int next_tid, uint64_t next_from,
                          uint64_t next_until) const;

  void set_strace(StraceSink* s) { strace_ = s; }
  // Lifecycle events go to `o` (null: nobody listens). Non-owning.
  void set_lifecycle(LifecycleObserver* o) { lifecycle_ = o; }
  StraceSink* strace() { return strace_; }

  // Create a process running `argv[0]` (a guest path, relative to `cwd`) with a fresh mm and
  // working directory `cwd`; it does not run yet.
  Result<Process*> spawn(const std::vector<std::string>& argv, const std::vector<std::string>& envp,
                         const std::string& cwd,
                         std::shared_ptr<OutputSink> out, std::shared_ptr<OutputSink> err,
                         std::shared_ptr<InputSource> in);
  Process* process(int pid);
  // Tasks still alive but blocked with nothing left to wake them (after run() returned true).
  std::vector<Task*> blocked_forever();
  std::vector<Process*> processes();

  // Run until no task can run any more (all exited, or the rest blocked forever: see
  // blocked_forever()), or `max_insns` more instructions ran (0 = no limit), or `should_stop()`
  // returns true between quanta (Ctrl-C). Returns true when nothing can run any more.
  bool run(uint64_t max_insns, const std::function<bool()>& should_stop);
  // run() also returns false once every logical CPU's virtual time reached `ns` (idle CPUs
  // stop there, sleepers past it stay asleep); 0: no limit. `ns` is monotonic time since boot.
  void set_time_limit(uint64_t ns) { time_limit_ns_ = ns; }
  bool time_limit_reached() const {
    return time_limit_ns_ && sched_.horizon_reached(time_limit_ns_);
  }

  // ProcHost: the /proc/<pid>/ files of a live process and its threads (proc_pid.h), the
  // machine-wide files of /proc and /sys (proc_system.h), as the running task sees them.
  std::optional<std::string> proc_text(int pid, int tid, std::string_view name) override;
  std::vector<int> proc_pids() override;
  std::vector<int> proc_tids(int pid) override;
  std::optional<View> proc_view(int pid) override;
  std::optional<std::string> system_text(std::string_view path) override;
  const std::vector<SystemPath>& system_paths() override;
  // SyscallSink: called inside the Unicorn hook of the running process's Cpu.
  void on_syscall(Cpu& cpu) override;
  bool on_trap(Cpu& cpu, uint32_t intno) override;

 private:
  struct Image;
  // rlimit_stack: the new image's RLIMIT_STACK soft limit (its stack size, mmap_base).
  // caller: the exec'ing process's view of paths (cwd, /proc/self); its pid seeds AT_RANDOM.
  Result<Image> load_image(const Caller& caller, const std::string& path,
                           const std::vector<std::string>& argv,
                           const std::vector<std::string>& envp, uint64_t rlimit_stack);
  Result<Image> load_elf_image(const Caller& caller, const std::string& path, File& exe,
                               ExeFile deny, const std::vector<std::string>& argv,
                               const std::vector<std::string>& envp, uint64_t rlimit_stack);
  // Runs one quantum; true when it ended by its budget (the task was preempted).
  bool run_quantum(const Scheduler::Step& step);
  // Kernel work (machine_kwork.cc): wake the kworker when its work is due and end the
  // quantum there; start it early when nothing else can run; one kworker step.
  void kwork_before_pick(uint64_t& quantum);
  void kwork_wake_due(const Scheduler::Step& step);
  bool kwork_start_early();
  bool run_kernel_step(const Scheduler::Step& step);
  void check_invariants(bool quiescent, bool verify);
  void add_violation(std::string v);  // kept unless a duplicate or past kMaxViolations
  // A syscall that takes a lock the kworker holds blocks (and restarts when it is released).
  bool wait_for_kernel_lock(SyscallContext& ctx, const SyscallArgs& a, std::string_view name);
  // After a syscall that returned: log it in racing_syscalls() if it changed an address space
  // while the kworker has work queued.
  void note_racing_syscall(SyscallContext& ctx, const SyscallArgs& a, std::string_view name,
                           int64_t ret);
  bool return_to_task(Task& t, Cpu& cpu, int cpu_index);
  void tap_quantum_end(const Scheduler::Step& step, bool preempted);
  TraceCheckpoint checkpoint(Task& t, bool memory);
  uint64_t guest_cycles(uint64_t now) override;  // GuestTimeSource
  // OriginalCode (observer mode): the running process's code with its uprobes' instructions,
  // the kernel's with its kprobes' (KprobeManager::read_original, is_probe_code).
  bool original_code(uint64_t addr, std::span<uint8_t> out) override;
  bool probe_code(uint64_t addr) override;
  void on_access(uint64_t addr, uint32_t size, bool write, uint64_t pc) override;  // AccessWatch
  void finish_exec(Process& p, Task& t);
  void interrupt_wait(Task& t, int sig);
  void signal_timer(Process& p, int timer_id, uint64_t periods);  // machine_timers.cc
  // ITIMER_VIRTUAL/PROF and POSIX timers on CPU-time clocks that p's CPU time reached (after
  // each of its quanta is accounted: late by at most one quantum, as the real-time ones).
  void fire_cpu_timers(Process& p);
  void account_quantum(int cpu, Task& t);
  bool unblocked_somewhere(Process& p, Task* t, int sig) const;
  bool job_control_at_generation(Process& p, Task* t, int sig);
  void notify_parent_cldstop(Process& p, int code, int status);
  void leave_group_stop(Task& t);
  bool handle_fault_signal(Process& p, Task& t, const GuestFault& f);
  void process_exited(Process& p);
  Result<std::unique_ptr<Cpu>> new_cpu();
  bool sync_points() const;
  void model_syscall(Cpu& cpu);  // on_syscall without a guest kernel
  class EngineScope;
  void handle_stop(Process& p, Task& t, const CpuStop& stop);
  void reap_resources(Process& p);
  // Runs the handler of a syscall and does its bookkeeping (stats, strace, SIGPIPE).
  int64_t dispatch_syscall(SyscallContext& ctx, const SyscallArgs& a);
  void task_dead(Task& t);  // frees its kernel stack and kretprobe instances
  // The task leaves every wait structure (futexes, wait queues, scheduler): it is Dead to them.
  void detach_task(Task& t);
  // KernelHost: the guest kernel's view of the machine (machine_kernel.cc).
  SyscallSink& engine_sink() override { return *this; }
  VirtualClock& cpu_clock(int cpu) override { return sched_.clock(cpu); }
  VirtualClock& now_clock() override { return sched_.now_clock(); }
  int running_cpu() const override { return sched_.running_cpu(); }
  Task* current() override { return current_; }
  void for_each_process_engine(const std::function<void(Cpu&)>& fn) override;
  bool any_task_pc_in(GuestAddr addr, uint64_t len) override;
  std::unique_ptr<RunScope> kernel_call_scope(Cpu& engine, VirtualClock& clock) override;
  int64_t kernel_syscall(Task& t, const SyscallArgs& a, SyscallDisposition& how) override;
  KernelConfig kernel_config() const;
  void run_kprobe_optimizer() {
    if (kernel_) kernel_->run_optimizer_if_due();
  }
  // uprobes (machine_uprobes.cc)
  void invalidate(mmu::Mm& mm, GuestAddr addr, uint64_t len) override;  // UprobeHost
  bool uprobe_trap(Cpu& cpu, uint32_t intno) override;
  bool uprobe_stepping(const Task& t) const;
  CpuTime& cpu_time_at(int cpu);  // cpu_time_'s entry, grown on first use
  void account_switch_in(int cpu, const Task& next);
  void account_switch_out(int cpu, Task& t);
  void uprobe_abort_step(Task& t);  // a fault or signal during an XOL step

  MachineConfig config_;
  MachineLimits limits_;  // before everything that charges it (inode cache, processes)
  Scheduler sched_;
  FutexTable futexes_;
  WaitQueues waitq_;
  WaitQueueHub poll_hub_{waitq_, sched_};
  NetNamespace net_;  // outlives every socket (declared before procs_)
  FileLocks file_locks_{waitq_, sched_};  // before procs_: fd tables report closes to it
  DeterministicRng rng_;       // getrandom
  DeterministicRng dev_rng_;   // /dev/urandom (its own stream: reads there never shift getrandom)
  std::unique_ptr<mmu::InodeCache> inodes_;
  std::unique_ptr<Vfs> vfs_;
  std::unique_ptr<Vdso> vdso_;  // null without a built vDSO; every process maps its inode
  IpcNamespace ipc_{waitq_, sched_};  // after inodes_ (segments hold inodes), before procs_
  std::map<int, std::unique_ptr<Process>> procs_;
  int next_pid_ = 100;  // pids are allocated deterministically, starting here
  MachineStats stats_;
  StraceSink* strace_ = nullptr;
  LifecycleObserver* lifecycle_ = nullptr;
  Task* current_ = nullptr;  // the task whose Cpu is running (set by run_quantum)
  // Per logical CPU: the task whose quantum there ended while it was runnable (0: none), so
  // that the next pick of another task counts an involuntary switch (account_switch_in).
  std::vector<int> preempted_on_cpu_;
  // Per logical CPU: the cycles its quanta ran, by mode (/proc/stat cpuN user and system).
  std::vector<CpuTime> cpu_time_;
  std::vector<SystemPath> system_paths_;  // proc_system.h's, made at the first lookup
  // The running quantum's start (task_cputime adds what it ran so far); task null between quanta.
  struct QuantumStart {
    const Task* task = nullptr;
    const Cpu* cpu = nullptr;
    const VirtualClock* clock = nullptr;
    uint64_t insns = 0, user = 0;
    Cycles cycles{0};
  } quantum_;
  std::unique_ptr<GuestKernel> kernel_;
  std::unique_ptr<probes::UprobeManager> uprobes_;
  Cpu* running_engine_ = nullptr;  // the engine inside uc_emu_start (innermost), if any
  bool stop_requested_ = false;
  uint64_t time_limit_ns_ = 0;  // set_time_limit
  std::unique_ptr<Recorder> recorder_;
  std::unique_ptr<Replayer> replayer_;
  std::unique_ptr<RaceWatch> race_watch_;  // watch_memory
  RunTap* tap_ = nullptr;
  VirtualClock seen_clock_;  // guest_clock()'s value
  uint64_t total_insns_ = 0;
  uint64_t total_cycles_ = 0;
  // The quantum (or top-level kernel_call) running now: its engine and clock and their counts
  // when it started, so that totals read from inside it include the part run so far.
  struct InFlight {
    const Cpu* cpu;
    const VirtualClock* clock;
    uint64_t insns, cycles;
  };
  std::optional<InFlight> in_flight_;
  KernelLocks locks_{sched_, waitq_};
  std::unique_ptr<KernelThread> kworker_;
  std::vector<std::string> violations_;
  std::vector<KernelStep> kernel_steps_;
  std::vector<RacingSyscall> racing_syscalls_;
  std::unique_ptr<TraceEvents> trace_events_;  // made by init(); destroyed first (~MachineState)
};

}  // namespace probesim::emu

namespace probesim::emu {

// RAII: `cpu` runs on `clock` on behalf of `task` (null: a kernel_call) until the scope ends,
// when the previous current task and running engine come back (also when a probe handler's
// exception unwinds). An outermost scope (no run in flight) is a run of its own: while it
// lasts, totals read inside it include its part so far; when it ends, its instructions and
// cycles are added to the totals.
class MachineState::EngineScope final : public KernelHost::RunScope {
 public:
  EngineScope(MachineState& m, Cpu& cpu, VirtualClock& clock, Task* task)
      : m_(m), saved_task_(m.current_), saved_engine_(m.running_engine_), outermost_(!m.in_flight_) {
    m_.current_ = task;
    m_.running_engine_ = &cpu;
    if (outermost_) m_.in_flight_ = InFlight{&cpu, &clock, cpu.insns().value, clock.cycles().value};
  }
  ~EngineScope() override {
    m_.current_ = saved_task_;
    m_.running_engine_ = saved_engine_;
    if (!outermost_) return;
    m_.total_insns_ += m_.in_flight_->cpu->insns().value - m_.in_flight_->insns;
    m_.total_cycles_ += m_.in_flight_->clock->cycles().value - m_.in_flight_->cycles;
    m_.in_flight_.reset();
  }
  EngineScope(const EngineScope&) = delete;
  EngineScope& operator=(const EngineScope&) = delete;

 private:
  MachineState& m_;
  Task* saved_task_;
  Cpu* saved_engine_;
  bool outermost_;
};

}  // namespace probesim::emu
