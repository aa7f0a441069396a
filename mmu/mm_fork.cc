// Mm::dup: dup_mmap for fork(). The child gets the same VMAs except VM_DONTCOPY ones (Linux skips
// them: MADV_DONTFORK memory, uprobes' "[uprobes]" page); replaced pages (uprobe breakpoints) are
// copied, so children inherit installed breakpoints. Page-cache-backed VMAs share the
// page-cache frames (file mappings keep sharing); MAP_SHARED anonymous memory shares its arena;
// every other private VMA gets its own copy of the bytes. The copy is taken eagerly at fork (the
// COW "granularity" is the whole VMA, copied at fork) but only of the pages the parent has
// actually touched: untouched pages of a NORESERVE arena read zero on both sides, so mincore()
// on the host arena tells which pages to copy, and a fork costs what the parent really uses.
#include <sys/mman.h>

#include <cstring>
#include <vector>

#include "mmu/mm.h"
#include "mmu/run_batch.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"

namespace probesim::mmu {
namespace {

// Copies the resident pages of [src, src + len) to dst (both page aligned host memory).
void copy_resident(uint8_t* dst, const uint8_t* src, uint64_t len) {
  const uint64_t pages = len >> kPageShift;
  std::vector<unsigned char> resident(pages);
  if (mincore(const_cast<uint8_t*>(src), len, resident.data()) != 0) {
    std::memcpy(dst, src, len);  // mincore refused (not expected for our arenas): copy all
    return;
  }
  for (uint64_t i = 0; i < pages; ++i)
    if (resident[i] & 1) std::memcpy(dst + (i << kPageShift), src + (i << kPageShift), kPageSize);
}

}  // namespace

Result<std::unique_ptr<Mm>> Mm::dup() const {
  // dup_mmap charges the child's accountable VMAs: fork fails with ENOMEM when they do not fit.
  if (!commit_fits(committed_)) return Error::make("fork: commit limit reached", ENOMEM);
  auto child = std::make_unique<Mm>(layout_);
  child->start_brk_ = start_brk_;
  child->brk_ = brk_;
  for (const auto& [start, v] : vmas_) {
    if (v->vm_flags & VM_DONTCOPY) continue;  // MADV_DONTFORK, uprobes' XOL page (dup_mmap)
    auto nv = std::make_unique<Vma>(child.get(), v->vm_start, v->vm_end, v->vm_pgoff,
                                    v->vm_flags, v->vm_file);
    nv->name = v->name;
    if (v->private_copy() && (v->vm_flags & VM_SHARED)) {
      nv->anon = v->anon;  // shared anonymous memory: one arena for both
      nv->anon_offset = v->anon_offset;
    } else if (v->private_copy()) {
      AnonBacking b = PROBESIM_TRY(child->anon_.allocate(v->vm_start, v->len()));
      nv->anon = std::move(b.arena);
      nv->anon_offset = b.offset;
      copy_resident(nv->host_ptr(nv->vm_start), v->host_ptr(v->vm_start), v->len());
    }
    for (const auto& [page, pp] : v->replaced) {  // children inherit uprobe breakpoints
      PrivatePage copy = PROBESIM_TRY(child->pool_.allocate());
      std::memcpy(copy.data(), pp.data(), kPageSize);
      nv->replaced.emplace(page, std::move(copy));
    }
    Vma* linked = child->link_vma(std::move(nv));
    linked->emitted = linked->runs();  // no observer yet: set_observer reports these
  }
  child->set_commit_budget(commit_budget_);
  return child;
}

}  // namespace probesim::mmu
