// AddressSpace: Linux's struct address_space, the page cache of one inode plus its i_mmap.
//
// Pages live in ONE contiguous HostArena: page i's frame is base() + i * kPageSize, so any
// run of file pages is contiguous host memory and a shared/read-only file VMA is one host
// region. Capacity is fixed at creation (the arena is NORESERVE: large is cheap).
// Invariants:
// - a page that is not uptodate is all zeros in the arena;
// - bytes of the backing at or beyond backing_limit() are never read (truncate cut them off);
// - every Vma in i_mmap() maps this file and is owned by a live Mm.
// Ownership: owned by its Inode (a member). Touched only by the machine's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "mmu/host_arena.h"
#include "mmu/immap_tree.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::mmu {

class Inode;
class InodeBacking;

class AddressSpace {
 public:
  // Constructed by Inode::create. arena may be null iff capacity_pages == 0. backing may be
  // null (the page cache is then the only copy).
  AddressSpace(Inode& host, std::shared_ptr<HostArena> arena, uint64_t capacity_pages,
               InodeBacking* backing, uint64_t backing_size);
  ~AddressSpace();
  AddressSpace(const AddressSpace&) = delete;
  AddressSpace& operator=(const AddressSpace&) = delete;

  uint8_t* base() const { return arena_ ? arena_->data() : nullptr; }
  const std::shared_ptr<HostArena>& arena() const { return arena_; }
  uint64_t capacity_pages() const { return capacity_pages_; }
  uint64_t backing_limit() const { return backing_limit_; }

  // The frame of page idx, read from the backing first if needed. Error EFBIG when idx is
  // beyond the capacity, EIO when the backing fails. Pages beyond EOF read as zeros.
  Result<uint8_t*> find_or_read_page(PageIndex idx);
  // Makes pages [first, first + count) uptodate (batched backing reads).
  Result<void> populate(PageIndex first, uint64_t count);
  bool page_uptodate(PageIndex idx) const;
  uint64_t nrpages() const { return nrpages_; }  // uptodate pages

  // read(2): copies from off, stopping at i_size; returns the byte count.
  Result<size_t> read(FileOffset off, std::span<uint8_t> out);
  // The whole file, [0, i_size) (exec, uprobe targets).
  Result<std::vector<uint8_t>> read_all();
  // write(2): may grow i_size, marks the inode dirty. EFBIG if off is at or beyond the
  // capacity; a write crossing it is short. Pages a write brings into the cache are charged
  // to the cache's write budget (InodeCache::write_budget, the overlay's space): a write
  // needing more is cut at the last page that fits, and one that fits no page is ENOSPC, as
  // on a full tmpfs. The charge is given back when pages are dropped or the inode dies.
  Result<size_t> write(FileOffset off, std::span<const uint8_t> in);
  // ftruncate(2): EFBIG beyond capacity. Shrinking zeroes the tail of the new last page and
  // drops the pages beyond it; mappings see SIGBUS there.
  Result<void> truncate(uint64_t new_size);

  ImmapTree& i_mmap() { return i_mmap_; }
  const ImmapTree& i_mmap() const { return i_mmap_; }
  // Number of VMAs mapping page idx with the page-cache frame itself (not private copies).
  uint64_t page_mapcount(PageIndex idx) const;
  Inode& host() const { return host_; }

  void verify() const;  // nrpages, uptodate bitmap, i_mmap tree and membership

 private:
  Result<void> read_pages(uint64_t first, uint64_t count);
  void set_i_size(uint64_t new_size);  // updates attrs and tells every mapping mm
  void drop_pages_from(uint64_t first_page);
  Result<uint64_t> charge_write(uint64_t off, uint64_t n);  // bytes of the write that fit
  void uncharge_pages(uint64_t pages);

  Inode& host_;
  std::shared_ptr<HostArena> arena_;
  uint64_t capacity_pages_;
  InodeBacking* backing_;       // owned by host_, may be null
  uint64_t backing_limit_;      // bytes of the backing still part of the file
  std::vector<bool> uptodate_;  // one bit per page of capacity
  uint64_t uptodate_end_ = 0;   // no uptodate page at or beyond this index
  uint64_t nrpages_ = 0;
  uint64_t charged_pages_ = 0;  // pages charged to the write budget by write()
  ImmapTree i_mmap_;
};

}  // namespace probesim::mmu
