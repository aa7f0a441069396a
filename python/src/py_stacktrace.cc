#include "py_stacktrace.h"

#include <pybind11/operators.h>
#include <pybind11/stl.h>

#include <cstdio>

#include "emu/arch_info.h"
#include "emu/kernel/guest_kernel.h"
#include "emu/machine_state.h"
#include "emu/user_stacktrace.h"
#include "errors.h"
#include "py_machine.h"
#include "probesim/hex.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace probesim::python {
namespace {

std::vector<StackFrame> first(const std::vector<StackFrame>& all, size_t max) {
  return {all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(max, all.size()))};
}

}  // namespace

std::string StackFrame::str() const {
  std::string s = reliable ? "" : "? ";
  if (!symbol) return s + hex(address);
  return s + *symbol + "+" + hex(offset) + "/" + hex(size);
}

StackSource::StackSource(std::weak_ptr<PyMachine> m, std::optional<probes::Regs> kregs,
                         std::optional<probes::Regs> uregs, int pid, int tid)
    : machine_(std::move(m)), kregs_(std::move(kregs)), uregs_(std::move(uregs)), pid_(pid),
      tid_(tid) {}

std::shared_ptr<PyMachine> StackSource::machine(const char* what) const {
  std::shared_ptr<PyMachine> m = machine_.lock();
  if (!m || !live_)
    throw Error(std::string(what) +
                ": call it inside the handler that received this Context (the stack it "
                "describes is gone once the handler returns)");
  return m;
}

std::vector<StackFrame> StackSource::kernel_stack(size_t max) {
  if (!kernel_) kernel_ = unwind_kernel();
  return first(*kernel_, max);
}

std::vector<StackFrame> StackSource::user_stack(size_t max) {
  if (!user_) user_ = unwind_user();
  return first(*user_, max);
}

std::vector<StackFrame> StackSource::unwind_kernel() {
  if (!kregs_) return {};  // a uprobe hit or a lifecycle callback: no kernel frames of interest
  std::shared_ptr<PyMachine> m = machine("Context.kernel_stack()");
  emu::MachineState& s = m->handler_state("Context.kernel_stack()");
  const probes::Kallsyms& syms = s.kernel()->space().kallsyms();
  std::vector<StackFrame> out;
  for (GuestAddr a : s.kprobes()->stack_trace_save_regs(
           probes::TaskId{static_cast<uint64_t>(tid_)}, *kregs_, kMaxFrames)) {
    StackFrame f{a.value};
    if (auto hit = syms.lookup(a)) f.symbol = hit->sym->name, f.offset = hit->offset, f.size = hit->sym->size;
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<StackFrame> StackSource::unwind_user() {
  std::shared_ptr<PyMachine> m = machine("Context.user_stack()");
  emu::MachineState& s = m->handler_state("Context.user_stack()");
  emu::Process* p = pid_ ? s.process(pid_) : nullptr;
  if (!p || p->exited()) return {};
  const emu::ArchInfo& ai = emu::arch_info(s.config().arch);
  emu::UserStackStart start;
  if (uregs_) {
    start = {uregs_->ip(), uregs_->sp(), uregs_->frame_pointer(),
             ai.arch == Arch::AArch64 ? uregs_->x(30) : 0};
    // A uprobe on a function's first instruction (the usual place): see UserStackStart.
    if (const mmu::Vma* v = p->mm().vma_at(start.ip))
      if (auto hit = m->user_symbols().lookup(*v, start.ip.value)) start.at_entry = hit->offset == 0;
  } else {
    emu::Task* t = s.current_task();
    if (!t || t->tid() != tid_ || !p->cpu()) return {};
    emu::UserRegs r = kregs_ ? s.entry_user_regs(*t) : s.user_regs(*t);
    start = {GuestAddr{r.pc()}, r.reg(ai.reg_sp), r.reg(ai.reg_fp)};
  }
  std::vector<StackFrame> out;
  for (const emu::UserStackFrame& uf :
       emu::user_stack_trace(p->mm(), ai.arch, start, kMaxFrames)) {
    StackFrame f{uf.addr.value};
    f.reliable = uf.reliable;
    if (const mmu::Vma* v = p->mm().vma_at(uf.addr)) {
      if (v->vm_file) f.path = v->vm_file->name();
      if (auto hit = m->user_symbols().lookup(*v, uf.addr.value))
        f.symbol = hit->name, f.offset = hit->offset, f.size = hit->size;
    }
    out.push_back(std::move(f));
  }
  return out;
}

void bind_stack_frame(py::module_& m) {
  py::class_<StackFrame>(m, "StackFrame",
                         "One frame of a stack trace (Context.kernel_stack(), "
                         "Context.user_stack()): str() prints it like Linux's %pS "
                         "('vfs_read+0x4/0x90'). A value: compares equal by fields and pickles.")
      .def(py::init([](uint64_t address, std::optional<std::string> symbol, uint64_t offset,
                       uint64_t size, std::optional<std::string> path, bool reliable) {
             return StackFrame{address, std::move(symbol), offset, size, std::move(path),
                               reliable};
           }),
           "address"_a, "symbol"_a = py::none(), "offset"_a = 0, "size"_a = 0,
           "path"_a = py::none(), "reliable"_a = true)
      .def_readonly("address", &StackFrame::address,
                    "The instruction address (the first frame: where the hit is; the others: "
                    "return addresses).")
      .def_readonly("symbol", &StackFrame::symbol, "The function's name, or None.")
      .def_readonly("offset", &StackFrame::offset, "address - the function's start.")
      .def_readonly("size", &StackFrame::size, "The function's size in bytes.")
      .def_readonly("path", &StackFrame::path,
                    "User frames: the file mapped at address (None: anonymous); kernel: None.")
      .def_readonly("reliable", &StackFrame::reliable,
                    "False for a user frame found by scanning the stack (no frame pointers): "
                    "a return address that may be stale, printed with '? ' as Linux does.")
      .def("__str__", &StackFrame::str)
      .def("__repr__",
           [](const StackFrame& f) {
             return "<probesim.StackFrame " + hex(f.address) + " " + f.str() + ">";
           })
      .def(py::self == py::self)
      .def("__hash__",
           [](const StackFrame& f) {
             return py::hash(py::make_tuple(f.address, f.symbol, f.offset, f.size, f.path,
                                            f.reliable));
           })
      .def(py::pickle(
          [](const StackFrame& f) {
            return py::make_tuple(f.address, f.symbol, f.offset, f.size, f.path, f.reliable);
          },
          [](const py::tuple& t) {
            if (t.size() != 6) throw std::runtime_error("StackFrame: bad pickle state");
            return StackFrame{t[0].cast<uint64_t>(), t[1].cast<std::optional<std::string>>(),
                              t[2].cast<uint64_t>(), t[3].cast<uint64_t>(),
                              t[4].cast<std::optional<std::string>>(), t[5].cast<bool>()};
          }));
}

}  // namespace probesim::python
