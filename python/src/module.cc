// probesim._core: the compiled half of the probesim package (the pure-Python package
// re-exports it; _core.pyi is its maintained stub). Types are registered before the
// functions that mention them so signatures read as Python types.
#include <pybind11/pybind11.h>

#include "disassembler.h"
#include "errors.h"
#include "handler_context.h"
#include "pickle_fields.h"
#include "py_inode.h"
#include "py_kernel.h"
#include "py_kprobes.h"
#include "py_machine.h"
#include "py_mm.h"
#include "py_process.h"
#include "py_pt_regs.h"
#include "py_registers.h"
#include "py_stacktrace.h"
#include "py_uprobes.h"
#include "views.h"

namespace {
struct StopType {};  // probesim.STOP: a handler's "end this run" (PyMachine::is_stop)
}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() =
      "probesim's compiled core: Machine, Process, Mm, Inode, Kernel, kprobes, uprobes and "
      "friends.";
  using namespace probesim::python;
  bind_errors(m);
  bind_views(m);
  bind_registers(m);
  bind_mm(m);
  bind_uprobe_views(m);
  bind_inode(m);
  bind_process(m);
  bind_insn(m);
  def_pickle(m, "Insn", pickle_members(&Insn::addr, &Insn::bytes, &Insn::mnemonic, &Insn::op_str));
  bind_pt_regs(m);
  bind_stack_frame(m);
  bind_context(m);
  bind_kernel(m);
  bind_kprobes(m);
  bind_uprobes(m);
  bind_machine(m);
  pybind11::class_<StopType>(m, "StopType", "The type of probesim.STOP (one instance).")
      .def("__repr__", [](const StopType&) { return "probesim.STOP"; });
  m.attr("STOP") = pybind11::cast(StopType{});
}
