// KprobeManager: the per-CPU hit state machine (Linux kprobe_int3_handler / kprobe_handler,
// setup_singlestep, reenter_kprobe, resume_singlestep / post_kprobe_handler,
// kprobe_post_process, aggr_pre_handler / aggr_post_handler, kprobe_fault_handler).
#include <algorithm>
#include <cerrno>
#include <exception>

#include "probes/kprobe_hit_scope.h"
#include "probes/kprobe_manager.h"
#include "probesim/assert.h"

namespace probesim::probes {

namespace {

bool is_ss(const KprobeCtlblk& kcb) {
  return kcb.status == KprobeStatus::HitSs || kcb.status == KprobeStatus::Reenter;
}

void set_current(KprobeCtlblk& kcb, KprobeEntry* e) { kcb.current = e; }
void reset_current(KprobeCtlblk& kcb) { kcb.current = nullptr; }
void save_previous(KprobeCtlblk& kcb) {
  kcb.prev = PrevKprobe{kcb.current, kcb.status, kcb.saved_flags};
}
void restore_previous(KprobeCtlblk& kcb) {
  kcb.current = kcb.prev.kp;
  kcb.status = kcb.prev.status;
  kcb.saved_flags = kcb.prev.saved_flags;
  kcb.prev = PrevKprobe{};
}

}  // namespace

// Plain: the probe's own pre_handler. Aggregate (aggr_pre_handler): every enabled child in
// list order; the first non-zero return stops the chain and is returned. A disabled probe is
// hit only under delayed unoptimizing (its int3 over the jump): no handler runs.
int KprobeManager::call_pre_handlers(KprobeEntry& e, KprobeCtlblk& kcb, Regs& regs) {
  for (Kprobe* k : e.children) {  // handlers cannot mutate the list (asserted)
    if (k->disabled()) continue;
    ++k->nhit;
    if (!k->pre_handler) continue;
    kcb.instance = k;
    ++in_handler_;
    const int r = k->pre_handler(*k, regs);
    --in_handler_;
    kcb.instance = nullptr;
    if (r != 0) return r;
  }
  return 0;
}

void KprobeManager::call_post_handlers(KprobeEntry& e, KprobeCtlblk& kcb, Regs& regs) {
  for (Kprobe* k : e.children) {  // handlers cannot mutate the list (asserted)
    if ((e.aggregated && k->disabled()) || !k->post_handler) continue;
    kcb.instance = k;
    ++in_handler_;
    k->post_handler(*k, regs, 0);
    --in_handler_;
    kcb.instance = nullptr;
  }
}

// kprobes_inc_nmissed_count: every child of an aggregate.
void KprobeManager::inc_nmissed(KprobeEntry& e) {
  for (Kprobe* k : e.children) ++k->nmissed;
}

HitResult KprobeManager::on_breakpoint(HitContext ctx, Regs& regs) {
  KprobeHitScope scope(*this, ctx);
  KprobeCtlblk& kcb = scope.kcb();
  const GuestAddr addr = arch_->probe_address(regs);
  if (trampoline_.value != 0 && addr == trampoline_) {
    return kretprobe_trampoline_handler(kcb, regs);
  }
  if (KprobeEntry* e = get_kprobe(addr)) {
    if (kcb.current) return reenter_kprobe(*e, kcb, regs);
    set_current(kcb, e);
    kcb.status = KprobeStatus::HitActive;
    if (call_pre_handlers(*e, kcb, regs) == 0) return setup_singlestep(*e, kcb, regs, false);
    reset_current(kcb);  // the handler moved ip: no step, no post handler
    return {HitDisposition::Handled, HitKind::Skipped, cost(ProbePath::Trap)};
  }
  if (arch_kind_ == Arch::X86_64 && kcb.current && is_ss(kcb) &&
      arch_->is_step_trap(kcb.current->slot, regs)) {
    return finish_step(kcb, regs);  // the int3 after the copy
  }
  return handle_stale(addr, regs);
}

HitResult KprobeManager::on_ss_trap(HitContext ctx, Regs& regs) {
  KprobeHitScope scope(*this, ctx);
  KprobeCtlblk& kcb = scope.kcb();
  if (!kcb.current || !is_ss(kcb) || kcb.current->slot.value == 0 ||
      !arch_->is_step_trap(kcb.current->slot, regs)) {
    return {};
  }
  return finish_step(kcb, regs);
}

// Not a registered address: if the breakpoint is gone (removed after it was hit), re-execute
// the original instruction; else it is somebody else's trap.
HitResult KprobeManager::handle_stale(GuestAddr addr, Regs& regs) const {
  const auto bp = arch_->breakpoint();
  uint8_t cur[4] = {};
  if (!mem_.read(addr, std::span<uint8_t>(cur, bp.size()))) return {};
  if (std::equal(bp.begin(), bp.end(), cur)) return {};
  regs.set_ip(addr);
  return {HitDisposition::Handled, HitKind::Stale, cost(ProbePath::Trap)};
}

HitResult KprobeManager::setup_singlestep(KprobeEntry& e, KprobeCtlblk& kcb, Regs& regs,
                                          bool reenter) {
  const Cycles trap = cost(ProbePath::Trap);
  const HitKind kind = reenter ? HitKind::Missed : HitKind::Stepped;
  if (e.opt.flag && e.opt.prepared) {
    // setup_detour_execution: queued for optimization; run the detour's copy of the replaced
    // instructions, which jumps back (no second trap).
    if (!reenter) reset_current(kcb);
    regs.set_ip(e.opt.detour + arch_->detour_copy_offset());
    return {HitDisposition::Handled, reenter ? kind : HitKind::Detour, trap};
  }
  if (e.boosted) {
    // The copy jumps back by itself: no second trap, so no current probe to track.
    if (!reenter) reset_current(kcb);
    regs.set_ip(e.slot);
    return {HitDisposition::Handled, reenter ? kind : HitKind::Boosted, trap};
  }
  if (reenter) {
    save_previous(kcb);
    set_current(kcb, &e);
    kcb.status = KprobeStatus::Reenter;
  } else {
    kcb.status = KprobeStatus::HitSs;
  }
  if (e.insn.step == StepKind::Emulate) {
    const auto r = arch_->emulate(e.insn, e.addr, regs, mem_);
    if (!r.ok) {
      regs.set_ip(e.addr);
      if (kcb.status == KprobeStatus::Reenter) restore_previous(kcb);
      else reset_current(kcb);
      return {HitDisposition::Fault, kind, trap, r.fault_addr};
    }
    post_process(e, kcb, regs);
    return {HitDisposition::Handled, reenter ? kind : HitKind::Emulated, trap};
  }
  PROBESIM_ASSERT(e.slot.value != 0);
  kcb.saved_flags = arch_->enter_slot(e.slot, regs);
  return {HitDisposition::Handled, kind, trap};
}

// A probe hit while another runs on this CPU: count a miss on every child and step the
// instruction without calling any handler.
HitResult KprobeManager::reenter_kprobe(KprobeEntry& e, KprobeCtlblk& kcb, Regs& regs) {
  switch (kcb.status) {
    case KprobeStatus::HitSs:
      if (arch_kind_ != Arch::X86_64) break;  // arm64: a hit during the step is fatal
      [[fallthrough]];
    case KprobeStatus::HitActive:
    case KprobeStatus::HitSsDone:
      inc_nmissed(e);
      return setup_singlestep(e, kcb, regs, true);
    default:
      break;
  }
  return {HitDisposition::Bug, HitKind::None, cost(ProbePath::Trap)};
}

// resume_singlestep + kprobe_post_process.
HitResult KprobeManager::finish_step(KprobeCtlblk& kcb, Regs& regs) {
  KprobeEntry& e = *kcb.current;
  arch_->leave_slot(e.insn, e.addr, regs, kcb.saved_flags);
  post_process(e, kcb, regs);
  reap_retired();
  return {HitDisposition::Handled, HitKind::StepDone, cost(ProbePath::SingleStep)};
}

void KprobeManager::post_process(KprobeEntry& e, KprobeCtlblk& kcb, Regs& regs) {
  if (kcb.status == KprobeStatus::Reenter) {
    restore_previous(kcb);
    return;
  }
  kcb.status = KprobeStatus::HitSsDone;
  call_post_handlers(e, kcb, regs);
  reset_current(kcb);
}

bool KprobeManager::on_fault(HitContext ctx, Regs& regs) {
  KprobeCtlblk& kcb = ctlblk(ctx.cpu);
  if (!kcb.current || !is_ss(kcb) || kcb.current->slot.value == 0 ||
      regs.ip() != kcb.current->slot) {
    return false;
  }
  regs.set_ip(kcb.current->addr);
  regs.set_flags(arch_kind_ == Arch::X86_64
                     ? regs.flags() | kcb.saved_flags
                     : (regs.flags() & ~kArm64DaifMask) | kcb.saved_flags);
  if (kcb.status == KprobeStatus::Reenter) restore_previous(kcb);
  else reset_current(kcb);
  reap_retired();
  return true;
}

}  // namespace probesim::probes
