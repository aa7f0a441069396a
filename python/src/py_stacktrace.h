// probesim.StackFrame and the stack traces of a Context (Context.kernel_stack() and
// Context.user_stack()).
//
// StackSource holds what unwinding needs, captured when the handler was entered: the hit's
// kernel registers (kprobe/kretprobe handlers: regs.ip first, as stack_trace_save_regs gives
// it) or user registers (uprobe handlers), and the task. Traces are computed on first call and
// kept, so a Context that outlives its handler still answers what was asked during it; a first
// call after the handler returned raises probesim.Error (the stack it described is gone).
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probes/regs.h"

namespace probesim::python {

class PyMachine;

// One frame: an address and its symbol, printed like Linux's %pS ("vfs_read+0x4/0x90", or
// "0x7f..." without a symbol); unreliable user frames (found by the stack scan) print with
// Linux's "? " prefix. A value: compares, hashes and pickles.
struct StackFrame {
  uint64_t address = 0;
  std::optional<std::string> symbol;
  uint64_t offset = 0, size = 0;
  std::optional<std::string> path;  // user frames: the file mapped there; kernel: None
  bool reliable = true;
  std::string str() const;
  bool operator==(const StackFrame&) const = default;
};

class StackSource {
 public:
  static constexpr size_t kMaxFrames = 127;  // PERF_MAX_STACK_DEPTH

  // kregs: a kernel hit's registers; uregs: a user hit's; neither: the task's state now.
  StackSource(std::weak_ptr<PyMachine> m, std::optional<probes::Regs> kregs,
              std::optional<probes::Regs> uregs, int pid, int tid);
  std::vector<StackFrame> kernel_stack(size_t max);
  std::vector<StackFrame> user_stack(size_t max);
  void expire() { live_ = false; }

 private:
  std::shared_ptr<PyMachine> machine(const char* what) const;
  std::vector<StackFrame> unwind_kernel();
  std::vector<StackFrame> unwind_user();

  std::weak_ptr<PyMachine> machine_;
  std::optional<probes::Regs> kregs_, uregs_;
  int pid_ = 0, tid_ = 0;
  bool live_ = true;
  std::optional<std::vector<StackFrame>> kernel_, user_;
};

void bind_stack_frame(pybind11::module_& m);

}  // namespace probesim::python
