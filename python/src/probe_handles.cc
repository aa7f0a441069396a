// KprobeHandle and KretprobeHandle: what Kprobes.register / Kretprobes.register return.
#include <pybind11/stl.h>

#include <string>

#include "errors.h"
#include "py_kprobes.h"
#include "py_machine.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace probesim::python {
namespace {

// Linux's trace_kprobe reports a kretprobe's misses as rp.kp.nmissed + rp.nmissed.
uint64_t nmissed(const ProbeRecord& r) {
  return r.kind == ProbeKind::Kprobe ? r.kp.nmissed : r.rp.kp.nmissed + r.rp.nmissed;
}

std::string repr(const ProbeHandle& h, const char* type) {
  const ProbeRecord& r = *h.rec;
  return std::string("<") + type + " '" + r.name + "' at " + r.where +
         " hits=" + std::to_string(r.entry_probe().nhit) +
         " nmissed=" + std::to_string(nmissed(r)) +
         (r.registered() ? (r.entry_probe().disabled() ? " disabled" : "") : " unregistered") + ">";
}

void unregister(const ProbeHandle& h) {
  std::shared_ptr<PyMachine> m = h.machine.lock();
  if (m) m->unregister_probe(*h.rec);  // a gone machine unregistered everything already
}

void set_enabled(const ProbeHandle& h, bool on) {
  h.lock(on ? "enable" : "disable")->set_probe_enabled(*h.rec, on);
}

// The counters and facts both handle types share.
template <class H>
void bind_counters(py::class_<H>& c) {
  c.def_property_readonly(
       "hits", [](const H& h) { return h.rec->entry_probe().nhit; },
       "Hits whose handlers ran (for a kretprobe: function entries).")
      .def_property_readonly(
          "nmissed", [](const H& h) { return nmissed(*h.rec); },
          "Hits whose handlers were skipped (a probe already running on that CPU; for a "
          "kretprobe also entries with no free instance: rp.kp.nmissed + rp.nmissed).")
      .def_property_readonly(
          "addr", [](const H& h) { return h.rec->entry_probe().addr.value; }, "Probed address.")
      .def_property_readonly(
          "symbol", [](const H& h) { return h.rec->where; }, "Where it is: 'function+0x4'.")
      .def_property_readonly(
          "name", [](const H& h) { return h.rec->name; },
          "The name given at registration, else the target as written.")
      .def_property_readonly(
          "registered", [](const H& h) { return h.rec->registered(); },
          "False after unregister() or once the machine is closed.")
      .def_property_readonly(
          "enabled",
          [](const H& h) { return h.rec->registered() && !h.rec->entry_probe().disabled(); },
          "Registered and not disabled (global disarm_all() aside).");
}

// enable / disable, identity and repr (unregister is bound per class).
template <class H>
void bind_actions(py::class_<H>& c, const char* type) {
  c.def(
       "enable", [](const H& h) { set_enabled(h, true); },
       "enable_kprobe: re-arm a disabled probe. BadProbe (EINVAL) if unregistered.")
      .def(
          "disable", [](const H& h) { set_enabled(h, false); },
          "disable_kprobe: keep it registered but remove its breakpoint (or, in an aggregate, "
          "skip its handlers).")
      .def(
          "__eq__", [](const H& a, const H& b) { return a.rec == b.rec; }, py::is_operator())
      .def("__hash__", [](const H& h) { return std::hash<const void*>{}(h.rec.get()); })
      .def("__repr__", [type](const H& h) { return repr(h, type); });
}

}  // namespace

std::shared_ptr<PyMachine> ProbeHandle::lock(const char* what) const {
  std::shared_ptr<PyMachine> m = machine.lock();
  if (!m)
    throw Error(std::string(what) + " '" + rec->name +
                "': its machine is gone (closed or garbage-collected)");
  return m;
}

py::object handle_of(const std::shared_ptr<PyMachine>& m, const std::shared_ptr<ProbeRecord>& rec) {
  if (rec->kind == ProbeKind::Kprobe) return py::cast(PyKprobeHandle{{m, rec}});
  return py::cast(PyKretprobeHandle{{m, rec}});
}

void bind_probe_handles(py::module_& m) {
  py::class_<PyKprobeHandle> k(m, "KprobeHandle",
                               "A registered kprobe (Kprobes.register). Counters stay readable "
                               "after unregister(); the machine unregisters it when closed.");
  bind_counters(k);
  bind_actions(k, "KprobeHandle");
  k.def(
       "unregister",
       [](const PyKprobeHandle& h, std::optional<uint64_t> at) {
         if (!at) return unregister(h);
         h.lock("unregister")->queue_unregister(h.rec, *at);
       },
       py::kw_only(), "at"_a = py::none(),
       "unregister_kprobe: remove it; counters stay readable. A no-op the second time. at=N "
       "queues it as kernel work: the kworker disables and unlinks it from N scheduling steps "
       "on (a jump-optimized probe waits for the optimizer's delayed unoptimizing, CPUs still "
       "running through the jump without calling its handlers), then synchronize_rcu; it stays "
       "registered until then (BadProbe EINVAL: not registered, or at before its own at=; "
       "EBUSY: already queued).")
      .def_property_readonly(
          "unregistering", [](const PyKprobeHandle& h) { return h.rec->unregistering; },
          "unregister(at=N): True until the kworker ran unregister_kprobe's steps.")
      .def_property_readonly(
       "pending", [](const PyKprobeHandle& h) { return h.rec->pending; },
       "register(at=N): True until the kworker ran register_kprobe's steps.")
      .def_property_readonly(
          "error", [](const PyKprobeHandle& h) { return h.rec->queue_error; },
          "register(at=N): why the kworker's registration failed (None: it did not).");
  py::class_<PyKretprobeHandle> r(m, "KretprobeHandle",
                                  "A registered kretprobe (Kretprobes.register).");
  r.def(
      "unregister", [](const PyKretprobeHandle& h) { unregister(h); },
      "unregister_kretprobe: remove it; counters stay readable. A no-op the second time.");
  bind_counters(r);
  bind_actions(r, "KretprobeHandle");
  r.def_property_readonly(
       "maxactive", [](const PyKretprobeHandle& h) { return h.rec->rp.maxactive; },
       "Instances that can be in flight at once (Linux's default resolved).")
      .def_property_readonly(
          "data_size", [](const PyKretprobeHandle& h) { return h.rec->rp.data_size; },
          "Bytes of KretprobeInstance.data.")
      .def_property_readonly(
          "free_instances",
          [](const PyKretprobeHandle& h) -> std::optional<size_t> {
            if (!h.rec->registered()) return std::nullopt;
            return h.rec->rp.free_instances();
          },
          "Instances not in flight now (None once unregistered).");
}

}  // namespace probesim::python
