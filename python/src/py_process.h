// PyProcess: probesim.Process, a handle (machine + pid) on one guest process. Every access
// goes through the machine (PyMachine::state), so a handle never outlives what it shows:
// processes stay in the machine after exit (zombies keep their mm for inspection).
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <optional>

#include "emu/process.h"
#include "probesim/machine.h"

namespace probesim::python {

class PyMachine;

struct PyProcess {
  std::shared_ptr<PyMachine> machine;
  int pid = 0;

  emu::Process& get(const char* what) const;
  // As get(), for read-only queries: also allowed inside a probe handler or uprobe filter.
  emu::Process& view(const char* what) const;
  std::optional<ProcessExit> exit() const;
  // exit code as subprocess.Popen.returncode: the status, or -signo when killed by a signal.
  std::optional<int> exit_code() const;
};

void bind_process(pybind11::module_& m);

}  // namespace probesim::python
