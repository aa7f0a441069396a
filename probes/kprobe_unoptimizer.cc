// KprobeManager: unoptimizing optprobes (Linux kernel/kprobes.c unoptimize_kprobe,
// force_unoptimize_kprobe, do_unoptimize_kprobes, unoptimize_all_kprobes, reuse_unused_kprobe's
// counterpart; arch/x86/kernel/kprobes/opt.c arch_unoptimize_kprobe).
//
// While the optimizer is kernel work (set_optimizer_work), disabling or unregistering a
// jump-optimized probe is Linux's delayed unoptimizing: the probe joins unoptimizing_list and
// the optimizer's steps put the int3 and the tail back, then disarm it (and free it when it was
// unregistered). Otherwise unoptimizing is immediate (the force path, in one host step).
#include <algorithm>

#include "probes/kprobe_manager.h"
#include "probesim/assert.h"

namespace probesim::probes {

// unoptimize_kprobe(p, force). Queued for optimizing: dequeued (a text_poke_bp stopped halfway
// is undone now). Jump-optimized: Delayed queues it for the optimizer, Force writes the int3
// and the tail now (a probe already on unoptimizing_list leaves it).
void KprobeManager::unoptimize_kprobe(KprobeEntry& e, Unoptimize how) {
  // (Jumped or queued without the flag: kprobe_unoptimize_flag_early cleared it.)
  if (!e.opt.flag && !e.opt.jumped && !e.opt.unopt_queued) return;
  if (e.opt.queued) {
    optimizing_list_.erase(std::find(optimizing_list_.begin(), optimizing_list_.end(), &e));
    e.opt.queued = false;
  }
  const bool delayed = how == Unoptimize::Delayed && queue_optimizer_ && e.opt.jumped;
  if (delayed) {
    if (!e.opt.unopt_queued) {
      queue_unoptimizing(e);
      kick_kprobe_optimizer();
    }
    return;
  }
  if (e.opt.unopt_queued) {
    dequeue_unoptimizing(e);
    freeing_list_.push_back(e.addr);  // the optimizer still disarms (frees) it if disabled
    kick_kprobe_optimizer();
  }
  if (tail_written(e)) arch_unoptimize_kprobe(e);  // also a text_poke_bp stopped halfway
  e.opt.poked = 0;
  e.opt.unpoking = false;
  e.opt.flag = false;
}

void KprobeManager::queue_unoptimizing(KprobeEntry& e) {
  PROBESIM_ASSERT(e.opt.jumped && !e.opt.unopt_queued);
  unoptimizing_list_.push_back(&e);
  e.opt.unopt_queued = true;
}

void KprobeManager::dequeue_unoptimizing(KprobeEntry& e) {
  unoptimizing_list_.erase(std::find(unoptimizing_list_.begin(), unoptimizing_list_.end(), &e));
  e.opt.unopt_queued = false;
}

std::vector<GuestAddr> KprobeManager::unoptimize_all_batch(bool flag_early) {
  assert_not_in_handler("kprobes-optimization");
  allow_optimization_ = false;
  for (auto& b : buckets_) {
    for (KprobeEntry* e : b) {
      if (e->opt.jumped && !e->opt.unopt_queued)
        queue_unoptimizing(*e);
      else if (!e->opt.unopt_queued)
        unoptimize_kprobe(*e);  // nothing of a jump in the text yet (or half of one: undone)
      e->opt.why_not = OptRefusal::SysctlOff;
    }
  }
  return unoptimizer_batch(flag_early);
}

std::vector<GuestAddr> KprobeManager::unoptimizer_batch(bool flag_early) {
  std::vector<GuestAddr> out;
  for (KprobeEntry* e : unoptimizing_list_) {
    out.push_back(e->addr);
    if (flag_early) e->opt.flag = false;  // the bug: before the text is restored
  }
  for (GuestAddr a : freeing_list_)
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  freeing_list_.clear();
  return out;
}

std::optional<KprobeManager::UnpokeStep> KprobeManager::unoptimize_next(GuestAddr addr) const {
  const KprobeEntry* e = get_kprobe(addr);
  if (!e) return std::nullopt;
  if (e->opt.unpoking) return UnpokeStep::Tail;
  if (e->opt.unopt_queued && e->opt.jumped) return UnpokeStep::Int3;
  if (e->disabled() && e->armed && !e->opt.jumped) return UnpokeStep::Disarm;
  return std::nullopt;
}

// arch_unoptimize_kprobe's writes as two steps (text_poke of the int3, text_poke_sync, then
// the tail); the flag goes with the last. Then do_unoptimize_kprobes' freeing_list: Disarm.
bool KprobeManager::unoptimize_poke(GuestAddr addr, UnpokeStep step) {
  PROBESIM_ASSERT(in_handler_ == 0);
  if (unoptimize_next(addr) != step) return false;
  KprobeEntry& e = *get_kprobe(addr);
  switch (step) {
    case UnpokeStep::Int3:
      PROBESIM_ASSERT(e.opt.jumped);
      PROBESIM_ASSERT(mem_.write_text(e.addr, arch_->breakpoint()));
      e.opt.unpoking = true;
      break;
    case UnpokeStep::Tail:
      arch_unoptimize_kprobe(e);
      e.opt.unpoking = false;
      e.opt.flag = false;
      dequeue_unoptimizing(e);
      break;
    case UnpokeStep::Disarm:
      disarm_kprobe(e);
      if (e.children.empty()) free_unused(e);
      break;
  }
  return true;
}

// Every step for one probe at once (the in-place optimizer, wait_for_kprobe_optimizer).
void KprobeManager::unoptimize_now(GuestAddr addr) {
  while (auto step = unoptimize_next(addr)) unoptimize_poke(addr, *step);
}

// An entry whose last probe was unregistered under delayed unoptimizing (Linux: kprobe_unused,
// hlist_del_rcu in do_unoptimize_kprobes, freed by do_free_cleaned_kprobes).
void KprobeManager::free_unused(KprobeEntry& e) {
  hash_remove(&e);
  auto node = entries_.extract(e.addr.value);
  retire(std::move(node.mapped()));
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

}  // namespace probesim::probes
