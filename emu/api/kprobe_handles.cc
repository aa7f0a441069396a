// Machine::register_kprobe / register_kretprobe and KprobeHandle (include/probesim/probes.h)
// over probes::KprobeManager.
#include <cerrno>
#include <cstdio>

#include "emu/api/machine_impl.h"
#include "emu/api/probe_hit.h"
#include "emu/kthread/kprobe_work.h"
#include "emu/record/kernel_work_entry.h"
#include "emu/record/recorder.h"
#include "probes/kprobe.h"
#include "probes/kprobe_manager.h"
#include "probes/kretprobe.h"
#include "probes/probe_costs.h"

namespace probesim {

// A registration queued as kernel work (KprobeSpec::at), shared with the work's completion,
// which may outlive the handle: then it unregisters what it registered.
struct KprobeQueue {
  uint64_t at = 0;
  bool pending = true;
  bool orphaned = false;  // the handle went while pending
  std::optional<Error> error;
};

// Exactly one of kp / rp. Lives at a fixed address (the handlers point at it). kp is shared
// with a queued registration (the work keeps it alive).
struct KprobeHandle::Impl {
  explicit Impl(emu::MachineState& s) : state(s) {}
  emu::MachineState& state;
  std::shared_ptr<probes::Kprobe> kp;
  std::unique_ptr<probes::Kretprobe> rp;
  std::shared_ptr<KprobeQueue> queued;  // null: registered at once
  std::shared_ptr<bool> unregistering;  // unregister_at: true until the kworker is done
  std::optional<size_t> trace_entry;    // a recording's header line of its kernel work
  bool before_run = false;              // registered (or queued) before the machine's first step
  uint64_t ret_hits = 0;  // kretprobe: handled returns
  probes::Kprobe& probe() { return rp ? rp->kp : *kp; }
  const probes::Kprobe& probe() const { return rp ? rp->kp : *kp; }
};

KprobeHandle::KprobeHandle(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KprobeHandle::~KprobeHandle() {
  unregister();
  if (impl_->queued && impl_->queued->pending) impl_->queued->orphaned = true;
}

const std::string& KprobeHandle::name() const { return impl_->probe().name; }
GuestAddr KprobeHandle::addr() const { return impl_->probe().addr; }
uint64_t KprobeHandle::hits() const { return impl_->rp ? impl_->ret_hits : impl_->kp->nhit; }
uint64_t KprobeHandle::nmissed() const {
  return impl_->rp ? impl_->rp->nmissed : impl_->kp->nmissed;
}
bool KprobeHandle::registered() const { return impl_->probe().registered(); }
bool KprobeHandle::pending() const { return impl_->queued && impl_->queued->pending; }
std::optional<Error> KprobeHandle::error() const {
  return impl_->queued ? impl_->queued->error : std::nullopt;
}
bool KprobeHandle::enabled() const { return registered() && !impl_->probe().disabled(); }
bool KprobeHandle::jump_optimized() const {
  if (!registered()) return false;
  const std::optional<probes::KprobeInfo> info = impl_->state.kprobes()->info(addr());
  return info && info->jumped;
}

Result<void> KprobeHandle::enable() {
  if (!registered()) return Error::make(name() + ": not registered", EINVAL);
  return impl_->state.kprobes()->enable_kprobe(impl_->probe());
}

Result<void> KprobeHandle::disable() {
  if (!registered()) return Error::make(name() + ": not registered", EINVAL);
  return impl_->state.kprobes()->disable_kprobe(impl_->probe());
}

void KprobeHandle::unregister() {
  if (pending()) impl_->queued->orphaned = true;
  if (!registered()) return;
  probes::KprobeManager& mgr = *impl_->state.kprobes();
  if (impl_->rp)
    mgr.unregister_kretprobe(*impl_->rp);
  else
    mgr.unregister_kprobe(*impl_->kp);
}

namespace {

// How --kprobe names the probe's address: SYM, SYM+OFF or the address in hex.
std::string target_text(const probes::Kprobe& kp) {
  if (kp.symbol_name.empty()) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(kp.addr.value));
    return buf;
  }
  return kp.symbol_name + (kp.offset ? "+" + std::to_string(kp.offset) : "");
}

}  // namespace

Result<void> KprobeHandle::unregister_at(uint64_t at) {
  if (impl_->rp) return Error::make(name() + ": kretprobes are unregistered at once", EINVAL);
  if (!registered() && !pending()) return Error::make(name() + ": not registered", EINVAL);
  if (impl_->queued && impl_->queued->pending && at < impl_->queued->at)
    return Error::make(name() + ": unregistering at " + std::to_string(at) +
                       " would run before its registration at " +
                       std::to_string(impl_->queued->at), EINVAL);
  if (unregister_pending()) return Error::make(name() + ": already being unregistered", EBUSY);
  PROBESIM_TRY_VOID(emu::record_unregister_at(impl_->state.recorder(), impl_->trace_entry,
                                              "kprobe " + target_text(*impl_->kp),
                                              impl_->before_run, at));
  impl_->unregistering = std::make_shared<bool>(true);
  auto work = std::make_unique<emu::KprobeUnregisterWork>(
      impl_->kp->name, impl_->kp, [flag = impl_->unregistering] { *flag = false; });
  work->start_at = at;
  emu::queue_kprobe_work(impl_->state, std::move(work));
  return {};
}

bool KprobeHandle::unregister_pending() const {
  return impl_->unregistering && *impl_->unregistering;
}

namespace {

// Where: symbol(+offset) or addr; the name defaults to what the user would write.
void set_target(probes::Kprobe& kp, const std::string& symbol, uint64_t offset, GuestAddr addr,
                const std::string& name, bool disabled) {
  kp.symbol_name = symbol;
  kp.offset = offset;
  kp.addr = addr;
  kp.name = name;
  if (name.empty() && !symbol.empty())
    kp.name = symbol + (offset ? "+" + std::to_string(offset) : "");
  if (name.empty() && symbol.empty()) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(addr.value));
    kp.name = buf;
  }
  if (disabled) kp.flags |= probes::kKprobeFlagDisabled;
}

// at=N: the registration runs as kernel work; recorded runs keep it in the trace header.
void queue_kprobe(emu::MachineState& s, KprobeHandle::Impl& h, uint64_t at, std::string label) {
  h.queued = std::make_shared<KprobeQueue>();
  h.queued->at = at;
  auto done = [&s, kp = h.kp, q = h.queued](Result<void> r) {
    q->pending = false;
    if (!r) {
      q->error = r.take_error();
      return;
    }
    if (q->orphaned && kp->registered()) s.kprobes()->unregister_kprobe(*kp);
  };
  auto work = std::make_unique<emu::KprobeRegisterWork>(h.kp->name, h.kp, std::move(done));
  work->start_at = at;
  emu::queue_kprobe_work(s, std::move(work));
  if (label.empty()) label = target_text(*h.kp) + "@" + std::to_string(at);
  if (emu::Recorder* r = s.recorder()) {
    h.trace_entry = r->trace().header.kernel_work.size();
    r->trace().header.kernel_work.push_back("kprobe " + label);
  }
}

}  // namespace

Result<std::unique_ptr<KprobeHandle>> Machine::register_kprobe(KprobeSpec spec) {
  emu::MachineState& s = impl_->state;
  if (!s.kprobes()) return Error::make("kprobes need the guest kernel", EINVAL);
  auto h = std::make_unique<KprobeHandle::Impl>(s);
  h->kp = std::make_shared<probes::Kprobe>();
  probes::Kprobe& kp = *h->kp;
  set_target(kp, spec.symbol, spec.offset, spec.addr, spec.name, spec.disabled);
  h->before_run = s.sched().steps() == 0;
  kp.pre_handler = [&s, pre = std::move(spec.pre)](probes::Kprobe&, probes::Regs& regs) {
    if (!pre) return 0;
    ProbeHit hit = emu::make_hit(s, regs);
    return pre(hit);
  };
  if (spec.post) {
    kp.post_handler = [&s, post = std::move(spec.post)](probes::Kprobe&, probes::Regs& regs,
                                                         unsigned long) {
      ProbeHit hit = emu::make_hit(s, regs);
      post(hit);
    };
  }
  if (spec.at) {
    queue_kprobe(s, *h, *spec.at, spec.label);
    return std::make_unique<KprobeHandle>(std::move(h));
  }
  PROBESIM_TRY_VOID(s.kprobes()->register_kprobe(kp));
  return std::make_unique<KprobeHandle>(std::move(h));
}

Result<std::unique_ptr<KretprobeHandle>> Machine::register_kretprobe(KretprobeSpec spec) {
  emu::MachineState& s = impl_->state;
  if (!s.kprobes()) return Error::make("kprobes need the guest kernel", EINVAL);
  auto h = std::make_unique<KprobeHandle::Impl>(s);
  h->rp = std::make_unique<probes::Kretprobe>();
  probes::Kretprobe& rp = *h->rp;
  set_target(rp.kp, spec.symbol, spec.offset, spec.addr, spec.name, spec.disabled);
  rp.maxactive = spec.maxactive;
  rp.data_size = spec.data_size;
  KprobeHandle::Impl* self = h.get();
  rp.handler = [&s, self, fn = std::move(spec.handler)](probes::KretprobeInstance& ri,
                                                         probes::Regs& regs) {
    ++self->ret_hits;
    if (!fn) return 0;
    ProbeHit hit = emu::make_hit(s, regs);
    hit.func = self->rp->kp.addr;
    hit.ret_addr = ri.ret_addr;
    hit.data = ri.data();
    fn(hit);
    return 0;
  };
  if (spec.entry_handler) {
    rp.entry_handler = [&s, self, fn = std::move(spec.entry_handler)](
                           probes::KretprobeInstance& ri, probes::Regs& regs) {
      ProbeHit hit = emu::make_hit(s, regs);
      hit.func = self->rp->kp.addr;
      hit.data = ri.data();
      return fn(hit);
    };
  }
  PROBESIM_TRY_VOID(s.kprobes()->register_kretprobe(rp));
  return std::make_unique<KretprobeHandle>(std::move(h));
}

bool Machine::has_kernel() const { return impl_->state.kernel() != nullptr; }

std::vector<EarlyKprobeInfo> Machine::early_kprobes() const {
  std::vector<EarlyKprobeInfo> out;
  const emu::GuestKernel* k = impl_->state.kernel();
  if (!k) return out;
  for (const emu::EarlyKprobe& e : k->early_kprobes()) {
    EarlyKprobeInfo info{e.spec, e.err, e.error};
    if (e.kp) {
      info.hits = e.kp->nhit;
      info.nmissed = e.kp->nmissed;
    }
    out.push_back(std::move(info));
  }
  return out;
}

std::string Machine::kprobes_list() const {
  const emu::GuestKernel* k = impl_->state.kernel();
  return k ? k->kprobes().list() : std::string();
}

std::vector<std::pair<std::string, uint64_t>> Machine::kprobe_costs() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  const probes::KprobeManager* k = impl_->state.kprobes();
  if (!k) return out;
  for (const probes::ProbePathCost& c : probes::probe_path_costs(impl_->state.config().arch))
    out.emplace_back(std::string(c.name), k->cost(c.path).value);
  return out;
}

std::vector<std::string> Machine::kernel_oopses() const {
  const emu::GuestKernel* k = impl_->state.kernel();
  return k ? k->oopses() : std::vector<std::string>{};
}

}  // namespace probesim
