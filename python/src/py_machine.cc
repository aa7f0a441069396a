#include "py_machine.h"

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <algorithm>

#include "convert.h"
#include "emu/vfs/caller.h"
#include "emu/vfs/fs_struct.h"
#include "errors.h"
#include "handler_context.h"
#include "probesim/assert.h"
#include "py_kernel.h"
#include "py_mm.h"

namespace py = pybind11;

namespace probesim::python {

namespace {

Arch parse_arch(const std::string& name) {
  if (name == "x86_64") return Arch::X86_64;
  if (name == "aarch64") return Arch::AArch64;
  throw BadArgument("arch '" + name + "': expected 'x86_64' or 'aarch64'");
}

struct SchedName {
  const char* name;
  Options::Sched sched;
};
constexpr SchedName kSchedNames[] = {
    {"round_robin", Options::Sched::RoundRobin},
    {"random", Options::Sched::Random},
};

// Machine(limits=...): the keys of probesim::Limits, each an int (bytes for mem and disk).
struct LimitKey {
  const char* name;
  uint64_t Limits::*field;
};
constexpr LimitKey kLimitKeys[] = {
    {"mem", &Limits::mem}, {"disk", &Limits::disk}, {"tasks", &Limits::tasks},
    {"files", &Limits::files}};

Limits parse_limits(const py::object& obj) {
  Limits l;
  if (obj.is_none()) return l;
  if (!py::isinstance<py::dict>(obj)) {
    throw BadArgument("limits: expected a dict with keys 'mem', 'disk', 'tasks', 'files'");
  }
  for (auto [key, value] : obj.cast<py::dict>()) {
    const std::string k = py::str(key);
    const LimitKey* found = nullptr;
    for (const LimitKey& lk : kLimitKeys)
      if (k == lk.name) found = &lk;
    if (!found) throw BadArgument("limits: unknown key '" + k + "' (expected mem, disk, tasks, files)");
    if (!py::isinstance<py::int_>(value)) throw BadArgument("limits['" + k + "']: expected an int");
    const std::string what = "limits['" + k + "']";
    l.*(found->field) = to_u64(value, what.c_str());
  }
  return l;
}

// sched: a policy name, or a strategy Machine::create checks ("rr", "pct:D[:STEPS[:POINTS]]", ...).
void apply_sched(Options& o, const std::string& name) {
  for (const SchedName& s : kSchedNames)
    if (name == s.name) {
      o.sched = s.sched;
      return;
    }
  if (name == "guided" || name == "replay:")
    throw BadArgument("sched '" + name + "': give preemptions=[...] for a guided schedule, "
                      "replay=FILE or sched='replay:FILE' for a replay");
  if (auto runs = strategy_runs(name); !runs) throw BadArgument("sched '" + name + "': " + runs.error().message);
  o.strategy = name;
}

// Machine(preemptions=[...]) and choices=[...]: Preemption objects or (tid, insns, next_tid)
// tuples; `what` names the argument in errors.
std::vector<Preemption> parse_preemptions(const py::object& obj, const std::string& what) {
  std::vector<Preemption> out;
  if (!py::isinstance<py::sequence>(obj) || py::isinstance<py::str>(obj))
    throw BadArgument(what + ": expected a list of Preemption or (tid, insns, next_tid)");
  for (py::handle item : obj) {
    if (py::isinstance<Preemption>(item)) {
      out.push_back(item.cast<Preemption>());
      continue;
    }
    auto t = py::reinterpret_borrow<py::object>(item);
    if (!py::isinstance<py::tuple>(t) || py::len(t) != 3)
      throw BadArgument(what + ": expected a Preemption or a (tid, insns, next_tid) tuple, got " +
                        std::string(py::repr(t)));
    Preemption p;
    p.tid = t[py::int_(0)].cast<int>();
    p.insns = to_u64(t[py::int_(1)].cast<py::int_>(), (what + ": insns").c_str());
    p.next_tid = t[py::int_(2)].cast<int>();
    out.push_back(p);
  }
  return out;
}

// Adds a PEP 678 note to a Python exception, best effort.
void add_note(py::error_already_set& e, const std::string& note) {
  try {
    e.value().attr("add_note")(note);
  } catch (py::error_already_set&) {
    // an exception without add_note (or a failing one) keeps its original text
  }
}

// Adds "raised in <what> during Machine.run()".
void add_hook_note(py::error_already_set& e, const char* what) {
  add_note(e, std::string("raised in ") + what + " during Machine.run()");
}

// Machine(epoch=): seconds since 1970 (int), or a timezone-aware datetime (a naive one would
// be read in the host's zone, which differs between hosts).
int64_t to_epoch(const py::object& epoch) {
  py::object datetime = py::module_::import("datetime").attr("datetime");
  if (py::isinstance(epoch, datetime)) {
    if (epoch.attr("tzinfo").is_none())
      throw BadArgument("epoch: a naive datetime depends on the host's time zone; give "
                        "tzinfo=datetime.timezone.utc or seconds since 1970");
    return static_cast<int64_t>(py::cast<double>(epoch.attr("timestamp")()));
  }
  if (!py::isinstance<py::int_>(epoch) || py::isinstance<py::bool_>(epoch))
    throw BadArgument("epoch: seconds since 1970 (int) or an aware datetime, got " +
                      std::string(py::str(py::type::of(epoch).attr("__name__"))));
  const uint64_t v = to_u64(epoch, "epoch");
  if (v > static_cast<uint64_t>(kMaxEpoch))
    throw BadArgument("epoch: at most " + std::to_string(kMaxEpoch) + " (9999-12-31), got " +
                      std::to_string(v));
  return static_cast<int64_t>(v);
}

// Machine(replay=path): the trace configures the machine, so no other setting may be given.
void check_replay_alone(const Options& given,
                        const std::string& sched, const py::object& limits,
                        const py::object& preemptions, const py::object& choices,
                        const std::optional<py::int_>& capture_limit) {
  const Options d;
  std::vector<std::string> set;
  if (given.seed != d.seed) set.push_back("seed");
  if (given.epoch != d.epoch) set.push_back("epoch");
  if (given.root != d.root) set.push_back("root");
  if (given.quantum != d.quantum) set.push_back("quantum");
  if (given.cpus != d.cpus) set.push_back("cpus");
  if (sched != "round_robin") set.push_back("sched");
  if (given.kernel != d.kernel) set.push_back("kernel");
  if (given.kprobe_boost != d.kprobe_boost) set.push_back("kprobe_boost");
  if (given.probe_cost != d.probe_cost) set.push_back("probe_cost");
  if (!limits.is_none()) set.push_back("limits");
  if (given.run_index != d.run_index) set.push_back("run_index");
  if (!preemptions.is_none()) set.push_back("preemptions");
  if (!choices.is_none()) set.push_back("choices");
  if (capture_limit) set.push_back("capture_limit");
  if (set.empty()) return;
  std::string names;
  for (const std::string& n : set) names += (names.empty() ? "" : ", ") + n;
  throw BadArgument("replay: the trace configures the machine as it was recorded; drop " + names);
}

}  // namespace

std::shared_ptr<PyMachine> PyMachine::create(const std::optional<std::string>& arch, const py::int_& seed,
                                             const std::filesystem::path& root,
                                             const py::int_& quantum, int cpus,
                                             const std::string& sched, bool kernel,
                                             bool kprobe_boost, const py::object& limits,
                                             const py::int_& run_index,
                                             const py::object& preemptions,
                                             const std::optional<py::int_>& capture_limit,
                                             const std::vector<std::string>& early_kprobes,
                                             const std::string& kernel_cmdline,
                                             const std::optional<std::filesystem::path>& replay_trace,
                                             const py::object& bugs, const py::object& epoch,
                                             double probe_cost, const py::object& choices) {
  Options o;
  if (!(probe_cost >= 0 && probe_cost <= 1000))  // also NaN
    throw BadArgument("probe_cost: expected a number from 0 to 1000 (1: modelled probe costs, "
                      "0: observer mode), not " + std::to_string(probe_cost));
  o.probe_cost = probe_cost;
  if (!epoch.is_none()) o.epoch = to_epoch(epoch);
  o.seed = to_u64(seed, "seed");
  o.root = path_string(root, "root");
  o.quantum = to_u64(quantum, "quantum");
  if (o.quantum == 0) throw BadArgument("quantum: must be at least 1 instruction");
  o.cpus = cpus;
  // sched='replay:FILE' is Machine(replay=FILE): the trace's decisions, configuration, inputs.
  std::optional<std::filesystem::path> trace = replay_trace;
  bool sched_replay = sched.starts_with("replay:") && sched.size() > 7;
  if (sched_replay && trace) throw BadArgument("sched '" + sched + "': give replay= or sched='replay:FILE', not both");
  if (sched_replay) trace = std::filesystem::path(sched.substr(7));
  else apply_sched(o, sched);
  o.run_index = to_u64(run_index, "run_index");
  o.kernel = kernel;
  o.kprobe_boost = kprobe_boost;
  o.early_kprobes = early_kprobes;
  o.kernel_cmdline = kernel_cmdline;
  if (trace && (!early_kprobes.empty() || !kernel_cmdline.empty() || !bugs.is_none()))
    throw BadArgument("replay: the trace configures the machine as it was recorded; drop early_kprobes, kernel_cmdline, bugs");
  if (trace) {
    check_replay_alone(o, sched_replay ? "round_robin" : sched, limits, preemptions, choices,
                       capture_limit);
    auto pm = replay(*trace);
    if (arch && parse_arch(*arch) != pm->options_.arch)
      throw BadArgument("replay: the trace was recorded on " + pm->arch_name() + ", not " + *arch);
    return pm;
  }
  if (!arch) throw BadArgument("arch: required ('x86_64' or 'aarch64') unless replay= is given");
  o.arch = parse_arch(*arch);
  if (!preemptions.is_none() || !choices.is_none()) {
    const char* what = preemptions.is_none() ? "choices" : "preemptions";
    if (sched != "round_robin")
      throw BadArgument(std::string(what) + ": a guided schedule replaces sched; drop sched='" + sched + "'");
    o.strategy = "guided";
    if (!preemptions.is_none()) o.preemptions = parse_preemptions(preemptions, "preemptions");
    if (!choices.is_none()) o.choices = parse_preemptions(choices, "choices");
  }
  o.limits = parse_limits(limits);
  if (capture_limit) {
    o.capture_limit = to_u64(*capture_limit, "capture_limit");
    if (o.capture_limit == 0) throw BadArgument("capture_limit: must be at least 1 byte (None: no limit)");
  }
  if (!bugs.is_none()) {
    if (py::isinstance<py::str>(bugs))
      throw BadArgument("bugs: a set or list of toggle names, e.g. {'uprobe_no_revalidate'}");
    for (py::handle b : bugs) {
      if (!py::isinstance<py::str>(b)) throw BadArgument("bugs: toggle names are str");
      o.bugs.push_back(b.cast<std::string>());
    }
    std::sort(o.bugs.begin(), o.bugs.end());  // a set's order is the host's: make it canonical
  }
  auto m = unwrap<BadArgument>(Machine::create(o));
  return std::make_shared<PyMachine>(std::move(m), o);
}

std::vector<std::tuple<uint64_t, uint64_t, std::string>> PyMachine::kernel_steps() {
  std::vector<std::tuple<uint64_t, uint64_t, std::string>> out;
  for (const auto& k : machine("kernel_steps").state().kernel_steps())
    out.emplace_back(k.index, k.at_steps, k.what);
  return out;
}

std::vector<std::string> PyMachine::lock_dependencies() {
  return machine("lock_dependencies").state().locks().lockdep().dependencies();
}

std::vector<std::tuple<int, uint64_t, std::string>> PyMachine::racing_syscalls() {
  std::vector<std::tuple<int, uint64_t, std::string>> out;
  for (const auto& r : machine("racing_syscalls").state().racing_syscalls())
    out.emplace_back(r.tid, r.kworker_steps, r.what);
  return out;
}

PyMachine::PyMachine(std::unique_ptr<Machine> machine, Options options)
    : machine_(std::move(machine)), options_(std::move(options)), disasm_(options_.arch) {}

// The last owner is a Python object being deallocated: the GIL is held. The C++ probes must
// be unregistered before machine_ (their engine) goes; records may outlive us in handles.
PyMachine::~PyMachine() {
  release_probes();
}

Machine& PyMachine::machine(const char* what) {
  if (running_)
    throw Error(std::string(what) +
                ": the machine is running (called from a callback or another thread); "
                "query it after run() returns");
  return *machine_;
}

emu::MachineState& PyMachine::state(const char* what) {
  return machine(what).state();
}

bool PyMachine::in_handler_here() const {
  return in_handler_ > 0 && std::this_thread::get_id() == emu_thread_;
}

bool PyMachine::in_callback_here() const {
  return (in_handler_ > 0 || in_callback_ > 0) && std::this_thread::get_id() == emu_thread_;
}

emu::MachineState& PyMachine::handler_state(const char* what) {
  if (in_callback_here()) return machine_->state();
  return state(what);
}

Machine& PyMachine::handler_machine(const char* what) {
  if (in_callback_here()) return *machine_;
  return machine(what);
}

void PyMachine::raise_if_panicked(const std::string& what) {
  if (std::optional<std::string> p = machine_->panic())
    throw KernelPanic(what + ": the guest kernel panicked (" + *p +
                      "): this machine runs nothing any more; create a new one");
}

Stats PyMachine::stats(const char* what) {
  if (in_callback_here()) return machine_->stats();
  return machine(what).stats();
}

uint64_t PyMachine::now_cycles() {
  emu::MachineState& s = machine_->state();
  return s.sched().clock(s.hit_cpu()).cycles().value;
}

py::object PyMachine::current() {
  if (!in_callback_here()) return py::none();
  if (!callbacks_.empty()) return callbacks_.back()->context();
  return task_context(py::none(), std::nullopt);
}

namespace {

// The fields of a Context every kind shares: the hit CPU and its clock now.
PyContext clock_context(emu::MachineState& s) {
  PyContext c;
  c.cpu = s.hit_cpu();
  const emu::VirtualClock& clock = s.sched().clock(c.cpu);
  c.cycles = clock.cycles().value;
  c.time_ns = clock.monotonic_ns();
  return c;
}

}  // namespace

py::object PyMachine::task_context(py::object probe, std::optional<uint64_t> entry_cycles,
                                   const probes::Regs* kregs, const probes::Regs* uregs) {
  emu::MachineState& s = machine_->state();
  PyContext c = clock_context(s);
  c.probe = std::move(probe);
  c.entry_cycles = entry_cycles;
  c.mm = py::none();
  if (emu::Task* t = s.current_task()) {
    c.pid = t->proc().pid();
    c.tid = t->tid();
    c.comm = t->proc().comm;
    c.mm = py::cast(PyMm{PyProcess{shared_from_this(), c.pid}});
  } else {
    c.comm = "swapper/" + std::to_string(c.cpu);  // Linux's idle task: no task runs
  }
  auto regs = [](const probes::Regs* r) {
    return r ? std::optional<probes::Regs>(*r) : std::nullopt;
  };
  c.stacks = std::make_shared<StackSource>(weak_from_this(), regs(kregs), regs(uregs), c.pid,
                                           c.tid);
  return py::cast(std::move(c));
}

py::object PyMachine::process_context(int pid, py::object probe) {
  emu::MachineState& s = machine_->state();
  emu::Process* p = s.process(pid);
  PROBESIM_ASSERT(p != nullptr);  // a filter is offered the mm of a listed process
  PyContext c = clock_context(s);
  c.probe = std::move(probe);
  c.pid = pid;
  c.tid = p->main_task().tid();
  c.comm = p->comm;
  c.mm = py::cast(PyMm{PyProcess{shared_from_this(), pid}});
  c.stacks = std::make_shared<StackSource>(weak_from_this(), std::nullopt, std::nullopt, pid,
                                           c.tid);
  return py::cast(std::move(c));
}

PyProcess PyMachine::spawn(const py::object& argv, const py::object& env,
                           const py::bytes& stdin_data, const std::filesystem::path& cwd) {
  Machine& m = machine("spawn");
  raise_if_panicked("spawn");
  std::vector<std::string> args = to_argv(argv);
  std::vector<std::string> envp = to_envp(env);
  std::string dir = path_string(cwd, "cwd");
  // spawn offers the new mm to uprobe filters (Python callbacks): they run as in a run, and
  // one that raised is raised here, before the scope empties the pending slot (the process
  // exists and runs at the next run(); the filter counted as wanting its mm).
  RunningScope scope(*this, /*emulating=*/false);
  int pid = unwrap<BadProgram>(m.spawn(args, envp, Stdio::Capture, std::string(stdin_data), dir));
  raise_pending();
  return PyProcess{shared_from_this(), pid};
}

bool PyMachine::all_exited() {
  auto procs = machine_->state().processes();
  return std::all_of(procs.begin(), procs.end(), [](emu::Process* p) { return p->exited(); });
}

bool PyMachine::run(const std::optional<py::int_>& until) {
  Machine& m = machine("run");
  raise_if_panicked("run");
  uint64_t budget = until ? to_u64(*until, "until") : 0;
  if (until && budget == 0) return all_exited();
  RunningScope scope(*this);
  bool done;
  {
    py::gil_scoped_release release;
    done = m.run(budget, [this] { return should_stop(); });
  }
  save_recording();
  raise_pending();
  raise_if_panicked("run");  // it panicked during this run
  return done;
}

bool PyMachine::should_stop() {
  if (pending_) return true;
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() == 0) return false;
  pending_.emplace();  // fetches the exception a signal handler raised (KeyboardInterrupt)
  return true;
}

// The single trampoline into Python (see the header). Never throws: it runs inside hooks.
template <class F>
void PyMachine::call_python(const char* what, F&& f) noexcept {
  if (pending_) return;
  py::gil_scoped_acquire gil;
  struct Depth {  // strace callbacks may query the machine (handler_state)
    int& n;
    explicit Depth(int& d) : n(++d) {}
    ~Depth() { --n; }
  } depth(in_callback_);
  try {
    f();
  } catch (py::error_already_set& e) {
    add_hook_note(e, what);
    pending_.emplace(std::move(e));
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, (std::string(what) + ": " + e.what()).c_str());
    pending_.emplace();
  } catch (...) {
    PyErr_SetString(PyExc_RuntimeError, (std::string(what) + ": unknown C++ exception").c_str());
    pending_.emplace();
  }
}

// The names of the LifecycleEvents (Machine.on_fork ...), for notes on their exceptions.
constexpr const char* kLifecycleNames[] = {"the on_fork callback", "the on_exec callback",
                                           "the on_exit callback", "the on_signal callback"};

// One lifecycle callback through call_python: queries allowed, an exception stops the run
// (after the quantum) and is re-raised by run(), probesim.STOP ends the run cleanly.
void PyMachine::call_lifecycle(LifecycleEvent ev, const std::function<py::tuple()>& args) {
  LifecycleCallback& slot = lifecycle_[static_cast<size_t>(ev)];
  if (!slot.fn) return;
  call_python(kLifecycleNames[static_cast<size_t>(ev)], [&] {
    py::list a(args());
    if (slot.ctx) a.append(current());
    py::object result = slot.fn(*a);
    if (is_stop(result)) request_stop();
  });
}

// A probe handler's Exception becomes ProbeHandlerError (raise ... from the original); other
// exceptions (KeyboardInterrupt, SystemExit, a strace callback's) are re-raised as they are.
void PyMachine::raise_pending() {
  if (!pending_) return;
  py::error_already_set e = std::move(*pending_);
  std::optional<CallbackName> probe = std::move(pending_probe_);
  pending_.reset();
  pending_probe_.reset();
  if (!probe) throw e;
  if (!e.matches(PyExc_Exception)) {  // KeyboardInterrupt in a handler: as is, with a note
    add_note(e, "raised in " + probe->text);
    throw e;
  }
  py::object cause = e.value();
  auto tb = py::reinterpret_steal<py::object>(PyException_GetTraceback(cause.ptr()));
  if (!tb && e.trace()) PyException_SetTraceback(cause.ptr(), e.trace().ptr());
  std::string type = py::str(cause.get_type().attr("__name__"));
  std::string text = py::str(cause);
  py::object err =
      make_probe_handler_error(probe->text + " raised " + type + (text.empty() ? "" : ": " + text),
                               probe->probe, probe->handler, cause);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(err.ptr())), err.ptr());
  throw py::error_already_set();
}

std::vector<PyProcess> PyMachine::processes() {
  std::vector<PyProcess> out;
  for (emu::Process* p : handler_state("processes").processes())
    out.push_back({shared_from_this(), p->pid()});
  return out;
}

PyProcess PyMachine::process(int pid) {
  if (!handler_state("process").process(pid))
    throw BadArgument("no process with pid " + std::to_string(pid));
  return PyProcess{shared_from_this(), pid};
}

void PyMachine::set_strace(py::object fn, size_t string_size) {
  Machine& m = machine("strace");
  if (fn.is_none()) {
    m.set_strace(nullptr);
    strace_ = py::none();
    return;
  }
  if (!PyCallable_Check(fn.ptr()))
    throw py::type_error("strace: expected a callable taking one str (a line), or None");
  strace_ = std::move(fn);
  m.set_strace(
      [this](const std::string& line) {
        call_python("the strace callback", [&] { strace_(to_str(line)); });
      },
      string_size);
}

py::dict PyMachine::stats_dict() {
  Stats s = stats("stats");
  py::dict d;
  d["instructions"] = s.instructions;
  d["user_instructions"] = s.user_instructions;
  d["scheduling_points"] = s.scheduling_points;
  d["cycles"] = s.cycles;
  d["virtual_seconds"] = s.virtual_seconds;
  d["faults"] = s.faults;
  d["quanta"] = s.quanta;
  d["mem_committed"] = s.mem_committed;
  d["disk_used"] = s.disk_used;
  d["tasks"] = s.tasks;
  d["syscalls"] = py::cast(s.syscalls);
  d["unknown_syscalls"] = py::cast(s.unknown_syscalls);
  return d;
}

std::vector<PyInode> PyMachine::inodes() {
  std::vector<std::pair<uint64_t, PyInode>> found;
  state("inodes").inodes().for_each([&](const mmu::Inode& i) {
    found.push_back({i.i_ino(), PyInode{shared_from_this(), i.key(), i.name()}});
  });
  std::sort(found.begin(), found.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<PyInode> out;
  for (auto& [ino, inode] : found) out.push_back(std::move(inode));
  return out;
}

// Inode names are canonical guest paths: a path with symlinks (or "..") matches the inode its
// realpath names. Resolving never reads a file into the cache.
std::optional<PyInode> PyMachine::find_inode(const std::string& name) {
  std::vector<PyInode> cached = inodes();
  for (PyInode& i : cached)
    if (i.name == name) return i;
  emu::FsStruct fs;
  Result<std::string> real =
      state("find_inode").vfs().realpath(emu::Caller{fs, nullptr, {}, 0}, fs.cwd, name);
  if (!real) return std::nullopt;
  for (PyInode& i : cached)
    if (i.name == real.value()) return i;
  return std::nullopt;
}

std::vector<Insn> PyMachine::disassemble(int pid, const py::int_& addr_obj, size_t count,
                                         bool original) {
  emu::Process* p = state("disassemble").process(pid);
  if (!p) throw BadArgument("disassemble: no process with pid " + std::to_string(pid));
  uint64_t addr = to_u64(addr_obj, "addr");
  constexpr size_t kMaxCount = size_t{1} << 20;
  if (count > kMaxCount) throw BadArgument("disassemble: count above 2**20");
  const mmu::Vma* v = p->mm().vma_at(GuestAddr{addr});
  if (!v)
    throw BadArgument("disassemble: " + hex_addr(addr) + " is not mapped in pid " +
                      std::to_string(pid));
  uint64_t want = std::min<uint64_t>(count * disasm_.max_insn_len(), v->vm_end.value - addr);
  std::vector<uint8_t> code = peek_prefix(p->mm(), addr, want);
  if (original && !code.empty()) {  // the bytes were readable just now: so they still are
    bool read = machine_->state().uprobes().read_original(p->mm(), GuestAddr{addr}, code);
    PROBESIM_ASSERT(read);
  }
  return disasm_.disassemble(addr, code, count);
}

std::optional<std::string> PyMachine::symbolize(const py::int_& addr_obj, std::optional<int> pid) {
  emu::MachineState& s = handler_state("symbolize");
  uint64_t addr = to_u64(addr_obj, "addr");
  if (auto k = machine_->kernel_symbolize(addr)) return k;
  if (!pid) return std::nullopt;
  emu::Process* p = s.process(*pid);
  if (!p) throw BadArgument("symbolize: no process with pid " + std::to_string(*pid));
  const mmu::Vma* v = p->mm().vma_at(GuestAddr{addr});
  if (!v) return std::nullopt;
  return user_symbols_.symbolize(*v, addr);
}

std::string PyMachine::sched_name() const {
  if (!options_.strategy.empty()) return options_.strategy;
  for (const SchedName& s : kSchedNames)
    if (s.sched == options_.sched) return s.name;
  PROBESIM_ASSERT(false);  // every Options::Sched has a name in kSchedNames
  return {};
}

std::string PyMachine::repr() const {
  return "<probesim.Machine arch=" + arch_name() + " cpus=" + std::to_string(options_.cpus) +
         " seed=" + std::to_string(options_.seed) + (options_.kernel ? "" : " kernel=False") +
         (running_ ? " running" : "") + ">";
}

}  // namespace probesim::python
