#include "py_process.h"

#include <pybind11/stl.h>

#include <cstring>
#include <span>

#include "errors.h"
#include "probesim/assert.h"
#include "py_machine.h"
#include "py_mm.h"
#include "py_registers.h"

namespace py = pybind11;

namespace probesim::python {

emu::Process& PyProcess::get(const char* what) const {
  emu::Process* p = machine->state(what).process(pid);
  PROBESIM_ASSERT(p != nullptr);  // processes are never removed from a machine
  return *p;
}

emu::Process& PyProcess::view(const char* what) const {
  emu::Process* p = machine->handler_state(what).process(pid);
  PROBESIM_ASSERT(p != nullptr);
  return *p;
}

std::optional<ProcessExit> PyProcess::exit() const {
  return machine->machine("Process.exit").exit_of(pid);
}

std::optional<int> PyProcess::exit_code() const {
  std::optional<ProcessExit> e = exit();
  if (!e) return std::nullopt;
  return e->signaled ? -e->signo : e->code;
}

namespace {

// The captured stream as one bytes object, filled chunk by chunk (one copy of the output,
// no intermediate std::string).
py::bytes captured(const PyProcess& p, int fd) {
  Machine& m = p.machine->machine(fd == 2 ? "Process.stderr" : "Process.stdout");
  uint64_t size = m.captured_size(p.pid, fd);
  auto bytes = py::reinterpret_steal<py::bytes>(
      PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size)));
  if (!bytes) throw py::error_already_set();
  char* out = PyBytes_AS_STRING(bytes.ptr());
  m.read_captured(p.pid, fd, [&](std::span<const uint8_t> c) {
    std::memcpy(out, c.data(), c.size());
    out += c.size();
  });
  return bytes;
}

std::string repr(const PyProcess& p) {
  std::string s = "<probesim.Process pid=" + std::to_string(p.pid);
  if (p.machine->running()) return s + ">";
  s += " " + p.get("repr").comm;
  std::optional<ProcessExit> e = p.exit();
  return s + (e ? " " + e->description : " alive") + ">";
}

std::vector<int> threads(const PyProcess& p) {
  std::vector<int> out;
  for (auto& t : p.view("Process.threads").tasks())
    if (t->state != emu::TaskState::Dead) out.push_back(t->tid());
  return out;
}

std::vector<PyProcess> children(const PyProcess& p) {
  std::vector<PyProcess> out;
  for (emu::Process* c : p.machine->handler_state("Process.children").processes())
    if (c->ppid() == p.pid && !c->reaped) out.push_back({p.machine, c->pid()});
  return out;
}

void bind_identity(py::class_<PyProcess>& c) {
  c.def_readonly("pid", &PyProcess::pid, "Process id (deterministic: 100, 101, ...).")
      .def_property_readonly(
          "ppid", [](const PyProcess& p) { return p.view("Process.ppid").ppid(); }, "Parent's pid.")
      .def_property_readonly(
          "comm", [](const PyProcess& p) { return p.view("Process.comm").comm; },
          "Command name (basename of argv[0], 15 chars at most).")
      .def_property_readonly(
          "exe", [](const PyProcess& p) { return p.view("Process.exe").exe_path; },
          "Guest path of the executable, symlinks resolved.")
      .def_property_readonly(
          "argv", [](const PyProcess& p) { return p.view("Process.argv").argv; },
          "The argument vector of the image it runs (spawn's, or the last execve's).")
      .def_property_readonly("threads", &threads,
                             "Thread ids of its live tasks, main thread first (/proc/pid/task).")
      .def_property_readonly("children", &children,
                             "Its child processes not yet reaped by wait, by pid.")
      .def_property_readonly(
          "instructions",
          [](const PyProcess& p) { return p.get("Process.instructions").main_task().insns.value; },
          "Instructions this process executed so far.")
      .def(
          "__eq__",
          [](const PyProcess& a, const PyProcess& b) {
            return a.machine == b.machine && a.pid == b.pid;
          },
          py::is_operator())
      .def("__hash__", [](const PyProcess& p) { return py::hash(py::make_tuple(p.pid)); })
      .def("__repr__", &repr);
}

}  // namespace

void bind_process(py::module_& m) {
  py::class_<PyProcess> c(m, "Process",
                          "A guest process of a Machine (stays inspectable after exit).");
  bind_identity(c);
  c.def_property_readonly(
       "exited", [](const PyProcess& p) { return p.get("Process.exited").exited(); },
       "True once the process has exited or was killed.")
      .def_property_readonly("exit", &PyProcess::exit,
                             "ProcessExit once the process ended (with .fault if a guest fault "
                             "killed it), else None.")
      .def_property_readonly("exit_code", &PyProcess::exit_code,
                             "Like subprocess returncode: the exit status, -signo if killed by a "
                             "signal, None while alive.")
      .def_property_readonly(
          "stdout", [](const PyProcess& p) { return captured(p, 1); },
          "Everything the process wrote to fd 1 so far (bytes; the first capture_limit bytes "
          "when the Machine has one).")
      .def_property_readonly(
          "stderr", [](const PyProcess& p) { return captured(p, 2); },
          "Everything the process wrote to fd 2 so far (bytes, as stdout).")
      .def_property_readonly(
          "stdout_dropped",
          [](const PyProcess& p) {
            return p.machine->machine("Process.stdout_dropped").captured_dropped(p.pid, 1);
          },
          "Bytes written to fd 1 beyond the Machine's capture_limit (discarded).")
      .def_property_readonly(
          "stderr_dropped",
          [](const PyProcess& p) {
            return p.machine->machine("Process.stderr_dropped").captured_dropped(p.pid, 2);
          },
          "Bytes written to fd 2 beyond the Machine's capture_limit (discarded).")
      .def_property_readonly(
          "mm", [](const PyProcess& p) { return PyMm{p}; },
          "The process's address space (probesim.Mm).")
      .def_property_readonly(
          "regs", [](const PyProcess& p) { return PyRegisters{p}; },
          "Registers as attributes (probesim.Registers); alive processes only.");
}

}  // namespace probesim::python
