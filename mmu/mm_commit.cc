// Mm's commit accounting (see mm.h, set_commit_budget): which VMAs are charged, the checks
// that run before an operation grows the charge, and the recount (sync_commit: when a budget
// is attached). After every operation RunBatch::commit moves the charge by its span's change,
// so no VMA change escapes it; Mm::verify checks the charge against a recount.
#include <algorithm>

#include "mmu/mm.h"
#include "mmu/vm_flags.h"

namespace probesim::mmu {

// Charged: own memory (anonymous or a private copy) that is, or was, writable. Linux charges
// VM_ACCOUNT VMAs; a VMA keeps VM_ACCOUNT when mprotect takes its write permission away.
uint64_t Mm::vma_committed(const Vma& v) {
  return v.anon && (v.vm_flags & (VM_WRITE | VM_ACCOUNT)) ? v.len() : 0;
}

void Mm::set_commit_budget(Budget* budget) {
  if (commit_budget_) commit_budget_->uncharge(committed_);
  commit_budget_ = budget;
  committed_ = 0;
  sync_commit();
}

bool Mm::commit_fits(uint64_t extra) const {
  return !commit_budget_ || commit_budget_->fits(extra);
}

// The charged bytes of the VMAs' parts inside [start, end) (what a MAP_FIXED mapping there
// would give back first).
uint64_t Mm::committed_in(GuestAddr start, GuestAddr end) const {
  uint64_t bytes = 0;
  auto it = vmas_.upper_bound(start.value);
  if (it != vmas_.begin()) --it;
  for (; it != vmas_.end() && it->second->vm_start < end; ++it) {
    const Vma& v = *it->second;
    if (v.vm_end <= start || !vma_committed(v)) continue;
    bytes += std::min(v.vm_end, end) - std::max(v.vm_start, start);
  }
  return bytes;
}

// What mprotect(start, end, prot) would add: the uncharged parts that become writable own
// memory (anonymous, or a private file mapping that gets its private copy).
uint64_t Mm::mprotect_commit_extra(GuestAddr start, GuestAddr end, int prot) const {
  if (!(prot & kProtWrite)) return 0;
  uint64_t extra = 0;
  for (GuestAddr at = start; at < end;) {
    const Vma* v = vma_at(at);
    if (!v) break;
    const GuestAddr piece_end = std::min(v->vm_end, end);
    const bool own = v->anon || !(v->vm_flags & VM_MAYSHARE);
    if (own && !vma_committed(*v)) extra += piece_end - at;
    at = piece_end;
  }
  return extra;
}

void Mm::sync_commit() {
  uint64_t now = 0;
  for (const auto& [start, v] : vmas_) now += vma_committed(*v);
  if (commit_budget_) {
    if (now > committed_) commit_budget_->charge(now - committed_);
    if (now < committed_) commit_budget_->uncharge(committed_ - now);
  }
  committed_ = now;
}

}  // namespace probesim::mmu
