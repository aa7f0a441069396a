// KprobeManager: optprobes (Linux kernel/kprobes.c CONFIG_OPTPROBES half: try_to_optimize_kprobe,
// optimize_kprobe, kprobe_optimizer, get_optimized_kprobe,
// proc_kprobes_optimization_handler, and arch/x86/kernel/kprobes/opt.c's optimized_callback,
// arch_optimize_kprobes).
//
// Unoptimizing is in kprobe_unoptimizer.cc. Differences from Linux, on purpose: the
// optimizer's synchronize_rcu_tasks is a check instead of a wait: a probe whose replaced bytes
// some CPU or preempted task is executing stays queued until the next round. Optimizing is
// text_poke_bp's three writes (optimizer_poke), separate steps when the kworker runs it.
#include <algorithm>
#include <cerrno>

#include "probes/kprobe_hit_scope.h"
#include "probes/kprobe_manager.h"
#include "probesim/assert.h"

namespace probesim::probes {

void KprobeManager::set_optimizer_hooks(Clock now, PcInRange pc_in_range) {
  now_ = std::move(now);
  pc_in_range_ = std::move(pc_in_range);
}

bool KprobeManager::has_post_handler(const KprobeEntry& e) const {
  return std::any_of(e.children.begin(), e.children.end(),
                     [](const Kprobe* k) { return static_cast<bool>(k->post_handler); });
}

// alloc_aggr_kprobe's arch_prepare_optimized_kprobe: decode and check, get a detour slot
// within rel32 range, write the detour. A refusal leaves the probe an ordinary kprobe.
void KprobeManager::try_to_optimize_kprobe(KprobeEntry& e) {
  if (!optinsn_slots_) {
    e.opt.prep = OptRefusal::NoArchSupport;
    return;
  }
  if (opt_callback_.value == 0) {
    e.opt.prep = OptRefusal::NoCallback;
    return;
  }
  OptPrep prep = arch_->prepare_optimized(e.addr, original_text(), syms_);
  e.opt.prep = prep.refusal;
  if (prep.refusal != OptRefusal::None) return;
  auto slot = optinsn_slots_->get_slot();
  if (!slot) {
    e.opt.prep = OptRefusal::NoDetourSlot;
    return;
  }
  auto bytes = arch_->detour_contents(prep, e.addr, *slot, slot->value, opt_callback_);
  if (!bytes || !mem_.write_text(*slot, *bytes)) {
    optinsn_slots_->free_slot(*slot, SlotFree::Clean);
    e.opt.prep = bytes ? OptRefusal::NoDetourSlot : OptRefusal::DetourOutOfRange;
    return;
  }
  e.opt.prepared = true;
  e.opt.detour = *slot;
  e.opt.size = prep.size;
  by_detour_[slot->value] = &e;
}

// optimize_kprobe's conditions, first failing one (kprobe_optready, kprobes_allow_optimization,
// disabled, all disarmed, post handler, arch_check_optimized_kprobe).
OptRefusal KprobeManager::optimize_check(const KprobeEntry& e) const {
  if (!e.opt.prepared) return e.opt.prep;
  if (!allow_optimization_) return OptRefusal::SysctlOff;
  if (e.gone()) return OptRefusal::Gone;
  if (e.disabled()) return OptRefusal::Disabled;
  if (all_disarmed_) return OptRefusal::AllDisarmed;
  if (has_post_handler(e)) return OptRefusal::PostHandler;
  for (auto it = entries_.upper_bound(e.addr.value);
       it != entries_.end() && it->first < e.addr.value + e.opt.size; ++it) {
    if (it->second->armed) return OptRefusal::ProbeInRange;
  }
  return OptRefusal::None;
}

// An entry still waiting for register_kprobe_arm is tried there (its detour is not prepared).
// A probe under delayed unoptimizing keeps its jump (Linux: just dequeued), unless its int3 is
// over the jump already: then the tail goes back now and it is queued again.
void KprobeManager::optimize_kprobe(KprobeEntry& e) {
  if (e.opt.unopt_queued) {
    e.opt.why_not = optimize_check(e);
    if (e.opt.why_not != OptRefusal::None) return;
    if (e.opt.unpoking) {
      unoptimize_kprobe(e, Unoptimize::Force);
    } else {
      dequeue_unoptimizing(e);
      e.opt.flag = true;
      return;
    }
  }
  if (e.opt.flag || e.arm_pending) return;
  e.opt.why_not = optimize_check(e);
  if (e.opt.why_not != OptRefusal::None) return;
  e.opt.flag = true;
  e.opt.queued = true;
  optimizing_list_.push_back(&e);
  kick_kprobe_optimizer();
}

// arch_remove_optimized_kprobe: a CPU may still run the detour untracked: free it DIRTY.
void KprobeManager::remove_optimized_kprobe(KprobeEntry& e) {
  unoptimize_kprobe(e);
  if (!e.opt.prepared) return;
  by_detour_.erase(e.opt.detour.value);
  if (e.opt.early)
    free_early_slot(e.opt.detour);  // ek_free_early_kprobe
  else
    optinsn_slots_->free_slot(e.opt.detour, SlotFree::Dirty);
  e.opt.prepared = false;
  e.opt.detour = GuestAddr{};
}

// kill_optimized_kprobe: the text is gone; forget the jump without writing.
void KprobeManager::kill_optimized_kprobe(KprobeEntry& e) {
  e.opt.jumped = false;
  e.opt.poked = 0;
  remove_optimized_kprobe(e);
}

// get_optimized_kprobe: the nearest probe before addr whose prepared range covers addr.
KprobeEntry* KprobeManager::get_optimized_kprobe(GuestAddr addr) const {
  auto it = entries_.lower_bound(addr.value);
  if (it == entries_.begin()) return nullptr;
  --it;
  KprobeEntry* p = it->second.get();
  if (addr.value - p->addr.value >= kMaxOptimizedLength || !p->opt.prepared) return nullptr;
  return addr.value < p->addr.value + p->opt.size ? p : nullptr;
}

void KprobeManager::kick_kprobe_optimizer() {
  if (optimizer_due_) return;
  const Cycles now = now_ ? now_() : Cycles{};
  optimizer_due_ = now + Cycles{config_.optimize_delay_ns * (config_.clock_hz / 1'000'000) /
                                1'000};
}

// A due optimizer runs now, or, when it is kernel work, is handed to the kworker (which takes
// the batch when it runs).
void KprobeManager::run_optimizer_if_due(Cycles now) {
  if (!optimizer_due_ || now < *optimizer_due_) return;
  if (!queue_optimizer_) return kprobe_optimizer();
  optimizer_due_.reset();
  queue_optimizer_();
}

void KprobeManager::wait_for_optimizer() {
  assert_not_in_handler("wait_for_kprobe_optimizer");
  if (optimizer_due_ || !optimizing_list_.empty() || unoptimizer_due())
    kprobe_optimizer();
}

std::vector<GuestAddr> KprobeManager::optimizer_batch() {
  optimizer_due_.reset();
  std::vector<GuestAddr> out;
  for (const KprobeEntry* e : optimizing_list_) out.push_back(e->addr);
  return out;
}

// kprobe_optimizer in one go: do_unoptimize_kprobes, then do_optimize_kprobes: every queued
// probe whose replaced bytes nobody is executing gets its jump; the others wait for the next
// round.
void KprobeManager::kprobe_optimizer() {
  PROBESIM_ASSERT(in_handler_ == 0);
  for (GuestAddr a : unoptimizer_batch(false)) unoptimize_now(a);
  for (GuestAddr a : optimizer_batch()) {
    for (PokeStep s : {PokeStep::Int3, PokeStep::Tail, PokeStep::Opcode})
      if (!optimizer_poke(a, s)) break;
  }
}

// Bytes of the jump beyond the breakpoint (x86: the rel32; arm64: none, B replaces BRK).
size_t KprobeManager::jump_tail() const {
  return arch_->optimized_jump_size() - arch_->opcode_size();
}

// arch_optimize_kprobes for one probe, one text_poke_bp write per call. Between the writes a
// CPU that reaches addr hits the int3, which is the probe's own: its handlers run and it goes
// on in the detour's copy (setup_detour_execution), so it never executes the half-written
// range and no hit is lost. arm64: one single-copy-atomic word at Opcode.
bool KprobeManager::optimizer_poke(GuestAddr addr, PokeStep step) {
  PROBESIM_ASSERT(in_handler_ == 0);
  KprobeEntry* e = get_kprobe(addr);
  if (!e || !e->opt.queued) return false;
  PROBESIM_ASSERT(e->armed && e->opt.prepared);
  switch (step) {
    case PokeStep::Int3:
      if (e->opt.poked != 0) return false;
      PROBESIM_ASSERT(mem_.write_text(e->addr, arch_->breakpoint()));
      e->opt.poked = 1;
      return true;
    case PokeStep::Tail:
      return e->opt.poked == 1 && poke_tail(*e);
    case PokeStep::Opcode:
      if (e->opt.poked != 2) return false;
      poke_done(*e);
      return true;
  }
  return false;
}

// synchronize_rcu_tasks, as a check: no CPU or preempted task may be inside the bytes the rel32
// replaces, nor in the probe's slot (its copy returns into them). Otherwise the probe stays
// queued (its int3 stays) and the next round starts again.
bool KprobeManager::poke_tail(KprobeEntry& e) {
  const size_t n = arch_->opcode_size(), tail = jump_tail();
  if (tail != 0 && pc_in_range_) {
    const bool in_slot = e.slot.value != 0 && (referenced_by_cpu(&e) ||
                                               pc_in_range_(e.slot, slots_->insn_size()));
    if (in_slot || pc_in_range_(e.addr + n, e.opt.size - n)) {
      e.opt.poked = 0;
      kick_kprobe_optimizer();
      return false;
    }
  }
  if (tail != 0) {
    const std::vector<uint8_t> jump = arch_->optimized_jump(e.addr, e.opt.detour);
    const bool ok = mem_.read(e.addr + n, std::span<uint8_t>(e.opt.copied_insn).first(tail));
    PROBESIM_ASSERT_MSG(ok, "reading the text under an optprobe failed");
    PROBESIM_ASSERT(mem_.write_text(e.addr + n, std::span<const uint8_t>(jump).subspan(n)));
  }
  e.opt.poked = 2;
  return true;
}

// The opcode (E9 / B imm26): the jump is complete; the probe leaves optimizing_list.
void KprobeManager::poke_done(KprobeEntry& e) {
  const std::vector<uint8_t> jump = arch_->optimized_jump(e.addr, e.opt.detour);
  const size_t n = arch_->opcode_size();
  PROBESIM_ASSERT(mem_.write_text(e.addr, std::span<const uint8_t>(jump).first(n)));
  optimizing_list_.erase(std::find(optimizing_list_.begin(), optimizing_list_.end(), &e));
  e.opt.queued = false;
  e.opt.poked = 0;
  e.opt.jumped = true;
}

// proc_kprobes_optimization_handler: optimize_all_kprobes / unoptimize_all_kprobes.
void KprobeManager::set_optimization(bool on) {
  assert_not_in_handler("kprobes-optimization");
  if (on == allow_optimization_) return;
  allow_optimization_ = on;
  for (auto& b : buckets_) {
    for (KprobeEntry* e : b) {
      if (on) {
        optimize_kprobe(*e);
      } else {
        unoptimize_kprobe(*e);
        e->opt.why_not = OptRefusal::SysctlOff;
      }
    }
  }
}

// opt_pre_handler: every enabled child's pre handler; return values are ignored (an optimized
// probe cannot redirect execution).
void KprobeManager::opt_pre_handler(KprobeEntry& e, KprobeCtlblk& kcb, Regs& regs) {
  for (Kprobe* k : e.children) {
    if (e.aggregated && k->disabled()) continue;
    ++k->nhit;
    if (!k->pre_handler) continue;
    kcb.instance = k;
    ++in_handler_;
    k->pre_handler(*k, regs);
    --in_handler_;
    kcb.instance = nullptr;
  }
}

HitResult KprobeManager::optimized_callback(HitContext ctx, uint64_t op, Regs& regs) {
  const HitResult done{HitDisposition::Handled, HitKind::Optimized, cost(ProbePath::Optimized)};
  auto it = by_detour_.find(op);
  if (it == by_detour_.end()) return done;  // a detour freed while a CPU was inside it
  KprobeEntry& e = *it->second;
  if (e.disabled()) return done;  // being unoptimized (Linux: delayed unoptimizing)
  KprobeHitScope scope(*this, ctx);
  KprobeCtlblk& kcb = scope.kcb();
  if (kcb.current) {
    inc_nmissed(e);
    return {HitDisposition::Handled, HitKind::Missed, done.cost};
  }
  arch_->optimized_regs(e.addr, regs);
  kcb.current = &e;
  kcb.status = KprobeStatus::HitActive;
  opt_pre_handler(e, kcb, regs);
  kcb.current = nullptr;
  return done;
}

std::optional<GuestAddr> KprobeManager::optprobe_addr(uint64_t op) const {
  auto it = by_detour_.find(op);
  if (it == by_detour_.end()) return std::nullopt;
  return it->second->addr;
}

void KprobeManager::fill_opt_info(const KprobeEntry& e, KprobeInfo& i) const {
  i.optimized = e.opt.flag;
  i.jumped = e.opt.jumped;
  i.poked = e.opt.poked;
  i.unpoking = e.opt.unpoking;
  i.unoptimizing = e.opt.unopt_queued;
  i.opt_refusal = e.opt.flag ? OptRefusal::None : optimize_check(e);
  i.opt_size = e.opt.size;
  i.early = e.opt.early;
  if (!e.opt.prepared) return;
  i.detour = e.opt.detour;
  i.detour_bytes.resize(arch_->optinsn_slot_size());
  if (!mem_.read(e.opt.detour, i.detour_bytes)) i.detour_bytes.clear();
  const size_t used = arch_->detour_copy_offset() + e.opt.size + arch_->optimized_jump_size();
  if (i.detour_bytes.size() > used) i.detour_bytes.resize(used);
}

}  // namespace probesim::probes
