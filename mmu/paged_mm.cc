#include "mmu/paged_mm.h"

#include <cstring>
#include <vector>

#include "mmu/vm_flags.h"
#include "probesim/assert.h"

namespace probesim::mmu {

namespace {

constexpr uint32_t kNeed[] = {kPteRead, kPteWrite, kPteExec};  // by Access

uint32_t vma_pte_flags(const Vma& v) {
  uint32_t f = (v.vm_flags & VM_RWX) | kPteUser;
  if (v.vm_flags & VM_SHARED) f &= ~kPteWrite;  // shared writes are Unsupported (header)
  return f | kPteRead;  // a present PTE is readable (x86 and arm64 have no write-only page)
}

}  // namespace

PagedMm::~PagedMm() {
  zap(GuestAddr{0}, GuestAddr{uint64_t{1} << PageTable::kVaBits});
}

PagedMm::Fill PagedMm::translation(const Pte& pte) const {
  return Fill{FaultKind::None, false, FrameSpace::phys(pte.pfn), pte.flags & VM_RWX};
}

PagedMm::Fill PagedMm::fill(GuestAddr va, Access access) {
  ++stats_.fills;
  const GuestAddr page{va.value & kPageMask};
  if (Pte* pte = pt_.find(page); pte && (pte->flags & kNeed[static_cast<int>(access)])) {
    if (access == Access::Write) pte->flags |= kPteDirty;
    return translation(*pte);
  }
  const FaultKind kind = mm_.classify_fault(page, access);
  if (kind != FaultKind::None) return Fill{kind};
  if (Pte* pte = pt_.find(page)) {
    // The VMA allows the access the PTE lacks: a COW write (reads and fetches are always in
    // a present PTE whose VMA allows them, since PTEs are made from their VMA's flags).
    PROBESIM_ASSERT(access == Access::Write);
    if (mm_.vma_at(page)->vm_flags & VM_SHARED) return Fill{FaultKind::None, true};
    return break_cow(page, *pte);
  }
  return fault_in(page, access);
}

PagedMm::Fill PagedMm::fault_in(GuestAddr page, Access access) {
  const Vma& v = *mm_.vma_at(page);
  if (access == Access::Write && (v.vm_flags & VM_SHARED)) return Fill{FaultKind::None, true};
  Result<Pfn> pfn = frames_.alloc_zeroed();
  PROBESIM_ASSERT_MSG(pfn.ok(), "paged mm: out of frames");  // the commit budget bounds use
  if (v.vm_file) {
    const bool read = mm_.peek(page, frames_.data(*pfn), kPageSize);
    PROBESIM_ASSERT(read);  // classify_fault said the page is inside the file
  }                         // anonymous: demand-zero, the fresh frame is the page
  frames_.add_map(*pfn);
  Pte pte{*pfn, vma_pte_flags(v)};
  if (access == Access::Write) pte.flags |= kPteDirty;
  pt_.set(page, pte);
  ++stats_.minor_faults;
  return translation(pte);
}

PagedMm::Fill PagedMm::break_cow(GuestAddr page, Pte& pte) {
  const uint32_t flags = vma_pte_flags(*mm_.vma_at(page)) | kPteDirty;
  if (frames_.refcount(pte.pfn) == 1) {  // the other side already broke or unmapped it
    pte.flags = flags;
    ++stats_.cow_reuses;
    return translation(pte);
  }
  Result<Pfn> copy = frames_.alloc_zeroed();
  PROBESIM_ASSERT_MSG(copy.ok(), "paged mm: out of frames");
  std::memcpy(frames_.data(*copy), frames_.data(pte.pfn), kPageSize);
  frames_.remove_map(pte.pfn);
  frames_.put(pte.pfn);
  frames_.add_map(*copy);
  pte = Pte{*copy, flags};
  ++stats_.cow_breaks;
  return translation(pte);
}

void PagedMm::zap(GuestAddr start, GuestAddr end) {
  std::vector<GuestAddr> pages;
  pt_.for_each(start, end, [&](GuestAddr a, Pte& pte) {
    frames_.remove_map(pte.pfn);
    frames_.put(pte.pfn);
    pages.push_back(a);
  });
  for (GuestAddr a : pages) pt_.clear(a);
}

std::unique_ptr<PagedMm> PagedMm::dup_cow(const Mm& child) {
  auto out = std::make_unique<PagedMm>(child, frames_);
  pt_.for_each(GuestAddr{0}, GuestAddr{uint64_t{1} << PageTable::kVaBits},
               [&](GuestAddr a, Pte& pte) {
                 const Vma* cv = child.vma_at(a);
                 if (!cv) return;  // VM_DONTCOPY: the child has no such VMA
                 if (!(cv->vm_flags & VM_SHARED)) pte.flags &= ~kPteWrite;
                 frames_.get(pte.pfn);
                 frames_.add_map(pte.pfn);
                 out->pt_.set(a, pte);
               });
  return out;
}

void PagedMm::verify() const {
  pt_.verify();
  const_cast<PageTable&>(pt_).for_each(
      GuestAddr{0}, GuestAddr{uint64_t{1} << PageTable::kVaBits}, [&](GuestAddr a, Pte& pte) {
        const Vma* v = mm_.vma_at(a);
        PROBESIM_ASSERT_MSG(v, "PTE outside every VMA at " + std::to_string(a.value));
        PROBESIM_ASSERT(frames_.refcount(pte.pfn) >= 1 && frames_.mapcount(pte.pfn) >= 1);
        PROBESIM_ASSERT(!(pte.flags & kPteWrite) || (v->vm_flags & VM_WRITE));
      });
}

}  // namespace probesim::mmu
