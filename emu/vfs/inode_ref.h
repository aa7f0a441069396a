// InodeRef: one counted reference to an mmu::Inode (iget on acquire/copy, iput on release),
// so that ownership of inode references is in the types (docs/conventions.md §8). Files, overlay
// entries and the Vfs's pinned inodes hold InodeRefs; a raw Inode* is never stored.
#pragma once

#include <sys/stat.h>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>

#include "mmu/inode.h"
#include "mmu/inode_cache.h"

namespace probesim::emu {

class InodeRef {
 public:
  InodeRef() = default;
  // Takes over a reference the caller already owns (InodeCache::insert returns one).
  static InodeRef adopt(mmu::Inode* inode) { return InodeRef(inode); }
  // Takes a new reference (iget).
  static InodeRef acquire(mmu::Inode* inode) {
    if (inode != nullptr) inode->cache().iget(inode);
    return InodeRef(inode);
  }

  InodeRef(const InodeRef& o) : inode_(o.inode_) {
    if (inode_ != nullptr) inode_->cache().iget(inode_);
  }
  InodeRef(InodeRef&& o) noexcept : inode_(std::exchange(o.inode_, nullptr)) {}
  InodeRef& operator=(InodeRef o) noexcept {
    std::swap(inode_, o.inode_);
    return *this;
  }
  ~InodeRef() { reset(); }

  void reset() {
    if (mmu::Inode* i = std::exchange(inode_, nullptr)) i->cache().iput(i);
  }
  mmu::Inode* get() const { return inode_; }
  mmu::Inode* operator->() const { return inode_; }
  mmu::Inode& operator*() const { return *inode_; }
  explicit operator bool() const { return inode_ != nullptr; }

 private:
  explicit InodeRef(mmu::Inode* inode) : inode_(inode) {}
  mmu::Inode* inode_ = nullptr;
};

// InodeCache::insert for the Vfs. Only regular files use their page cache, so other inodes
// (directories, symlinks, devices) get no page-cache capacity; their st_size is set after
// insertion (the cache requires capacity >= size, which only matters for page-cache data).
// Errors keep the cache's errno (ENOMEM, EFBIG), or ENOMEM if it had none.
inline Result<InodeRef> insert_inode(mmu::InodeCache& cache, const std::string& key,
                                     const std::string& path, mmu::InodeAttrs attrs,
                                     std::unique_ptr<mmu::InodeBacking> backing,
                                     uint64_t capacity) {
  const uint64_t size = attrs.size;
  const bool regular = S_ISREG(attrs.mode);
  if (!regular) attrs.size = 0;
  Result<mmu::Inode*> r =
      cache.insert(key, path, attrs, std::move(backing), regular ? capacity : 0);
  if (!r) {
    const int err = r.error().err != 0 ? r.error().err : ENOMEM;
    return Error::make(path + ": " + r.error().message, err);
  }
  if (!regular) (*r)->attrs().size = size;
  return InodeRef::adopt(*r);
}

}  // namespace probesim::emu
