#include "mmu/inode.h"

#include <cerrno>

#include "probesim/assert.h"

namespace probesim::mmu {

Inode::Inode(InodeCache& cache, uint64_t ino, std::string key, std::string name, InodeAttrs attrs,
             std::unique_ptr<InodeBacking> backing)
    : cache_(cache),
      ino_(ino),
      key_(std::move(key)),
      name_(std::move(name)),
      attrs_(attrs),
      backing_(std::move(backing)) {}

Result<std::unique_ptr<Inode>> Inode::create(InodeCache& cache, uint64_t ino, std::string key,
                                             std::string name, InodeAttrs attrs,
                                             std::unique_ptr<InodeBacking> backing,
                                             uint64_t capacity_bytes) {
  const uint64_t capacity = page_align_up(capacity_bytes);
  if (capacity < capacity_bytes || capacity < attrs.size) {
    return Error::make("inode '" + name + "': page-cache capacity " +
                           std::to_string(capacity_bytes) + " is smaller than its size " +
                           std::to_string(attrs.size),
                       EFBIG);
  }
  std::shared_ptr<HostArena> arena;
  if (capacity > 0) arena = PROBESIM_TRY(HostArena::create(capacity, "page cache of " + name));
  std::unique_ptr<Inode> inode(
      new Inode(cache, ino, std::move(key), std::move(name), attrs, std::move(backing)));
  const uint64_t backing_size = inode->backing_ ? attrs.size : 0;
  inode->mapping_ = std::make_unique<AddressSpace>(*inode, std::move(arena), capacity >> kPageShift,
                                                   inode->backing_.get(), backing_size);
  return inode;
}

Inode::~Inode() {
  PROBESIM_ASSERT_MSG(!mapping_ || mapping_->i_mmap().empty(),
                      "inode " + name_ + " destroyed while VMAs still map it");
}

}  // namespace probesim::mmu
