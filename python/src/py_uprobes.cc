// Machine.uprobes and Machine.uretprobes: registration from Python (a file and a symbol or a
// file offset), the registered consumers, and the engine's cost table, counters and per-task
// return instances.
#include "py_uprobes.h"

#include <pybind11/stl.h>

#include "convert.h"
#include "errors.h"
#include "handler_context.h"
#include "probes/uprobes/uprobe_target.h"
#include "py_machine.h"
#include "py_mm.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace probesim::python {
namespace {

py::object callable_or_null(const py::object& fn, const char* name) {
  if (fn.is_none()) return py::object();
  if (!PyCallable_Check(fn.ptr()))
    throw py::type_error(std::string(name) + ": expected a callable or None");
  return fn;
}

// A new record for `path` at `target` ("symbol[+off]", or a decimal / 0x file offset) or at
// `offset`; *symbol receives the symbol to resolve (empty: rec->offset is the file offset).
std::shared_ptr<UprobeRecord> new_record(UprobeKind kind, const py::object& path_obj,
                                         const py::object& target, const py::object& offset,
                                         const std::optional<std::string>& name,
                                         std::string* symbol) {
  const char* what = kind == UprobeKind::Uprobe ? "uprobes.register" : "uretprobes.register";
  auto rec = std::make_shared<UprobeRecord>(kind);
  rec->path = fspath(path_obj, "path");
  if (target.is_none() == offset.is_none())
    throw BadArgument(std::string(what) +
                      ": give a target 'symbol[+offset]' or offset=<file "
                      "offset>, not both");
  if (!offset.is_none()) {
    rec->offset = to_u64(offset, "offset");
    rec->target = hex_addr(rec->offset);
  } else {
    if (!py::isinstance<py::str>(target))
      throw BadArgument(std::string(what) +
                        ": the target is 'symbol[+offset]' (a str); pass a "
                        "file offset as offset=");
    rec->target = target.cast<std::string>();
    Result<probes::UprobeSpec> spec = probes::parse_uprobe_spec(rec->path + ":" + rec->target);
    if (!spec) throw BadArgument(std::string(what) + ": " + spec.error().message);
    *symbol = spec.value().symbol;
    rec->offset = spec.value().offset;
  }
  rec->name = name.value_or(rec->target);
  return rec;
}

// Whether each callable takes a Context (handler_context.h); TypeError for a bad signature.
void check_signatures(UprobeRecord& rec) {
  std::string who = std::string(rec.kind_name()) + " '" + rec.name + "': the ";
  // Uretprobes.register calls its return handler `handler`.
  const char* ret_name = rec.kind == UprobeKind::Uprobe ? "ret_handler" : "handler";
  if (rec.handler) rec.handler_ctx = takes_context(rec.handler, 1, who + "handler", "(regs)");
  if (rec.ret_handler)
    rec.ret_ctx = takes_context(rec.ret_handler, 2, who + ret_name, "(func, regs)");
  if (rec.filter) rec.filter_ctx = takes_context(rec.filter, 1, who + "filter", "(mm)");
}

py::object handle(const std::shared_ptr<PyMachine>& m, const std::shared_ptr<UprobeRecord>& rec) {
  return py::cast(PyUprobeHandle{m, rec});
}

// Where a registration names its instruction: a file (path, with target or offset, a
// relative path from cwd) or a virtual address of a process (pid, addr).
struct Where {
  py::object path, target, offset;
  std::optional<int> pid;
  py::object addr;
  std::optional<std::string> cwd;
};

// The record for `where`, and where its file is (PyMachine::register_uprobe).
std::shared_ptr<UprobeRecord> locate(PyMachine& m, UprobeKind kind, const Where& w,
                                     const std::optional<std::string>& name, std::string* symbol,
                                     PyMachine::UprobeFile* file) {
  const char* what = kind == UprobeKind::Uprobe ? "uprobes.register" : "uretprobes.register";
  if (w.addr.is_none()) {
    if (w.path.is_none())
      throw BadArgument(std::string(what) +
                        ": give a path (and a target or offset=), or "
                        "pid= and addr=");
    auto rec = new_record(kind, w.path, w.target, w.offset, name, symbol);
    if (w.cwd)
      file->cwd = *w.cwd;
    else if (w.pid)
      file->cwd = m.process_cwd(*w.pid, what);
    return rec;
  }
  if (!w.path.is_none() || !w.target.is_none() || !w.offset.is_none() || w.cwd)
    throw BadArgument(std::string(what) +
                      ": addr= names the instruction by itself; give "
                      "no path, target, offset or cwd with it");
  if (!w.pid) throw BadArgument(std::string(what) + ": addr= needs pid= (whose address)");
  auto rec = std::make_shared<UprobeRecord>(kind);
  file->pid = w.pid;
  file->addr = to_u64(w.addr, "addr");
  rec->name = name.value_or(hex_addr(*file->addr));
  return rec;
}

// ref_ctr=: None, a file offset (int) or a symbol (str) of the SDT semaphore.
void set_ref_ctr(UprobeRecord& rec, const py::object& ref_ctr) {
  if (ref_ctr.is_none()) return;
  if (py::isinstance<py::str>(ref_ctr)) {
    rec.ref_ctr_symbol = ref_ctr.cast<std::string>();
    if (rec.ref_ctr_symbol.empty()) throw BadArgument("ref_ctr: an empty symbol name");
  } else {
    rec.ref_ctr_offset = to_u64(ref_ctr, "ref_ctr");
  }
}

py::object register_uprobe(const PyUprobes& self, const py::object& path, const py::object& target,
                           const py::object& offset, std::optional<int> pid, const py::object& addr,
                           const std::optional<std::string>& cwd, const py::object& handler,
                           const py::object& ret_handler, const py::object& filter,
                           const std::optional<std::string>& name, const py::object& at,
                           const py::object& ref_ctr) {
  auto rec_handler = callable_or_null(handler, "handler");
  auto rec_ret = callable_or_null(ret_handler, "ret_handler");
  auto rec_filter = callable_or_null(filter, "filter");
  std::string symbol;
  PyMachine::UprobeFile file;
  auto rec = locate(*self.machine, UprobeKind::Uprobe, {path, target, offset, pid, addr, cwd}, name,
                    &symbol, &file);
  rec->handler = std::move(rec_handler);
  rec->ret_handler = std::move(rec_ret);
  rec->filter = std::move(rec_filter);
  if (!at.is_none()) rec->at = to_u64(at, "at");
  set_ref_ctr(*rec, ref_ctr);
  check_signatures(*rec);
  self.machine->register_uprobe(rec, symbol.empty() ? nullptr : &symbol, file);
  return handle(self.machine, rec);
}

py::object register_uretprobe(const PyUretprobes& self, const py::object& path,
                              const py::object& target, const py::object& handler,
                              const py::object& offset, std::optional<int> pid,
                              const py::object& addr, const std::optional<std::string>& cwd,
                              const py::object& filter, const std::optional<std::string>& name,
                              const py::object& at, const py::object& ref_ctr) {
  auto rec_ret = callable_or_null(handler, "handler");
  auto rec_filter = callable_or_null(filter, "filter");
  std::string symbol;
  PyMachine::UprobeFile file;
  auto rec = locate(*self.machine, UprobeKind::Uretprobe, {path, target, offset, pid, addr, cwd},
                    name, &symbol, &file);
  rec->ret_handler = std::move(rec_ret);
  rec->filter = std::move(rec_filter);
  if (!at.is_none()) rec->at = to_u64(at, "at");
  set_ref_ctr(*rec, ref_ctr);
  check_signatures(*rec);
  self.machine->register_uprobe(rec, symbol.empty() ? nullptr : &symbol, file);
  return handle(self.machine, rec);
}

probes::UprobeManager& engine(const PyUprobes& self, const char* what) {
  return self.machine->handler_state(what).uprobes();
}

template <class S>
py::list registered(const S& self) {
  py::list out;
  for (const auto& rec : self.machine->uprobe_records())
    if (rec->kind == S::kind) out.append(handle(self.machine, rec));
  return out;
}

template <class S>
size_t count(const S& self) {
  size_t n = 0;
  for (const auto& rec : self.machine->uprobe_records()) n += rec->kind == S::kind;
  return n;
}

template <class S>
std::string repr(const S& self) {
  const char* type = S::kind == UprobeKind::Uprobe ? "Uprobes" : "Uretprobes";
  return std::string("<probesim.") + type + " " + std::to_string(count(self)) + " registered>";
}

py::dict costs(const PyUprobes& self) {
  py::dict d;
  for (const auto& [name, cycles] : self.machine->handler_machine("uprobes.costs").uprobe_costs())
    d[py::str(name)] = cycles;
  return d;
}

py::dict stats(const PyUprobes& self) {
  probes::UprobeManager& u = engine(self, "uprobes.stats");
  const probes::UprobeManager::Stats& s = u.stats();
  return py::dict("uprobes"_a = u.count(), "map_info"_a = s.map_info, "installs"_a = s.installs,
                  "removes"_a = s.removes, "depth_skipped"_a = s.depth_skipped);
}

std::vector<ReturnInstanceView> return_instances(const PyUprobes& self, int tid) {
  std::vector<ReturnInstanceView> out;
  auto task = probes::TaskId{static_cast<uint64_t>(tid)};
  for (const probes::ReturnInstanceInfo& ri :
       engine(self, "return_instances").return_instances(task))
    out.push_back({ri.func.value, ri.orig_ret_vaddr.value, ri.stack, ri.chained});
  return out;
}

template <class S>
void bind_listing(py::class_<S>& c) {
  c.def_property_readonly("probes", &registered<S>,
                          "The consumers registered here from Python, in registration order.")
      .def("__len__", &count<S>)
      .def("__repr__", &repr<S>);
}

void bind_uprobes_manager(py::module_& m) {
  py::class_<PyUprobes> c(m, "Uprobes", "Machine.uprobes: user-space probes (Linux's uprobes).");
  c.def("register", &register_uprobe, "path"_a = py::none(), "target"_a = py::none(), py::kw_only(),
        "offset"_a = py::none(), "pid"_a = py::none(), "addr"_a = py::none(), "cwd"_a = py::none(),
        "handler"_a = py::none(), "ret_handler"_a = py::none(), "filter"_a = py::none(),
        "name"_a = py::none(), "at"_a = py::none(), "ref_ctr"_a = py::none(),
        "Probe the instruction of file `path` at `target` ('symbol[+offset]', from its symbol "
        "table) or at offset=<file offset>, in every process mapping that file, now and later. "
        "A relative path is a guest path from cwd= (default: the cwd of process pid= if "
        "given, else '/'). Or name the instruction by virtual address: pid=N, addr=A (the "
        "file and offset mapped there; BadArgument unless A is in a file-backed executable "
        "mapping of N); like any uprobe it then probes that file in every process (add a "
        "filter to keep one). Without handler and ret_handler it only counts hits. "
        "handler(regs) runs at the breakpoint (regs.ip = the probed address) and returns None, "
        "UPROBE_HANDLER_REMOVE (drop the breakpoint from this process once no filter wants it, "
        "as Linux re-checks them) or "
        "UPROBE_HANDLER_IGNORE (skip the ret_handler); ret_handler(func, regs) runs when the "
        "function returns (regs.return_value). filter(mm) -> bool picks the processes that get "
        "the breakpoint (None: all). Raises BadProbe with Linux's errno (ENOENT unknown file or "
        "symbol, EINVAL bad offset, ...). at=N queues the registration as kernel "
        "work: the machine's kworker (tid 2) runs uprobe_register as steps (build_map_info, "
        "then mmap_write_lock and install_breakpoint per process) once N scheduling steps "
        "(retired user instructions) ran, competing with the guest's tasks under the "
        "scheduling strategy; the handle is pending until then (handle.error says why it "
        "failed). ref_ctr= names the SDT (USDT) semaphore: a file offset or a symbol of the "
        "same file; while the breakpoint is armed in a process, the short there is raised by "
        "one in that process (Linux's ref_ctr_offset), so `if (semaphore)` guarded probe "
        "sites run.");
  bind_listing(c);
  c.def_property_readonly("costs", &costs,
                          "Modelled cycles charged per uprobe path: {'uprobe-trap', "
                          "'uprobe-single-step', 'uretprobe-return'} (probes/uprobes/COSTS.md).")
      .def_property_readonly("stats", &stats,
                             "Engine counters: uprobes (in the tree), map_info ((mm, vaddr) pairs "
                             "visited by registrations), installs, removes, depth_skipped.")
      .def("return_instances", &return_instances, "tid"_a,
           "The hijacked returns pending on task `tid` (newest first): uretprobes whose "
           "function has not returned yet.");
}

void bind_uretprobes_manager(py::module_& m) {
  py::class_<PyUretprobes> c(m, "Uretprobes",
                             "Machine.uretprobes: return probes on user functions (uretprobes).");
  c.def("register", &register_uretprobe, "path"_a = py::none(), "target"_a = py::none(),
        "handler"_a = py::none(), py::kw_only(), "offset"_a = py::none(), "pid"_a = py::none(),
        "addr"_a = py::none(), "cwd"_a = py::none(), "filter"_a = py::none(), "name"_a = py::none(),
        "at"_a = py::none(), "ref_ctr"_a = py::none(),
        "Sugar for uprobes.register(path, target, ret_handler=handler) (pid=/addr= and cwd= as "
        "there): handler(func, regs) runs when the function at `target` returns, with "
        "regs.return_value and regs.ip = the real return address; without a handler the "
        "returns are only counted. Returns an UprobeHandle (count: ret_hits).");
  bind_listing(c);
}

}  // namespace

void bind_uprobes(py::module_& m) {
  m.attr("UPROBE_HANDLER_REMOVE") = probes::UPROBE_HANDLER_REMOVE;
  m.attr("UPROBE_HANDLER_IGNORE") = probes::UPROBE_HANDLER_IGNORE;
  bind_uprobes_manager(m);
  bind_uretprobes_manager(m);
}

}  // namespace probesim::python
