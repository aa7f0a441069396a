// PyMachine's probe half: kernel_call, probe registration bookkeeping, the single trampoline
// that calls Python probe handlers, and releasing probes on close / GC / destruction.
#include <algorithm>
#include <cerrno>

#include "convert.h"
#include "errors.h"
#include "handler_context.h"
#include "py_kernel.h"
#include "py_kprobes.h"
#include "py_machine.h"
#include "py_mm.h"
#include "py_pt_regs.h"
#include "emu/kthread/kprobe_work.h"
#include "emu/record/kernel_work_entry.h"

namespace py = pybind11;

namespace probesim::python {
namespace {

size_t slot_index(HandlerSlot s) {
  return static_cast<size_t>(s);
}

// A pre / entry handler's verdict: None or 0 continue; a non-zero int means "I changed regs.ip:
// skip the single-step and the post handler" (kprobe) or "do not hook this return" (entry).
int handler_verdict(const py::object& result, const ProbeRecord& rec, HandlerSlot slot) {
  if (result.is_none()) return 0;
  if (PyMachine::is_stop(result)) return 0;  // the caller requested the stop
  if (py::isinstance<py::int_>(result)) return result.cast<py::int_>().equal(py::int_(0)) ? 0 : 1;
  throw py::type_error(std::string(rec.kind_name()) + " '" + rec.name + "': the " +
                       std::string(rec.handler_name(slot)) +
                       " handler must return None or an int, got " +
                       std::string(py::str(result.get_type().attr("__name__"))));
}

// Inside a catch block: the Python exception pybind11 would raise for the current C++ one
// (its registered translators, module-local first, as its function dispatcher does).
void set_python_error() {
  if (py::detail::apply_exception_translators(
          py::detail::get_local_internals().registered_exception_translators))
    return;
  if (py::detail::apply_exception_translators(
          py::detail::get_internals().registered_exception_translators))
    return;
  PyErr_SetString(PyExc_RuntimeError, "a probe callback raised an unknown C++ exception");
}

}  // namespace

uint64_t PyMachine::kernel_call(const std::string& fn, const py::args& args) {
  std::vector<uint64_t> values;
  for (py::handle a : args) values.push_back(to_word(a, "kernel_call argument"));
  std::string what = "kernel_call(" + fn + ")";
  if (running_ && !emulating_)
    throw Error(what + ": not from a uprobe filter (a uprobe registration is in progress)");
  raise_if_panicked(what);
  if (in_handler_here()) {  // nested in a handler: the GIL stays held, probes hit are missed
    Result<uint64_t> nested = machine_->kernel_call(fn, values);
    if (!nested.ok()) raise_if_panicked(what);
    return unwrap_errno<KernelCallError>(std::move(nested), what);
  }
  Machine& m = machine("kernel_call");
  std::optional<Result<uint64_t>> r;
  {
    RunningScope scope(*this);
    {
      py::gil_scoped_release release;
      r.emplace(m.kernel_call(fn, values));
    }
    // An aborted call leaves its hijacked kretprobe returns behind: recycle them (the call
    // stack is reused by the next call; kernel_call runs as task 0).
    if (!r->ok())
      if (probes::KprobeManager* k = m.state().kprobes()) k->flush_task(probes::TaskId{0});
    raise_pending();
  }
  if (!r->ok()) raise_if_panicked(what);  // this call panicked
  return unwrap_errno<KernelCallError>(std::move(*r), what);
}

probes::KprobeManager& PyMachine::probe_manager(const char* what) {
  if (in_handler_here())
    throw Error(std::string(what) +
                ": probes cannot be registered, unregistered, enabled, disabled, armed or "
                "disarmed from inside a probe handler (Linux forbids it too: kprobe_mutex); "
                "do it after run() returns");
  probes::KprobeManager* k = state(what).kprobes();
  if (!k)
    throw Error(std::string(what) +
                ": kprobes need the guest kernel; create the Machine with kernel=True");
  return *k;
}

// A kretprobe with any handler gets an entry handler: it stamps the instance's entry_cycles
// (and calls the Python entry handler, if any).
void PyMachine::wire_handlers(ProbeRecord& rec) {
  ProbeRecord* r = &rec;  // registered records outlive their registration (release_probes)
  bool first = static_cast<bool>(rec.handlers[0]), second = static_cast<bool>(rec.handlers[1]);
  using probes::Kprobe, probes::KretprobeInstance, probes::Regs;
  if (rec.kind == ProbeKind::Kprobe) {
    if (first)
      rec.kp.pre_handler = [this, r](Kprobe&, Regs& regs) {
        return call_handler(*r, HandlerSlot::First, regs, nullptr);
      };
    if (second)
      rec.kp.post_handler = [this, r](Kprobe&, Regs& regs, unsigned long) {
        call_handler(*r, HandlerSlot::Second, regs, nullptr);
      };
    return;
  }
  if (first || second)
    rec.rp.entry_handler = [this, r, first](KretprobeInstance& ri, Regs& regs) {
      kret_entry_cycles_[&ri] = now_cycles();
      return first ? call_handler(*r, HandlerSlot::First, regs, &ri) : 0;
    };
  if (second)
    rec.rp.handler = [this, r](KretprobeInstance& ri, Regs& regs) {
      call_handler(*r, HandlerSlot::Second, regs, &ri);
      kret_entry_cycles_.erase(&ri);
      return 0;
    };
}

void PyMachine::register_probe(const std::shared_ptr<ProbeRecord>& rec,
                               const std::string& target_text) {
  bool kprobe = rec->kind == ProbeKind::Kprobe;
  probes::KprobeManager& k = probe_manager(kprobe ? "register_kprobe" : "register_kretprobe");
  wire_handlers(*rec);
  std::string what =
      std::string(kprobe ? "register_kprobe(" : "register_kretprobe(") + target_text + ")";
  unwrap_errno<BadProbe>(kprobe ? k.register_kprobe(rec->kp) : k.register_kretprobe(rec->rp), what);
  GuestAddr at = rec->entry_probe().addr;
  rec->where = machine_->kernel_symbolize(at.value).value_or(hex_addr(at.value));
  rec->target_text = target_text;
  rec->before_run = machine_->state().sched().steps() == 0;
  probes_.push_back(rec);
}

void PyMachine::set_optimize_delay(uint64_t ns) {
  probes::KprobeManager& km = probe_manager("kprobes.optimize_delay");
  if (ns == 0) throw py::value_error("optimize_delay must be at least 1 ns of virtual time");
  if (replay_ && ns != km.config().optimize_delay_ns)  // (a setup re-run on a replay: same)
    throw py::value_error("a replay takes OPTIMIZE_DELAY from its trace (" +
                          std::to_string(km.config().optimize_delay_ns) + " ns)");
  emu::Recorder* r = machine_->state().recorder();
  if (r && machine_->stats().user_instructions != 0)
    throw py::value_error("a recorded run's OPTIMIZE_DELAY is in its trace header: set "
                          "optimize_delay before the guest runs");
  km.set_optimize_delay_ns(ns);
  if (r) r->trace().header.optimize_delay_ns = ns;
}

void PyMachine::queue_probe(const std::shared_ptr<ProbeRecord>& rec, uint64_t at,
                            const std::string& target_text) {
  emu::MachineState& s = machine_->state();
  probe_manager("register_kprobe");  // raises without a guest kernel
  wire_handlers(*rec);
  ProbeRecord* r = rec.get();
  auto done = [this, r, &s](Result<void> res) {
    r->pending = false;
    if (!res) {
      r->queue_error = res.error().message;
      return;
    }
    if (r->orphaned) {
      if (r->kp.registered()) s.kprobes()->unregister_kprobe(r->kp);
      return;
    }
    GuestAddr a = r->kp.addr;
    r->where = machine_->kernel_symbolize(a.value).value_or(hex_addr(a.value));
  };
  auto work = std::make_unique<emu::KprobeRegisterWork>(
      rec->name, std::shared_ptr<probes::Kprobe>(rec, &rec->kp), std::move(done));
  work->start_at = at;
  rec->at = at;
  rec->pending = true;
  rec->where = rec->name;
  emu::queue_kprobe_work(s, std::move(work));
  if (emu::Recorder* r = s.recorder()) {
    rec->trace_entry = r->trace().header.kernel_work.size();
    r->trace().header.kernel_work.push_back("kprobe " + target_text + "@" + std::to_string(at));
  }
  probes_.push_back(rec);
}

// register_kprobes(kps, num) / register_kretprobes(rps, num): Linux's loop, every probe or
// none: on the first failure the ones already registered are unregistered again, and the
// error names the failing entry.
void PyMachine::register_probes(const std::vector<std::shared_ptr<ProbeRecord>>& recs,
                                const std::vector<std::string>& texts, ProbeKind kind) {
  bool kprobe = kind == ProbeKind::Kprobe;
  const char* call = kprobe ? "register_kprobes" : "register_kretprobes";
  probes::KprobeManager& k = probe_manager(call);
  if (recs.empty()) throw BadProbe(std::string(call) + ": EINVAL: no probes given", EINVAL);
  for (size_t i = 0; i < recs.size(); ++i) {
    ProbeRecord& rec = *recs[i];
    wire_handlers(rec);
    Result<void> r = kprobe ? k.register_kprobe(rec.kp) : k.register_kretprobe(rec.rp);
    if (!r) {
      std::vector<probes::Kprobe*> kps;
      std::vector<probes::Kretprobe*> rps;
      for (size_t j = 0; j < i; ++j) kps.push_back(&recs[j]->kp), rps.push_back(&recs[j]->rp);
      if (kprobe)
        k.unregister_kprobes(kps);
      else
        k.unregister_kretprobes(rps);
      unwrap_errno<BadProbe>(std::move(r), std::string(call) + ": entry " + std::to_string(i) +
                                               " (" + texts[i] + ")");
    }
  }
  for (const auto& rec : recs) {
    GuestAddr at = rec->entry_probe().addr;
    rec->where = machine_->kernel_symbolize(at.value).value_or(hex_addr(at.value));
    probes_.push_back(rec);
  }
}

// unregister_kprobes(kps, num) / unregister_kretprobes(rps, num): one batch in the engine
// (records already unregistered are skipped).
void PyMachine::unregister_probes(const std::vector<std::shared_ptr<ProbeRecord>>& recs) {
  probes::KprobeManager& k = probe_manager("unregister");
  std::vector<probes::Kprobe*> kps;
  std::vector<probes::Kretprobe*> rps;
  for (const auto& rec : recs)
    if (rec->registered()) {
      if (rec->kind == ProbeKind::Kprobe)
        kps.push_back(&rec->kp);
      else
        rps.push_back(&rec->rp);
    }
  if (!kps.empty()) k.unregister_kprobes(kps);
  if (!rps.empty()) k.unregister_kretprobes(rps);
  for (const auto& rec : recs) forget_probe(*rec);
}

void PyMachine::unregister_probe(ProbeRecord& rec) {
  if (rec.pending)
    throw BadProbe("kprobe '" + rec.name + "': EBUSY: its registration is queued (at=" +
                       std::to_string(*rec.at) + ") and has not finished; unregister it after " +
                       "it ran", EBUSY);
  if (!rec.registered()) return;  // idempotent from Python (handles may be unregistered twice)
  probes::KprobeManager& k = probe_manager("unregister");
  if (rec.kind == ProbeKind::Kprobe)
    k.unregister_kprobe(rec.kp);
  else
    k.unregister_kretprobe(rec.rp);
  forget_probe(rec);
}

void PyMachine::queue_unregister(const std::shared_ptr<ProbeRecord>& rec, uint64_t at) {
  const std::string what = "kprobe '" + rec->name + "'";
  if (rec->kind != ProbeKind::Kprobe)
    throw BadProbe(what + ": unregister(at=N) is for kprobes (kretprobes unregister at once)",
                   EINVAL);
  check_unregister_at(*rec, what, at);
  emu::MachineState& s = state("unregister");
  probe_manager("unregister");
  unwrap_errno<BadProbe>(emu::record_unregister_at(s.recorder(), rec->trace_entry,
                                                   "kprobe " + rec->target_text,
                                                   rec->before_run, at),
                         what);
  rec->unregistering = true;
  ProbeRecord* r = rec.get();
  auto work = std::make_unique<emu::KprobeUnregisterWork>(
      rec->name, std::shared_ptr<probes::Kprobe>(rec, &rec->kp),
      [r] { r->unregistering = false; });
  work->start_at = at;
  emu::queue_kprobe_work(s, std::move(work));
}

void PyMachine::forget_probe(ProbeRecord& rec) {
  auto it = std::find_if(probes_.begin(), probes_.end(),
                         [&](const std::shared_ptr<ProbeRecord>& p) { return p.get() == &rec; });
  std::shared_ptr<ProbeRecord> keep;  // the caller may hold rec only through probes_
  if (it != probes_.end()) {
    keep = std::move(*it);
    probes_.erase(it);
  }
  auto dropped = std::move(rec.handlers);  // destroyed last: may run arbitrary __del__ code
  rec.handlers = {};
}

void PyMachine::set_probe_enabled(ProbeRecord& rec, bool enabled) {
  const char* what = enabled ? "enable_kprobe" : "disable_kprobe";
  probes::KprobeManager& k = probe_manager(what);
  std::string call = std::string(what) + "(" + rec.name + ")";
  if (!rec.registered()) throw BadProbe(call + ": EINVAL: the probe is not registered", EINVAL);
  probes::Kprobe& kp = rec.entry_probe();
  unwrap_errno<BadProbe>(enabled ? k.enable_kprobe(kp) : k.disable_kprobe(kp), call);
}

std::shared_ptr<ProbeRecord> PyMachine::record_of(const probes::Kprobe* kp) const {
  for (const auto& rec : probes_)
    if (&rec->entry_probe() == kp) return rec;
  return nullptr;
}

void PyMachine::close() {
  if (running_) throw Error("close: the machine is running; close it after run() returns");
  release_probes();
}

void PyMachine::release_probes() noexcept {
  release_uprobes();
  std::vector<py::object> dropped;  // destroyed after the bookkeeping is consistent
  probes::KprobeManager* k = machine_ ? machine_->state().kprobes() : nullptr;
  for (const auto& rec : probes_) {
    if (rec->pending) rec->orphaned = true;
    if (k && rec->registered()) {
      if (rec->kind == ProbeKind::Kprobe)
        k->unregister_kprobe(rec->kp);
      else
        k->unregister_kretprobe(rec->rp);
    }
    for (py::object& h : rec->handlers) dropped.push_back(std::move(h));
  }
  probes_.clear();
  if (strace_) {
    machine_->set_strace(nullptr);
    dropped.push_back(std::move(strace_));
  }
  if (machine_) machine_->set_lifecycle_observer(nullptr);
  for (LifecycleCallback& c : lifecycle_) dropped.push_back(std::move(c.fn));
  lifecycle_ = {};
}

int PyMachine::traverse(visitproc visit, void* arg) const {
  Py_VISIT(strace_.ptr());
  for (const LifecycleCallback& c : lifecycle_) Py_VISIT(c.fn.ptr());
  for (const auto& rec : probes_)
    for (const py::object& h : rec->handlers) Py_VISIT(h.ptr());
  for (const auto& rec : uprobes_) {
    Py_VISIT(rec->handler.ptr());
    Py_VISIT(rec->ret_handler.ptr());
    Py_VISIT(rec->filter.ptr());
  }
  return 0;
}

namespace {

// A kprobe pre/post or kretprobe entry/return handler, as one trampoline call.
class KprobeCallback final : public ProbeCallback {
 public:
  KprobeCallback(PyMachine& m, ProbeRecord& rec, HandlerSlot slot, probes::Regs& regs,
                 probes::KretprobeInstance* ri, std::optional<uint64_t> entry_cycles)
      : m_(m), rec_(rec), slot_(slot), regs_(regs), ri_(ri), entry_cycles_(entry_cycles) {}
  int invoke() override {
    py::object fn = rec_.handlers[slot_index(slot_)];
    if (!fn) return 0;
    HandlerViews views(regs_, ri_, entry_cycles_);
    py::list args;
    if (ri_) args.append(views.instance());
    args.append(views.regs());
    if (rec_.with_ctx[slot_index(slot_)]) args.append(context());
    py::object result = fn(*args);
    views.finish();
    if (PyMachine::is_stop(result)) m_.request_stop();
    if (slot_ == HandlerSlot::Second) return 0;  // post / return handlers: ignored (Linux)
    return handler_verdict(result, rec_, slot_);
  }
  CallbackName describe() const override {
    return {std::string(rec_.kind_name()) + " '" + rec_.name + "' (" + rec_.where + ") " +
                std::string(rec_.handler_text(slot_)),
            rec_.name, std::string(rec_.handler_name(slot_))};
  }

 protected:
  py::object make_context() override {
    std::shared_ptr<PyMachine> m = m_.shared_from_this();
    py::object probe = py::none();  // stays None only if rec_ were not registered (it is)
    for (const auto& rec : m->probes())
      if (rec.get() == &rec_) probe = handle_of(m, rec);
    py::object ctx = m->task_context(std::move(probe), entry_cycles_, &regs_);
    set_trace_site(ctx, rec_.name, trace_location(m->handler_state("Context")), kKprobeTraceFlags);
    return ctx;
  }

 private:
  // As trace_kprobe prints it: the probe address, or for a kretprobe's return handler the
  // return address and the function.
  std::string trace_location(emu::MachineState& s) const {
    const probes::Kallsyms& ks = s.kernel()->space().kallsyms();
    const probes::Kprobe& kp = rec_.entry_probe();
    if (!ri_ || slot_ == HandlerSlot::First) return ks.format(kp.addr);
    auto func = ks.lookup(kp.addr);
    return ks.format(ri_->ret_addr) + " <- " + (func ? func->sym->name : hex_addr(kp.addr.value));
  }

  PyMachine& m_;
  ProbeRecord& rec_;
  HandlerSlot slot_;
  probes::Regs& regs_;
  probes::KretprobeInstance* ri_;
  std::optional<uint64_t> entry_cycles_;
};

}  // namespace

int PyMachine::call_handler(ProbeRecord& rec, HandlerSlot slot, probes::Regs& regs,
                            probes::KretprobeInstance* ri) noexcept {
  std::optional<uint64_t> entry;
  if (ri)
    if (auto it = kret_entry_cycles_.find(ri); it != kret_entry_cycles_.end()) entry = it->second;
  KprobeCallback cb(*this, rec, slot, regs, ri, entry);
  return trampoline(cb, 0);
}

// The single trampoline of probe callbacks. Runs on the emulation thread inside a probe hit
// (GIL released by run()/kernel_call(), or held in a nested kernel_call), or inside a uprobe
// mutation that consults filters (GIL held). Never throws.
int PyMachine::trampoline(ProbeCallback& cb, int if_raised) noexcept {
  if (pending_) return if_raised;  // a callback already raised: stay neutral until it surfaces
  py::gil_scoped_acquire gil;
  ++in_handler_;
  callbacks_.push_back(&cb);
  int verdict = if_raised;
  try {
    verdict = cb.invoke();
  } catch (py::error_already_set& e) {
    callback_raised(cb, std::move(e));
  } catch (...) {  // a C++ exception (probesim.Error from a query, TypeError, ...)
    set_python_error();
    callback_raised(cb, py::error_already_set());
  }
  callbacks_.pop_back();
  cb.drop_context();  // with the GIL
  --in_handler_;
  return verdict;
}

void PyMachine::callback_raised(const ProbeCallback& cb, py::error_already_set e) {
  pending_probe_ = cb.describe();
  pending_.emplace(std::move(e));
  if (emulating_) machine_->request_stop();
}

}  // namespace probesim::python
