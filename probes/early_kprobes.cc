// KprobeManager: early kprobes (seed 002: Wang Nan's RFC "kprobes: core logic of early
// kprobes", 2015, never merged; kernel-probes.md §3.6). Before init_kprobes no breakpoint
// handling exists, so register_kprobe installs the probe at once as an optprobe branch whose
// detour buffer comes from a static pool in the image (CONFIG_NR_EARLY_KPROBES_SLOTS), and
// keeps it on early_kprobe_hlist; init_kprobes converts them into ordinary (optimized)
// kprobes in the hash table. get_kprobe looks in the early list until kprobes_initialized.
//
// The RFC's register_early_kprobe, in its order:
// - a post handler -> -EINVAL; KPROBE_FLAG_DISABLED -> -EINVAL;
// - no free static slot -> -ENOMEM, logged "No enough early kprobe slots.";
// - arch_prepare_kprobe's errors as for any kprobe;
// - arch_prepare_optimized_kprobe's refusals with x86 opt.c's errnos (can_optimize fails:
//   -EILSEQ; an instruction that cannot run in the detour: -EINVAL; out of branch range:
//   -ERANGE), logged "Failed to prepare optimized kprobe.";
// - the jump is written in one go (early boot: one CPU, no breakpoint step is possible);
// - early probes ignore debug.kprobes-optimization (optimize_kprobe's early branch).
// Differences, on purpose (the RFC leaves these open):
// - check_kprobe_address_safe runs at registration (-EINVAL for blacklisted text) instead of
//   panicking at conversion: a branch on optimized_callback's own path would recurse forever;
// - a second early probe at the address, or inside another one's jump, is -EBUSY (the RFC
//   would prepare again over the jump; early probes cannot aggregate: there is no int3 path);
// - at conversion, a machine booted with optimization off unoptimizes them (the sysctl's off
//   switch, applied as soon as it exists).
#include <algorithm>
#include <cerrno>

#include "probes/kprobe_manager.h"
#include "probesim/assert.h"

namespace probesim::probes {
namespace {

struct RefusalErrno {
  OptRefusal refusal;
  int err;
};
// arch_prepare_optimized_kprobe's return values (arch/x86/kernel/kprobes/opt.c).
constexpr RefusalErrno kPrepareErrno[] = {
    {OptRefusal::NoArchSupport, ENOSYS},     {OptRefusal::NoCallback, ENOSYS},
    {OptRefusal::NotInFunction, EILSEQ},     {OptRefusal::CrossesFunctionEnd, EILSEQ},
    {OptRefusal::Undecodable, EILSEQ},       {OptRefusal::IndirectJump, EILSEQ},
    {OptRefusal::JumpIntoRange, EILSEQ},     {OptRefusal::NotRelocatable, EINVAL},
    {OptRefusal::DetourOutOfRange, ERANGE},  {OptRefusal::NoDetourSlot, ENOMEM},
};

int prepare_errno(OptRefusal r) {
  for (const RefusalErrno& e : kPrepareErrno)
    if (e.refusal == r) return e.err;
  return EINVAL;
}

}  // namespace

void KprobeManager::set_early_kprobe_slots(GuestAddr base, size_t stride, size_t count) {
  PROBESIM_ASSERT_MSG(stride >= arch_->optinsn_slot_size(),
                      "early kprobe slots are smaller than a detour buffer");
  early_pool_ = base;
  early_stride_ = stride;
  early_used_.assign(count, false);
}

void KprobeManager::printk(const std::string& line) const {
  if (printk_) printk_(line);
}

std::optional<GuestAddr> KprobeManager::alloc_early_slot() {
  auto it = std::find(early_used_.begin(), early_used_.end(), false);
  if (it == early_used_.end()) return std::nullopt;
  *it = true;
  return early_pool_ + static_cast<uint64_t>(it - early_used_.begin()) * early_stride_;
}

// ek_free_early_kprobe: the slot is free again (never reused: only boot allocates).
void KprobeManager::free_early_slot(GuestAddr slot) {
  const uint64_t i = (slot.value - early_pool_.value) / early_stride_;
  PROBESIM_ASSERT(i < early_used_.size() && early_used_[i]);
  early_used_[i] = false;
}

size_t KprobeManager::early_slots_free() const {
  return static_cast<size_t>(std::count(early_used_.begin(), early_used_.end(), false));
}

// The checks before any slot is taken (the RFC's, then the two we add).
Result<void> KprobeManager::check_early_kprobe(const Kprobe& p) const {
  if (p.post_handler)
    return Error::make("an early kprobe cannot have a post handler (it is a branch)", EINVAL);
  if (p.flags & kKprobeFlagDisabled)
    return Error::make("an early kprobe cannot be registered disabled", EINVAL);
  if (auto r = check_address_safe(p.addr); !r) return r;
  if (get_kprobe(p.addr) || get_optimized_kprobe(p.addr))
    return Error::make("another early kprobe's jump covers this address", EBUSY);
  return {};
}

// arch_prepare_optimized_kprobe's checks for the early probe e (no other early probe may sit
// inside the replaced bytes: the RFC's arch_check_optimized_kprobe, an error here).
Result<OptPrep> KprobeManager::prepare_early_jump(const KprobeEntry& e) const {
  OptPrep prep = arch_->prepare_optimized(e.addr, original_text(), syms_);
  if (prep.refusal == OptRefusal::None && opt_callback_.value == 0)
    prep.refusal = OptRefusal::NoCallback;
  if (prep.refusal != OptRefusal::None) {
    printk("Failed to prepare optimized kprobe.");
    return Error::make("an early kprobe must be a branch, but " +
                           std::string(opt_refusal_text(prep.refusal)),
                       prepare_errno(prep.refusal));
  }
  auto next = entries_.upper_bound(e.addr.value);
  if (next != entries_.end() && next->first < e.addr.value + prep.size)
    return Error::make("another early kprobe is inside this one's jump", EBUSY);
  return prep;
}

// Writes the detour into static slot `slot`, then the jump over the probed bytes in one go
// (early boot: one CPU; text_poke_early).
Result<void> KprobeManager::install_early_kprobe(KprobeEntry& e, GuestAddr slot) {
  const OptPrep prep = PROBESIM_TRY(prepare_early_jump(e));
  auto bytes = arch_->detour_contents(prep, e.addr, slot, slot.value, opt_callback_);
  if (!bytes) {
    printk("Failed to prepare optimized kprobe.");
    return Error::make(bytes.error().message, ERANGE);
  }
  PROBESIM_ASSERT(mem_.write_text(slot, *bytes));
  e.opt.prepared = e.opt.early = true;
  e.opt.detour = slot;
  e.opt.size = prep.size;
  by_detour_[slot.value] = &e;
  const size_t n = arch_->opcode_size(), tail = jump_tail();
  PROBESIM_ASSERT(mem_.read(e.addr, std::span<uint8_t>(e.opcode.data(), n)));
  PROBESIM_ASSERT(mem_.read(e.addr + n, std::span<uint8_t>(e.opt.copied_insn).first(tail)));
  PROBESIM_ASSERT(mem_.write_text(e.addr, arch_->optimized_jump(e.addr, slot)));
  e.armed = e.opt.flag = e.opt.jumped = true;
  return {};
}

// register_early_kprobe (p.addr is resolved).
Result<void> KprobeManager::register_early_kprobe(Kprobe& p) {
  if (auto r = check_early_kprobe(p); !r) return r;
  const std::optional<GuestAddr> slot = alloc_early_slot();
  if (!slot) {
    printk("No enough early kprobe slots.");
    return Error::make("no free early kprobe slot (CONFIG_NR_EARLY_KPROBES_SLOTS = " +
                           std::to_string(early_used_.size()) + ")",
                       ENOMEM);
  }
  p.nmissed = 0;
  p.nhit = 0;
  auto e = std::make_unique<KprobeEntry>();
  e->addr = p.addr;
  e->children.push_back(&p);
  if (auto r = prepare_entry(*e, p); !r) {
    printk("arch_prepare_kprobe failed");
    free_early_slot(*slot);
    return r;
  }
  if (auto r = install_early_kprobe(*e, *slot); !r) {
    remove_slot(*e);
    free_early_slot(*slot);
    return r;
  }
  p.owner_ = this;
  KprobeEntry* entry = entries_.emplace(p.addr.value, std::move(e)).first->second.get();
  early_list_.insert(early_list_.begin(), entry);  // hlist_add_head_rcu
  return {};
}

// init_kprobes: convert_early_kprobes (early_kprobe_hlist -> kprobe_table), then
// kprobes_initialized.
size_t KprobeManager::init_kprobes() {
  assert_not_in_handler("init_kprobes");
  PROBESIM_ASSERT_MSG(!initialized_, "init_kprobes ran twice");
  const std::vector<KprobeEntry*> early = std::move(early_list_);
  early_list_.clear();
  for (KprobeEntry* e : early) hash_insert(e);
  initialized_ = true;
  if (!allow_optimization_) {
    for (KprobeEntry* e : early) {
      unoptimize_kprobe(*e);
      e->opt.why_not = OptRefusal::SysctlOff;
    }
  }
  return early.size();
}

}  // namespace probesim::probes
