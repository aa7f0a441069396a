// PyMachine: probesim.Machine, the Python face of probesim::Machine.
//
// Threading contract: every method runs with the GIL held. run() and kernel_call() release the
// GIL while the machine emulates and set running_ meanwhile; any query made then (from a
// callback on the emulation thread or from another Python thread) raises probesim.Error
// instead of touching state the emulation thread owns. The exception: inside a probe handler
// or uprobe filter, on the emulation thread (in_handler_here()), read-only queries made
// through handler_state() (kernel reads, processes, Mm reads, current_pid) and nested
// kernel_calls (handlers only) are allowed; registering, unregistering, enabling or disabling
// probes never is (probe_manager(), uprobe_state()).
// Python is entered from emulation only through two trampolines: call_python() (strace) and
// trampoline() (every probe callback: kprobe/kretprobe handlers, uprobe handlers,
// ret_handlers and filters). Both take the GIL; a Python exception becomes the pending
// exception that run()/kernel_call() raise afterwards (a probe callback's as
// ProbeHandlerError naming the probe, after stop_current() ended the run at the next
// preemptible point; a handler counts as returning 0, a filter as wanting the mm). The
// machine stays consistent: no exception unwinds through emulation. Ctrl-C is polled between
// quanta (should_stop) and surfaces the same way, as KeyboardInterrupt.
// uprobe filters also run inside uprobe (un)registration, apply and spawn: those run in a
// RunningScope that does not emulate (queries from the filter work, mutations raise) and
// raise a filter's exception when the operation is over.
//
// Ownership: held by shared_ptr; every Process/Mm/Registers/Inode/Kernel view keeps its
// machine alive (probe handles only hold a weak_ptr). The machine owns the C++ Machine, the
// registered probe records and the Python callables it was given; close(), garbage
// collection (tp_traverse/tp_clear of the Machine object) and destruction unregister every
// probe before the C++ Machine goes.
#pragma once

#include <pybind11/pybind11.h>

#include <array>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <thread>
#include <unordered_map>
#include <vector>

#include "disassembler.h"
#include "errors.h"
#include "emu/machine_state.h"
#include "probe_callback.h"
#include "probe_record.h"
#include "probes/kprobe_manager.h"
#include "probesim/machine.h"
#include "py_inode.h"
#include "py_process.h"
#include "symbolizer.h"
#include "uprobe_record.h"

namespace probesim::python {

// unregister(at=N)'s refusals, the same for a kprobe's and a uprobe's record (BadProbe): not
// registered nor queued (EINVAL), before its queued registration (EINVAL), already queued (EBUSY).
template <class Record>
void check_unregister_at(const Record& rec, const std::string& what, uint64_t at) {
  if (!rec.registered() && !rec.pending) throw BadProbe(what + ": EINVAL: not registered", EINVAL);
  if (rec.pending && at < *rec.at)
    throw BadProbe(what + ": EINVAL: unregister(at=" + std::to_string(at) +
                       ") would run before its registration (at=" + std::to_string(*rec.at) + ")",
                   EINVAL);
  if (rec.unregistering) throw BadProbe(what + ": EBUSY: already being unregistered", EBUSY);
}

// Machine.on_fork / on_exec / on_exit / on_signal (py_lifecycle.cc), in kEvents order.
enum class LifecycleEvent : uint8_t { Fork, Exec, Exit, Signal };

class PyMachine : public std::enable_shared_from_this<PyMachine> {
 public:
  static std::shared_ptr<PyMachine> create(const std::optional<std::string>& arch, const pybind11::int_& seed,
                                           const std::filesystem::path& root,
                                           const pybind11::int_& quantum, int cpus,
                                           const std::string& sched, bool kernel,
                                           bool kprobe_boost, const pybind11::object& limits,
                                           const pybind11::int_& run_index,
                                           const pybind11::object& preemptions,
                                           const std::optional<pybind11::int_>& capture_limit,
                                           const std::vector<std::string>& early_kprobes,
                                           const std::string& kernel_cmdline,
                                           const std::optional<std::filesystem::path>& replay,
                                           const pybind11::object& bugs,
                                           const pybind11::object& epoch,
                                           double probe_cost, const pybind11::object& choices);
  PyMachine(std::unique_ptr<Machine> machine, Options options);
  ~PyMachine();
  PyMachine(const PyMachine&) = delete;
  PyMachine& operator=(const PyMachine&) = delete;

  // The machine's state for a query named `what`; raises Error while run() is executing.
  emu::MachineState& state(const char* what);
  Machine& machine(const char* what);
  // As state(), but also allowed inside a probe handler or a callback (strace) on the
  // emulation thread (reads of kernel memory, processes, counters).
  emu::MachineState& handler_state(const char* what);
  Machine& handler_machine(const char* what);  // the same for the public API's queries
  bool in_handler_here() const;   // a probe handler or filter runs (nested kernel_call allowed)
  bool in_callback_here() const;  // that, or the strace callback
  // Machine.current: the running probe callback's Context, or a Context of the current task
  // (probe None) inside another callback, or None outside run().
  pybind11::object current();
  // A Context of the current task (pid 0 without one), or of process `pid` (a filter's mm).
  // kregs / uregs: the registers of a kernel (kprobe) or user (uprobe) hit, for the
  // Context's stack traces (py_stacktrace.h).
  pybind11::object task_context(pybind11::object probe, std::optional<uint64_t> entry_cycles,
                                const probes::Regs* kregs = nullptr,
                                const probes::Regs* uregs = nullptr);
  UserSymbols& user_symbols() { return user_symbols_; }
  pybind11::object process_context(int pid, pybind11::object probe);
  // The hit CPU's cycle counter (the time base of Context.cycles and entry_cycles).
  uint64_t now_cycles();
  const Disassembler& disassembler() const { return disasm_; }
  const Options& options() const { return options_; }
  std::string arch_name() const { return std::string(probesim::arch_name(options_.arch)); }
  std::string sched_name() const;

  PyProcess spawn(const pybind11::object& argv, const pybind11::object& env,
                  const pybind11::bytes& stdin_data, const std::filesystem::path& cwd);
  bool run(const std::optional<pybind11::int_>& until);
  bool running() const { return running_; }
  std::vector<PyProcess> processes();
  PyProcess process(int pid);
  void set_strace(pybind11::object fn, size_t string_size);
  // Counters; inside a callback they include the running quantum so far.
  Stats stats(const char* what);
  pybind11::dict stats_dict();
  std::vector<PyInode> inodes();
  std::optional<PyInode> find_inode(const std::string& name);
  std::vector<SchedEvent> schedule_log() { return machine("schedule_log").schedule_log(); }
  std::vector<int> blocked_tids() { return machine("blocked_tids").blocked_tids(); }
  std::vector<std::string> invariant_violations() {
    return machine("invariant_violations").invariant_violations();
  }
  // (kworker step index, machine scheduling steps, "step of work") per kworker step so far.
  std::vector<std::tuple<uint64_t, uint64_t, std::string>> kernel_steps();
  // (tid, kworker steps run before it, "munmap()ed [a, b)") per address-space change made
  // while the kworker had work queued.
  std::vector<std::tuple<int, uint64_t, std::string>> racing_syscalls();
  // The lock checker's recorded dependencies, "A -> B: <first chain>" (emu/kthread/lockdep.h).
  std::vector<std::string> lock_dependencies();
  std::vector<Insn> disassemble(int pid, const pybind11::int_& addr, size_t count, bool original);
  // "function+0xoff" for a kernel address, or a user address of process pid; None if unknown.
  std::optional<std::string> symbolize(const pybind11::int_& addr, std::optional<int> pid);
  std::string repr() const;

  // ---- guest kernel and probes (py_machine_probes.cc)
  bool has_kernel() const { return options_.kernel; }
  // Machine.kernel_call: GIL released unless nested in a handler; KernelCallError on failure.
  uint64_t kernel_call(const std::string& fn, const pybind11::args& args);
  // The kprobes engine for a mutation named `what`: raises Error without a kernel, while
  // running, and inside a handler.
  probes::KprobeManager& probe_manager(const char* what);
  // Registers a record whose target, handlers and options are filled in (kp or rp), wiring
  // its C++ handlers to call_handler. BadProbe (with errno) if the kernel refuses it.
  void register_probe(const std::shared_ptr<ProbeRecord>& rec, const std::string& target_text);
  // register(at=N): the kworker runs register_kprobe's steps from N scheduling steps on.
  // A recorded run keeps it in the trace header as "kprobe TARGET@N" (what --kprobe takes).
  void queue_probe(const std::shared_ptr<ProbeRecord>& rec, uint64_t at,
                   const std::string& target_text);
  void unregister_probe(ProbeRecord& rec);
  // kprobes.optimize_delay = ns (OPTIMIZE_DELAY). A recorded run keeps it in its trace header,
  // so it is fixed once the guest ran; a replay takes it from its trace (setting that same
  // value is allowed: explore's setup runs on replays too). ValueError otherwise.
  void set_optimize_delay(uint64_t ns);
  // unregister(at=N): the kworker runs unregister_kprobe's steps from N scheduling steps on.
  void queue_unregister(const std::shared_ptr<ProbeRecord>& rec, uint64_t at);
  // Several at once (Linux's register_kprobes / register_kretprobes and unregister_*): all or
  // none; texts name the targets for errors; recs are all of `kind`.
  void register_probes(const std::vector<std::shared_ptr<ProbeRecord>>& recs,
                       const std::vector<std::string>& texts, ProbeKind kind);
  void unregister_probes(const std::vector<std::shared_ptr<ProbeRecord>>& recs);
  void set_probe_enabled(ProbeRecord& rec, bool enabled);
  const std::vector<std::shared_ptr<ProbeRecord>>& probes() const { return probes_; }
  std::shared_ptr<ProbeRecord> record_of(const probes::Kprobe* kp) const;

  // ---- uprobes (py_machine_uprobes.cc)
  // The machine's state for a uprobe mutation named `what`: raises Error while running and
  // inside a handler or filter.
  emu::MachineState& uprobe_state(const char* what);
  // Where a registration's file is: the file mapped at `addr` in process `pid`
  // (uprobe_inode_at), else rec->path looked up in the guest, a relative path from the guest
  // directory `cwd`.
  struct UprobeFile {
    std::optional<int> pid;
    std::optional<uint64_t> addr;
    std::string cwd = "/";
  };
  // Resolves rec's file (and `symbol[+off]`, when symbol is set) to (inode, offset), wires its
  // callbacks and registers it. BadProbe (Linux errno) if refused; ProbeHandlerError if a
  // filter raised meanwhile (the registration is then undone).
  void register_uprobe(const std::shared_ptr<UprobeRecord>& rec, const std::string* symbol,
                       UprobeFile file);
  // register(pid=, addr=): the file mapped at addr in process pid and the file offset of addr
  // (rec.path, rec.offset), as Linux's uprobe API needs them. BadArgument unless addr lies in
  // a file-backed executable mapping. Returns a counted reference to the file's inode.
  mmu::Inode* uprobe_inode_at(UprobeRecord& rec, int pid, uint64_t addr);
  // The guest working directory of process pid (register(cwd=None, pid=N)).
  std::string process_cwd(int pid, const char* what);
  // register(..., at=N): the registration becomes kernel work (emu/kthread/).
  void queue_uprobe(const std::shared_ptr<UprobeRecord>& rec, mmu::Inode* inode, uint64_t at);
  void unregister_uprobe(UprobeRecord& rec);
  // unregister(at=M): the kworker runs uprobe_unregister's steps from M scheduling steps on.
  void queue_uprobe_unregister(const std::shared_ptr<UprobeRecord>& rec, uint64_t at);
  // uprobe_apply after a filter change: arm where a filter now wants it, disarm where none does.
  void apply_uprobe(UprobeRecord& rec);
  // The consumer's filter calls rec.filter; none when rec.filter is None (wants every mm).
  void wire_uprobe_filter(UprobeRecord& rec);
  const std::vector<std::shared_ptr<UprobeRecord>>& uprobe_records() const { return uprobes_; }
  std::shared_ptr<UprobeRecord> uprobe_record_of(uint64_t consumer_id) const;
  // ---- lifecycle events and stopping (py_lifecycle.cc)
  // Sets (None: clears) the callback of `ev`; TypeError for a bad signature.
  void set_lifecycle_callback(LifecycleEvent ev, pybind11::object fn);
  // Machine.request_stop: end run() at the next preemptible point (callbacks only).
  void request_stop();
  // probesim.STOP, and whether a handler's result is it.
  static pybind11::object stop_sentinel();
  static bool is_stop(const pybind11::handle& result);
  // ---- record and replay (py_record.cc)
  // Machine.record(path=None): record this machine's run (before the first spawn); with a
  // path, every run() that returns writes the trace there.
  void record(const std::optional<std::filesystem::path>& path);
  void save_trace(const std::optional<std::filesystem::path>& path);
  bool recording() const { return recording_; }
  std::optional<std::string> record_path() const { return record_path_; }
  // Machine.replay(trace): a machine configured as the trace says, its process spawned.
  static std::shared_ptr<PyMachine> replay(const std::filesystem::path& trace);
  bool is_replay() const { return replay_; }

  // Unregisters every probe and drops every Python callable (strace too); stays usable.
  void close();
  // Garbage collection of the Machine object: visit / drop the Python objects held here.
  int traverse(visitproc visit, void* arg) const;

 private:
  friend class RunningScope;
  bool all_exited();
  bool should_stop();  // emulation thread, between quanta
  template <class F>
  void call_python(const char* what, F&& f) noexcept;
  // The single trampoline of probe callbacks: GIL, in-handler depth, errors (see the header
  // comment). Returns cb.invoke(), or if_raised when it raised (or an earlier one did).
  int trampoline(ProbeCallback& cb, int if_raised) noexcept;
  void callback_raised(const ProbeCallback& cb, pybind11::error_already_set e);
  int call_handler(ProbeRecord& rec, HandlerSlot slot, probes::Regs& regs,
                   probes::KretprobeInstance* ri) noexcept;
  void forget_probe(ProbeRecord& rec);  // drops an unregistered record and its handlers
  void wire_handlers(ProbeRecord& rec);
  void release_probes() noexcept;
  void raise_pending();
  void call_lifecycle(LifecycleEvent ev, const std::function<pybind11::tuple()>& args);
  // The machine's lifecycle observer (set only while some callback is set).
  class LifecycleBridge final : public LifecycleObserver {
   public:
    explicit LifecycleBridge(PyMachine& m) : m_(m) {}
    void on_fork(int ppid, int pid) override;
    void on_exec(int pid) override;
    void on_exit(int pid) override;
    void on_signal(int pid, int tid, int sig) override;

   private:
    PyMachine& m_;
  };
  struct LifecycleCallback {
    pybind11::object fn;  // null: none
    bool ctx = false;     // declares a Context parameter
  };
  // KernelPanic "<what>: the guest kernel panicked (...)" once the machine panicked.
  void raise_if_panicked(const std::string& what);
  // uprobes (py_machine_uprobes.cc)
  void wire_uprobe(UprobeRecord& rec);
  bool call_uprobe_filter(UprobeRecord& rec, const mmu::Mm& mm) noexcept;
  void release_uprobes() noexcept;

  void save_recording();  // run(): write the trace to record_path_, if set

  std::unique_ptr<Machine> machine_;
  Options options_;
  bool recording_ = false, replay_ = false;
  std::optional<std::string> record_path_;
  Disassembler disasm_;
  bool running_ = false;
  bool emulating_ = false;      // running_ in run()/kernel_call() (not a uprobe mutation)
  std::thread::id emu_thread_;  // the thread inside run()/kernel_call() while running_
  int in_handler_ = 0;          // probe handlers in progress (on emu_thread_)
  int in_callback_ = 0;         // strace callbacks in progress (on emu_thread_)
  // The probe callbacks in progress, innermost last (Machine.current's context).
  std::vector<ProbeCallback*> callbacks_;
  // kretprobe instances in flight -> cycles at their function's entry (entry_cycles); an
  // entry is overwritten when its instance is reused.
  std::unordered_map<const probes::KretprobeInstance*, uint64_t> kret_entry_cycles_;
  UserSymbols user_symbols_;  // symbolize(), user stacks: ELF symbols of mapped files, read once
  // The first Python exception raised during run() (callback, handler or Ctrl-C). Written
  // only on the emulation thread while running_, read by run() after emulation returned.
  std::optional<pybind11::error_already_set> pending_;
  // Set when pending_ came from a probe callback: "kprobe 'vfs_read' (vfs_read+0x0) pre handler".
  std::optional<CallbackName> pending_probe_;
  pybind11::object strace_;
  std::array<LifecycleCallback, 4> lifecycle_;  // by LifecycleEvent
  LifecycleBridge lifecycle_bridge_{*this};
  // Registered probes, in registration order (mutated only with the GIL, never running).
  std::vector<std::shared_ptr<ProbeRecord>> probes_;
  std::vector<std::shared_ptr<UprobeRecord>> uprobes_;  // the same, for uprobe consumers
};

// Marks the machine busy for the duration of run() / kernel_call() (emulating) or of a uprobe
// mutation that may call filters (not emulating: no stop_current). The pending exception
// slot is emptied on the way out whatever happened (callers raise it first when it is set).
class RunningScope {
 public:
  explicit RunningScope(PyMachine& m, bool emulating = true) : m_(m) {
    m_.running_ = true;
    m_.emulating_ = emulating;
    m_.emu_thread_ = std::this_thread::get_id();
  }
  ~RunningScope() {
    m_.running_ = false;
    m_.emulating_ = false;
    m_.emu_thread_ = std::thread::id();
    m_.pending_.reset();
    m_.pending_probe_.reset();
  }
  RunningScope(const RunningScope&) = delete;
  RunningScope& operator=(const RunningScope&) = delete;

 private:
  PyMachine& m_;
};

void bind_insn(pybind11::module_& m);  // Insn (machine_bindings.cc)
// Machine.events / trace() / trace_text() and their value types (py_trace_events.cc).
void bind_trace_events(pybind11::module_& m,
                       pybind11::class_<PyMachine, std::shared_ptr<PyMachine>>& c);
// Preemption, Divergence, Trace and Machine's record/replay members (py_record.cc).
void bind_record(pybind11::module_& m, pybind11::class_<PyMachine, std::shared_ptr<PyMachine>>& c);
void bind_machine(pybind11::module_& m);

}  // namespace probesim::python
