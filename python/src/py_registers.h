// PyRegisters: probesim.Registers, the user-mode registers of a process's main thread as
// attributes (p.regs.rip, p.regs.x0), what ptrace would show, read and written between
// quanta: in the engine while that thread is resident, else in its saved context; while the
// thread is inside the guest kernel (a syscall, or a fresh task at ret_from_fork) from the
// pt_regs on its kernel stack. Names come from a per-arch table (Unicorn names plus pc/sp
// aliases). A process that exited has no Cpu any more: its registers are gone (the mm stays).
#pragma once

#include <pybind11/pybind11.h>

#include <span>
#include <string_view>

#include "probesim/types.h"
#include "py_process.h"

namespace probesim::python {

struct RegisterName {
  std::string_view name;
  int uc_reg;
};

// The register table of `arch`, in display order (aliases last).
std::span<const RegisterName> register_names(Arch arch);

struct PyRegisters {
  PyProcess proc;
};

void bind_registers(pybind11::module_& m);

}  // namespace probesim::python
