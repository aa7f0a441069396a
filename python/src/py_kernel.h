// PyKernel: probesim.Kernel (Machine.kernel), a view of the booted guest kernel: boot log,
// kallsyms, kernel memory (current bytes, breakpoints included, and the original bytes under
// them), Capstone listings, the kprobe blacklist, oopses, and the kprobe insn slot pages.
// Like every handle it holds its machine and looks everything up on each access; reads are
// allowed inside a probe handler on the emulation thread (PyMachine::handler_machine).
// Snapshots (KernelSymbol, InsnSlots, InsnSlot: probesim/kernel.h) copy what they show.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probesim/machine.h"
#include "probesim/types.h"

namespace probesim::python {

class PyMachine;

struct PyKernel {
  std::shared_ptr<PyMachine> machine;

  // The machine for a kernel query (allowed inside handlers); Error without a guest kernel.
  Machine& get(const char* what) const;
  // An int address, or "symbol[+offset]" resolved through kallsyms (BadArgument if unknown).
  GuestAddr resolve(pybind11::handle where, const char* what) const;
};

void bind_kernel(pybind11::module_& m);

}  // namespace probesim::python
