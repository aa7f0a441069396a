// uprobes' page replacement (Linux uprobe_write_opcode + __replace_page): a breakpoint is
// written into a private copy of ONE page for ONE mm; the page-cache frame and every other
// mm stay untouched. The copy is realized as a run of its own (the VMA's run splits around
// it) and dropped again when it is byte-identical to the page-cache frame. Also
// _install_special_mapping, for uprobes' "[uprobes]" XOL page.
#include <cerrno>
#include <cstring>

#include "mmu/address_space.h"
#include "mmu/mm.h"
#include "mmu/run_batch.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"

namespace probesim::mmu {
namespace {

bool inside_file(const Vma& v, GuestAddr a) {
  return a.value < v.vm_start.value + (v.run_pages() << kPageShift);
}

}  // namespace

PageState Mm::page_state(GuestAddr addr) const {
  const Vma* v = vma_at(addr);
  if (!v || !inside_file(*v, addr)) return PageState::Unmapped;
  if (!v->vm_file) return PageState::Anonymous;
  if (v->private_copy()) return PageState::PrivateCopy;
  if (v->replaced.count(page_align_down(addr.value))) return PageState::ReplacedPage;
  return PageState::PageCache;
}

Result<void> Mm::write_private_page(GuestAddr dst, std::span<const uint8_t> bytes) {
  Vma* v = vma_at_mut(dst);
  const uint64_t page = page_align_down(dst.value);
  if (!v || !inside_file(*v, dst) || bytes.size() > page + kPageSize - dst.value) {
    return Error::make("write_private_page: [dst, dst+n) is not inside one mapped file page",
                       EFAULT);
  }
  if (!v->vm_file || (v->vm_flags & VM_MAYSHARE)) {
    return Error::make("write_private_page: only private file mappings get private copies", EINVAL);
  }
  if (!v->private_copy() && !v->replaced.count(page)) {
    if (!map_count_fits(2) || !exec_map_count_fits(2)) {
      return Error::make("write_private_page: the replaced page would pass max_map_count", ENOMEM);
    }
    PrivatePage copy = PROBESIM_TRY(pool_.allocate());
    RunBatch batch(*this, v->vm_start, v->vm_end);
    std::memcpy(copy.data(), v->host_ptr(GuestAddr{page}), kPageSize);
    v->replaced.emplace(page, std::move(copy));
    ++stats_.replaced_pages;
  }
  std::memcpy(v->host_ptr(dst), bytes.data(), bytes.size());
  return {};
}

bool Mm::drop_identical_page(GuestAddr addr) {
  Vma* v = vma_at_mut(addr);
  const uint64_t page = page_align_down(addr.value);
  if (!v || v->private_copy() || !v->replaced.count(page)) return false;
  const AddressSpace& as = v->vm_file->i_mapping();
  const uint64_t index = v->vm_pgoff + ((page - v->vm_start.value) >> kPageShift);
  PROBESIM_ASSERT(as.page_uptodate(PageIndex{index}));
  if (std::memcmp(v->replaced.at(page).data(), as.base() + (index << kPageShift), kPageSize)) {
    return false;
  }
  RunBatch batch(*this, v->vm_start, v->vm_end);
  free_replaced(*v, GuestAddr{page}, GuestAddr{page + kPageSize});
  return true;
}

Result<GuestAddr> Mm::install_special_mapping(GuestAddr hint, uint64_t len, uint32_t vm_flags,
                                              std::string name) {
  PROBESIM_ASSERT(page_aligned(len) && len > 0);
  if (map_count() > layout_.max_map_count ||
      ((vm_flags & VM_EXEC) && exec_map_count() > layout_.max_exec_map_count)) {
    return Error::make("install_special_mapping: too many mappings for " + name, ENOMEM);
  }
  const int64_t at = get_unmapped_area(hint, len);
  if (at < 0) return Error::make("install_special_mapping: no room for " + name, ENOMEM);
  const GuestAddr start{static_cast<uint64_t>(at)};
  AnonBacking b = PROBESIM_TRY(anon_.allocate(start, len));
  RunBatch batch(*this, start, start + len);
  auto v =
      std::make_unique<Vma>(this, start, start + len, start.value >> kPageShift, vm_flags, nullptr);
  v->name = std::move(name);
  v->anon = std::move(b.arena);
  v->anon_offset = b.offset;
  link_vma(std::move(v));
  merge_around(start, start + len);
  return start;
}

}  // namespace probesim::mmu
