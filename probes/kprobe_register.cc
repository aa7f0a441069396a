// KprobeManager: register / unregister / aggregate / enable / disable (Linux kernel/kprobes.c
// v5.12: register_kprobe, register_aggr_kprobe, __unregister_kprobe_top/bottom,
// __disable_kprobe, enable_kprobe, arm_all_kprobes, disarm_all_kprobes, kill_kprobe).
#include <algorithm>
#include <cerrno>

#include "probes/kprobe_manager.h"
#include "probesim/assert.h"

namespace probesim::probes {

// _kprobe_addr: exactly one of addr / symbol_name; the offset applies to either.
Result<GuestAddr> KprobeManager::kprobe_addr(const Kprobe& p) const {
  const bool has_sym = !p.symbol_name.empty();
  const bool has_addr = p.addr.value != 0;
  if (has_sym == has_addr) {
    return Error::make("kprobe needs exactly one of addr or symbol_name (clear addr before "
                       "re-registering a symbol probe)", EINVAL);
  }
  if (!has_sym) return p.addr + p.offset;
  const auto sym = syms_.lookup(p.symbol_name);
  if (!sym) return Error::make("unknown kernel symbol '" + p.symbol_name + "'", ENOENT);
  return sym->addr + p.offset;
}

// check_kprobe_address_safe (the parts that exist in our machine).
Result<void> KprobeManager::check_address_safe(GuestAddr addr) const {
  if (!syms_.is_kernel_text(addr)) return Error::make("address is not kernel text", EINVAL);
  if (syms_.is_blacklisted(addr) || (trampoline_.value != 0 && addr == trampoline_)) {
    return Error::make("address is in the kprobe blacklist", EINVAL);
  }
  return {};
}

// arch_prepare_kprobe: decode, get a slot, write the copy.
Result<void> KprobeManager::prepare_entry(KprobeEntry& e, const Kprobe& first) {
  auto insn = arch_->prepare(e.addr, original_text(), syms_);
  if (!insn) return insn.take_error();
  e.insn = *insn;
  if (!e.insn.needs_slot) return {};
  auto slot = slots_->get_slot();
  if (!slot) return slot.take_error();
  const bool boost = config_.boost && e.insn.boostable && !first.post_handler;
  auto bytes = arch_->slot_contents(e.insn, e.addr, *slot, boost);
  if (!bytes || !mem_.write_text(*slot, *bytes)) {
    slots_->free_slot(*slot, SlotFree::Clean);
    if (!bytes) return bytes.take_error();
    return Error::make("cannot write the insn slot", ENOMEM);
  }
  e.slot = *slot;
  e.boosted = e.ever_boosted = boost;
  return {};
}

// arch_remove_kprobe: boosted slots may still be executed by a CPU: free them DIRTY.
void KprobeManager::remove_slot(KprobeEntry& e) {
  remove_optimized_kprobe(e);
  if (e.slot.value == 0) return;
  slots_->free_slot(e.slot, e.ever_boosted ? SlotFree::Dirty : SlotFree::Clean);
  e.slot = GuestAddr{};
  e.boosted = false;
}

// A post handler forbids boosting: turn the slot's `jmp back` into the step trap.
void KprobeManager::unboost(KprobeEntry& e) {
  if (!e.boosted) return;
  auto bytes = arch_->slot_contents(e.insn, e.addr, e.slot, false);
  PROBESIM_ASSERT(bytes.ok() && mem_.write_text(e.slot, *bytes));
  e.boosted = false;
}

Result<void> KprobeManager::register_kprobe(Kprobe& p) {
  PROBESIM_TRY_VOID(register_kprobe_prepare(p));
  return initialized_ ? register_kprobe_arm(p) : Result<void>{};
}

// register_kprobe up to the text write: checks, arch_prepare_kprobe, the table.
Result<void> KprobeManager::register_kprobe_prepare(Kprobe& p) {
  assert_not_in_handler("register_kprobe");
  auto addr = kprobe_addr(p);
  if (!addr) return addr.take_error();
  p.addr = *addr;
  if (p.owner_ != nullptr) return Error::make("kprobe is already registered", EINVAL);
  if (!initialized_) return register_early_kprobe(p);
  p.flags &= kKprobeFlagDisabled;
  p.nmissed = 0;
  p.nhit = 0;
  if (auto r = check_address_safe(p.addr); !r) return r;
  if (KprobeEntry* old = get_kprobe(p.addr)) return register_aggr_kprobe(*old, p);

  auto e = std::make_unique<KprobeEntry>();
  e->addr = p.addr;
  e->children.push_back(&p);
  if (auto r = prepare_entry(*e, p); !r) return r;
  e->arm_pending = true;
  p.owner_ = this;
  hash_insert(e.get());
  entries_.emplace(p.addr.value, std::move(e));
  return {};
}

// The rest of register_kprobe: arm_kprobe (the breakpoint, under text_mutex), then
// try_to_optimize_kprobe. An arming failure unregisters the probe (Linux: hlist_del_rcu).
Result<void> KprobeManager::register_kprobe_arm(Kprobe& p) {
  assert_not_in_handler("register_kprobe");
  KprobeEntry* e = valid_entry_of(p);
  if (!e || !e->arm_pending) return {};
  e->arm_pending = false;
  if (!all_disarmed_ && !e->disabled()) {
    if (auto r = arm_kprobe(*e); !r) {
      unregister_kprobe(p);
      return r;
    }
  }
  try_to_optimize_kprobe(*e);
  optimize_kprobe(*e);
  return {};
}

// register_aggr_kprobe: the second probe at an address makes the entry an aggregate.
Result<void> KprobeManager::register_aggr_kprobe(KprobeEntry& ap, Kprobe& p) {
  if (ap.children.empty() && !p.disabled()) {
    // reuse_unused_kprobe: unregistered under delayed unoptimizing; enable it again (the jump
    // is kept while still queued).
    ap.aggr_flags &= ~kKprobeFlagDisabled;
    optimize_kprobe(ap);
  }
  if (!ap.aggregated) {
    ap.aggr_flags = ap.children.front()->flags & ~kKprobeFlagOptimized;  // init_aggr_kprobe
    ap.aggregated = true;
  }
  if (ap.gone()) {
    // The text came back (e.g. a module reloaded): prepare again, keep it disabled until armed.
    if (auto r = prepare_entry(ap, p); !r) return r;
    ap.aggr_flags = (ap.aggr_flags & ~kKprobeFlagGone) | kKprobeFlagDisabled;
    ap.armed = false;
  }
  if (p.post_handler) {
    unoptimize_kprobe(ap);  // unoptimize_kprobe(ap, true)
    unboost(ap);
  }
  ap.children.insert(ap.children.begin(), &p);  // list_add_rcu: newest first
  p.owner_ = this;
  if (ap.disabled() && !p.disabled()) {
    ap.aggr_flags &= ~kKprobeFlagDisabled;
    if (!all_disarmed_) {
      if (auto r = arm_kprobe(ap); !r) {
        ap.aggr_flags |= kKprobeFlagDisabled;
        ap.children.erase(ap.children.begin());
        p.owner_ = nullptr;
        return r;
      }
    }
  }
  optimize_kprobe(ap);  // a no-op unless it just got armed (__arm_kprobe's optimize_kprobe)
  return {};
}

KprobeEntry* KprobeManager::valid_entry_of(const Kprobe& p) const {
  if (p.owner_ != this) return nullptr;
  KprobeEntry* e = get_kprobe(p.addr);
  PROBESIM_ASSERT(e && std::find(e->children.begin(), e->children.end(), &p) != e->children.end());
  return e;
}

// __disable_kprobe: mark p disabled; disarm the address when nothing there is enabled.
Result<KprobeEntry*> KprobeManager::disable_locked(Kprobe& p) {
  KprobeEntry* e = valid_entry_of(p);
  if (!e) return Error::make("kprobe is not registered", EINVAL);
  if (p.disabled()) return e;
  if (e->aggregated) p.flags |= kKprobeFlagDisabled;
  const bool all_children_disabled = std::all_of(
      e->children.begin(), e->children.end(), [](const Kprobe* k) { return k->disabled(); });
  if (!e->aggregated || all_children_disabled) {
    if (!all_disarmed_) disarm_kprobe(*e);
    e->flags() |= kKprobeFlagDisabled;
  }
  return e;
}

void KprobeManager::unregister_kprobe(Kprobe& p) {
  assert_not_in_handler("unregister_kprobe");
  auto top = disable_locked(p);
  if (!top) {
    p.addr = GuestAddr{};  // unregister_kprobes on an unknown probe
    return;
  }
  KprobeEntry* e = *top;
  p.owner_ = nullptr;
  const bool last = !e->aggregated || (e->children.size() == 1 && e->disabled());
  if (!last) {
    e->children.erase(std::find(e->children.begin(), e->children.end(), &p));
    // __unregister_kprobe_top: the last post handler left: try to optimize again.
    if (p.post_handler && !e->disabled() && !all_disarmed_) optimize_kprobe(*e);
    return;
  }
  disarm_kprobe(*e);  // normally already disarmed by __disable_kprobe
  if (e->opt.unopt_queued) {
    // Under delayed unoptimizing (!kprobe_disarmed): the entry stays, unused, until the
    // optimizer has put the text back and frees it (unoptimize_poke's Disarm).
    e->aggr_flags = e->flags() | kKprobeFlagDisabled;
    e->aggregated = true;
    e->children.clear();
    return;
  }
  hash_remove(e);
  auto node = entries_.extract(e->addr.value);
  for (Kprobe* k : node.mapped()->children) k->owner_ = nullptr;
  retire(std::move(node.mapped()));
}

Result<void> KprobeManager::register_kprobes(std::span<Kprobe* const> kps) {
  if (kps.empty()) return Error::make("register_kprobes of an empty array", EINVAL);
  for (size_t i = 0; i < kps.size(); ++i) {
    if (auto r = register_kprobe(*kps[i]); !r) {
      unregister_kprobes(kps.first(i));
      return r;
    }
  }
  return {};
}

void KprobeManager::unregister_kprobes(std::span<Kprobe* const> kps) {
  for (Kprobe* p : kps) unregister_kprobe(*p);
}

Result<void> KprobeManager::disable_kprobe(Kprobe& p) {
  assert_not_in_handler("disable_kprobe");
  auto r = disable_locked(p);
  if (!r) return r.take_error();
  return {};
}

Result<void> KprobeManager::enable_kprobe(Kprobe& p) {
  assert_not_in_handler("enable_kprobe");
  KprobeEntry* e = valid_entry_of(p);
  if (!e) return Error::make("kprobe is not registered", EINVAL);
  if (p.gone()) return Error::make("kprobe is gone (its text was freed)", EINVAL);
  if (e->aggregated) p.flags &= ~kKprobeFlagDisabled;
  if (!all_disarmed_ && e->disabled()) {
    e->flags() &= ~kKprobeFlagDisabled;
    if (auto r = arm_kprobe(*e); !r) {
      e->flags() |= kKprobeFlagDisabled;
      return r;
    }
    optimize_kprobe(*e);
  }
  return {};
}

Result<void> KprobeManager::arm_all_kprobes() {
  assert_not_in_handler("arm_all_kprobes");
  if (!all_disarmed_) return {};
  all_disarmed_ = false;
  Result<void> first_error;
  for (auto& b : buckets_) {
    for (KprobeEntry* e : b) {
      if (e->disabled() || e->arm_pending) continue;  // register_kprobe_arm arms it
      if (auto r = arm_kprobe(*e); !r && first_error.ok()) first_error = r;
      optimize_kprobe(*e);
    }
  }
  return first_error;
}

Result<void> KprobeManager::disarm_all_kprobes() {
  assert_not_in_handler("disarm_all_kprobes");
  if (all_disarmed_) return {};
  all_disarmed_ = true;
  for (auto& b : buckets_) {
    for (KprobeEntry* e : b) {
      if (!e->disabled()) disarm_kprobe(*e);
    }
  }
  return {};
}

Result<void> KprobeManager::write_enabled(std::string_view v) {
  if (v.empty()) return Error::make("kprobes/enabled: empty value", EINVAL);
  switch (v.front()) {
    case 'y': case 'Y': case '1': return arm_all_kprobes();
    case 'n': case 'N': case '0': return disarm_all_kprobes();
    default: return Error::make("kprobes/enabled takes 1/y/Y or 0/n/N", EINVAL);
  }
}

// kill_kprobe: the text is gone; mark GONE, free the slot, leave the (dead) text alone.
void KprobeManager::kill_kprobes_in_range(GuestAddr start, uint64_t len) {
  assert_not_in_handler("kill_kprobes_in_range");
  for (auto it = entries_.lower_bound(start.value);
       it != entries_.end() && it->first < start.value + len; ++it) {
    KprobeEntry& e = *it->second;
    e.flags() |= kKprobeFlagGone;
    if (e.aggregated) {
      for (Kprobe* k : e.children) k->flags |= kKprobeFlagGone;
    }
    e.armed = false;
    kill_optimized_kprobe(e);
    if (!referenced_by_cpu(&e)) remove_slot(e);
  }
}

}  // namespace probesim::probes
