#include "mmu/run_batch.h"

#include <algorithm>

#include "mmu/mm.h"
#include "probesim/assert.h"

namespace probesim::mmu {

RunBatch::RunBatch(Mm& mm, GuestAddr lo, GuestAddr hi) : mm_(mm) {
  lo_ = GuestAddr{lo.value >= kPageSize ? lo.value - kPageSize : 0};
  hi_ = GuestAddr{hi.value <= ~uint64_t{0} - kPageSize ? hi.value + kPageSize : ~uint64_t{0}};
  auto it = mm_.vmas_.upper_bound(lo_.value);
  if (it != mm_.vmas_.begin()) --it;
  for (; it != mm_.vmas_.end() && it->second->vm_start < hi_; ++it) {
    const Vma& v = *it->second;
    if (v.vm_end <= lo_) continue;
    lo_ = std::min(lo_, v.vm_start);
    hi_ = std::max(hi_, v.vm_end);
    committed_before_ += Mm::vma_committed(v);
    if (v.emitted.empty()) continue;
    old_.insert(old_.end(), v.emitted.begin(), v.emitted.end());
    keep_alive_.push_back(v.anon ? v.anon : v.vm_file->i_mapping().arena());
    for (const auto& [page, pp] : v.replaced) keep_alive_.push_back(pp.arena);
  }
}

void RunBatch::commit() {
  if (committed_) return;
  committed_ = true;
  std::vector<Run> now;
  uint64_t committed_after = 0;
  auto it = mm_.vmas_.upper_bound(lo_.value);
  if (it != mm_.vmas_.begin()) --it;
  for (; it != mm_.vmas_.end() && it->second->vm_start < hi_; ++it) {
    Vma& v = *it->second;
    if (v.vm_end <= lo_) continue;
    committed_after += Mm::vma_committed(v);
    v.emitted = v.runs();
    now.insert(now.end(), v.emitted.begin(), v.emitted.end());
  }
  // Both lists are sorted by start and non-overlapping: a merge walk pairs equal runs.
  std::vector<const Run*> gone, added;
  size_t i = 0, j = 0;
  while (i < old_.size() || j < now.size()) {
    if (j == now.size() || (i < old_.size() && old_[i].start < now[j].start)) {
      gone.push_back(&old_[i++]);
    } else if (i == old_.size() || now[j].start < old_[i].start) {
      added.push_back(&now[j++]);
    } else if (old_[i] == now[j]) {
      ++i, ++j;
    } else {
      gone.push_back(&old_[i++]);
      added.push_back(&now[j++]);
    }
  }
  if (MmObserver* o = mm_.observer_) {
    for (const Run* r : gone) o->on_unmap(r->start, r->len);
    for (const Run* r : added) o->on_map(r->start, r->len, r->host, r->prot);
  }
  keep_alive_.clear();
  // Every VMA change ends here, inside the span: the commit charge follows it (O(span), not
  // a recount of the mm; Mm::verify checks it against one).
  const uint64_t committed = mm_.committed_ - committed_before_ + committed_after;
  if (Budget* b = mm_.commit_budget_) {
    if (committed > mm_.committed_) b->charge(committed - mm_.committed_);
    if (committed < mm_.committed_) b->uncharge(mm_.committed_ - committed);
  }
  mm_.committed_ = committed;
}

}  // namespace probesim::mmu
