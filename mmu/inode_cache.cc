#include "mmu/inode_cache.h"

#include <cerrno>

#include "probesim/assert.h"

namespace probesim::mmu {

InodeCache::~InodeCache() = default;

Inode* InodeCache::find(const std::string& key) {
  auto it = inodes_.find(key);
  return it == inodes_.end() ? nullptr : it->second.get();
}

Result<Inode*> InodeCache::insert(const std::string& key, std::string name, InodeAttrs attrs,
                                  std::unique_ptr<InodeBacking> backing, uint64_t capacity_bytes) {
  if (inodes_.count(key)) {
    return Error::make("inode key '" + key + "' (" + name + ") is already cached", EEXIST);
  }
  auto known = ino_by_key_.find(key);
  const uint64_t ino = known != ino_by_key_.end() ? known->second : next_ino_;
  std::unique_ptr<Inode> inode = PROBESIM_TRY(
      Inode::create(*this, ino, key, std::move(name), attrs, std::move(backing), capacity_bytes));
  if (known == ino_by_key_.end()) ino_by_key_.emplace(key, next_ino_++);
  inode->i_count_ = 1;
  Inode* raw = inode.get();
  inodes_.emplace(key, std::move(inode));
  return raw;
}

Inode* InodeCache::iget(Inode* inode) {
  PROBESIM_ASSERT(inode && &inode->cache() == this);
  ++inode->i_count_;
  return inode;
}

void InodeCache::iput(Inode* inode) {
  if (!inode) return;
  PROBESIM_ASSERT(&inode->cache() == this);
  PROBESIM_ASSERT_MSG(inode->i_count_ > 0, "iput of " + inode->name() + " with i_count 0");
  // A dirty inode is the only copy of guest-written data: kept while a name links it. An
  // unlinked one (nlink 0) goes with its last reference, as iput_final evicts on Linux (its
  // page cache gives back the overlay space it was charged).
  if (--inode->i_count_ > 0 || (inode->dirty() && inode->attrs().nlink > 0)) return;
  auto it = inodes_.find(inode->key());
  PROBESIM_ASSERT(it != inodes_.end() && it->second.get() == inode);
  inodes_.erase(it);  // eviction: drops the page cache
}

void InodeCache::verify() const {
  for (const auto& [key, inode] : inodes_) {
    PROBESIM_ASSERT(inode->key() == key);
    PROBESIM_ASSERT(inode->i_count() >= 0);
    PROBESIM_ASSERT_MSG(inode->i_count() > 0 || inode->dirty(),
                        "unreferenced clean inode " + inode->name() + " was not evicted");
    PROBESIM_ASSERT_MSG(static_cast<size_t>(inode->i_count()) >= inode->i_mapping().i_mmap().size(),
                        "inode " + inode->name() + " has fewer references than VMAs mapping it");
    PROBESIM_ASSERT(ino_by_key_.at(key) == inode->i_ino());
    inode->i_mapping().verify();
  }
}

}  // namespace probesim::mmu
