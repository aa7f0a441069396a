// KprobeManager: construction, the probe table, arming, and inspection.
#include "probes/kprobe_manager.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "probesim/assert.h"

namespace probesim::probes {

unsigned kprobe_hash(GuestAddr addr) {
  constexpr uint64_t kGoldenRatio64 = 0x61C8864680B583EBull;  // include/linux/hash.h
  return static_cast<unsigned>((addr.value * kGoldenRatio64) >> (64 - kKprobeHashBits));
}

KprobeManager::KprobeManager(Arch arch, KernelMemory& mem, const SymbolSource& syms,
                             KprobeConfig config)
    : arch_kind_(arch),
      mem_(mem),
      syms_(syms),
      config_(config),
      arch_(KprobeArch::create(arch)),
      slots_(std::make_unique<InsnSlotCache>(mem, arch_->insn_slot_size())),
      cpus_(std::max<uint32_t>(config.ncpus, 1)) {
  config_.ncpus = static_cast<uint32_t>(cpus_.size());
  if (arch_->optinsn_slot_size() != 0)
    optinsn_slots_ = std::make_unique<InsnSlotCache>(mem, arch_->optinsn_slot_size(),
                                                     "kprobe_optinsn_page");
  allow_optimization_ = config.optimize;
  initialized_ = config.initialized;
  for (size_t p = 0; p < path_cost_.size(); ++p)
    path_cost_[p] = scale_cycles(probe_path_cycles(arch, static_cast<ProbePath>(p), config_.clock_hz),
                                 config_.cost_scale);
}

KprobeManager::~KprobeManager() {
  // Registered probes keep back-pointers to us: detach them (the machine is going away, so
  // the text is not restored).
  for (auto& [addr, e] : entries_) {
    for (Kprobe* k : e->children) k->owner_ = nullptr;
  }
}

// get_kprobe: the early list until kprobes_initialized (the RFC), then the table.
KprobeEntry* KprobeManager::get_kprobe(GuestAddr addr) const {
  if (!initialized_) {
    auto e = std::find_if(early_list_.begin(), early_list_.end(),
                          [addr](const KprobeEntry* p) { return p->addr == addr; });
    return e == early_list_.end() ? nullptr : *e;
  }
  auto it = entries_.find(addr.value);
  return it == entries_.end() ? nullptr : it->second.get();
}

void KprobeManager::hash_insert(KprobeEntry* e) {
  auto& b = buckets_[kprobe_hash(e->addr)];
  b.insert(b.begin(), e);  // hlist_add_head_rcu
}

void KprobeManager::hash_remove(KprobeEntry* e) {
  auto& b = buckets_[kprobe_hash(e->addr)];
  b.erase(std::find(b.begin(), b.end(), e));
}

KprobeCtlblk& KprobeManager::ctlblk(CpuId cpu) {
  PROBESIM_ASSERT_MSG(cpu.value < cpus_.size(), "kprobe hit on a CPU beyond KprobeConfig::ncpus");
  return cpus_[cpu.value];
}

const KprobeCtlblk& KprobeManager::ctlblk(CpuId cpu) const {
  PROBESIM_ASSERT(cpu.value < cpus_.size());
  return cpus_[cpu.value];
}

void KprobeManager::assert_not_in_handler(const char* what) const {
  PROBESIM_ASSERT_MSG(in_handler_ == 0,
                      std::string(what) + " called from inside a probe handler (Linux forbids "
                                          "it: kprobe_mutex would deadlock)");
}

// __arm_kprobe: a probe whose jump covers this address goes back to int3 first; then
// arch_arm_kprobe saves the original bytes and writes the breakpoint (text_poke). The caller
// tries optimize_kprobe once the entry is in the table.
Result<void> KprobeManager::arm_kprobe(KprobeEntry& e) {
  if (e.armed) return {};
  if (KprobeEntry* cover = get_optimized_kprobe(e.addr)) unoptimize_kprobe(*cover);
  const auto bp = arch_->breakpoint();
  if (!mem_.read(e.addr, std::span<uint8_t>(e.opcode.data(), bp.size())) ||
      !mem_.write_text(e.addr, bp)) {
    return Error::make("cannot write the breakpoint into kernel text", EINVAL);
  }
  e.armed = true;
  return {};
}

// __disarm_kprobe: unoptimize (forced under global disarm, else delayed: then the optimizer
// disarms it after unoptimizing), arch_disarm_kprobe puts the original bytes back, and a
// probe whose jump this one blocked is optimized again.
void KprobeManager::disarm_kprobe(KprobeEntry& e) {
  unoptimize_kprobe(e, all_disarmed_ ? Unoptimize::Force : Unoptimize::Delayed);
  if (!e.armed || e.opt.unopt_queued) return;
  const bool ok = mem_.write_text(e.addr, std::span<const uint8_t>(e.opcode.data(),
                                                                   arch_->opcode_size()));
  PROBESIM_ASSERT_MSG(ok, "restoring kernel text under a kprobe failed");
  e.armed = false;
  if (KprobeEntry* cover = get_optimized_kprobe(e.addr)) optimize_kprobe(*cover);
}

bool KprobeManager::read_original(GuestAddr addr, std::span<uint8_t> out) const {
  if (!mem_.read(addr, out)) return false;
  const uint64_t lo = addr.value, hi = addr.value + out.size();
  const size_t n = arch_->opcode_size();
  auto overlay = [&](uint64_t at, const uint8_t* orig) {
    for (size_t i = 0; i < n; ++i) {
      if (at + i >= lo && at + i < hi) out[at + i - lo] = orig[i];
    }
  };
  // Entries that could overlap: those starting in [lo - n + 1, hi).
  for (auto it = entries_.lower_bound(lo >= n ? lo - n + 1 : 0);
       it != entries_.end() && it->first < hi; ++it) {
    if (it->second->armed) overlay(it->first, it->second->opcode.data());
  }
  // __recover_optprobed_insn: the bytes under a jump's rel32.
  for (auto it = entries_.lower_bound(lo >= 5 ? lo - 4 : 0); it != entries_.end() && it->first < hi;
       ++it) {
    const KprobeEntry& e = *it->second;
    if (!tail_written(e)) continue;
    for (size_t i = 0; i < jump_tail(); ++i) {
      const uint64_t at = e.addr.value + n + i;
      if (at >= lo && at < hi) out[at - lo] = e.opt.copied_insn[i];
    }
  }
  if (trampoline_written_ && trampoline_.value + n > lo && trampoline_.value < hi) {
    overlay(trampoline_.value, trampoline_opcode_.data());
  }
  return true;
}

bool KprobeManager::is_probe_code(GuestAddr a) const {
  if (slots_->is_slot_addr(a) || (optinsn_slots_ && optinsn_slots_->is_slot_addr(a))) return true;
  if (a.value >= early_pool_.value && a.value < early_pool_.value + early_stride_ * early_used_.size())
    return true;
  for (GuestAddr f : {trampoline_, opt_callback_}) {
    if (f.value == 0) continue;
    const std::optional<FunctionSymbol> s = syms_.function_containing(f);
    if (s && a.value >= s->addr.value && a.value < s->addr.value + s->size) return true;
  }
  return false;
}

TextReader KprobeManager::original_text() const {
  return [this](GuestAddr a, std::span<uint8_t> out) { return read_original(a, out); };
}

std::optional<KprobeInfo> KprobeManager::info(GuestAddr addr) const {
  const KprobeEntry* e = get_kprobe(addr);
  if (!e) return std::nullopt;
  KprobeInfo i;
  i.addr = e->addr;
  i.aggregated = e->aggregated;
  i.flags = e->flags();
  i.armed = e->armed;
  i.step = e->insn.step;
  i.slot = e->slot;
  i.boosted = e->boosted;
  i.opcode.assign(e->opcode.begin(), e->opcode.begin() + arch_->opcode_size());
  if (!e->armed) read_original(addr, i.opcode);
  i.children.assign(e->children.begin(), e->children.end());
  fill_opt_info(*e, i);
  if (i.optimized) i.flags |= kKprobeFlagOptimized;
  return i;
}

std::vector<GuestAddr> KprobeManager::addresses() const {
  std::vector<GuestAddr> out;
  for (const auto& b : buckets_) {
    for (const KprobeEntry* e : b) out.push_back(e->addr);
  }
  return out;
}

bool KprobeManager::referenced_by_cpu(const KprobeEntry* e) const {
  return std::any_of(cpus_.begin(), cpus_.end(), [e](const KprobeCtlblk& k) {
    return k.current == e || k.prev.kp == e;
  });
}

bool KprobeManager::stepping_unregistered() const {
  return std::any_of(retired_.begin(), retired_.end(),
                     [this](const auto& e) { return referenced_by_cpu(e.get()); });
}

// The entry is out of the table; free it now unless a CPU is still stepping it (Linux waits
// in synchronize_rcu; our CPUs are paused mid-step, so we defer instead).
void KprobeManager::retire(std::unique_ptr<KprobeEntry> e) {
  for (Kprobe* k : e->children) PROBESIM_ASSERT(k->owner_ == nullptr);
  e->aggr_flags = e->flags();
  e->children.clear();
  if (referenced_by_cpu(e.get())) {
    retired_.push_back(std::move(e));
    return;
  }
  remove_slot(*e);
}

void KprobeManager::reap_retired() {
  for (auto it = retired_.begin(); it != retired_.end();) {
    if (referenced_by_cpu(it->get())) {
      ++it;
      continue;
    }
    remove_slot(**it);
    it = retired_.erase(it);
  }
}

}  // namespace probesim::probes
