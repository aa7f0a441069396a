// Machine.events / Machine.trace() / Machine.trace_text(): tracefs's dynamic events from
// Python, through the public API (probesim/machine.h, probesim/trace.h). Events are defined with kprobe_events/uprobe_events lines and
// enabled at once; their hits are read back as TraceEvent values or as ftrace text.
#include <pybind11/stl.h>

#include "errors.h"
#include "pickle_fields.h"
#include "probesim/trace.h"
#include "py_machine.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace probesim::python {

namespace {

struct PyEvents {
  std::shared_ptr<PyMachine> machine;
};

struct PyTracefs {
  std::shared_ptr<PyMachine> machine;
};

struct PyEventHandle {
  std::weak_ptr<PyMachine> machine;
  std::string group, name;
  PyMachine& live(const char* what) const {
    auto m = machine.lock();
    if (!m) throw Error(std::string(what) + ": the machine is gone");
    return *m;
  }
};

// One hit, as trace-cmd reports it: context columns, the event, its location and fields.
struct PyTraceEvent {
  TraceEvent r;
  py::dict fields() const {
    py::dict d;
    for (const auto& [k, v] : r.fields) d[py::str(k)] = v;
    return d;
  }
};

PyEventHandle add(const PyEvents& ev, const std::string& line) {
  auto r = ev.machine->machine("events.add").add_event(line);
  if (!r) throw BadProbe("events.add: " + r.error().message, r.error().err);
  return PyEventHandle{ev.machine, r.value().group, r.value().name};
}

void set_enabled(const PyEventHandle& h, bool on) {
  const char* what = on ? "EventHandle.enable" : "EventHandle.disable";
  auto r = h.live(what).machine(what).set_event_enabled(EventId{h.group, h.name}, on);
  if (!r) {
    const int err = r.error().err;
    throw BadProbe(std::string(what) + ": " + h.group + "/" + h.name + ": " + errno_name(err), err);
  }
}

std::vector<PyTraceEvent> trace(PyMachine& m) {
  std::vector<PyTraceEvent> out;
  for (TraceEvent& r : m.machine("trace").trace()) out.push_back(PyTraceEvent{std::move(r)});
  return out;
}

void bind_values(py::module_& m) {
  py::class_<PyTraceEvent>(m, "TraceEvent",
                           "One dynamic-event hit, parsed (the fields of an ftrace line).")
      .def_property_readonly(
          "comm", [](const PyTraceEvent& e) { return e.r.comm; },
          "The task's comm ('<idle>' when no task ran).")
      .def_property_readonly(
          "pid", [](const PyTraceEvent& e) { return e.r.pid; },
          "The thread id (0 when no task ran).")
      .def_property_readonly(
          "cpu", [](const PyTraceEvent& e) { return e.r.cpu; }, "The logical CPU of the hit.")
      .def_property_readonly(
          "flags", [](const PyTraceEvent& e) { return e.r.flags; },
          "The five ftrace flag columns ('d....').")
      .def_property_readonly(
          "timestamp_ns", [](const PyTraceEvent& e) { return e.r.ts_ns; },
          "Virtual monotonic time of the hit (ns).")
      .def_property_readonly(
          "timestamp", [](const PyTraceEvent& e) { return static_cast<double>(e.r.ts_ns) / 1e9; },
          "The same in seconds, as the trace line prints it.")
      .def_property_readonly(
          "group", [](const PyTraceEvent& e) { return e.r.group; },
          "The event's group ('kprobes', 'uprobes' or its own).")
      .def_property_readonly(
          "event", [](const PyTraceEvent& e) { return e.r.event; }, "The event's name.")
      .def_property_readonly(
          "location", [](const PyTraceEvent& e) { return e.r.location; },
          "'vfs_read+0x0/0x40', 'site <- func' or '0x401000'.")
      .def_property_readonly("fields", &PyTraceEvent::fields,
                             "The fetch args, name -> printed value (str), in order.")
      .def("__str__", [](const PyTraceEvent& e) { return e.r.line; })
      .def("__repr__", [](const PyTraceEvent& e) { return "<TraceEvent " + e.r.line + ">"; });
  py::class_<PyEventHandle>(m, "EventHandle", "A dynamic event defined with events.add().")
      .def_readonly("group", &PyEventHandle::group, "The event's group.")
      .def_readonly("name", &PyEventHandle::name, "The event's name.")
      .def_property_readonly(
          "enabled",
          [](const PyEventHandle& h) {
            return h.live("EventHandle.enabled")
                .machine("EventHandle.enabled")
                .event_enabled(EventId{h.group, h.name});
          },
          "Whether the event records hits (events/GRP/EVENT/enable).")
      .def(
          "enable", [](const PyEventHandle& h) { set_enabled(h, true); },
          "Arm the event's probes again (echo 1 > enable).")
      .def(
          "disable", [](const PyEventHandle& h) { set_enabled(h, false); },
          "Disarm the event's probes; its definition stays (echo 0 > enable).")
      .def("__repr__",
           [](const PyEventHandle& h) { return "<EventHandle " + h.group + "/" + h.name + ">"; });
  py::class_<PyTracefs>(m, "Tracefs",
                        "Machine.tracefs: the guest's /sys/kernel/tracing, file by file.")
      .def(
          "read",
          [](const PyTracefs& t, const std::string& path) {
            auto r = t.machine->machine("tracefs.read").tracefs_read(path);
            return unwrap<BadArgument>(std::move(r));
          },
          "path"_a,
          "The text of a tracefs file, relative to /sys/kernel/tracing ('trace', "
          "'events/kprobes/myprobe/format'). 'trace_pipe' consumes what it returns and never "
          "waits. Raises BadArgument for a missing file or a directory.")
      .def(
          "write",
          [](const PyTracefs& t, const std::string& path, const std::string& data, bool truncate) {
            auto r = t.machine->machine("tracefs.write").tracefs_write(path, data, truncate);
            if (r) return;
            if (path.ends_with("_events") || path.ends_with("enable"))
              unwrap_errno<BadProbe>(std::move(r), "tracefs.write");
            throw BadArgument("tracefs.write: " + errno_name(r.error().err) + ": " +
                              r.error().message);
          },
          "path"_a, "data"_a, "truncate"_a = false,
          "write(2) `data` to a tracefs file: appended as `echo >>` does, or after an O_TRUNC "
          "open with truncate=True (`echo >`). Raises BadProbe (errno, and Linux's "
          "error_log line) for a refused *_events command or enable, BadArgument otherwise.");
  py::class_<PyEvents>(m, "Events", "Machine.events: tracefs dynamic events.")
      .def("add", &add, "line"_a,
           "Define a probe event with a kprobe_events / uprobe_events line "
           "('p:myopen do_sys_openat2 filename=+0($arg2):ustring') and enable it. Raises "
           "BadProbe with Linux's error_log entry (message and caret) and errno.")
      .def_property_readonly(
          "list",
          [](const PyEvents& e) {
            return e.machine->machine("events.list").dynamic_events();
          },
          "The dynamic_events listing, one definition per line.")
      .def_property_readonly(
          "error_log",
          [](const PyEvents& e) { return e.machine->machine("events.error_log").events_error_log(); },
          "tracefs error_log: every refused definition with its caret line.");
}

}  // namespace

void bind_trace_events(py::module_& m, py::class_<PyMachine, std::shared_ptr<PyMachine>>& c) {
  bind_values(m);
  auto members =
      pickle_members(&TraceEvent::comm, &TraceEvent::pid, &TraceEvent::cpu, &TraceEvent::flags,
                     &TraceEvent::ts_ns, &TraceEvent::group, &TraceEvent::event,
                     &TraceEvent::location, &TraceEvent::fields, &TraceEvent::line);
  py::class_<PyTraceEvent> ev =
      py::reinterpret_borrow<py::class_<PyTraceEvent>>(m.attr("TraceEvent"));
  ev.def(py::pickle(
      [members](const PyTraceEvent& e) { return members.get(e.r); },
      [members](const py::tuple& t) { return PyTraceEvent{members.set(t, "TraceEvent")}; }));
  c.def_property_readonly(
       "tracefs", [](PyMachine& pm) { return PyTracefs{pm.shared_from_this()}; },
       "The guest's tracefs: m.tracefs.write('kprobe_events', line), m.tracefs.read('trace').")
      .def_property_readonly(
       "events", [](PyMachine& pm) { return PyEvents{pm.shared_from_this()}; },
       "Dynamic events: m.events.add('p:myprobe vfs_read $arg1') (kprobetrace.rst syntax).")
      .def("trace", &trace, "The hits of every dynamic event so far, oldest first.")
      .def(
          "trace_text",
          [](PyMachine& pm) { return pm.machine("trace_text").trace_text(); },
          "The hits as ftrace text lines (trace_pipe's format, virtual-time timestamps).");
}

}  // namespace probesim::python
