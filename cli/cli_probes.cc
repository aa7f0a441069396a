#include "cli/cli_probes.h"

#include <cinttypes>

#include "emu/machine_state.h"
#include "probes/kprobe.h"
#include "probes/kretprobe.h"

namespace probesim::cli {

struct CliProbes::Probes {
  std::vector<std::unique_ptr<probes::Kprobe>> kps;
  std::vector<std::unique_ptr<probes::Kretprobe>> rps;
  std::vector<uint64_t> ret_hits;
};

CliProbes::CliProbes(Machine& m) : m_(m), p_(std::make_unique<Probes>()) {}

CliProbes::~CliProbes() {
  probes::KprobeManager* mgr = m_.state().kprobes();
  if (!mgr) return;
  for (auto& kp : p_->kps) mgr->unregister_kprobe(*kp);
  for (auto& rp : p_->rps) mgr->unregister_kretprobe(*rp);
}

namespace {
void set_target(probes::Kprobe& kp, const ProbeSpec& s) {
  kp.name = s.text;
  if (s.symbol.empty()) {
    kp.addr = GuestAddr{s.addr};
  } else {
    kp.symbol_name = s.symbol;
    kp.offset = s.offset;
  }
}
}  // namespace

Result<std::unique_ptr<CliProbes>> CliProbes::attach(Machine& m, const RunOptions& o) {
  std::unique_ptr<CliProbes> c(new CliProbes(m));
  probes::KprobeManager* mgr = m.state().kprobes();
  if (!mgr && (!o.kprobes.empty() || !o.kretprobes.empty()))
    return Error::make("probes need the guest kernel");
  for (const ProbeSpec& s : o.kprobes) {
    auto kp = std::make_unique<probes::Kprobe>();
    set_target(*kp, s);
    kp->pre_handler = [](probes::Kprobe&, probes::Regs&) { return 0; };
    auto r = mgr->register_kprobe(*kp);
    if (!r) return Error::make("--kprobe " + s.text + ": " + r.error().message, r.error().err);
    c->p_->kps.push_back(std::move(kp));
  }
  c->p_->ret_hits.resize(o.kretprobes.size());
  for (size_t i = 0; i < o.kretprobes.size(); ++i) {
    const ProbeSpec& s = o.kretprobes[i];
    auto rp = std::make_unique<probes::Kretprobe>();
    set_target(rp->kp, s);
    uint64_t* hits = &c->p_->ret_hits[i];
    rp->handler = [hits](probes::KretprobeInstance&, probes::Regs&) { return ++*hits, 0; };
    auto r = mgr->register_kretprobe(*rp);
    if (!r) return Error::make("--kretprobe " + s.text + ": " + r.error().message, r.error().err);
    c->p_->rps.push_back(std::move(rp));
  }
  return c;
}

void CliProbes::report(FILE* out) const {
  for (const auto& kp : p_->kps)
    std::fprintf(out, "kprobe %s: hits %" PRIu64 " nmissed %" PRIu64 "\n", kp->name.c_str(),
                 kp->nhit, kp->nmissed);
  for (size_t i = 0; i < p_->rps.size(); ++i)
    std::fprintf(out, "kretprobe %s: hits %" PRIu64 " nmissed %" PRIu64 "\n",
                 p_->rps[i]->kp.name.c_str(), p_->ret_hits[i], p_->rps[i]->nmissed);
}

}  // namespace probesim::cli
