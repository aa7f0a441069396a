// Mm: construction, lookup, observer attachment, verify (see mm.h). The syscalls live in
// mm_mmap.cc, mm_mprotect.cc, mm_brk.cc and mm_access.cc; VMA surgery in mm_vma_ops.cc.
#include "mmu/mm.h"

#include <algorithm>

#include "mmu/address_space.h"
#include "mmu/inode_cache.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"

namespace probesim::mmu {
namespace {

GuestAddr window_start_for(const MmLayout& l) {
  const uint64_t base = l.mmap_base.value;
  const uint64_t bytes = page_align_down(l.anon_window_bytes);
  return GuestAddr{base > bytes ? base - bytes : 0};
}

}  // namespace

Mm::Mm(MmLayout layout) : layout_(layout), anon_(window_start_for(layout), layout.mmap_base) {
  PROBESIM_ASSERT(page_aligned(layout.mmap_base.value) && page_aligned(layout.task_size.value));
  PROBESIM_ASSERT(layout.mmap_base <= layout.task_size);
}

Mm::~Mm() {
  if (commit_budget_) commit_budget_->uncharge(committed_);
  for (auto& [start, v] : vmas_) {
    if (v->vm_file) v->vm_file->i_mapping().i_mmap().remove(v.get());
  }
  vmas_.clear();  // each Vma's destructor drops its inode reference
}

void Mm::set_observer(MmObserver* o) {
  observer_ = o;
  if (!o) return;
  for (auto& [start, v] : vmas_) {
    for (const Run& r : v->emitted) o->on_map(r.start, r.len, r.host, r.prot);
  }
}

const Vma* Mm::find_vma(GuestAddr addr) const {
  auto it = vmas_.upper_bound(addr.value);
  if (it != vmas_.begin()) {
    auto prev = std::prev(it);
    if (prev->second->vm_end > addr) return prev->second.get();
  }
  return it == vmas_.end() ? nullptr : it->second.get();
}

uint64_t Mm::exec_map_count() const {
  uint64_t n = 2 * pool_.in_use();
  for (const auto& [start, v] : vmas_) n += (v->vm_flags & VM_EXEC) ? 1 : 0;
  return n;
}

const Vma* Mm::vma_at(GuestAddr addr) const {
  const Vma* v = find_vma(addr);
  return v && v->vm_start <= addr ? v : nullptr;
}

Vma* Mm::vma_at_mut(GuestAddr addr) {
  return const_cast<Vma*>(vma_at(addr));
}

std::vector<const Vma*> Mm::vmas() const {
  std::vector<const Vma*> out;
  out.reserve(vmas_.size());
  for (const auto& [start, v] : vmas_) out.push_back(v.get());
  return out;
}

void Mm::i_size_changed(Vma& v) {
  PROBESIM_ASSERT(v.vm_mm == this && v.vm_file);
  const std::vector<Run> old = v.emitted;
  const uint64_t old_pages =
      old.empty() ? 0 : (old.back().start + old.back().len - v.vm_start) >> kPageShift;
  const uint64_t now_pages = v.run_pages();
  if (now_pages > old_pages) {  // pages that came into the file: page cache, then private copy
    Result<void> r =
        v.vm_file->i_mapping().populate(PageIndex{v.vm_pgoff + old_pages}, now_pages - old_pages);
    PROBESIM_ASSERT_MSG(r.ok(), "pages beyond the old EOF need no backing read");
    if (v.private_copy()) refill_from_page_cache(v, old_pages, now_pages);
  }
  // Truncation unmaps even private COW copies of the dropped pages (unmap_mapping_range
  // with even_cows): replaced pages beyond the new EOF go, after the observer has been told.
  std::vector<PrivatePage> gone;
  for (auto it = v.replaced.lower_bound(v.vm_start.value + (now_pages << kPageShift));
       it != v.replaced.end();) {
    gone.push_back(std::move(it->second));
    it = v.replaced.erase(it);
  }
  std::vector<Run> now = v.runs();
  if (old != now) {
    v.emitted = now;
    if (observer_) {
      for (const Run& r : old) observer_->on_unmap(r.start, r.len);
      for (const Run& r : now) observer_->on_map(r.start, r.len, r.host, r.prot);
    }
  }
  for (PrivatePage& p : gone) pool_.free(std::move(p));
}

void Mm::verify() const {
  const Vma* prev = nullptr;
  uint64_t replaced = 0;
  for (const auto& [start, vp] : vmas_) {
    const Vma& v = *vp;
    PROBESIM_ASSERT(v.vm_start.value == start && v.vm_mm == this);
    PROBESIM_ASSERT(page_aligned(v.vm_start.value) && page_aligned(v.vm_end.value));
    PROBESIM_ASSERT(v.vm_start < v.vm_end && v.vm_end <= layout_.task_size);
    if (prev) {
      PROBESIM_ASSERT_MSG(prev->vm_end <= v.vm_start, "VMAs overlap");
      PROBESIM_ASSERT_MSG(!can_merge(*prev, v), "adjacent VMAs that should have merged");
    }
    if (v.vm_file) {
      PROBESIM_ASSERT_MSG(v.vm_file->i_mapping().i_mmap().contains(&v), "file VMA not in i_mmap");
      PROBESIM_ASSERT(v.vm_file->i_count() > 0);
    } else {
      PROBESIM_ASSERT_MSG(!v.shared.linked, "anonymous VMA linked in an i_mmap");
      PROBESIM_ASSERT_MSG(v.private_copy(), "anonymous VMA without anonymous memory");
    }
    if (!v.replaced.empty()) {
      PROBESIM_ASSERT_MSG(v.vm_file && !v.private_copy() && !(v.vm_flags & VM_MAYSHARE),
                          "replaced pages outside a page-cache-backed private file VMA");
      const uint64_t run_end = v.vm_start.value + (v.run_pages() << kPageShift);
      for (const auto& [page, pp] : v.replaced) {
        PROBESIM_ASSERT(page_aligned(page) && v.vm_start.value <= page && page < run_end);
        PROBESIM_ASSERT(pp.arena && pp.arena->contains(pp.offset, kPageSize));
      }
      replaced += v.replaced.size();
    }
    if (v.private_copy()) {
      PROBESIM_ASSERT(v.anon->contains(v.anon_offset, v.len()));
    } else {
      PROBESIM_ASSERT(v.vm_pgoff + v.run_pages() <= v.vm_file->i_mapping().capacity_pages());
      PROBESIM_ASSERT_MSG(!(v.vm_flags & VM_WRITE) || (v.vm_flags & VM_MAYSHARE),
                          "writable private file VMA maps the page cache");
    }
    PROBESIM_ASSERT_MSG(v.emitted == v.runs(), "observer was not told about a run change");
    prev = &v;
  }
  PROBESIM_ASSERT_MSG(replaced == pool_.in_use(), "replaced pages leaked from the pool");
  PROBESIM_ASSERT(start_brk_ <= brk_);
  uint64_t committed = 0;
  for (const auto& [start, v] : vmas_) committed += vma_committed(*v);
  PROBESIM_ASSERT_MSG(committed == committed_, "the commit charge differs from a recount");
  verify_index();
}

}  // namespace probesim::mmu
