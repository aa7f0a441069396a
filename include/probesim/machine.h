// The embedding API: a deterministic emulated machine running real Linux ELF programs.
// Small on purpose (CONVENTIONS.md §1): everything else is internal. The pybind11 module binds
// this header, probes.h (probe handles and handlers) and inspect.h (snapshots of the model).
//
//   auto m = probesim::Machine::create({.arch = probesim::Arch::X86_64, .seed = 1});
//   int pid = m.value()->spawn({"/bin/busybox", "echo", "hi"}, {}).value();
//   m.value()->run();
//   m.value()->exit_of(pid)->shell_status;
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "probesim/inspect.h"
#include "probesim/kernel.h"
#include "probesim/lifecycle.h"
#include "probesim/limits.h"
#include "probesim/probes.h"
#include "probesim/result.h"
#include "probesim/trace.h"
#include "probesim/types.h"

namespace probesim {

namespace emu {
class MachineState;
}

// One preemption of a schedule: task `tid` was (or is to be) preempted when it had retired
// `insns` user instructions, and task `next_tid` ran instead. Read from a recorded run, the
// rest says where: the preempted task's pc, and where the other task's turn ended.
struct Preemption {
  int tid = 0;
  uint64_t insns = 0;
  int next_tid = 0;
  uint64_t pc = 0;           // 0: unknown
  std::string where;         // pc as symbol+offset (file), when known
  uint64_t next_until = 0;   // the other task's retired instructions when its turn ended
  uint64_t next_pc = 0;      // its pc then (0: it blocked in the kernel or exited)
  std::string next_where;
  uint64_t next_from = 0;    // the other task's retired instructions when its turn began
  // When the machine's kworker (tid 2, kernel work) is one of the two tasks: the preemption in
  // kernel terms ("task 100 munmap()ed [0x7f..., 0x7f...) between build_map_info and
  // mmap_write_lock at 0x7f... of task 2 kworker/0:1 (uprobe_register(...))"); else "".
  std::string kernel;
  // When the machine watched memory (Machine::watch_memory): the conflicting accesses around it,
  // a location the preempted task read before it, another task wrote meanwhile, and it then
  // overwrote ("task 101 at 0x... <bump+0x8 (...)> read counter (0x..., 8 bytes) before it was
  // preempted; task 102 at ... wrote it meanwhile; task 101 at ... then overwrote it"); else "".
  std::string memory;
  std::string describe() const;  // one line, for people
};

inline constexpr int64_t kMaxEpoch = 253402300799;  // 9999-12-31T23:59:59Z

struct Options {
  Arch arch = Arch::X86_64;
  std::string root = "/";         // host directory that is the guest's "/", read-only
  uint64_t seed = 0;              // AT_RANDOM, getrandom, /dev/urandom derive from it
  // CLOCK_REALTIME at boot, in seconds since 1970 (0 .. kMaxEpoch). Fixed by default
  // (2024-01-01T00:00:00Z) so that every run of the same inputs reads the same dates: a
  // default taken from the host clock would make runs differ.
  int64_t epoch = 1704067200;
  uint64_t quantum = 1'000'000;   // instructions per scheduling quantum
  int cpus = 1;                   // logical CPUs (tasks interleave deterministically)
  enum class Sched { RoundRobin, Random } sched = Sched::RoundRobin;  // Random draws from seed
  // Boot the guest kernel image and take every syscall through it (kprobes need it). Off:
  // syscalls go straight from the syscall instruction to the kernel model.
  bool kernel = true;
  bool kprobe_boost = true;  // x86 kprobes: boostable slots jump back (no second trap)
  // debug.kprobes-optimization at boot: kprobes become jump-optimized (optprobes: x86 E9 rel32,
  // arm64 B imm26) after the optimizer's delay when Linux's conditions hold.
  bool kprobe_optimization = true;
  // OPTIMIZE_DELAY in ns of virtual time: how long after a kprobe is queued for optimization
  // the optimizer's work runs (Linux: a constant, 5 jiffies = 20 ms at HZ=250). Shorter: a
  // short run sees the optimizer's text_poke_bp steps race the CPUs. At least 1.
  uint64_t kprobe_optimize_delay_ns = 20'000'000;
  // Scale of the modelled cost of every kprobe/uprobe hit (trap, single-step, return, optimized
  // detour; probes/probe_costs.cc). 1: Linux-like; 0: observer mode: a hit charges no cycles,
  // so the guest's clocks, and the schedules read from them, are those of the run without the
  // probes. Finite, 0 to 1000.
  double probe_cost = 1.0;
  // The guest kernel's command line (`ekprobe=sym[+off][,...]` registers early kprobes) and
  // early kprobes to append to it: counting kprobes registered during boot, before
  // init_kprobes, as branches (seed 002); their hits during boot count.
  std::string kernel_cmdline;
  std::vector<std::string> early_kprobes;
  Limits limits;             // machine-wide resource limits (probesim/limits.h)
  // Stdio::Capture keeps at most this many bytes of each stream (0: all); the rest is counted
  // (captured_dropped) and discarded. Memory is proportional to the bytes kept.
  uint64_t capture_limit = 0;
  // Scheduling strategy; when not empty it replaces `sched`: "rr", "random", "pct:D[:STEPS]",
  // "bounded:K[:STEPS[:TASKS[:POINTS]]]" (emu/sched/strategy.h). A strategy decides from (seed, run_index) only. Replays of a trace
  // are made with Machine::replay.
  std::string strategy;
  uint64_t run_index = 0;  // run i of an exploration: a pure function of (seed, i)
  // strategy "guided": run each task until it blocks or exits, except at exactly these
  // preemptions (what shrinking a failing schedule keeps).
  std::vector<Preemption> preemptions;
  // strategy "guided": the choices to repeat where a task ended its quantum by itself
  // (blocked, exited, yielded): {tid, insns, next_tid} runs next_tid next when tid stops
  // there, if it can (trace_choices: a failing run's, which shrinking keeps).
  std::vector<Preemption> choices;
  // Historical kernel bugs re-created in the model, by name (emu/kthread/bugs.h; e.g.
  // "uprobe_no_revalidate"). Unknown names make create() fail (EINVAL).
  std::vector<std::string> bugs;
};

// Where a replay departed from its trace (the first difference found).
struct Divergence {
  int tid = -1;            // -1: not one task's
  uint64_t insns = 0;      // the task's retired user instructions
  uint64_t pc = 0;
  std::string where;       // pc as symbol+offset (file), when known
  uint64_t decision = 0;   // index of the scheduling decision
  std::string what, expected, actual;
  std::string message() const;  // several lines, for people
};

// One scheduling decision: logical CPU, task, reason ("pick", "preempt", "block", "wake",
// "idle"), the task's retired user instructions (the same with or without probes) and the
// CPU's virtual time.
struct SchedEvent {
  int cpu;
  int tid;
  std::string reason;
  uint64_t insns;
  uint64_t time_ns;
};

// Where a process's stdio goes.
enum class Stdio {
  PassThrough,  // the host's stdin/stdout/stderr (the CLI)
  Capture,      // in-memory buffers, read back with captured_stdout()/captured_stderr()
};

struct Fault {
  int signo = 0;
  int si_code = 0;
  uint64_t addr = 0;
  uint64_t pc = 0;
  bool pc_precise = true;
  std::string what;
};

struct ProcessExit {
  bool signaled = false;
  int code = 0;
  int signo = 0;
  bool core_dumped = false;
  int shell_status = 0;        // code, or 128 + signo
  std::string description;     // "exited with status 0", "killed by SIGSEGV (core dumped): ..."
  std::optional<Fault> fault;
};

struct Stats {
  uint64_t instructions = 0;
  uint64_t user_instructions = 0;  // retired in user mode (the scheduling steps)
  // Atomic and syscall instructions retired in user mode (the scheduling points pct counts;
  // counted under pct, bounded and guided, and in a replay: emu/sched/README.md).
  uint64_t scheduling_points = 0;
  uint64_t cycles = 0;
  double virtual_seconds = 0;
  uint64_t faults = 0;
  uint64_t quanta = 0;
  // What the guest uses now of each machine-wide limit (Options::limits).
  uint64_t mem_committed = 0;  // bytes of committed guest memory
  uint64_t disk_used = 0;      // bytes of overlay pages the guest wrote
  uint64_t tasks = 0;          // live tasks
  std::map<std::string, uint64_t> syscalls;
  std::map<std::string, uint64_t> unknown_syscalls;
};

class Machine {
 public:
  static Result<std::unique_ptr<Machine>> create(const Options& options);
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // Load `argv[0]` (a guest path, relative ones from `cwd`) into a new process whose working
  // directory is `cwd`. Bad programs (not an ELF, wrong arch, dynamic, missing) are errors
  // naming the file; nothing runs until run().
  Result<int> spawn(const std::vector<std::string>& argv, const std::vector<std::string>& envp,
                    Stdio stdio = Stdio::Capture, std::string stdin_data = {},
                    const std::string& cwd = "/");

  // Run until every process exited (returns true), `max_insns` more instructions ran, or
  // `should_stop` (checked between quanta) returned true. Guest faults are outcomes
  // (exit_of(pid)->fault), never exceptions. After a guest kernel panic nothing can run: it
  // returns true at once and panic() says why.
  bool run(uint64_t max_insns = 0, const std::function<bool()>& should_stop = {});
  // The guest kernel's panic line ("Kernel panic - not syncing: ...") once it panicked; from
  // then on the machine is dead: run() does nothing, spawn() and kernel_call() are errors (EIO).
  std::optional<std::string> panic() const;
  // A virtual-time limit for run(): it returns false once every logical CPU's clock reached
  // `ns` nanoseconds since boot (checked between quanta; idle CPUs and sleepers stop there).
  // 0 removes it. With run(max_insns), the CLI's --max-time / --max-insns.
  void set_time_limit(uint64_t ns);
  uint64_t virtual_time_ns() const;  // the latest logical CPU's clock

  std::optional<ProcessExit> exit_of(int pid) const;
  std::string captured_stdout(int pid) const;
  std::string captured_stderr(int pid) const;
  // The captured bytes of `fd` (1 or 2) of `pid` chunk by chunk, in order, without a copy of
  // the whole stream (nothing for a pid spawned without Stdio::Capture).
  void read_captured(int pid, int fd,
                     const std::function<void(std::span<const uint8_t>)>& chunk) const;
  uint64_t captured_size(int pid, int fd) const;
  // Bytes of `fd` written beyond Options::capture_limit (discarded).
  uint64_t captured_dropped(int pid, int fd) const;

  // strace-format lines, one per syscall; null turns it off. Strings and buffers show at most
  // string_size bytes (strace -s, default 32); lines start "[pid N] " while more than one
  // task exists (strace -f).
  void set_strace(std::function<void(const std::string&)> sink, size_t string_size = 32);

  Stats stats() const;

  // Record and replay (emu/record/, docs/trace-format.md). start_recording() before the first
  // spawn records that run: configuration, the first process's argv/env/cwd, SHA-256 of every
  // file the guest read, every scheduling decision keyed by (task, retired user instructions),
  // every time value and stdin byte the guest read, and checkpoints. save_trace() after run().
  Result<void> start_recording();
  Result<void> save_trace(const std::string& path) const;
  // A machine configured as the trace says, with its process spawned (replay_pid()); probes
  // may be added before run(). Inputs whose SHA-256 changed are listed in replay_warnings().
  static Result<std::unique_ptr<Machine>> replay(const std::string& trace_path,
                                                 Stdio stdio = Stdio::Capture);
  int replay_pid() const;
  // The kernel work the replayed run had queued ("uprobe SPEC@N"): queue it again the same way.
  std::vector<std::string> replay_kernel_work() const;
  // Invariant violations found at quiescent points while kernel work ran (emu/machine_kwork.cc):
  // a breakpoint in a page of a file with no uprobe there, a missed breakpoint.
  std::vector<std::string> invariant_violations() const;
  // The configuration a trace was recorded with (strategy: the recorded one, as text).
  static Result<Options> replay_options(const std::string& trace_path);
  std::vector<std::string> replay_warnings() const;
  // After run() of a replay: the first divergence, if the run departed from the trace.
  std::optional<Divergence> divergence() const;
  // While recording: the preemptions so far; in a replay: the trace's. Pcs symbolized.
  std::vector<Preemption> recorded_preemptions() const;
  // Watch every user load and store of this run (before the guest runs: a replay's process is
  // spawned but has not run yet; each access then costs a memory hook): recorded_preemptions()
  // name the conflicting accesses around each (memory).
  Result<void> watch_memory();
  std::vector<SchedEvent> schedule_log() const;
  // Instructions executed by each task (thread) so far, by tid.
  std::map<int, uint64_t> task_instructions() const;
  // Tasks left blocked with nothing to wake them after run() returned (a guest deadlock).
  std::vector<int> blocked_tids() const;
  // The same, with what each waits for: "futex", "sleep" (a deadline no clock reaches, as
  // `sleep infinity`'s) or "wait queue" (a pipe, wait4, vfork), and where: the user pc its
  // blocking syscall returns to, symbolized (symbol+offset (file)) when known.
  struct BlockedTask {
    int tid;
    std::string wait;
    uint64_t pc = 0;
    std::string where;
    // A futex wait: the futex word's address, with the program object holding it when the
    // symbol table names one ("0x4c6300 <lock_b>": a mutex); else "".
    std::string object;
    // "task 101 waits on a futex 0x4c6300 <lock_a> at pc 0x... <sym+0x.. (file)>"
    std::string describe() const;
  };
  std::vector<BlockedTask> blocked_tasks() const;
  Arch arch() const;
  // Calls guest kernel function `fn` (a kallsyms name) with up to six arguments on CPU 0 in
  // kernel mode and returns its result; probes on the way fire. Errors: no guest kernel,
  // unknown symbol (ENOENT), more than six arguments, a kernel fault (its oops text, EFAULT),
  // a panic (EIO).
  Result<uint64_t> kernel_call(const std::string& fn, const std::vector<uint64_t>& args = {});
  emu::MachineState& state();  // internals, for tests, notebooks and the Python module

  // Probes (probesim/probes.h), registered before or between run()s, never from a handler
  // (handlers may read the snapshots below, nothing else of the Machine).
  // Errors are the engine's, unprefixed (the caller names the probe): ENOENT an unknown
  // symbol or file, EINVAL a bad target or no guest kernel for k(ret)probes, EEXIST ...
  Result<std::unique_ptr<KprobeHandle>> register_kprobe(KprobeSpec spec);
  Result<std::unique_ptr<KretprobeHandle>> register_kretprobe(KretprobeSpec spec);
  Result<std::unique_ptr<UprobeHandle>> register_uprobe(UserProbeSpec spec);
  bool has_kernel() const;  // Options::kernel: kprobes need it
  std::vector<EarlyKprobeInfo> early_kprobes() const;
  std::string kprobes_list() const;  // debugfs kprobes/list ("" without a kernel)
  // The modelled cost in cycles of one pass through each probe path ("int3-boosted",
  // "optimized", ...; probes/probe_costs.cc, probes/uprobes/uprobe_costs.cc), in the tables'
  // order. kprobe_costs() is empty without a guest kernel.
  std::vector<std::pair<std::string, uint64_t>> kprobe_costs() const;
  std::vector<std::pair<std::string, uint64_t>> uprobe_costs() const;
  std::vector<std::string> kernel_oopses() const;  // kernel-mode faults, each killed its process
  // The guest kernel (probesim/kernel.h); empty / nullopt / false without one.
  std::vector<std::string> kernel_boot_log() const;  // start_kernel ... rest_init, in order
  std::string kernel_panic() const;  // panic()'s message without its prefix ("": none)
  std::vector<KernelSymbol> kernel_symbols() const;  // kallsyms, by ascending address
  std::optional<KernelSymbol> kernel_symbol(const std::string& name) const;  // lowest address
  std::optional<KernelSymbolOffset> kernel_symbol_at(uint64_t addr) const;  // sized symbols
  std::optional<std::string> kernel_symbolize(uint64_t addr) const;  // "vfs_read+0x4"
  std::vector<KprobeBlacklistEntry> kprobe_blacklist() const;
  // Kernel memory [addr, addr + out.size()): as the CPU sees it (breakpoints included) or the
  // original bytes under kprobe breakpoints. False if any byte is not kernel memory.
  bool read_kernel(uint64_t addr, std::span<uint8_t> out, bool original = false) const;
  InsnSlots kprobe_insn_slots() const;
  // The guest kernel's probe-able functions: text symbols outside the kprobe blacklist, in
  // address order (tracefs available_filter_functions).
  std::vector<std::string> probeable_functions() const;
  // Dynamic events (probesim/trace.h): one kprobe_events/uprobe_events line, defined and
  // enabled (errors carry Linux's error_log entry, or the errno's meaning).
  Result<EventId> add_event(const std::string& line);
  // events/GRP/EVENT/enable: ENOENT no such event, or the engine's errno (message: the name).
  Result<void> set_event_enabled(const EventId& event, bool on);
  bool event_enabled(const EventId& event) const;
  std::string dynamic_events() const;  // the dynamic_events listing, one definition per line
  std::string events_error_log() const;  // tracefs error_log
  std::vector<TraceEvent> trace() const;  // every hit so far, oldest first
  std::string trace_text() const;  // the same as trace_pipe prints them
  // The guest's tracefs as a program at /sys/kernel/tracing sees it (paths relative to it:
  // "kprobe_events", "events/kprobes/enable", "trace_pipe"). tracefs_read: the file's text
  // (trace_pipe: consumed, never waits); ENOENT no such file, EISDIR a directory.
  Result<std::string> tracefs_read(const std::string& path);
  // A write(2) of `data`; truncate: opened with O_TRUNC first, as `echo >` does (EBUSY when an
  // event of kprobe_events is enabled), else appended as `echo >>`. An error carries the errno
  // the guest's write would get and, for probe definitions, the error_log entry.
  Result<void> tracefs_write(const std::string& path, const std::string& data, bool truncate);

  // Lifecycle events (probesim/lifecycle.h) during run(); null: none (zero cost). The
  // observer must outlive its registration.
  void set_lifecycle_observer(LifecycleObserver* observer);
  // From a probe handler or lifecycle callback during run(): run() returns (false) at the
  // next instruction boundary of the running task. Precondition: run() is executing (a
  // request made outside would stop the next run at its start).
  void request_stop();
  // The task running now, inside handlers and callbacks (current->tgid, current->pid);
  // nullopt outside run() and in kernel_call.
  struct CurrentTask {
    int pid = 0;
    int tid = 0;
  };
  std::optional<CurrentTask> current_task() const;

  // Inspection (probesim/inspect.h): copies, valid after the model changed. ESRCH: no such pid.
  std::vector<ProcessInfo> processes() const;
  Result<std::vector<VmaInfo>> vmas(int pid) const;
  Result<std::optional<VmaInfo>> vma_at(int pid, GuestAddr addr) const;  // nullopt: unmapped
  Result<PageInfo> page(int pid, GuestAddr addr) const;  // EFAULT: addr is not mapped
  // A guest path's inode, as spawn and uprobes resolve it (the lookup reads it into the
  // inode cache if needed; the snapshot holds no reference).
  Result<InodeInfo> inode(const std::string& path);

 private:
  struct Impl;
  explicit Machine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A trace for people: header, inputs, decisions, time reads, checkpoints (`probesim trace show`).
// Errors name the file and the problem (not a trace, truncated, corrupted, another version).
Result<std::string> describe_trace(const std::string& path);
// The preemptions of a recorded run (pcs not symbolized: see Machine::recorded_preemptions).
Result<std::vector<Preemption>> trace_preemptions(const std::string& path);
// Where a task of a recorded run ended a quantum by itself and another ran next, as
// {tid, insns, next_tid} (Options::choices; only those three fields are set).
Result<std::vector<Preemption>> trace_choices(const std::string& path);

// How many distinct runs `strategy` has: bounded:K enumerates its schedules (run_index below
// that); empty: any run index is another draw (random, pct). Errors: a bad strategy name.
Result<std::optional<uint64_t>> strategy_runs(const std::string& strategy);

// The architecture of the ELF at `path` inside `root` (for `--arch auto`), the path resolved
// as spawn resolves it for a guest in `cwd` (a guest path). Errors are spawn's: a missing
// root, ENOENT, EACCES (a directory, no x bit), not an ELF.
Result<Arch> detect_arch(const std::string& root, const std::string& path,
                         const std::string& cwd = "/");

}  // namespace probesim
