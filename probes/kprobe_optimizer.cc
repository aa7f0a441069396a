// KprobeManager: optprobes (Linux kernel/kprobes.c CONFIG_OPTPROBES half: try_to_optimize_kprobe,
// optimize_kprobe, unoptimize_kprobe, kprobe_optimizer, get_optimized_kprobe,
// proc_kprobes_optimization_handler, and arch/x86/kernel/kprobes/opt.c's optimized_callback,
// arch_optimize_kprobes, arch_unoptimize_kprobe).
//
// Differences from Linux, on purpose: unoptimizing is always immediate (Linux defers the
// non-forced cases to the optimizer; we do what its force path does), and the optimizer's
// synchronize_rcu_tasks is a check instead of a wait: a probe whose replaced bytes some CPU or
// preempted task is executing stays queued until the next round.
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

void KprobeManager::optimize_kprobe(KprobeEntry& e) {
  if (e.opt.flag) return;
  e.opt.why_not = optimize_check(e);
  if (e.opt.why_not != OptRefusal::None) return;
  e.opt.flag = true;
  e.opt.queued = true;
  optimizing_list_.push_back(&e);
  kick_kprobe_optimizer();
}

// unoptimize_kprobe(p, force = true): dequeue, or put the int3 back now.
void KprobeManager::unoptimize_kprobe(KprobeEntry& e) {
  if (!e.opt.flag) return;
  if (e.opt.queued) {
    optimizing_list_.erase(std::find(optimizing_list_.begin(), optimizing_list_.end(), &e));
    e.opt.queued = false;
  }
  if (e.opt.jumped) arch_unoptimize_kprobe(e);
  e.opt.flag = false;
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

void KprobeManager::run_optimizer_if_due(Cycles now) {
  if (optimizer_due_ && now >= *optimizer_due_) kprobe_optimizer();
}

void KprobeManager::wait_for_optimizer() {
  assert_not_in_handler("wait_for_kprobe_optimizer");
  if (optimizer_due_) kprobe_optimizer();
}

// kprobe_optimizer (do_optimize_kprobes): every queued probe whose replaced bytes nobody is
// executing gets its jump; the others wait for the next round.
void KprobeManager::kprobe_optimizer() {
  PROBESIM_ASSERT(in_handler_ == 0);
  optimizer_due_.reset();
  std::vector<KprobeEntry*> waiting;
  for (KprobeEntry* e : optimizing_list_) {
    if (!arch_optimize_kprobe(*e)) waiting.push_back(e);
  }
  optimizing_list_ = std::move(waiting);
  if (!optimizing_list_.empty()) kick_kprobe_optimizer();
}

// Bytes of the jump beyond the breakpoint (x86: the rel32; arm64: none, B replaces BRK).
size_t KprobeManager::jump_tail() const {
  return arch_->optimized_jump_size() - arch_->opcode_size();
}

// arch_optimize_kprobes for one probe. x86, through text_poke_bp's three writes: int3 at the
// first byte (already there: it is an armed kprobe), the rel32 tail, then the E9 opcode.
// arm64: one single-copy-atomic word.
bool KprobeManager::arch_optimize_kprobe(KprobeEntry& e) {
  PROBESIM_ASSERT(e.opt.queued && e.armed && e.opt.prepared);
  const size_t n = arch_->opcode_size(), tail = jump_tail();
  if (tail != 0 && pc_in_range_ && pc_in_range_(e.addr + n, e.opt.size - n)) return false;
  const std::vector<uint8_t> jump = arch_->optimized_jump(e.addr, e.opt.detour);
  if (tail != 0) {
    const bool ok = mem_.read(e.addr + n, std::span<uint8_t>(e.opt.copied_insn).first(tail));
    PROBESIM_ASSERT_MSG(ok, "reading the text under an optprobe failed");
    PROBESIM_ASSERT(mem_.write_text(e.addr, arch_->breakpoint()));
    PROBESIM_ASSERT(mem_.write_text(e.addr + n, std::span<const uint8_t>(jump).subspan(n)));
  }
  PROBESIM_ASSERT(mem_.write_text(e.addr, std::span<const uint8_t>(jump).first(n)));
  e.opt.queued = false;
  e.opt.jumped = true;
  return true;
}

// arch_unoptimize_kprobe: the breakpoint at the first byte, then the saved bytes after it.
void KprobeManager::arch_unoptimize_kprobe(KprobeEntry& e) {
  PROBESIM_ASSERT(mem_.write_text(e.addr, arch_->breakpoint()));
  const size_t tail = jump_tail();
  if (tail != 0) {
    PROBESIM_ASSERT(mem_.write_text(e.addr + arch_->opcode_size(),
                                    std::span<const uint8_t>(e.opt.copied_insn).first(tail)));
  }
  e.opt.jumped = false;
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
