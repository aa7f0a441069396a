// Record and replay from Python: Machine.record/save_trace/replay/divergence, and the value
// types Preemption, Divergence and Trace (a recorded run's file: docs/trace-format.md).
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "convert.h"
#include "errors.h"
#include "pickle_fields.h"
#include "py_machine.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace probesim::python {

void PyMachine::record(const std::optional<std::filesystem::path>& path) {
  Machine& m = machine("record");
  if (replay_) throw Error("record: this machine replays a trace");
  if (recording_) throw Error("record: this machine records already");
  std::optional<std::string> p;
  if (path) p = path_string(*path, "path");
  unwrap<Error>(m.start_recording());  // refuses after the first spawn
  recording_ = true;
  record_path_ = std::move(p);
}

void PyMachine::save_trace(const std::optional<std::filesystem::path>& path) {
  Machine& m = machine("save_trace");
  if (!recording_) throw Error("save_trace: this machine is not recording (call record() before spawn)");
  if (!path && !record_path_) throw BadArgument("save_trace: no path (record() was given none)");
  unwrap<Error>(m.save_trace(path ? path_string(*path, "path") : *record_path_));
}

void PyMachine::save_recording() {
  if (recording_ && record_path_) unwrap<Error>(machine_->save_trace(*record_path_));
}

std::shared_ptr<PyMachine> PyMachine::replay(const std::filesystem::path& trace) {
  std::string path = path_string(trace, "trace");
  Options o = unwrap<BadArgument>(Machine::replay_options(path));
  auto m = unwrap<BadArgument>(Machine::replay(path));
  auto pm = std::make_shared<PyMachine>(std::move(m), std::move(o));
  pm->replay_ = true;
  return pm;
}

namespace {

std::string preemption_repr(const Preemption& p) {
  return "Preemption(tid=" + std::to_string(p.tid) + ", insns=" + std::to_string(p.insns) +
         ", next_tid=" + std::to_string(p.next_tid) +
         (p.where.empty() ? "" : ", where='" + p.where + "'") + ")";
}

void bind_preemption(py::module_& m) {
  py::class_<Preemption>(m, "Preemption",
                         "One preemption of a schedule: task `tid` preempted when it had retired "
                         "`insns` user instructions, task `next_tid` running instead. Unpacks as "
                         "(tid, insns, next_tid), what Machine(preemptions=...) takes.")
      .def(py::init([](int tid, const py::int_& insns, int next_tid) {
             return Preemption{.tid = tid, .insns = to_u64(insns, "insns"), .next_tid = next_tid};
           }),
           "tid"_a, "insns"_a, "next_tid"_a)
      .def_readonly("tid", &Preemption::tid, "The preempted task.")
      .def_readonly("insns", &Preemption::insns, "Its retired user instructions then.")
      .def_readonly("next_tid", &Preemption::next_tid, "The task that ran instead.")
      .def_readonly("pc", &Preemption::pc, "The preempted task's pc (0: unknown).")
      .def_readonly("where", &Preemption::where, "pc as 'symbol+0xoff (file)', when known.")
      .def_readonly("next_until", &Preemption::next_until,
                    "The other task's retired instructions when its turn ended.")
      .def_readonly("next_pc", &Preemption::next_pc,
                    "Its pc then (0: it blocked in the kernel or exited).")
      .def_readonly("next_where", &Preemption::next_where, "next_pc as 'symbol+0xoff (file)'.")
      .def_readonly("next_from", &Preemption::next_from,
                    "The other task's retired user instructions when its turn began.")
      .def_readonly("kernel", &Preemption::kernel,
                    "In kernel terms when the kworker (tid 2) is one of the two tasks: its steps "
                    "and the other tasks' mapping changes in between; else ''.")
      .def_readonly("memory", &Preemption::memory,
                    "When the machine watched memory (Machine.watch_memory): the conflicting "
                    "accesses around it, a location the preempted task read before it, another "
                    "task wrote meanwhile and it then overwrote; else ''.")
      .def("describe", &Preemption::describe, "One line for people.")
      .def("__len__", [](const Preemption&) { return 3; })
      .def("__iter__",
           [](const Preemption& p) { return py::iter(py::make_tuple(p.tid, p.insns, p.next_tid)); })
      .def("__eq__",
           [](const Preemption& a, const Preemption& b) {
             return a.tid == b.tid && a.insns == b.insns && a.next_tid == b.next_tid;
           },
           py::is_operator())
      .def("__str__", &Preemption::describe)
      .def("__repr__", &preemption_repr);
}

void bind_divergence(py::module_& m) {
  py::class_<Divergence>(m, "Divergence",
                         "Where a replay departed from its trace (the first difference), as rr "
                         "reports it.")
      .def_readonly("tid", &Divergence::tid, "The task (-1: not one task's).")
      .def_readonly("insns", &Divergence::insns, "Its retired user instructions.")
      .def_readonly("pc", &Divergence::pc, "Its pc (0: unknown).")
      .def_readonly("where", &Divergence::where, "pc as 'symbol+0xoff (file)', when known.")
      .def_readonly("decision", &Divergence::decision, "Index of the scheduling decision.")
      .def_readonly("what", &Divergence::what, "What differs, e.g. 'registers differ at a checkpoint'.")
      .def_readonly("expected", &Divergence::expected, "What the trace holds.")
      .def_readonly("actual", &Divergence::actual, "What the replay did.")
      .def_property_readonly("message", &Divergence::message, "Several lines for people.")
      .def("__str__", &Divergence::message)
      .def("__repr__", [](const Divergence& d) {
        return "<probesim.Divergence task " + std::to_string(d.tid) + " at decision " +
               std::to_string(d.decision) + ": " + d.what + ">";
      });
}

// probesim.Trace(path): a trace file, read and checked (errors name the problem).
struct PyTrace {
  std::string path;
  Options options;
};

void bind_trace(py::module_& m) {
  py::class_<PyTrace>(m, "Trace",
                      "A recorded run (Machine.record): Trace(path) reads and checks the file; "
                      "a corrupted, truncated or foreign one raises BadArgument naming the "
                      "problem.")
      .def(py::init([](const std::filesystem::path& p) {
             std::string path = path_string(p, "path");
             return PyTrace{path, unwrap<BadArgument>(Machine::replay_options(path))};
           }),
           "path"_a)
      .def_readonly("path", &PyTrace::path, "The file.")
      .def_property_readonly("arch", [](const PyTrace& t) { return std::string(arch_name(t.options.arch)); },
                             "'x86_64' or 'aarch64'.")
      .def_property_readonly("seed", [](const PyTrace& t) { return t.options.seed; }, "The seed.")
      .def_property_readonly("cpus", [](const PyTrace& t) { return t.options.cpus; }, "Logical CPUs.")
      .def_property_readonly("strategy", [](const PyTrace& t) { return t.options.strategy; },
                             "The recorded run's strategy, e.g. 'pct:2:400000'.")
      .def_property_readonly("run_index", [](const PyTrace& t) { return t.options.run_index; },
                             "Which run of the strategy it was.")
      .def_property_readonly(
          "preemptions",
          [](const PyTrace& t) { return unwrap<BadArgument>(trace_preemptions(t.path)); },
          "The run's preemptions (pcs not symbolized: Machine.preemptions is, while recording).")
      .def_property_readonly(
          "choices", [](const PyTrace& t) { return unwrap<BadArgument>(trace_choices(t.path)); },
          "Where a task stopped by itself (blocked, exited, yielded) and another ran next, as "
          "Preemption(tid, insns, next_tid): what Machine(choices=...) repeats.")
      .def_property_readonly(
          "text", [](const PyTrace& t) { return unwrap<BadArgument>(describe_trace(t.path)); },
          "The trace for people, as `probesim trace show` prints it.")
      .def("__repr__", [](const PyTrace& t) { return "<probesim.Trace " + t.path + ">"; });
}

}  // namespace

void bind_record(py::module_& m, py::class_<PyMachine, std::shared_ptr<PyMachine>>& c) {
  bind_preemption(m);
  bind_divergence(m);
  def_pickle(m, "Preemption",
             pickle_members(&Preemption::tid, &Preemption::insns, &Preemption::next_tid,
                            &Preemption::pc, &Preemption::where, &Preemption::next_until,
                            &Preemption::next_pc, &Preemption::next_where,
                            &Preemption::next_from, &Preemption::kernel, &Preemption::memory));
  def_pickle(m, "Divergence",
             pickle_members(&Divergence::tid, &Divergence::insns, &Divergence::pc,
                            &Divergence::where, &Divergence::decision, &Divergence::what,
                            &Divergence::expected, &Divergence::actual));
  bind_trace(m);
  c.def("record", &PyMachine::record, "path"_a = py::none(),
        "Record this machine's run (call it before the first spawn): configuration, the first "
        "process's argv/env, SHA-256 of the files read, every scheduling decision, time value "
        "and stdin byte, checkpoints. With a path, every run() that returns writes the trace "
        "there; else save_trace(path) does. Machine.replay(path) reproduces the run exactly, "
        "also with probes added.")
      .def("save_trace", &PyMachine::save_trace, "path"_a = py::none(),
           "Write the recorded run so far to path (default: record()'s path).")
      .def_property_readonly("recording", &PyMachine::recording, "Whether record() was called.")
      .def(
          "watch_memory",
          [](PyMachine& self) { unwrap<Error>(self.machine("watch_memory").watch_memory()); },
          "Watch every user load and store of this run (call it before the guest runs, e.g. on "
          "Machine(replay=...) before run(); each access then costs a memory hook): preemptions "
          "then name their conflicting accesses (Preemption.memory).")
      .def_static(
          "strategy_runs",
          [](const std::string& s) { return unwrap<BadArgument>(strategy_runs(s)); }, "strategy"_a,
          "How many distinct runs a strategy has: bounded:K[:STEPS[:TASKS[:POINTS]]] enumerates its "
          "schedules (run_index below that); None: every run index is another draw (random, "
          "pct). A bad name raises BadArgument.")
      .def_static("replay", &PyMachine::replay, "trace"_a,
                  "A machine configured as the trace says, its process spawned "
                  "(replay_process): add probes, then run(). Scheduling decisions, time values "
                  "and stdin come from the trace, so probes change neither the interleaving "
                  "nor what the guest computes; divergence tells where a replay departed.")
      .def_property_readonly(
          "replay_process",
          [](PyMachine& pm) -> std::optional<PyProcess> {
            if (!pm.is_replay()) return std::nullopt;
            return PyProcess{pm.shared_from_this(), pm.machine("replay_process").replay_pid()};
          },
          "The replayed process (None unless made by Machine.replay).")
      .def_property_readonly(
          "replay_warnings", [](PyMachine& pm) { return pm.machine("replay_warnings").replay_warnings(); },
          "Inputs whose SHA-256 changed since the recording (the replay may diverge).")
      .def_property_readonly(
          "divergence", [](PyMachine& pm) { return pm.machine("divergence").divergence(); },
          "After run() of a replay: the first Divergence, or None when it followed the trace.")
      .def_property_readonly(
          "preemptions", [](PyMachine& pm) { return pm.machine("preemptions").recorded_preemptions(); },
          "While recording: the run's preemptions so far; in a replay: the trace's (Preemption, "
          "pcs symbolized).");
}

}  // namespace probesim::python
