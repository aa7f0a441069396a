// UprobeHandle (what Uprobes.register / Uretprobes.register return) and the uprobe snapshots
// UprobeInfo (Inode.uprobes) and ReturnInstance (Uprobes.return_instances).
#include <pybind11/stl.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "emu/api/snapshots.h"
#include "errors.h"
#include "handler_context.h"
#include "pickle_fields.h"
#include "probes/uprobes/uprobe_manager.h"
#include "py_machine.h"
#include "py_mm.h"
#include "py_uprobes.h"
#include "views.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace probesim::python {
namespace {

std::string repr(const PyUprobeHandle& h) {
  const UprobeRecord& r = *h.rec;
  return "<UprobeHandle " + std::string(r.kind_name()) + " '" + r.name + "' at " + r.where() +
         " hits=" + std::to_string(r.consumer.nhit) +
         " ret_hits=" + std::to_string(r.consumer.nret) + (r.registered() ? "" : " unregistered") +
         ">";
}

// build_map_info: every (pid, vaddr) where the probed offset is mapped now (i_mmap stabbing
// query, Linux's valid_vma rules), sorted.
std::vector<std::pair<int, uint64_t>> map_info(const PyUprobeHandle& h) {
  std::vector<std::pair<int, uint64_t>> out;
  std::shared_ptr<PyMachine> m = h.machine.lock();
  const UprobeRecord& r = *h.rec;
  if (!m || !r.registered()) return out;
  emu::MachineState& s = m->handler_state("UprobeHandle.map_info");
  for (mmu::Vma* v : r.inode->i_mapping().i_mmap().stab(PageIndex{r.offset >> kPageShift})) {
    if (!probes::uprobe_valid_vma(*v, false)) continue;
    uint64_t vaddr = v->vm_start.value + r.offset - (v->vm_pgoff << kPageShift);
    out.emplace_back(emu::pid_of(s, v->vm_mm), vaddr);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<PyInode> inode_of(const PyUprobeHandle& h) {
  std::shared_ptr<PyMachine> m = h.machine.lock();
  if (!m) return std::nullopt;
  return PyInode{m, h.rec->inode_key, h.rec->inode_name};
}

void set_filter(const PyUprobeHandle& h, const py::object& fn) {
  std::shared_ptr<PyMachine> m = h.lock("UprobeHandle.filter");
  m->uprobe_state("UprobeHandle.filter");  // not while running, not from a handler
  if (!fn.is_none() && !PyCallable_Check(fn.ptr()))
    throw py::type_error("filter: expected a callable taking an Mm, or None");
  bool ctx = !fn.is_none() && takes_context(fn, 1,
                                            std::string(h.rec->kind_name()) + " '" +
                                                h.rec->name + "': the filter",
                                            "(mm)");
  py::object old = std::move(h.rec->filter);  // destroyed after the record is consistent
  h.rec->filter = fn.is_none() ? py::object() : fn;
  h.rec->filter_ctx = ctx;
  m->wire_uprobe_filter(*h.rec);
}

void bind_handle_facts(py::class_<PyUprobeHandle>& c) {
  c.def_property_readonly(
       "hits", [](const PyUprobeHandle& h) { return h.rec->consumer.nhit; },
       "Breakpoint hits of this consumer: handler calls, or for a uretprobe the function "
       "entries (Linux's uprobe_profile counts them the same way).")
      .def_property_readonly(
          "ret_hits", [](const PyUprobeHandle& h) { return h.rec->consumer.nret; },
          "Calls of its ret_handler (function returns seen).")
      .def_property_readonly(
          "kind", [](const PyUprobeHandle& h) { return std::string(h.rec->kind_name()); },
          "'uprobe' or 'uretprobe' (how it was registered).")
      .def_property_readonly(
          "name", [](const PyUprobeHandle& h) { return h.rec->name; },
          "The name given at registration, else the target as written.")
      .def_property_readonly(
          "path", [](const PyUprobeHandle& h) { return h.rec->path; },
          "The probed file, as given to register().")
      .def_property_readonly(
          "target", [](const PyUprobeHandle& h) { return h.rec->target; },
          "'symbol+offset' as written, or the file offset in hex.")
      .def_property_readonly(
          "offset", [](const PyUprobeHandle& h) { return h.rec->offset; },
          "The file offset of the probed instruction (what the kernel keys uprobes by).")
      .def_property_readonly(
          "ref_ctr_offset", [](const PyUprobeHandle& h) { return h.rec->ref_ctr_offset; },
          "The file offset of the SDT semaphore given as ref_ctr= (resolved), 0 if none.")
      .def_property_readonly(
          "registered", [](const PyUprobeHandle& h) { return h.rec->registered(); },
          "False after unregister() or once the machine is closed (and while pending).")
      .def_property_readonly(
          "pending", [](const PyUprobeHandle& h) { return h.rec->pending; },
          "True while a registration queued with at=N has not run yet (the kworker runs it).")
      .def_property_readonly(
          "error",
          [](const PyUprobeHandle& h) -> py::object {
            if (h.rec->queue_error.empty()) return py::none();
            return py::str(h.rec->queue_error);
          },
          "Why a registration queued with at=N failed when the kworker ran it (else None).")
      .def_property_readonly("inode", &inode_of,
                             "The probed file's Inode (None once the machine is gone).");
}

void bind_handle_actions(py::class_<PyUprobeHandle>& c) {
  c.def_property(
       "filter",
       [](const PyUprobeHandle& h) -> py::object {
         return h.rec->filter ? h.rec->filter : py::none();
       },
       &set_filter,
       "filter(mm) -> bool: does this probe want breakpoints in that process? None: every "
       "process. Called by the engine at registration, apply(), exec/mmap and unregistering. "
       "After changing it (or what it depends on), call apply().")
      .def("map_info", &map_info,
           "[(pid, vaddr)]: where the probed offset is mapped now, in every process (the "
           "i_mmap stabbing query registration makes; armed or not).")
      .def(
          "apply", [](const PyUprobeHandle& h) { h.lock("apply")->apply_uprobe(*h.rec); },
          "uprobe_apply after a filter change: arm the breakpoint in processes the filter now "
          "wants, remove it where no consumer does. BadProbe (ENOENT) if unregistered.")
      .def(
          "unregister",
          [](const PyUprobeHandle& h, std::optional<uint64_t> at) {
            if (at) return h.lock("unregister")->queue_uprobe_unregister(h.rec, *at);
            if (std::shared_ptr<PyMachine> m = h.machine.lock()) m->unregister_uprobe(*h.rec);
          },
          py::kw_only(), "at"_a = py::none(),
          "uprobe_unregister: remove it (breakpoints go from every process no other consumer "
          "wants; pages identical to the page cache are shared again). Counters stay readable. "
          "A no-op the second time. at=N queues it as kernel work: from N scheduling steps on "
          "the kworker takes register_rwsem, drops the consumer, builds the map_info list "
          "under i_mmap_rwsem, then per process takes mmap_write_lock, re-validates the vma "
          "and removes the breakpoint, competing with the guest's mmap/munmap/fork; it stays "
          "registered until then (BadProbe EINVAL: not registered, or at before its own at=; "
          "EBUSY: already queued).")
      .def_property_readonly(
          "unregistering", [](const PyUprobeHandle& h) { return h.rec->unregistering; },
          "unregister(at=N): True until the kworker ran uprobe_unregister's steps.")
      .def(
          "__eq__", [](const PyUprobeHandle& a, const PyUprobeHandle& b) { return a.rec == b.rec; },
          py::is_operator())
      .def("__hash__",
           [](const PyUprobeHandle& h) { return std::hash<const void*>{}(h.rec.get()); })
      .def("__repr__", &repr);
}

void bind_info(py::module_& m) {
  py::class_<UprobeInfoView>(m, "UprobeInfo",
                             "One uprobe (Linux's struct uprobe, per (inode, offset)), a snapshot.")
      .def_readonly("ino", &UprobeInfoView::ino, "The probed file's inode number.")
      .def_readonly("offset", &UprobeInfoView::offset, "File offset of the probed instruction.")
      .def_readonly("hits", &UprobeInfoView::hits,
                    "Breakpoint hits that found this uprobe (any process, any consumer).")
      .def_readonly("ref", &UprobeInfoView::ref,
                    "References: consumers + tasks stepping it + pending return instances.")
      .def_readonly("step", &UprobeInfoView::step,
                    "'xol' (copied to an [uprobes] slot and stepped there) or 'emulate'.")
      .def_property_readonly(
          "insn", [](const UprobeInfoView& v) { return py::bytes(v.insn); },
          "The original instruction bytes under the breakpoint.")
      .def_property_readonly(
          "xol_slot",
          [](const UprobeInfoView& v) -> py::object {
            return v.xol ? py::object(py::bytes(*v.xol)) : py::none();
          },
          "What an XOL slot holds to step it ([insn][int3] / [insn][BRK #6]), or None when "
          "emulated.")
      .def_readonly("consumers", &UprobeInfoView::consumers,
                    "The consumers, newest first: UprobeHandle, or None for one not registered "
                    "from Python.")
      .def("__repr__", [](const UprobeInfoView& v) {
        return "<UprobeInfo ino=" + std::to_string(v.ino) + " offset=" + hex_addr(v.offset) + " " +
               v.step + " hits=" + std::to_string(v.hits) +
               " consumers=" + std::to_string(v.consumers.size()) + ">";
      });
  py::class_<ReturnInstanceView>(m, "ReturnInstance",
                                 "A hijacked return of a task (Linux's struct return_instance).")
      .def_readonly("func", &ReturnInstanceView::func, "The probed function's address.")
      .def_readonly("orig_ret_vaddr", &ReturnInstanceView::orig_ret_vaddr,
                    "The real return address (the stack/lr holds the trampoline instead).")
      .def_readonly("stack", &ReturnInstanceView::stack, "The stack pointer at the probe.")
      .def_readonly("chained", &ReturnInstanceView::chained,
                    "Same frame as the next-older instance (its return was hijacked already).")
      .def("__repr__", [](const ReturnInstanceView& v) {
        return "<ReturnInstance func=" + hex_addr(v.func) + " ret=" + hex_addr(v.orig_ret_vaddr) +
               (v.chained ? " chained" : "") + ">";
      });
}

}  // namespace

std::shared_ptr<PyMachine> PyUprobeHandle::lock(const char* what) const {
  std::shared_ptr<PyMachine> m = machine.lock();
  if (!m)
    throw Error(std::string(what) + " '" + rec->name +
                "': its machine is gone (closed or garbage-collected)");
  return m;
}

std::vector<UprobeInfoView> inode_uprobes(const PyInode& inode) {
  const mmu::Inode& i = inode.get("Inode.uprobes");
  std::vector<UprobeInfoView> out;
  for (const probes::UprobeInfo& u :
       inode.machine->state("Inode.uprobes").uprobes().uprobes_of(i)) {
    UprobeInfoView v;
    v.ino = u.ino;
    v.offset = u.offset.value;
    v.hits = u.nhit;
    v.ref = u.ref;
    v.step = u.emulated ? "emulate" : "xol";
    v.insn.assign(u.insn.begin(), u.insn.end());
    if (!u.emulated) v.xol = std::string(u.ixol.begin(), u.ixol.end());
    for (const probes::UprobeConsumerInfo& c : u.consumers) {
      std::shared_ptr<UprobeRecord> rec = inode.machine->uprobe_record_of(c.id);
      v.consumers.append(rec ? py::cast(PyUprobeHandle{inode.machine, rec}) : py::none());
    }
    out.push_back(std::move(v));
  }
  return out;
}

void bind_uprobe_views(py::module_& m) {
  py::class_<PyUprobeHandle> c(m, "UprobeHandle",
                               "A registered uprobe consumer (Uprobes.register / "
                               "Uretprobes.register). Counters stay readable after "
                               "unregister(); the machine unregisters it when closed.");
  bind_handle_facts(c);
  bind_handle_actions(c);
  bind_info(m);
  def_pickle(m, "UprobeInfo",
             pickle_members(&UprobeInfoView::ino, &UprobeInfoView::offset, &UprobeInfoView::hits,
                            &UprobeInfoView::ref, &UprobeInfoView::step, &UprobeInfoView::insn,
                            &UprobeInfoView::xol, &UprobeInfoView::consumers));
  def_pickle(m, "ReturnInstance",
             pickle_members(&ReturnInstanceView::func, &ReturnInstanceView::orig_ret_vaddr,
                            &ReturnInstanceView::stack, &ReturnInstanceView::chained));
}

}  // namespace probesim::python
