// Inode: the identity of one file in the machine (Linux's struct inode), with its page
// cache (i_mapping) and the backing its clean pages come from.
//
// Ownership: owned by its InodeCache (unique_ptr). References are counted in i_count:
// insert gives 1, iget/iput adjust it, a Vma with vm_file holds one. At 0 the cache evicts
// the inode unless it is dirty and still linked (guest-written files are pinned: the overlay
// lives here; an unlinked one goes with its last reference).
// Non-copyable; the address is the identity.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mmu/address_space.h"
#include "mmu/inode_backing.h"
#include "probesim/result.h"

namespace probesim::mmu {

class InodeCache;

// struct stat's fields. Times are set by the caller (the machine's virtual clock); this
// layer never reads host time. size is maintained by AddressSpace (write/truncate): do not
// change it directly.
struct InodeAttrs {
  uint32_t mode = 0, uid = 0, gid = 0, nlink = 1;
  uint64_t size = 0, rdev = 0, blocks = 0;
  uint32_t blksize = 4096;
  int64_t atime_sec = 0, atime_nsec = 0, mtime_sec = 0, mtime_nsec = 0, ctime_sec = 0,
          ctime_nsec = 0;
};

class Inode {
 public:
  // Used by InodeCache::insert. capacity_bytes (rounded up to pages) must be >= attrs.size.
  static Result<std::unique_ptr<Inode>> create(InodeCache& cache, uint64_t ino, std::string key,
                                               std::string name, InodeAttrs attrs,
                                               std::unique_ptr<InodeBacking> backing,
                                               uint64_t capacity_bytes);
  ~Inode();
  Inode(const Inode&) = delete;
  Inode& operator=(const Inode&) = delete;

  uint64_t i_ino() const { return ino_; }
  const std::string& name() const { return name_; }  // a path, for messages
  const std::string& key() const { return key_; }    // the cache key
  InodeAttrs& attrs() { return attrs_; }
  const InodeAttrs& attrs() const { return attrs_; }
  uint64_t i_size() const { return attrs_.size; }
  int i_count() const { return i_count_; }
  AddressSpace& i_mapping() { return *mapping_; }
  const AddressSpace& i_mapping() const { return *mapping_; }
  InodeBacking* backing() const { return backing_.get(); }
  InodeCache& cache() const { return cache_; }

  bool dirty() const { return dirty_; }
  void mark_dirty() { dirty_ = true; }  // never cleared: the page cache is the only copy

  // i_writecount, as Linux's: > 0 files open for writing, < 0 running executables (each mm
  // that executes the file denies writes). Each side fails while the other holds it: opening
  // a running program for writing, or executing a file open for writing, is ETXTBSY.
  int i_writecount() const { return i_writecount_; }
  bool get_write_access() {  // an open for writing; false: ETXTBSY
    if (i_writecount_ < 0) return false;
    ++i_writecount_;
    return true;
  }
  void put_write_access() { --i_writecount_; }
  bool deny_write_access() {  // exec; false: ETXTBSY
    if (i_writecount_ > 0) return false;
    --i_writecount_;
    return true;
  }
  void allow_write_access() { ++i_writecount_; }

 private:
  friend class InodeCache;  // i_count_
  Inode(InodeCache& cache, uint64_t ino, std::string key, std::string name, InodeAttrs attrs,
        std::unique_ptr<InodeBacking> backing);

  InodeCache& cache_;
  uint64_t ino_;
  std::string key_;
  std::string name_;
  InodeAttrs attrs_;
  std::unique_ptr<InodeBacking> backing_;
  std::unique_ptr<AddressSpace> mapping_;
  int i_count_ = 0;
  int i_writecount_ = 0;
  bool dirty_ = false;
};

}  // namespace probesim::mmu
