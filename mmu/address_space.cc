#include "mmu/address_space.h"

#include "mmu/inode_cache.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "mmu/inode.h"
#include "mmu/mm.h"
#include "probesim/assert.h"

namespace probesim::mmu {
namespace {

uint64_t pages_for(uint64_t bytes) {
  return page_align_up(bytes) >> kPageShift;
}

}  // namespace

AddressSpace::AddressSpace(Inode& host, std::shared_ptr<HostArena> arena, uint64_t capacity_pages,
                           InodeBacking* backing, uint64_t backing_size)
    : host_(host),
      arena_(std::move(arena)),
      capacity_pages_(capacity_pages),
      backing_(backing),
      backing_limit_(backing ? backing_size : 0),
      uptodate_(capacity_pages, false) {
  PROBESIM_ASSERT((arena_ == nullptr) == (capacity_pages == 0));
  PROBESIM_ASSERT(!arena_ || arena_->size() == capacity_pages << kPageShift);
}

AddressSpace::~AddressSpace() {
  uncharge_pages(charged_pages_);
  PROBESIM_ASSERT(i_mmap_.empty());
}

bool AddressSpace::page_uptodate(PageIndex idx) const {
  return idx.value < capacity_pages_ && uptodate_[idx.value];
}

// Reads pages [first, first+count), all not uptodate (hence zero), from the backing.
Result<void> AddressSpace::read_pages(uint64_t first, uint64_t count) {
  const uint64_t off = first << kPageShift;
  if (backing_ && off < backing_limit_) {
    const uint64_t bytes = std::min(count << kPageShift, backing_limit_ - off);
    PROBESIM_TRY(backing_->read(FileOffset{off}, std::span<uint8_t>(base() + off, bytes)));
  }
  for (uint64_t i = first; i < first + count; ++i) uptodate_[i] = true;
  nrpages_ += count;
  uptodate_end_ = std::max(uptodate_end_, first + count);
  return {};
}

Result<void> AddressSpace::populate(PageIndex first, uint64_t count) {
  if (first.value > capacity_pages_ || count > capacity_pages_ - first.value) {
    return Error::make("page cache of " + host_.name() + ": page " + std::to_string(first.value) +
                           " + " + std::to_string(count) + " is beyond its capacity",
                       EFBIG);
  }
  uint64_t i = first.value;
  const uint64_t end = first.value + count;
  while (i < end) {
    if (uptodate_[i]) {
      ++i;
      continue;
    }
    uint64_t j = i;
    while (j < end && !uptodate_[j]) ++j;
    PROBESIM_TRY_VOID(read_pages(i, j - i));
    i = j;
  }
  return {};
}

Result<uint8_t*> AddressSpace::find_or_read_page(PageIndex idx) {
  PROBESIM_TRY_VOID(populate(idx, 1));
  return base() + (idx.value << kPageShift);
}

Result<std::vector<uint8_t>> AddressSpace::read_all() {
  std::vector<uint8_t> bytes(host_.i_size());
  bytes.resize(PROBESIM_TRY(read(FileOffset{0}, bytes)));
  return bytes;
}

Result<size_t> AddressSpace::read(FileOffset off, std::span<uint8_t> out) {
  const uint64_t size = host_.i_size();
  if (off.value >= size || out.empty()) return size_t{0};
  const uint64_t n = std::min<uint64_t>(out.size(), size - off.value);
  const uint64_t first = off.value >> kPageShift;
  PROBESIM_TRY_VOID(populate(PageIndex{first}, pages_for(off.value + n) - first));
  std::memcpy(out.data(), base() + off.value, n);
  return static_cast<size_t>(n);
}

Result<size_t> AddressSpace::write(FileOffset off, std::span<const uint8_t> in) {
  if (in.empty()) return size_t{0};
  const uint64_t cap = capacity_pages_ << kPageShift;
  if (off.value >= cap) {
    return Error::make("write to " + host_.name() + " at " + std::to_string(off.value) +
                           " is beyond its page-cache capacity",
                       EFBIG);
  }
  const uint64_t n = PROBESIM_TRY(charge_write(off.value, std::min<uint64_t>(in.size(), cap - off.value)));
  const uint64_t first = off.value >> kPageShift;
  PROBESIM_TRY_VOID(populate(PageIndex{first}, pages_for(off.value + n) - first));
  std::memcpy(base() + off.value, in.data(), n);
  host_.mark_dirty();
  if (off.value + n > host_.i_size()) set_i_size(off.value + n);
  return static_cast<size_t>(n);
}

Result<uint64_t> AddressSpace::charge_write(uint64_t off, uint64_t n) {
  Budget* budget = host_.cache().write_budget();
  if (!budget) return n;
  const uint64_t first = off >> kPageShift, end = pages_for(off + n);
  uint64_t fresh = 0, fit_end = off + n;
  for (uint64_t i = first; i < end; ++i) {
    if (uptodate_[i]) continue;
    if (!budget->fits((fresh + 1) << kPageShift)) {
      fit_end = std::max(off, i << kPageShift);
      break;
    }
    ++fresh;
  }
  if (fit_end == off) {
    return Error::make("write to " + host_.name() + ": the overlay is full", ENOSPC);
  }
  budget->charge(fresh << kPageShift);
  charged_pages_ += fresh;
  return fit_end - off;
}

// Dropped pages give back their charge (any charged page counts: the budget bounds pages).
void AddressSpace::uncharge_pages(uint64_t pages) {
  pages = std::min(pages, charged_pages_);
  if (Budget* budget = host_.cache().write_budget()) budget->uncharge(pages << kPageShift);
  charged_pages_ -= pages;
}

void AddressSpace::drop_pages_from(uint64_t first_page) {
  uint64_t dropped = 0;
  for (uint64_t i = first_page; i < uptodate_end_; ++i) {
    if (!uptodate_[i]) continue;
    uptodate_[i] = false;
    --nrpages_;
    ++dropped;
  }
  uncharge_pages(dropped);
  if (first_page < uptodate_end_) {
    arena_->discard(first_page << kPageShift, (uptodate_end_ - first_page) << kPageShift);
    uptodate_end_ = first_page;
  }
}

Result<void> AddressSpace::truncate(uint64_t new_size) {
  if (new_size > capacity_pages_ << kPageShift) {
    return Error::make("truncate of " + host_.name() + " to " + std::to_string(new_size) +
                           " is beyond its page-cache capacity",
                       EFBIG);
  }
  host_.mark_dirty();
  const uint64_t old_size = host_.i_size();
  if (new_size >= old_size) {
    set_i_size(new_size);
    return {};
  }
  backing_limit_ = std::min(backing_limit_, new_size);
  set_i_size(new_size);  // mappings drop the pages beyond EOF before the frames go
  const uint64_t tail = new_size & (kPageSize - 1);
  if (tail != 0 && uptodate_[new_size >> kPageShift]) {
    std::memset(base() + new_size, 0, kPageSize - tail);
  }
  drop_pages_from(pages_for(new_size));
  return {};
}

void AddressSpace::set_i_size(uint64_t new_size) {
  const uint64_t old_size = host_.i_size();
  host_.attrs().size = new_size;
  host_.attrs().blocks = page_align_up(new_size) / 512;
  const uint64_t old_pages = pages_for(old_size), new_pages = pages_for(new_size);
  if (old_pages == new_pages) return;
  // Every VMA whose run may change: those mapping pages between the two EOFs.
  std::vector<Vma*> affected;
  i_mmap_.for_each_overlap(std::min(old_pages, new_pages), std::max(old_pages, new_pages) - 1,
                           [&](Vma* v) { affected.push_back(v); });
  for (Vma* v : affected) v->vm_mm->i_size_changed(*v);
}

uint64_t AddressSpace::page_mapcount(PageIndex idx) const {
  uint64_t n = 0;
  i_mmap_.for_each_overlap(idx.value, idx.value, [&](Vma* v) {
    if (v->private_copy() || idx.value - v->vm_pgoff >= v->run_pages()) return;
    if (!v->replaced.count(v->vm_start.value + ((idx.value - v->vm_pgoff) << kPageShift))) ++n;
  });
  return n;
}

void AddressSpace::verify() const {
  i_mmap_.verify();
  uint64_t count = 0;
  for (uint64_t i = 0; i < capacity_pages_; ++i) {
    if (!uptodate_[i]) continue;
    ++count;
    PROBESIM_ASSERT(i < uptodate_end_);
  }
  PROBESIM_ASSERT(count == nrpages_);
  PROBESIM_ASSERT(backing_limit_ <= host_.i_size() || !backing_);
  for (const ImmapTree::NodeView& n : i_mmap_.nodes()) {
    PROBESIM_ASSERT_MSG(n.vma->vm_file == &host_, "i_mmap holds a VMA of another file");
  }
}

}  // namespace probesim::mmu
