#include "mmu/host_arena.h"

#include <sys/mman.h>

#include <cerrno>

#include "probesim/assert.h"
#include "probesim/types.h"

namespace probesim::mmu {

Result<std::shared_ptr<HostArena>> HostArena::create(uint64_t bytes, std::string name) {
  const uint64_t size = page_align_up(bytes);
  if (bytes == 0 || size < bytes) {
    return Error::make("host arena '" + name + "': invalid size " + std::to_string(bytes), EINVAL);
  }
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return Error::make("host arena '" + name + "': cannot reserve " + std::to_string(size) +
                           " bytes of host address space",
                       ENOMEM);
  }
  return std::shared_ptr<HostArena>(new HostArena(static_cast<uint8_t*>(p), size, std::move(name)));
}

HostArena::~HostArena() {
  ::munmap(data_, size_);
}

void HostArena::discard(uint64_t offset, uint64_t len) {
  PROBESIM_ASSERT(page_aligned(offset) && page_aligned(len));
  PROBESIM_ASSERT(contains(offset, len));
  if (len == 0) return;
  const int rc = ::madvise(data_ + offset, len, MADV_DONTNEED);
  PROBESIM_ASSERT_MSG(rc == 0, "madvise(MADV_DONTNEED) failed on arena " + name_);
}

}  // namespace probesim::mmu
