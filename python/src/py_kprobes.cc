// Machine.kprobes and Machine.kretprobes: registration from Python, the debugfs views
// (list, enabled), table entries (info) and the modelled cost table.
#include "py_kprobes.h"

#include <pybind11/stl.h>

#include <climits>

#include "convert.h"
#include "errors.h"
#include "handler_context.h"
#include "pickle_fields.h"
#include "py_kernel.h"
#include "py_machine.h"
#include "py_mm.h"
#include "emu/kthread/kprobe_work.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace probesim::python {
namespace {

struct FlagName {
  uint32_t bit;
  const char* name;
};
constexpr FlagName kFlagNames[] = {{probes::kKprobeFlagGone, "GONE"},
                                   {probes::kKprobeFlagDisabled, "DISABLED"},
                                   {probes::kKprobeFlagOptimized, "OPTIMIZED"},
                                   {probes::kKprobeFlagFtrace, "FTRACE"}};

// A handler argument: None (no handler) or a callable; TypeError names the handler.
py::object handler_or_null(const py::object& fn, const char* name) {
  if (fn.is_none()) return py::object();
  if (!PyCallable_Check(fn.ptr()))
    throw py::type_error(std::string(name) + ": expected a callable or None");
  return fn;
}

void set_target(probes::Kprobe& kp, const ProbeTarget& t) {
  if (t.symbol.empty()) {
    kp.addr = GuestAddr{t.addr};
    return;
  }
  kp.symbol_name = t.symbol;
  kp.offset = t.offset;
}

std::shared_ptr<ProbeRecord> new_record(ProbeKind kind, const ProbeTarget& t,
                                        const std::optional<std::string>& name) {
  auto rec = std::make_shared<ProbeRecord>(kind);
  set_target(rec->entry_probe(), t);
  rec->name = name.value_or(t.text);
  rec->entry_probe().name = rec->name;
  return rec;
}

// Whether each handler takes a Context (handler_context.h); TypeError for a bad signature.
void check_signatures(ProbeRecord& rec, size_t base, const char* shape) {
  for (HandlerSlot slot : {HandlerSlot::First, HandlerSlot::Second}) {
    size_t i = static_cast<size_t>(slot);
    if (!rec.handlers[i]) continue;
    std::string who = std::string(rec.kind_name()) + " '" + rec.name + "': the " +
                      std::string(rec.handler_name(slot)) + " handler";
    rec.with_ctx[i] = takes_context(rec.handlers[i], base, who, shape);
  }
}

std::shared_ptr<ProbeRecord> kprobe_record(py::handle where, const py::object& pre,
                                           const py::object& post, bool disabled,
                                           const std::optional<std::string>& name,
                                           ProbeTarget& t) {
  t = to_probe_target(where, "kprobes.register");
  auto rec = new_record(ProbeKind::Kprobe, t, name);
  rec->handlers = {handler_or_null(pre, "pre"), handler_or_null(post, "post")};
  check_signatures(*rec, 1, "(regs)");
  if (disabled) rec->kp.flags = probes::kKprobeFlagDisabled;
  return rec;
}

py::object register_kprobe(const PyKprobes& self, py::handle where, const py::object& pre,
                           const py::object& post, bool disabled,
                           const std::optional<std::string>& name, std::optional<uint64_t> at) {
  ProbeTarget t;
  auto rec = kprobe_record(where, pre, post, disabled, name, t);
  if (at)
    self.machine->queue_probe(rec, *at, t.text);
  else
    self.machine->register_probe(rec, t.text);
  return handle_of(self.machine, rec);
}

// One entry of register_kprobes/register_kretprobes: a target (str or int) or a dict of
// register()'s keyword arguments ("where" required). Returns the keyword arguments.
py::dict spec_kwargs(py::handle spec, const char* call, std::initializer_list<const char*> keys) {
  py::dict kw;
  if (!py::isinstance<py::dict>(spec)) {
    kw["where"] = spec;
    return kw;
  }
  kw = py::reinterpret_borrow<py::dict>(spec);
  for (auto item : kw) {
    std::string key = py::str(item.first);
    if (std::find_if(keys.begin(), keys.end(), [&](const char* k) { return key == k; }) ==
        keys.end())
      throw py::type_error(std::string(call) + ": unexpected key '" + key + "'");
  }
  if (!kw.contains("where")) throw py::type_error(std::string(call) + ": an entry has no 'where'");
  return kw;
}

py::object get_or(const py::dict& kw, const char* key, py::object dflt) {
  return kw.contains(key) ? py::reinterpret_borrow<py::object>(kw[key]) : dflt;
}

std::optional<std::string> name_of(const py::dict& kw) {
  py::object n = get_or(kw, "name", py::none());
  return n.is_none() ? std::nullopt : std::optional<std::string>(n.cast<std::string>());
}

// The records of several entries and their target texts.
using Records = std::pair<std::vector<std::shared_ptr<ProbeRecord>>, std::vector<std::string>>;

py::list handles_of(const std::shared_ptr<PyMachine>& m, const Records& r) {
  py::list out;
  for (const auto& rec : r.first) out.append(handle_of(m, rec));
  return out;
}

py::list register_kprobes(const PyKprobes& self, const py::iterable& specs) {
  Records r;
  for (py::handle spec : specs) {
    py::dict kw = spec_kwargs(spec, "kprobes.register_kprobes",
                              {"where", "pre", "post", "disabled", "name"});
    ProbeTarget t;
    r.first.push_back(kprobe_record(kw["where"], get_or(kw, "pre", py::none()),
                                    get_or(kw, "post", py::none()),
                                    get_or(kw, "disabled", py::bool_(false)).cast<bool>(),
                                    name_of(kw), t));
    r.second.push_back(t.text);
  }
  self.machine->register_probes(r.first, r.second, ProbeKind::Kprobe);
  return handles_of(self.machine, r);
}

// unregister_kprobes / unregister_kretprobes: handles of this machine, of the given kind.
void unregister_many(const std::shared_ptr<PyMachine>& m, const py::iterable& handles,
                     ProbeKind kind, const char* call) {
  std::vector<std::shared_ptr<ProbeRecord>> recs;
  for (py::handle h : handles) {
    const ProbeHandle* ph_ptr = nullptr;
    if (py::isinstance<PyKprobeHandle>(h))
      ph_ptr = &h.cast<const PyKprobeHandle&>();
    else if (py::isinstance<PyKretprobeHandle>(h))
      ph_ptr = &h.cast<const PyKretprobeHandle&>();
    else
      throw py::type_error(std::string(call) + ": expected probe handles");
    const ProbeHandle& ph = *ph_ptr;
    if (ph.rec->kind != kind || ph.machine.lock() != m)
      throw BadArgument(std::string(call) + ": '" + ph.rec->name + "' is not a " +
                        (kind == ProbeKind::Kprobe ? "kprobe" : "kretprobe") +
                        " of this machine");
    recs.push_back(ph.rec);
  }
  m->unregister_probes(recs);
}

// kretprobe.maxactive is a C int: <= 0 asks for Linux's default; any Python int beyond the
// int range is clamped, so register_kretprobe refuses it (E2BIG) as it refuses > 4096.
int to_maxactive(const py::int_& value) {
  if (!py::isinstance<py::int_>(value) || py::isinstance<py::bool_>(value))
    throw py::type_error("maxactive: expected an int");
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
  if (overflow > 0 || (overflow == 0 && v > INT_MAX)) return INT_MAX;
  if (overflow < 0 || v < 0) return 0;
  return static_cast<int>(v);
}

std::shared_ptr<ProbeRecord> kretprobe_record(py::handle where, const py::object& handler,
                                              const py::object& entry, const py::int_& maxactive,
                                              const py::int_& data_size, bool disabled,
                                              const std::optional<std::string>& name,
                                              ProbeTarget& t) {
  t = to_probe_target(where, "kretprobes.register");
  auto rec = new_record(ProbeKind::Kretprobe, t, name);
  rec->handlers = {handler_or_null(entry, "entry"), handler_or_null(handler, "handler")};
  check_signatures(*rec, 2, "(ri, regs)");
  rec->rp.maxactive = to_maxactive(maxactive);
  rec->rp.data_size = to_u64(data_size, "data_size");
  if (disabled) rec->rp.kp.flags = probes::kKprobeFlagDisabled;
  return rec;
}

py::object register_kretprobe(const PyKretprobes& self, py::handle where, const py::object& handler,
                              const py::object& entry, const py::int_& maxactive,
                              const py::int_& data_size,
                              bool disabled, const std::optional<std::string>& name) {
  ProbeTarget t;
  auto rec = kretprobe_record(where, handler, entry, maxactive, data_size, disabled, name, t);
  self.machine->register_probe(rec, t.text);
  return handle_of(self.machine, rec);
}

py::list register_kretprobes(const PyKretprobes& self, const py::iterable& specs) {
  Records r;
  for (py::handle spec : specs) {
    py::dict kw = spec_kwargs(spec, "kretprobes.register_kretprobes",
                              {"where", "handler", "entry", "maxactive", "data_size",
                               "disabled", "name"});
    ProbeTarget t;
    r.first.push_back(kretprobe_record(
        kw["where"], get_or(kw, "handler", py::none()), get_or(kw, "entry", py::none()),
        get_or(kw, "maxactive", py::int_(0)), get_or(kw, "data_size", py::int_(0)),
        get_or(kw, "disabled", py::bool_(false)).cast<bool>(), name_of(kw), t));
    r.second.push_back(t.text);
  }
  self.machine->register_probes(r.first, r.second, ProbeKind::Kretprobe);
  return handles_of(self.machine, r);
}

probes::KprobeManager& reader(const std::shared_ptr<PyMachine>& m, const char* what) {
  probes::KprobeManager* k = m->handler_state(what).kprobes();
  if (!k)
    throw Error(std::string(what) +
                ": kprobes need the guest kernel; create the Machine "
                "with kernel=True");
  return *k;
}

std::optional<KprobeInfoView> info(const PyKprobes& self, py::handle where) {
  probes::KprobeManager& k = reader(self.machine, "kprobes.info");
  PyKernel kernel{self.machine};
  auto i = k.info(kernel.resolve(where, "kprobes.info"));
  if (!i) return std::nullopt;
  KprobeInfoView v;
  v.addr = i->addr.value;
  v.symbol = kernel.get("kprobes.info").kernel_symbolize(i->addr.value);
  v.aggregated = i->aggregated;
  v.armed = i->armed;
  v.boosted = i->boosted;
  for (const FlagName& f : kFlagNames)
    if (i->flags & f.bit) v.flags.emplace_back(f.name);
  v.step = i->step == probes::StepKind::Slot ? "slot" : "emulate";
  if (i->slot.value) v.slot = i->slot.value;
  v.opcode.assign(i->opcode.begin(), i->opcode.end());
  for (const probes::Kprobe* child : i->children) {
    auto rec = self.machine->record_of(child);
    v.probes.append(rec ? handle_of(self.machine, rec) : py::none());
  }
  v.optimized = i->optimized;
  v.jumped = i->jumped;
  v.poked = i->poked;
  v.unpoking = i->unpoking;
  v.unoptimizing = i->unoptimizing;
  if (i->opt_refusal != probes::OptRefusal::None) {
    v.opt_refusal = std::string(probes::opt_refusal_name(i->opt_refusal));
    v.opt_refusal_text = std::string(probes::opt_refusal_text(i->opt_refusal));
  }
  if (i->detour.value) v.detour = i->detour.value;
  v.detour_bytes.assign(i->detour_bytes.begin(), i->detour_bytes.end());
  v.opt_size = i->opt_size;
  return v;
}

py::dict costs(const PyKprobes& self) {
  reader(self.machine, "kprobes.costs");  // raises without a kernel, or while running
  py::dict d;
  for (const auto& [name, cycles] : self.machine->handler_machine("kprobes.costs").kprobe_costs())
    d[py::str(name)] = cycles;
  return d;
}

py::list registered(const std::shared_ptr<PyMachine>& m, ProbeKind kind) {
  py::list out;
  for (const auto& rec : m->probes())
    if (rec->kind == kind) out.append(handle_of(m, rec));
  return out;
}

size_t count(const std::shared_ptr<PyMachine>& m, ProbeKind kind) {
  size_t n = 0;
  for (const auto& rec : m->probes()) n += rec->kind == kind;
  return n;
}

void bind_info(py::module_& m) {
  py::class_<KprobeInfoView>(m, "KprobeInfo",
                             "One kprobe table entry (the probes at one address), a snapshot.")
      .def_readonly("addr", &KprobeInfoView::addr, "The probed address.")
      .def_readonly("symbol", &KprobeInfoView::symbol, "'function+0x4', or None.")
      .def_readonly("aggregated", &KprobeInfoView::aggregated,
                    "True when several probes share the address (an aggregate kprobe).")
      .def_readonly("armed", &KprobeInfoView::armed, "The breakpoint is in the text now.")
      .def_readonly("flags", &KprobeInfoView::flags, "Entry flags: GONE, DISABLED, ...")
      .def_readonly("step", &KprobeInfoView::step,
                    "'slot' (copied out of line) or 'emulate' (x86 emulated / arm64 simulated).")
      .def_readonly("slot", &KprobeInfoView::slot, "The insn slot address, or None.")
      .def_readonly("boosted", &KprobeInfoView::boosted,
                    "x86: the slot copy jumps back (no second trap, no post handler).")
      .def_property_readonly(
          "opcode", [](const KprobeInfoView& v) { return py::bytes(v.opcode); },
          "The original bytes under the breakpoint.")
      .def_readonly("probes", &KprobeInfoView::probes,
                    "The probes here (KprobeHandle / KretprobeHandle), in handler order.")
      .def_readonly("optimized", &KprobeInfoView::optimized,
                    "KPROBE_FLAG_OPTIMIZED: queued for the optimizer or jump-optimized.")
      .def_readonly("jumped", &KprobeInfoView::jumped,
                    "The jump to the detour buffer is in the text now (x86 `E9 rel32`, "
                    "arm64 `B imm26`).")
      .def_readonly("poked", &KprobeInfoView::poked,
                    "text_poke_bp writes done towards the jump while the optimizer runs as "
                    "kernel work: 0 none, 1 the int3, 2 also the rel32 tail (the E9 ends it).")
      .def_readonly("unpoking", &KprobeInfoView::unpoking,
                    "Unoptimizing as kernel work: the int3 is over the jump, whose tail is not "
                    "back yet.")
      .def_readonly("unoptimizing", &KprobeInfoView::unoptimizing,
                    "Delayed unoptimizing (disabled or unregistered while the optimizer is "
                    "kernel work): queued for the optimizer, the jump still in the text.")
      .def_readonly("opt_refusal", &KprobeInfoView::opt_refusal,
                    "Why the probe is not optimized ('post-handler', 'indirect-jump', "
                    "'not-relocatable', ...), or None.")
      .def_readonly("opt_refusal_text", &KprobeInfoView::opt_refusal_text,
                    "opt_refusal as a sentence, or None.")
      .def_readonly("detour", &KprobeInfoView::detour,
                    "The detour buffer's address (optprobes), or None.")
      .def_property_readonly(
          "detour_bytes", [](const KprobeInfoView& v) { return py::bytes(v.detour_bytes); },
          "The detour buffer: template, copied instructions, jmp back (empty if none).")
      .def_readonly("opt_size", &KprobeInfoView::opt_size,
                    "Bytes of original instructions the jump replaces (0 if not prepared).")
      .def("__repr__", [](const KprobeInfoView& v) {
        return "<KprobeInfo " + v.symbol.value_or(hex_addr(v.addr)) +
               (v.aggregated ? " aggregated" : "") + (v.armed ? " armed" : "") +
               " probes=" + std::to_string(v.probes.size()) + ">";
      });
}

// register, and the debugfs controls: list, arm_all, disarm_all, armed.
void bind_kprobes_control(py::class_<PyKprobes>& c) {
  c.def("register", &register_kprobe, "where"_a, "pre"_a = py::none(), "post"_a = py::none(),
        py::kw_only(), "disabled"_a = false, "name"_a = py::none(), "at"_a = py::none(),
        "Register a kprobe at an address or 'symbol[+offset]'. pre(regs) runs before the "
        "probed instruction (return None/0, or non-zero if it changed regs.ip: the "
        "instruction is then skipped), post(regs) after it. disabled=True registers it "
        "unarmed. Raises BadProbe with Linux's errno (ENOENT, EINVAL, EILSEQ, ...). at=N "
        "queues it as kernel work: the kworker runs register_kprobe's steps (the breakpoint "
        "is its own text_poke) from N scheduling steps on, competing with the guest, and the "
        "optimizer's text_poke_bp writes become kworker steps too; the handle is pending "
        "until then (errors: handle.error).")
      .def("register_kprobes", &register_kprobes, "probes"_a,
           "Linux's register_kprobes(kps, num): register several kprobes, each a target "
           "('symbol[+offset]' or an address) or a dict of register()'s keyword arguments "
           "(where, pre, post, disabled, name); all or none (on the first failure the ones "
           "registered are unregistered and BadProbe names the entry). Returns the handles.")
      .def(
          "unregister_kprobes",
          [](const PyKprobes& s, const py::iterable& handles) {
            unregister_many(s.machine, handles, ProbeKind::Kprobe, "kprobes.unregister_kprobes");
          },
          "handles"_a,
          "Linux's unregister_kprobes(kps, num): unregister these kprobes together "
          "(already unregistered ones are skipped).")
      .def(
          "unregister",
          [](const PyKprobes& s, const PyKprobeHandle& h, std::optional<uint64_t> at) {
            if (h.machine.lock() != s.machine)
              throw BadArgument("kprobes.unregister: '" + h.rec->name +
                                "' is not a kprobe of this machine");
            if (at)
              s.machine->queue_unregister(h.rec, *at);
            else
              s.machine->unregister_probe(*h.rec);
          },
          "handle"_a, py::kw_only(), "at"_a = py::none(),
          "unregister_kprobe(handle); at=N queues it as kernel work for the kworker from N "
          "scheduling steps on (KprobeHandle.unregister(at=N)).")
      .def(
          "list", [](const PyKprobes& s) { return reader(s.machine, "kprobes.list").list(); },
          "The text of /sys/kernel/debug/kprobes/list.")
      .def(
          "arm_all",
          [](const PyKprobes& s) {
            unwrap_errno<BadProbe>(s.machine->probe_manager("arm_all").arm_all_kprobes(),
                                   "arm_all_kprobes");
          },
          "echo 1 > kprobes/enabled: arm every enabled probe.")
      .def(
          "disarm_all",
          [](const PyKprobes& s) {
            unwrap_errno<BadProbe>(s.machine->probe_manager("disarm_all").disarm_all_kprobes(),
                                   "disarm_all_kprobes");
          },
          "echo 0 > kprobes/enabled: remove every breakpoint (probes stay registered).")
      .def_property_readonly(
          "armed",
          [](const PyKprobes& s) { return !reader(s.machine, "kprobes.armed").all_disarmed(); },
          "False after disarm_all() (cat kprobes/enabled).")
      .def_property(
          "optimization",
          [](const PyKprobes& s) { return reader(s.machine, "kprobes.optimization").optimization(); },
          [](const PyKprobes& s, bool on) {
            s.machine->probe_manager("kprobes.optimization").set_optimization(on);
          },
          "debug.kprobes-optimization (optprobes): False puts every optimized probe back "
          "to its breakpoint now; True queues every optimizable probe for the delayed optimizer.")
      .def(
          "wait_for_optimizer",
          [](const PyKprobes& s) {
            s.machine->probe_manager("wait_for_optimizer").wait_for_optimizer();
          },
          "Run the delayed kprobe_optimizer now (Linux's wait_for_kprobe_optimizer).")
      .def(
          "set_optimization",
          [](const PyKprobes& s, bool on, std::optional<uint64_t> at) {
            probes::KprobeManager& k = s.machine->probe_manager("kprobes.set_optimization");
            if (!at) return k.set_optimization(on);
            if (on)
              throw py::value_error("kprobes.set_optimization(True, at=N): only turning "
                                    "optimization off runs as kernel work");
            auto work = std::make_unique<emu::KprobeUnoptimizeWork>();
            work->start_at = *at;
            emu::queue_kprobe_work(s.machine->state("kprobes.set_optimization"), std::move(work));
          },
          "on"_a, py::kw_only(), "at"_a = py::none(),
          "debug.kprobes-optimization, as the property; set_optimization(False, at=N) queues "
          "unoptimize_all_kprobes for the kworker at N scheduling steps: each jump goes back to "
          "its int3 in two text pokes that CPUs run between (Machine(bugs={'kprobe_unoptimize_"
          "flag_early'}) re-creates Linux's bug of clearing the flag too early).")
      .def_property(
          "optimize_delay",
          [](const PyKprobes& s) {
            return reader(s.machine, "kprobes.optimize_delay").config().optimize_delay_ns;
          },
          [](const PyKprobes& s, uint64_t ns) { s.machine->set_optimize_delay(ns); },
          "OPTIMIZE_DELAY in ns of virtual time (Linux: a constant, 5 jiffies = 20 ms at "
          "HZ=250): how long after a probe is queued the optimizer runs. Shorten it to see the "
          "optimizer's text_poke_bp race with CPUs in a short run; applies to the next kick. A "
          "recorded run keeps it in its trace header (set it before the guest runs); a replay "
          "takes it from there.");
}

// One early kprobe (emu::EarlyKprobe) as Python sees it: a snapshot.
struct EarlyKprobeView {
  std::string spec;
  std::optional<uint64_t> addr;
  uint64_t hits = 0, nmissed = 0;
  int err = 0;
  std::optional<std::string> error;
};

std::vector<EarlyKprobeView> early_kprobes(const PyKprobes& s) {
  reader(s.machine, "kprobes.early");
  std::vector<EarlyKprobeView> out;
  for (const emu::EarlyKprobe& e : s.machine->state("kprobes.early").kernel()->early_kprobes()) {
    EarlyKprobeView v{e.spec};
    v.err = e.err;
    if (e.err != 0) {
      v.error = e.error;
    } else {
      v.addr = e.kp->addr.value;
      v.hits = e.kp->nhit;
      v.nmissed = e.kp->nmissed;
    }
    out.push_back(std::move(v));
  }
  return out;
}

void bind_early(py::module_& m) {
  py::class_<EarlyKprobeView>(m, "EarlyKprobe",
                              "A boot-time kprobe (Machine(early_kprobes=...) or ekprobe=): "
                              "a snapshot taken when Machine.kprobes.early was read.")
      .def_readonly("spec", &EarlyKprobeView::spec, "'sym[+off]' as given.")
      .def_readonly("addr", &EarlyKprobeView::addr, "Its address, or None if refused.")
      .def_readonly("hits", &EarlyKprobeView::hits, "Hits whose handler ran (boot included).")
      .def_readonly("nmissed", &EarlyKprobeView::nmissed, "Hits skipped (recursion).")
      .def_readonly("errno", &EarlyKprobeView::err, "0, or the errno registration gave.")
      .def_readonly("error", &EarlyKprobeView::error, "Why it was refused, or None.")
      .def("__repr__", [](const EarlyKprobeView& v) {
        return "<probesim.EarlyKprobe " + v.spec +
               (v.error ? " refused: " + *v.error : " hits=" + std::to_string(v.hits)) + ">";
      });
}

void bind_kprobes_manager(py::module_& m) {
  py::class_<PyKprobes> c(m, "Kprobes", "Machine.kprobes: kernel probes (Linux's kprobes).");
  bind_kprobes_control(c);
  c.def("info", &info, "where"_a,
        "The table entry at an address or 'symbol[+offset]' (KprobeInfo), or None.")
      .def_property_readonly("costs", &costs,
                             "Modelled cycles charged per probe path: {'trap', 'single-step', "
                             "'kretprobe-return', 'optimized'} (probes/probe_costs.cc).")
      .def_property_readonly(
          "probes", [](const PyKprobes& s) { return registered(s.machine, ProbeKind::Kprobe); },
          "The kprobes registered from Python, in registration order.")
      .def_property_readonly("early", &early_kprobes,
                             "The early (boot-time) kprobes, in command-line order "
                             "(list of EarlyKprobe); they stay registered.")
      .def("__len__", [](const PyKprobes& s) { return count(s.machine, ProbeKind::Kprobe); })
      .def("__repr__", [](const PyKprobes& s) {
        return "<probesim.Kprobes " + std::to_string(count(s.machine, ProbeKind::Kprobe)) +
               " registered>";
      });
}

void bind_kretprobes_manager(py::module_& m) {
  py::class_<PyKretprobes>(m, "Kretprobes", "Machine.kretprobes: return probes (kretprobes).")
      .def("register", &register_kretprobe, "where"_a, "handler"_a = py::none(),
           "entry"_a = py::none(), "maxactive"_a = 0, "data_size"_a = 0, py::kw_only(),
           "disabled"_a = false, "name"_a = py::none(),
           "Register a kretprobe on a function entry ('symbol' or its address). "
           "entry(instance, regs) runs at entry (non-zero: do not hook this return); "
           "handler(instance, regs) at return, with regs.return_value and regs.ip = the real "
           "return address. maxactive: instances in flight (0: Linux's default; above 4096, "
           "KRETPROBE_MAXACTIVE_MAX, BadProbe E2BIG); data_size: "
           "bytes of instance.data. Raises BadProbe with Linux's errno.")
      .def("register_kretprobes", &register_kretprobes, "probes"_a,
           "Linux's register_kretprobes(rps, num): register several kretprobes, each a "
           "target or a dict of register()'s keyword arguments (where, handler, entry, "
           "maxactive, data_size, disabled, name); all or none. Returns the handles.")
      .def(
          "unregister_kretprobes",
          [](const PyKretprobes& s, const py::iterable& handles) {
            unregister_many(s.machine, handles, ProbeKind::Kretprobe,
                            "kretprobes.unregister_kretprobes");
          },
          "handles"_a,
          "Linux's unregister_kretprobes(rps, num): unregister these kretprobes together.")
      .def_property_readonly(
          "probes",
          [](const PyKretprobes& s) { return registered(s.machine, ProbeKind::Kretprobe); },
          "The kretprobes registered from Python, in registration order.")
      .def("__len__", [](const PyKretprobes& s) { return count(s.machine, ProbeKind::Kretprobe); })
      .def("__repr__", [](const PyKretprobes& s) {
        return "<probesim.Kretprobes " + std::to_string(count(s.machine, ProbeKind::Kretprobe)) +
               " registered>";
      });
}

}  // namespace

void bind_kprobes(py::module_& m) {
  bind_probe_handles(m);
  bind_info(m);
  bind_early(m);
  def_pickle(
      m, "KprobeInfo",
      pickle_members(&KprobeInfoView::addr, &KprobeInfoView::symbol, &KprobeInfoView::aggregated,
                     &KprobeInfoView::armed, &KprobeInfoView::boosted, &KprobeInfoView::flags,
                     &KprobeInfoView::step, &KprobeInfoView::slot, &KprobeInfoView::opcode,
                     &KprobeInfoView::probes, &KprobeInfoView::optimized, &KprobeInfoView::jumped,
                     &KprobeInfoView::poked, &KprobeInfoView::unpoking,
                     &KprobeInfoView::unoptimizing,
                     &KprobeInfoView::opt_refusal, &KprobeInfoView::opt_refusal_text,
                     &KprobeInfoView::detour, &KprobeInfoView::detour_bytes,
                     &KprobeInfoView::opt_size));
  def_pickle(
      m, "EarlyKprobe",
      pickle_members(&EarlyKprobeView::spec, &EarlyKprobeView::addr, &EarlyKprobeView::hits,
                     &EarlyKprobeView::nmissed, &EarlyKprobeView::err, &EarlyKprobeView::error));
  bind_kprobes_manager(m);
  bind_kretprobes_manager(m);
}

}  // namespace probesim::python
