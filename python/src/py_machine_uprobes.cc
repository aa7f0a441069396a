// PyMachine's uprobe half: registration bookkeeping of UprobeRecords (target resolution,
// register / unregister / apply, release on close), and the callbacks the uprobes engine calls
// (handler, ret_handler, filter), each one trip through the single trampoline.
#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "emu/kthread/uprobe_register_work.h"
#include "emu/kthread/uprobe_unregister_work.h"
#include "emu/record/kernel_work_entry.h"
#include "emu/api/snapshots.h"
#include "emu/vdso.h"
#include "errors.h"
#include "handler_context.h"
#include "mmu/vm_flags.h"
#include "probes/uprobes/uprobe_target.h"
#include "py_machine.h"
#include "py_mm.h"
#include "py_pt_regs.h"
#include "py_uprobes.h"
#include "views.h"

namespace py = pybind11;

namespace probesim::python {

std::string UprobeRecord::where() const {
  return path + ":" + hex_addr(offset);
}

namespace {

// A handler's verdict: None or 0, UPROBE_HANDLER_REMOVE (1) or UPROBE_HANDLER_IGNORE (2).
int uprobe_verdict(const py::object& result, const UprobeRecord& rec) {
  if (result.is_none() || PyMachine::is_stop(result)) return 0;  // STOP: see invoke()
  if (py::isinstance<py::int_>(result) && !py::isinstance<py::bool_>(result)) {
    auto v = result.cast<py::int_>();
    for (int ok : {0, probes::UPROBE_HANDLER_REMOVE, probes::UPROBE_HANDLER_IGNORE})
      if (v.equal(py::int_(ok))) return ok;
  }
  throw py::value_error(std::string(rec.kind_name()) + " '" + rec.name +
                        "': the handler must return None, 0, UPROBE_HANDLER_REMOVE (1) or "
                        "UPROBE_HANDLER_IGNORE (2), got " +
                        std::string(py::repr(result)));
}

CallbackName name_of(const UprobeRecord& rec, const char* handler) {
  return {std::string(rec.kind_name()) + " '" + rec.name + "' (" + rec.where() + ") " + handler,
          rec.name, handler};
}

// The handle of a registered record, for Context.probe.
py::object handle_object(PyMachine& m, UprobeRecord& rec) {
  std::shared_ptr<PyMachine> sm = m.shared_from_this();
  for (const auto& r : sm->uprobe_records())
    if (r.get() == &rec) return py::cast(PyUprobeHandle{sm, r});
  return py::none();  // a filter consulted while its registration is undone
}

// handler(regs[, ctx]) at the breakpoint (regs.ip = the probe address).
class HandlerCall final : public ProbeCallback {
 public:
  HandlerCall(PyMachine& m, UprobeRecord& rec, probes::Regs& regs)
      : m_(m), rec_(rec), regs_(regs) {}
  int invoke() override {
    if (!rec_.handler) return 0;
    HandlerViews views(regs_, nullptr);
    py::object result =
        rec_.handler_ctx ? rec_.handler(views.regs(), context()) : rec_.handler(views.regs());
    views.finish();
    if (PyMachine::is_stop(result)) m_.request_stop();
    return uprobe_verdict(result, rec_);
  }
  CallbackName describe() const override { return name_of(rec_, "handler"); }

 protected:
  py::object make_context() override {
    py::object ctx = m_.task_context(handle_object(m_, rec_), std::nullopt, nullptr, &regs_);
    set_trace_site(ctx, rec_.name, hex_addr(regs_.ip().value), kUprobeTraceFlags);
    return ctx;
  }

 private:
  PyMachine& m_;
  UprobeRecord& rec_;
  probes::Regs& regs_;
};

// ret_handler(func, regs[, ctx]) at the function's return (regs.ip = the real return address).
class RetHandlerCall final : public ProbeCallback {
 public:
  RetHandlerCall(PyMachine& m, UprobeRecord& rec, GuestAddr func, probes::Regs& regs,
                 uint64_t entry_cycles)
      : m_(m), rec_(rec), func_(func), regs_(regs), entry_cycles_(entry_cycles) {}
  int invoke() override {
    if (!rec_.ret_handler) return 0;
    HandlerViews views(regs_, nullptr);
    py::object result = rec_.ret_ctx
                            ? rec_.ret_handler(py::int_(func_.value), views.regs(), context())
                            : rec_.ret_handler(py::int_(func_.value), views.regs());
    views.finish();
    if (PyMachine::is_stop(result)) m_.request_stop();
    return 0;
  }
  CallbackName describe() const override { return name_of(rec_, "ret_handler"); }

 protected:
  py::object make_context() override {
    py::object ctx = m_.task_context(handle_object(m_, rec_), entry_cycles_, nullptr, &regs_);
    set_trace_site(ctx, rec_.name, hex_addr(regs_.ip().value) + " <- " + hex_addr(func_.value),
                   kUprobeTraceFlags);
    return ctx;
  }

 private:
  PyMachine& m_;
  UprobeRecord& rec_;
  GuestAddr func_;
  probes::Regs& regs_;
  uint64_t entry_cycles_;
};

// filter(mm[, ctx]): does this consumer want breakpoints in the process whose Mm this is?
// Its context describes that process.
class FilterCall final : public ProbeCallback {
 public:
  FilterCall(PyMachine& m, UprobeRecord& rec, int pid, py::object mm)
      : m_(m), rec_(rec), pid_(pid), mm_(std::move(mm)) {}
  int invoke() override {
    if (!rec_.filter) return 1;
    py::object result = rec_.filter_ctx ? rec_.filter(mm_, context()) : rec_.filter(mm_);
    int truth = PyObject_IsTrue(result.ptr());
    if (truth < 0) throw py::error_already_set();
    return truth;
  }
  CallbackName describe() const override { return name_of(rec_, "filter"); }

 protected:
  py::object make_context() override {
    return m_.process_context(pid_, handle_object(m_, rec_));
  }

 private:
  PyMachine& m_;
  UprobeRecord& rec_;
  int pid_;
  py::object mm_;
};

}  // namespace

emu::MachineState& PyMachine::uprobe_state(const char* what) {
  if (in_handler_here())
    throw Error(std::string(what) +
                ": uprobes cannot be registered, unregistered or applied from inside a probe "
                "handler or filter (Linux forbids it too); return UPROBE_HANDLER_REMOVE from a "
                "handler, or do it after run() returns");
  return state(what);
}

void PyMachine::wire_uprobe(UprobeRecord& rec) {
  UprobeRecord* r = &rec;  // registered records outlive their registration (release_uprobes)
  using probes::Regs, probes::UprobeConsumer;
  rec.consumer = UprobeConsumer{};
  // The entry is always hooked: a consumer without Python handlers counts its hits (as the
  // CLI's --uprobe), and with a ret_handler the session cookie carries the entry's cycle count
  // to the return (Context.entry_cycles). Linux's uprobe_dispatcher likewise counts a
  // uretprobe's entries (trace_uprobe nhit).
  rec.consumer.handler = [this, r](UprobeConsumer&, Regs& regs, uint64_t& cookie) {
    cookie = now_cycles();
    if (!r->handler) return 0;
    HandlerCall cb(*this, *r, regs);
    return trampoline(cb, 0);
  };
  // A uretprobe without a handler still hijacks the return, to count ret_hits.
  if (rec.ret_handler || rec.kind == UprobeKind::Uretprobe)
    rec.consumer.ret_handler = [this, r](UprobeConsumer&, GuestAddr func, Regs& regs,
                                         uint64_t& cookie) {
      if (!r->ret_handler) return;
      RetHandlerCall cb(*this, *r, func, regs, cookie);
      trampoline(cb, 0);
    };
  wire_uprobe_filter(rec);
}

// Only with a Python filter: a consumer without one wants every mm, and the engine's
// armed-everywhere invariant (missed breakpoints) is checked only for unfiltered uprobes.
void PyMachine::wire_uprobe_filter(UprobeRecord& rec) {
  UprobeRecord* r = &rec;
  rec.consumer.filter = nullptr;
  if (rec.filter)
    rec.consumer.filter = [this, r](probes::UprobeConsumer&, const mmu::Mm& mm) {
      return !r->filter || call_uprobe_filter(*r, mm);
    };
}

// A filter sees the process's Mm (spawn and exec offer the new mm once the process is listed).
// An mm no process owns (a model-only mm) is not armed.
bool PyMachine::call_uprobe_filter(UprobeRecord& rec, const mmu::Mm& mm) noexcept {
  int pid = emu::pid_of(machine_->state(), &mm);
  if (pid == 0) return false;
  py::gil_scoped_acquire gil;  // for the Mm object (the trampoline takes it again: nested)
  FilterCall cb(*this, rec, pid, py::cast(PyMm{PyProcess{shared_from_this(), pid}}));
  return trampoline(cb, 1) != 0;  // a filter that raised counts as wanting the mm
}

namespace {

// rec.path as the guest resolves it: a relative path from the guest directory cwd. A failed
// lookup of a relative path says what was tried. "[vdso]" names the vDSO's synthetic inode.
mmu::Inode* lookup_uprobe_file(emu::MachineState& s, const UprobeRecord& rec,
                               const std::string& cwd, const std::string& what) {
  if (rec.path.starts_with("/") || rec.path == emu::Vdso::kName)
    return unwrap_errno<BadProbe>(s.lookup_inode(rec.path), what);
  std::string tried = (cwd.ends_with("/") ? cwd : cwd + "/") + rec.path;
  Result<mmu::Inode*> inode = s.lookup_inode(tried);
  if (inode) return inode.value();
  const probesim::Error& e = inode.error();
  throw BadProbe(what + ": " + errno_name(e.err) + ": " + e.message + " (the relative path '" +
                     rec.path + "' resolved against the guest cwd '" + cwd + "' as '" + tried +
                     "'; pass cwd= or an absolute guest path)",
                 e.err);
}

}  // namespace

std::string PyMachine::process_cwd(int pid, const char* what) {
  emu::Process* p = state(what).process(pid);
  if (!p) throw BadArgument(std::string(what) + ": no process with pid " + std::to_string(pid));
  return p->fs().cwd;
}

mmu::Inode* PyMachine::uprobe_inode_at(UprobeRecord& rec, int pid, uint64_t addr) {
  emu::MachineState& s = uprobe_state("uprobes.register");
  std::string what =
      "uprobes.register(pid=" + std::to_string(pid) + ", addr=" + hex_addr(addr) + ")";
  emu::Process* p = s.process(pid);
  if (!p) throw BadArgument(what + ": no process with pid " + std::to_string(pid));
  const mmu::Vma* v = p->mm().vma_at(GuestAddr{addr});
  if (!v) throw BadArgument(what + ": the address is not mapped in pid " + std::to_string(pid));
  if (!v->vm_file || !(v->vm_flags & mmu::VM_EXEC))
    throw BadArgument(what + ": the address is in " + vma_repr(emu::vma_info(*v, pid)) +
                      ", not a file-backed executable mapping (a uprobe probes a file's "
                      "instruction, at (inode, offset))");
  rec.path = v->vm_file->name();
  rec.offset = (v->vm_pgoff << kPageShift) + (addr - v->vm_start.value);
  rec.target = hex_addr(rec.offset);
  return s.inodes().iget(v->vm_file);
}

void PyMachine::register_uprobe(const std::shared_ptr<UprobeRecord>& rec, const std::string* symbol,
                                UprobeFile file) {
  emu::MachineState& s = uprobe_state("uprobes.register");
  mmu::Inode* inode = file.addr ? uprobe_inode_at(*rec, *file.pid, *file.addr) : nullptr;
  std::string what = "uprobe_register(" + rec->path + ":" + rec->target + ")";
  if (!inode) inode = lookup_uprobe_file(s, *rec, file.cwd, what);
  if (symbol) {
    probes::UprobeSpec spec{rec->path, *symbol, rec->offset};
    Result<FileOffset> off = s.uprobe_offset(*inode, spec);
    if (!off) s.inodes().iput(inode);
    rec->offset = unwrap_errno<BadProbe>(std::move(off), what).value;
  }
  if (!rec->ref_ctr_symbol.empty()) {
    Result<FileOffset> off = s.uprobe_offset(*inode, {rec->path, rec->ref_ctr_symbol, 0});
    if (!off) s.inodes().iput(inode);
    rec->ref_ctr_offset = unwrap_errno<BadProbe>(std::move(off), what + " ref_ctr").value;
  }
  rec->inode_key = inode->key();
  rec->inode_name = inode->name();
  wire_uprobe(*rec);
  if (rec->at) return queue_uprobe(rec, inode, *rec->at);
  rec->before_run = s.sched().steps() == 0;
  RunningScope scope(*this, /*emulating=*/false);  // filters run: queries yes, mutations no
  Result<probes::Uprobe*> u =
      s.uprobes().uprobe_register(*inode, FileOffset{rec->offset}, rec->consumer,
                                  rec->ref_ctr_offset);
  if (!u) {
    s.inodes().iput(inode);
    pending_.reset();
    pending_probe_.reset();
    unwrap_errno<BadProbe>(std::move(u), what);
  }
  rec->inode = inode;
  rec->uprobe = u.value();
  uprobes_.push_back(rec);
  if (pending_) {  // a filter raised: undo, then raise it (ProbeHandlerError)
    s.uprobes().uprobe_unregister(rec->uprobe, rec->consumer);
    s.inodes().iput(rec->inode);
    rec->uprobe = nullptr;
    rec->inode = nullptr;
    uprobes_.pop_back();
    raise_pending();
  }
}

// The kworker runs the registration as steps when the machine's scheduling steps reach `at`,
// competing with the guest's tasks; the record is pending until then. The work owns the inode
// reference from lookup; a registered record takes its own.
void PyMachine::queue_uprobe(const std::shared_ptr<UprobeRecord>& rec, mmu::Inode* inode,
                             uint64_t at) {
  emu::MachineState& s = machine_->state();
  UprobeRecord* r = rec.get();
  auto done = [r, &s, inode](Result<probes::Uprobe*> u) {
    r->pending = false;
    if (!u) {
      r->queue_error = u.error().message;
      return;
    }
    r->uprobe = u.value();
    r->inode = s.inodes().iget(inode);
  };
  auto work = std::make_unique<emu::UprobeRegisterWork>(rec->path + ":" + rec->target, *inode,
                                                        FileOffset{rec->offset}, rec->consumer,
                                                        std::move(done));
  work->start_at = at;
  work->ref_ctr_offset = rec->ref_ctr_offset;
  rec->pending = true;
  s.queue_kernel_work(std::move(work));
  if (emu::Recorder* r = s.recorder()) {  // as the CLI's --uprobe PATH:TARGET@N, for replay
    rec->trace_entry = r->trace().header.kernel_work.size();
    r->trace().header.kernel_work.push_back(std::string(rec->kind_name()) + " " + rec->path +
                                            ":" + rec->target + "@" + std::to_string(at));
  }
  uprobes_.push_back(rec);
}

// The work runs after a queued registration (queue order) and takes the consumer's uprobe at
// its first step; none (the registration failed or unregister() came first): it ends at once.
void PyMachine::queue_uprobe_unregister(const std::shared_ptr<UprobeRecord>& rec, uint64_t at) {
  const std::string what = std::string(rec->kind_name()) + " '" + rec->name + "'";
  check_unregister_at(*rec, what, at);
  emu::MachineState& s = uprobe_state("unregister");
  unwrap_errno<BadProbe>(emu::record_unregister_at(s.recorder(), rec->trace_entry,
                                                   std::string(rec->kind_name()) + " " +
                                                       rec->path + ":" + rec->target,
                                                   rec->before_run, at),
                         what);
  auto done = [rec, &s] {  // a kworker step: model state only (no Python object is touched)
    rec->unregistering = false;
    if (!rec->uprobe) return;
    s.inodes().iput(rec->inode);
    rec->uprobe = nullptr;
    rec->inode = nullptr;
  };
  auto work = std::make_unique<emu::UprobeUnregisterWork>(rec->path + ":" + rec->target,
                                                          rec->consumer, std::move(done));
  work->start_at = at;
  rec->unregistering = true;
  s.queue_kernel_work(std::move(work));
}

void PyMachine::unregister_uprobe(UprobeRecord& rec) {
  if (rec.pending)
    throw BadProbe(std::string(rec.kind_name()) + " '" + rec.name +
                       "': EBUSY: its registration is queued (at=" + std::to_string(*rec.at) +
                       ") and has not run yet; unregister it after it ran",
                   EBUSY);
  if (!rec.registered()) return;  // idempotent from Python
  // consumer_del ran: a queued unregistration is between its steps and finishes it.
  if (rec.unregistering && !rec.consumer.uprobe) return;
  emu::MachineState& s = uprobe_state("unregister");
  auto it = std::find_if(uprobes_.begin(), uprobes_.end(),
                         [&](const std::shared_ptr<UprobeRecord>& p) { return p.get() == &rec; });
  std::shared_ptr<UprobeRecord> keep;  // the caller may hold rec only through uprobes_
  if (it != uprobes_.end()) {
    keep = std::move(*it);
    uprobes_.erase(it);
  }
  RunningScope scope(*this, /*emulating=*/false);  // the other consumers' filters run
  s.uprobes().uprobe_unregister(rec.uprobe, rec.consumer);
  s.inodes().iput(rec.inode);
  rec.uprobe = nullptr;
  rec.inode = nullptr;
  py::object dropped[] = {std::move(rec.handler), std::move(rec.ret_handler),
                          std::move(rec.filter)};  // destroyed last: may run any __del__
  rec.handler = rec.ret_handler = rec.filter = py::object();
  raise_pending();
}

void PyMachine::apply_uprobe(UprobeRecord& rec) {
  emu::MachineState& s = uprobe_state("apply");
  std::string what = "uprobe_apply(" + rec.name + ")";
  if (!rec.registered()) throw BadProbe(what + ": ENOENT: the uprobe is not registered", ENOENT);
  RunningScope scope(*this, /*emulating=*/false);
  Result<void> added = s.uprobes().uprobe_apply(rec.uprobe, rec.consumer, true);
  Result<void> removed = s.uprobes().uprobe_apply(rec.uprobe, rec.consumer, false);
  raise_pending();
  unwrap_errno<BadProbe>(std::move(added), what);
  unwrap_errno<BadProbe>(std::move(removed), what);
}

std::shared_ptr<UprobeRecord> PyMachine::uprobe_record_of(uint64_t consumer_id) const {
  for (const auto& rec : uprobes_)
    if (rec->consumer.id == consumer_id) return rec;
  return nullptr;
}

// Filters are dropped first (no Python runs while unregistering: every remaining consumer then
// wants every mm, so breakpoints go with the last consumer of each uprobe).
void PyMachine::release_uprobes() noexcept {
  std::vector<py::object> dropped;  // destroyed after the bookkeeping is consistent
  for (const auto& rec : uprobes_) dropped.push_back(std::move(rec->filter));
  for (const auto& rec : uprobes_) {
    // Between a queued unregistration's steps (consumer_del ran) the work finishes it.
    if (machine_ && rec->registered() && rec->consumer.uprobe) {
      machine_->state().uprobes().uprobe_unregister(rec->uprobe, rec->consumer);
      machine_->state().inodes().iput(rec->inode);
      rec->uprobe = nullptr;
      rec->inode = nullptr;
    }
    dropped.push_back(std::move(rec->handler));
    dropped.push_back(std::move(rec->ret_handler));
    rec->filter = rec->handler = rec->ret_handler = py::object();
  }
  uprobes_.clear();
}

}  // namespace probesim::python
