// Python bindings of Machine and Insn (PyMachine's implementation is py_machine.cc).
#include <pybind11/functional.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "py_kernel.h"
#include "py_kprobes.h"
#include "py_machine.h"
#include "py_mm.h"
#include "py_uprobes.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace probesim::python {
namespace {

// The Machine object owns Python callables (probe handlers, strace) that may refer back to it:
// tell the garbage collector, so such cycles are collected (tp_clear unregisters the probes).
void gc_setup(PyHeapTypeObject* heap_type) {
  PyTypeObject* type = &heap_type->ht_type;
  type->tp_flags |= Py_TPFLAGS_HAVE_GC;
  type->tp_traverse = [](PyObject* self, visitproc visit, void* arg) {
    Py_VISIT(Py_TYPE(self));  // heap types are referenced by their instances
    auto* inst = reinterpret_cast<py::detail::instance*>(self);
    py::detail::value_and_holder vh = inst->get_value_and_holder();
    if (!vh.holder_constructed()) return 0;  // collected before __init__ finished
    return vh.holder<std::shared_ptr<PyMachine>>()->traverse(visit, arg);
  };
  type->tp_clear = [](PyObject* self) {
    auto* inst = reinterpret_cast<py::detail::instance*>(self);
    py::detail::value_and_holder vh = inst->get_value_and_holder();
    if (vh.holder_constructed()) {
      try {
        vh.holder<std::shared_ptr<PyMachine>>()->close();
      } catch (...) {
        // unreachable: an unreachable machine is not running
      }
    }
    return 0;
  };
}

void bind_probes(py::class_<PyMachine, std::shared_ptr<PyMachine>>& c) {
  c.def("kernel_call", &PyMachine::kernel_call, "fn"_a,
        "Call guest kernel function `fn` (a kallsyms name) with up to six int arguments on "
        "CPU 0 in kernel mode; returns its result as an unsigned 64-bit int. Probes on the way "
        "fire. Releases the GIL. Raises KernelCallError (ENOENT unknown symbol, E2BIG too many "
        "arguments, EFAULT an oops) or ProbeHandlerError. Inside a probe handler it nests.")
      .def_property_readonly(
          "kernel",
          [](PyMachine& m) -> std::optional<PyKernel> {
            if (!m.has_kernel()) return std::nullopt;
            return PyKernel{m.shared_from_this()};
          },
          "The guest kernel (Kernel), or None for Machine(kernel=False).")
      .def_property_readonly(
          "kprobes", [](PyMachine& m) { return PyKprobes{m.shared_from_this()}; },
          "Kernel probes: m.kprobes.register('vfs_read', pre=f, post=g).")
      .def_property_readonly(
          "kretprobes", [](PyMachine& m) { return PyKretprobes{m.shared_from_this()}; },
          "Return probes: m.kretprobes.register('vfs_read', handler=f, entry=g).")
      .def_property_readonly(
          "uprobes", [](PyMachine& m) { return PyUprobes{m.shared_from_this()}; },
          "User-space probes: m.uprobes.register(path, 'main', handler=f, filter=g). They need "
          "no guest kernel.")
      .def_property_readonly(
          "uretprobes", [](PyMachine& m) { return PyUretprobes{m.shared_from_this()}; },
          "User-space return probes: m.uretprobes.register(path, 'main', handler=f).")
      .def_property_readonly(
          "current_pid",
          [](PyMachine& m) -> std::optional<int> {
            auto t = m.handler_machine("current_pid").current_task();
            if (!t) return std::nullopt;
            return t->pid;
          },
          "In a probe handler: the pid of the process whose task hit the probe (Linux's "
          "current->tgid). None outside handlers and in Machine.kernel_call.")
      .def_property_readonly(
          "current_tid",
          [](PyMachine& m) -> std::optional<int> {
            auto t = m.handler_machine("current_tid").current_task();
            if (!t) return std::nullopt;
            return t->tid;
          },
          "In a probe handler: the thread id of the task that hit the probe (current->pid).")
      .def_property_readonly(
          "current", &PyMachine::current,
          "The Context of the code running now: inside a probe handler or filter the same "
          "object its ctx argument is (whether or not it declared one), inside another "
          "callback (strace) the current task's (probe None); None outside run() and "
          "kernel_call().");
}

// Lifecycle callbacks and stopping a run from Python.
void bind_events(py::class_<PyMachine, std::shared_ptr<PyMachine>>& c) {
  struct Event {
    const char* name;
    LifecycleEvent ev;
    const char* doc;
  };
  static constexpr Event kEvents[] = {
      {"on_fork", LifecycleEvent::Fork,
       "Call callback(parent, child) (Processes) when fork/vfork/clone makes a new process, "
       "once the child is runnable (Linux's sched_process_fork). None removes it."},
      {"on_exec", LifecycleEvent::Exec,
       "Call callback(process) when an execve succeeded: comm, exe, argv and mm are the new "
       "image's. None removes it."},
      {"on_exit", LifecycleEvent::Exit,
       "Call callback(process) when a process's last task died: process.exit is set "
       "(sched_process_exit). None removes it."},
      {"on_signal", LifecycleEvent::Signal,
       "Call callback(process, tid, signo) when a signal is dequeued for delivery to thread "
       "tid, whatever its action (Linux's signal_deliver). None removes it."},
  };
  for (const Event& e : kEvents) {
    LifecycleEvent ev = e.ev;
    c.def(
        e.name,
        [ev](PyMachine& m, py::object fn) { m.set_lifecycle_callback(ev, std::move(fn)); },
        "callback"_a,
        (std::string(e.doc) +
         " One callback per event; like every handler it may declare a last ctx parameter, "
         "query the machine, and return probesim.STOP to end run(); an exception stops run() "
         "after the quantum and is re-raised.")
            .c_str());
  }
  c.def("request_stop", &PyMachine::request_stop,
        "From a probe handler or callback: end run() cleanly at the next preemptible point "
        "(run() returns False; the next run() continues). Returning probesim.STOP from a "
        "handler does the same.");
}

// close() and the context manager (with Machine(...) as m: ... closes it).
void bind_lifetime(py::class_<PyMachine, std::shared_ptr<PyMachine>>& c) {
  c.def("close", &PyMachine::close,
        "Unregister every probe and drop every Python callback (strace too). The machine "
        "stays inspectable and runnable. Also done by `with Machine(...) as m:` and when "
        "the machine is garbage-collected.")
      .def("__enter__", [](py::object self) { return self; })
      .def(
          "__exit__",
          [](PyMachine& m, const py::object&, const py::object&, const py::object&) {
            m.close();
            return false;
          },
          "exc_type"_a, "exc"_a, "tb"_a);
}

}  // namespace

void bind_insn(py::module_& m) {
  py::class_<Insn>(m, "Insn",
                   "One disassembled instruction; unpacks as (addr, bytes, mnemonic, op_str).")
      .def_readonly("addr", &Insn::addr, "Guest address.")
      .def_property_readonly(
          "bytes", [](const Insn& i) { return py::bytes(i.bytes); }, "Encoding.")
      .def_readonly("mnemonic", &Insn::mnemonic, "E.g. 'push'.")
      .def_readonly("op_str", &Insn::op_str, "Operands, e.g. 'rbp'.")
      .def("__len__", [](const Insn&) { return 4; })
      .def("__getitem__",
           [](const Insn& i, int k) {
             return py::make_tuple(i.addr, py::bytes(i.bytes), i.mnemonic, i.op_str)[py::int_(k)];
           })
      .def("__iter__",
           [](const Insn& i) {
             return py::iter(py::make_tuple(i.addr, py::bytes(i.bytes), i.mnemonic, i.op_str));
           })
      .def(
          "__eq__",
          [](const Insn& a, const Insn& b) {
            return a.addr == b.addr && a.bytes == b.bytes && a.mnemonic == b.mnemonic &&
                   a.op_str == b.op_str;
          },
          py::is_operator())
      .def("__str__",
           [](const Insn& i) { return hex_addr(i.addr) + ": " + i.mnemonic + " " + i.op_str; })
      .def("__repr__", [](const Insn& i) {
        return "Insn(" + hex_addr(i.addr) + ", '" + i.mnemonic + "', '" + i.op_str + "')";
      });
}

namespace {

void bind_queries(py::class_<PyMachine, std::shared_ptr<PyMachine>>& c) {
  c.def_property_readonly(
       "cycles", [](PyMachine& m) { return m.stats("cycles").cycles; },
       "Modelled CPU cycles executed so far (all processes); inside a probe handler or "
       "callback, up to now.")
      .def_property_readonly(
          "instructions", [](PyMachine& m) { return m.stats("instructions").instructions; },
          "Guest instructions executed so far.")
      .def_property_readonly(
          "virtual_time", [](PyMachine& m) { return m.stats("virtual_time").virtual_seconds; },
          "Virtual time in seconds (cycles / modelled clock frequency).")
      .def_property_readonly("stats", &PyMachine::stats_dict,
                             "Counters: instructions, cycles, virtual_seconds, faults, quanta, "
                             "syscalls {name: n}, unknown_syscalls {name: n}.")
      .def_property_readonly("processes", &PyMachine::processes, "Every process, by pid.")
      .def_property_readonly("schedule_log", &PyMachine::schedule_log,
                             "Every scheduling decision so far (SchedEvent), in order.")
      .def_property_readonly("blocked_tids", &PyMachine::blocked_tids,
                             "Tasks left blocked with nothing to wake them after run() returned "
                             "True (a guest deadlock).")
      .def("process", &PyMachine::process, "pid"_a, "The process with this pid.")
      .def_property_readonly("inodes", &PyMachine::inodes, "Every cached inode, by inode number.")
      .def("find_inode", &PyMachine::find_inode, "path"_a,
           "The cached inode `path` names (symlinks and .. resolved, as Inode.name shows it), "
           "or None when no file is there or it was never read. Never reads a file in.")
      .def("symbolize", &PyMachine::symbolize, "addr"_a, "pid"_a = py::none(),
           "'function+0xoff' for addr: a guest kernel address (kallsyms), else, with pid, a user "
           "address of that process (the ELF symbols of the file mapped there). None when no "
           "symbol covers it (anonymous memory, a stripped file).")
      .def("disassemble", &PyMachine::disassemble, "pid"_a, "addr"_a, "count"_a = 16, py::kw_only(),
           "original"_a = false,
           "Disassemble up to `count` instructions at addr in process pid's memory (Capstone). "
           "Stops early at bytes that do not decode or at the end of the mapping. "
           "original=True shows the instructions under uprobe breakpoints (Mm.read_original).");
}

void bind_options(py::class_<PyMachine, std::shared_ptr<PyMachine>>& c) {
  c.def_property_readonly("arch", &PyMachine::arch_name, "'x86_64' or 'aarch64'.")
      .def_property_readonly(
          "seed", [](const PyMachine& m) { return m.options().seed; }, "The seed.")
      .def_property_readonly(
          "epoch", [](const PyMachine& m) { return m.options().epoch; },
          "CLOCK_REALTIME at boot, in seconds since 1970.")
      .def_property_readonly(
          "root", [](const PyMachine& m) { return m.options().root; }, "Guest root.")
      .def_property_readonly(
          "quantum", [](const PyMachine& m) { return m.options().quantum; },
          "Instructions per scheduling quantum.")
      .def_property_readonly(
          "cpus", [](const PyMachine& m) { return m.options().cpus; }, "Number of logical CPUs.")
      .def_property_readonly("sched", &PyMachine::sched_name,
                             "The scheduling strategy: 'round_robin', 'random' (drawn from the seed), or as given "
                             "('pct:2:400000', 'guided'; a replay: the recorded one).")
      .def_property_readonly("has_kernel", &PyMachine::has_kernel,
                             "Whether the guest kernel was booted (Machine(kernel=True)).")
      .def_property_readonly(
          "kprobe_boost", [](const PyMachine& m) { return m.options().kprobe_boost; },
          "x86: boostable kprobe slots jump back instead of trapping a second time.")
      .def_property_readonly(
          "probe_cost", [](const PyMachine& m) { return m.options().probe_cost; },
          "Scale of every probe hit's modelled cycles (1 by default; 0: observer mode).")
      .def_property_readonly(
          "limits",
          [](const PyMachine& m) {
            const Limits& l = m.options().limits;
            py::dict d;
            d["mem"] = l.mem;
            d["disk"] = l.disk;
            d["tasks"] = l.tasks;
            d["files"] = l.files;
            return d;
          },
          "The machine-wide limits in effect: {'mem', 'disk', 'tasks', 'files'}; "
          "stats shows what the guest uses of them (mem_committed, disk_used, tasks).")
      .def_property_readonly(
          "capture_limit",
          [](const PyMachine& m) -> std::optional<uint64_t> {
            if (m.options().capture_limit == 0) return std::nullopt;
            return m.options().capture_limit;
          },
          "Bytes kept of each captured stdout/stderr (None: all).");
}

}  // namespace

void bind_machine(py::module_& m) {
  py::class_<PyMachine, std::shared_ptr<PyMachine>> c(
      m, "Machine", py::custom_type_setup(gc_setup),
      "A deterministic emulated machine running static Linux ELF programs.\n\n"
      "Machine(arch, *, seed=0, root='/', quantum=1_000_000, cpus=1, sched='round_robin', "
      "kernel=True, kprobe_boost=True, limits=None, run_index=0, preemptions=None, "
      "capture_limit=None, early_kprobes=(), kernel_cmdline='', replay=None): arch "
      "is 'x86_64' or 'aarch64'; seed drives every random value the guest sees (and the "
      "'random' scheduling policy); root is the host directory that is the guest's '/'; "
      "quantum is the instructions per scheduling quantum; cpus the logical CPUs (1-64) whose "
      "tasks interleave deterministically; kernel=True boots the guest kernel (every syscall "
      "goes through it; kprobes need it); kprobe_boost lets x86 kprobe slots jump back; limits "
      "is a dict of machine-wide limits (keys 'mem' and 'disk' in bytes, 'tasks', 'files'; "
      "missing keys keep their defaults 4 GiB, 2 GiB, 4096, 4096): the guest sees ENOMEM, "
      "ENOSPC, EAGAIN and EMFILE at them, as on Linux; "
      "capture_limit keeps at most that many bytes of each process's captured stdout and "
      "stderr (the rest is counted in Process.stdout_dropped / stderr_dropped); "
      "early_kprobes ('sym[+off]') are counting kprobes registered during boot, before "
      "init_kprobes, as branches (Machine.kprobes.early); kernel_cmdline is the guest kernel's "
      "command line (its 'ekprobe=sym[,sym...]' registers early kprobes too). "
      "sched is a strategy deciding at every scheduling point: 'round_robin' (or 'rr'), "
      "'random', 'pct:D[:STEPS[:POINTS]]' (PCT, bug depth D); run_index picks run i of a strategy "
      "(a pure function of (seed, i)); preemptions=[(tid, insns, next_tid), ...] runs a "
      "guided schedule: each task until it blocks or exits, except at exactly those "
      "preemptions (what shrinking keeps); choices=[(tid, insns, next_tid), ...] (Trace.choices) "
      "names who runs next where a task stops by itself (blocks, exits) with insns retired. Record a run with record(), replay one with "
      "Machine(replay=trace) (or Machine.replay(trace)): the trace configures the machine "
      "and spawns its process (replay_process), so no other setting may be given. "
      "bugs is a set of historical kernel bugs to re-create (e.g. {'uprobe_no_revalidate'}: "
      "register_for_each_vma without "
      "re-validating the vma, seed 000). epoch sets CLOCK_REALTIME at boot: seconds since "
      "1970 or a timezone-aware datetime (default 2024-01-01T00:00:00Z, fixed so that runs "
      "repeat). probe_cost scales the modelled cycles of every kprobe/uprobe hit (1: "
      "Linux-like costs; 0: observer mode: probes change no clock, so a race watched with "
      "probes runs as it does without them).");
  c.def(py::init(&PyMachine::create), "arch"_a = py::none(), py::kw_only(), "seed"_a = 0, "root"_a = "/",
        "quantum"_a = 1'000'000, "cpus"_a = 1, "sched"_a = "round_robin", "kernel"_a = true,
        "kprobe_boost"_a = true, "limits"_a = py::none(), "run_index"_a = 0,
        "preemptions"_a = py::none(), "capture_limit"_a = py::none(),
        "early_kprobes"_a = std::vector<std::string>{}, "kernel_cmdline"_a = "",
        "replay"_a = py::none(), "bugs"_a = py::none(), "epoch"_a = py::none(),
        "probe_cost"_a = 1.0, "choices"_a = py::none())
      .def_property_readonly("invariant_violations", &PyMachine::invariant_violations,
                             "Kernel invariants found broken at quiescent points while kernel "
                             "work ran (a breakpoint in a page of another file, a missed "
                             "breakpoint) and the lock checker's reports (a possible circular "
                             "locking dependency, a sleeping lock taken in atomic context): "
                             "list of str, empty when they held.")
      .def_property_readonly("lock_dependencies", &PyMachine::lock_dependencies,
                             "The lock checker's dependencies between lock classes (Linux "
                             "names: mmap_lock, i_mmap_rwsem, register_rwsem, dup_mmap_sem, "
                             "uprobes_treelock), each seen held while the next was taken: "
                             "['A -> B: task 2 kworker/0:1 (<step>) took B.. while holding A..'], "
                             "in class order, each with the first acquisition chain seen.")
      .def_property_readonly("kernel_steps", &PyMachine::kernel_steps,
                             "[(step, at, what)]: every step the kworker ran, its index, the "
                             "machine's scheduling steps then, and 'step of work' in kernel "
                             "terms (e.g. 'build_map_info of uprobe_register(/bin/x:main)').")
      .def_property_readonly("racing_syscalls", &PyMachine::racing_syscalls,
                             "[(tid, step, what)]: the guest's address-space changes (mmap, "
                             "munmap, mprotect, mremap, brk, madvise, fork) made while the "
                             "kworker had work queued, in order; `step` is the index of the "
                             "kworker step that came next (they ran before kernel_steps' step "
                             "`step`); what: 'munmap()ed [0x7f0000, 0x7f1000)'.")
      .def_property_readonly("running", &PyMachine::running,
                             "True while run() executes (queries raise probesim.Error then).")
      .def("spawn", &PyMachine::spawn, "argv"_a, py::kw_only(), "env"_a = py::none(),
           "stdin"_a = py::bytes(), "cwd"_a = "/",
           "Load argv[0] (a path inside root) as a new process with captured stdio; it runs at the "
           "next run(). env is a mapping (default: empty). Raises BadProgram naming the file.")
      .def("run", &PyMachine::run, "until"_a = py::none(),
           "Run until no process can run any more (all exited: returns True) or, if `until` is an "
           "int, until `until` more instructions ran (returns False while a process is alive). "
           "The budget is checked per basic block, so a run may overshoot it by the rest of a "
           "block; 0 runs nothing (and returns whether all exited). Between runs, registers and "
           "memory can be inspected. Releases "
           "the GIL; Ctrl-C stops between quanta and raises KeyboardInterrupt, leaving the "
           "machine usable.")
      .def("strace", &PyMachine::set_strace, "callback"_a, "string_size"_a = 32,
           "Call callback(line) with an strace-format line after every syscall; None turns it "
           "off. Strings and buffers show at most string_size bytes (strace -s); lines start "
           "'[pid N] ' while more than one task exists (strace -f). An exception in the "
           "callback stops run() after the quantum and is re-raised.")
      .def("__repr__", &PyMachine::repr);
  bind_options(c);
  bind_queries(c);
  bind_probes(c);
  bind_lifetime(c);
  bind_events(c);
  bind_trace_events(m, c);
  bind_record(m, c);
}

}  // namespace probesim::python
