#include "mmu/host_arena.h"

#include <sys/mman.h>

#include <cerrno>

#include "mmu/host_window.h"
#include "probesim/assert.h"
#include "probesim/types.h"

namespace probesim::mmu {

Result<std::shared_ptr<HostArena>> HostArena::create(uint64_t bytes, std::string name) {
  const uint64_t size = page_align_up(bytes);
  if (bytes == 0 || size < bytes) {
    return Error::make("host arena '" + name + "': invalid size " + std::to_string(bytes), EINVAL);
  }
  // In the window when there is one; only reservations too big for it get their own mapping
  // (emu/uc_regions.h kHugeRegions counts on that), so a full window is ENOMEM.
  if (HostWindow* w = HostWindow::get(); w && size <= w->size() / 4) {
    if (uint8_t* p = w->allocate(size))
      return std::shared_ptr<HostArena>(new HostArena(p, size, std::move(name), true));
    return Error::make("host arena '" + name + "': the host window has no room for " +
                           std::to_string(size) + " bytes",
                       ENOMEM);
  }
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return Error::make("host arena '" + name + "': cannot reserve " + std::to_string(size) +
                           " bytes of host address space",
                       ENOMEM);
  }
  return std::shared_ptr<HostArena>(
      new HostArena(static_cast<uint8_t*>(p), size, std::move(name), false));
}

HostArena::~HostArena() {
  if (in_window_) {
    HostWindow::get()->release(data_, size_);
  } else {
    ::munmap(data_, size_);
  }
}

void HostArena::discard(uint64_t offset, uint64_t len) {
  PROBESIM_ASSERT(page_aligned(offset) && page_aligned(len));
  PROBESIM_ASSERT(contains(offset, len));
  if (len == 0) return;
  const int rc = ::madvise(data_ + offset, len, MADV_DONTNEED);
  PROBESIM_ASSERT_MSG(rc == 0, "madvise(MADV_DONTNEED) failed on arena " + name_);
}

}  // namespace probesim::mmu
