#include "mmu/anon_allocator.h"

#include <cstdio>
#include <string>

#include "probesim/assert.h"

namespace probesim::mmu {
namespace {

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

AnonAllocator::AnonAllocator(GuestAddr window_start, GuestAddr window_end)
    : window_start_(window_start), window_end_(window_end) {
  PROBESIM_ASSERT(window_start <= window_end);
  PROBESIM_ASSERT(page_aligned(window_start.value) && page_aligned(window_end.value));
}

bool AnonAllocator::in_window(GuestAddr start, uint64_t len) const {
  return window_start_ <= start && start < window_end_ && len <= window_end_ - start;
}

Result<AnonBacking> AnonAllocator::allocate(GuestAddr start, uint64_t len) {
  PROBESIM_ASSERT(page_aligned(start.value) && page_aligned(len) && len > 0);
  if (in_window(start, len)) {
    if (!window_) {
      window_ = PROBESIM_TRY(HostArena::create(window_end_ - window_start_,
                                               "anon window at " + hex(window_start_.value)));
    }
    return AnonBacking{window_, start - window_start_};
  }
  auto arena = PROBESIM_TRY(HostArena::create(len, "anon memory at " + hex(start.value)));
  return AnonBacking{std::move(arena), 0};
}

}  // namespace probesim::mmu
