// ProbeCallback: one call into Python made by a probe engine (a kprobe/kretprobe handler, a
// uprobe handler, ret_handler or filter), run by PyMachine's single trampoline
// (PyMachine::trampoline), which owns the GIL, the in-handler bookkeeping and the error path.
// Implementations live on the C++ stack of the hit for the duration of one call.
#pragma once

#include <pybind11/pybind11.h>

#include <string>

namespace probesim::python {

// Who raised, for ProbeHandlerError: text "uprobe 'x' (/bin/p:0x1040) handler", the probe's
// name and the handler keyword ("pre", "handler", "ret_handler", "filter", ...).
struct CallbackName {
  std::string text;
  std::string probe;
  std::string handler;
};

class ProbeCallback {
 public:
  virtual ~ProbeCallback() = default;
  // Calls Python (the GIL is held) and returns the engine's verdict; may throw.
  virtual int invoke() = 0;
  // Names the callback in the error raised when invoke() threw (called only then).
  virtual CallbackName describe() const = 0;
  // The callback's probesim.Context, built on first use (GIL held): the same object is the
  // handler's ctx argument and what Machine.current returns meanwhile.
  pybind11::object context() {
    if (!ctx_) ctx_ = make_context();
    return ctx_;
  }
  // The trampoline, GIL held: the context's stacks can no longer be unwound.
  void drop_context();

 protected:
  virtual pybind11::object make_context() = 0;

 private:
  pybind11::object ctx_;
};

}  // namespace probesim::python

#include "handler_context.h"

inline void probesim::python::ProbeCallback::drop_context() {
  if (ctx_) ctx_.cast<PyContext&>().stacks->expire();
  ctx_ = pybind11::object();
}
