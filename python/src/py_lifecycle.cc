// Machine.on_fork / on_exec / on_exit / on_signal: Python callbacks on the machine's lifecycle
// events (probesim::LifecycleObserver, called on the emulation thread), and ending a run from
// Python: Machine.request_stop() and probesim.STOP returned by a handler or callback.
#include "convert.h"
#include "errors.h"
#include "handler_context.h"
#include "py_machine.h"

namespace py = pybind11;

namespace probesim::python {
namespace {

struct EventShape {
  const char* name;   // "on_fork"
  size_t base;        // usual arguments
  const char* shape;  // "(parent, child)"
};
constexpr EventShape kEvents[] = {
    {"on_fork", 2, "(parent, child)"},
    {"on_exec", 1, "(process)"},
    {"on_exit", 1, "(process)"},
    {"on_signal", 3, "(process, tid, signo)"},
};

}  // namespace

void PyMachine::set_lifecycle_callback(LifecycleEvent ev, py::object fn) {
  const EventShape& e = kEvents[static_cast<size_t>(ev)];
  machine(e.name);
  LifecycleCallback& slot = lifecycle_[static_cast<size_t>(ev)];
  if (fn.is_none()) {
    py::object old = std::move(slot.fn);  // destroyed after the slot is consistent
    slot = {};
  } else {
    if (!PyCallable_Check(fn.ptr()))
      throw py::type_error(std::string(e.name) + ": expected a callable or None");
    bool ctx = takes_context(fn, e.base, std::string(e.name) + ": the callback", e.shape);
    py::object old = std::move(slot.fn);
    slot = {std::move(fn), ctx};
  }
  bool any = false;
  for (const LifecycleCallback& c : lifecycle_) any = any || c.fn;
  machine_->set_lifecycle_observer(any ? &lifecycle_bridge_ : nullptr);
}

void PyMachine::LifecycleBridge::on_fork(int ppid, int pid) {
  m_.call_lifecycle(LifecycleEvent::Fork, [&] {
    auto self = m_.shared_from_this();
    return py::make_tuple(PyProcess{self, ppid}, PyProcess{self, pid});
  });
}

void PyMachine::LifecycleBridge::on_exec(int pid) {
  m_.call_lifecycle(LifecycleEvent::Exec,
                    [&] { return py::make_tuple(PyProcess{m_.shared_from_this(), pid}); });
}

void PyMachine::LifecycleBridge::on_exit(int pid) {
  m_.call_lifecycle(LifecycleEvent::Exit,
                    [&] { return py::make_tuple(PyProcess{m_.shared_from_this(), pid}); });
}

void PyMachine::LifecycleBridge::on_signal(int pid, int tid, int sig) {
  m_.call_lifecycle(LifecycleEvent::Signal, [&] {
    return py::make_tuple(PyProcess{m_.shared_from_this(), pid}, tid, sig);
  });
}

bool PyMachine::is_stop(const py::handle& result) {
  return result.is(stop_sentinel());
}

py::object PyMachine::stop_sentinel() {
  return py::module_::import("probesim._core").attr("STOP");
}

void PyMachine::request_stop() {
  if (!in_callback_here())
    throw Error(
        "request_stop: only from a probe handler or callback during run() (run(until=N) "
        "bounds a run from outside)");
  machine_->request_stop();
}

}  // namespace probesim::python
