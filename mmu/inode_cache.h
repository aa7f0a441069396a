// InodeCache: owns every Inode of a machine (Linux's inode hash + icache).
//
// Keys are stable identity strings ("host:<dev>:<ino>", "overlay:<n>"). i_ino numbers are
// allocated deterministically, 1, 2, 3... in order of a key's first insertion, and a key
// evicted and inserted again gets its old number back (stat stays stable).
// Ownership: the Machine owns one InodeCache; it must outlive every Mm, fd table or other
// holder of inode references. Touched only by the machine's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "mmu/budget.h"
#include "mmu/inode.h"
#include "mmu/inode_backing.h"
#include "probesim/result.h"

namespace probesim::mmu {

class InodeCache {
 public:
  InodeCache() = default;
  ~InodeCache();
  InodeCache(const InodeCache&) = delete;
  InodeCache& operator=(const InodeCache&) = delete;

  // The cached inode for key, or null. Does NOT take a reference (iget it to keep it).
  Inode* find(const std::string& key);
  // A new inode with i_count = 1. EEXIST if key is cached, EFBIG if capacity_bytes <
  // attrs.size, ENOMEM if the page-cache arena cannot be reserved. backing may be null.
  Result<Inode*> insert(const std::string& key, std::string name, InodeAttrs attrs,
                        std::unique_ptr<InodeBacking> backing, uint64_t capacity_bytes);
  Inode* iget(Inode* inode);  // ++i_count; returns inode
  // --i_count; at 0 the inode is evicted (destroyed) unless dirty with nlink > 0.
  // iput(nullptr) is a no-op.
  void iput(Inode* inode);

  size_t size() const { return inodes_.size(); }
  // The budget every page cache charges the pages guest writes bring in (the overlay's
  // space); null = unlimited. Non-owning: it must outlive this cache.
  Budget* write_budget() const { return write_budget_; }
  void set_write_budget(Budget* budget) { write_budget_ = budget; }
  // Calls f(const Inode&) for every cached inode, in key order (keys are host-dependent:
  // sort by i_ino for a deterministic order). For notebooks and the Python module; f must
  // not insert or evict inodes.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [key, inode] : inodes_) f(static_cast<const Inode&>(*inode));
  }
  // Asserts refcounts (i_count >= VMAs mapping it, 0 only when dirty) and each page cache.
  void verify() const;

 private:
  Budget* write_budget_ = nullptr;  // declared first: page caches use it while they die
  std::map<std::string, std::unique_ptr<Inode>> inodes_;  // by key
  std::map<std::string, uint64_t> ino_by_key_;            // every key ever inserted
  uint64_t next_ino_ = 1;
};

}  // namespace probesim::mmu
