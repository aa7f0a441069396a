#include "mmu/host_window.h"

#include <sys/mman.h>

#include "probesim/assert.h"

namespace probesim::mmu {
namespace {

uint64_t align_up(uint64_t n) { return (n + HostWindow::kAlign - 1) & ~(HostWindow::kAlign - 1); }

}  // namespace

HostWindow* HostWindow::get() {
  static HostWindow* const window = reserve(kBytes).release();  // lives as long as the process
  return window;
}

std::unique_ptr<HostWindow> HostWindow::reserve(uint64_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  return std::unique_ptr<HostWindow>(new HostWindow(static_cast<uint8_t*>(p), bytes));
}

HostWindow::~HostWindow() { ::munmap(data_, size_); }

HostWindow::HostWindow(uint8_t* data, uint64_t size) : data_(data), size_(size) {
  free_.emplace(0, size);
}

uint8_t* HostWindow::allocate(uint64_t bytes) {
  const uint64_t len = align_up(bytes);
  if (bytes == 0 || len < bytes) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < len) continue;
    const uint64_t off = it->first, rest = it->second - len;
    free_.erase(it);
    if (rest) free_.emplace(off + len, rest);
    in_use_ += len;
    return data_ + off;
  }
  return nullptr;
}

void HostWindow::release(uint8_t* p, uint64_t bytes) {
  const uint64_t len = align_up(bytes);
  PROBESIM_ASSERT(contains(p, len) && (p - data_) % kAlign == 0);
  PROBESIM_ASSERT_MSG(::madvise(p, len, MADV_DONTNEED) == 0, "madvise of a host window range");
  uint64_t off = static_cast<uint64_t>(p - data_), n = len;
  std::lock_guard<std::mutex> lock(mu_);
  auto next = free_.lower_bound(off);
  PROBESIM_ASSERT(next == free_.end() || next->first >= off + n);  // not free already
  if (next != free_.end() && next->first == off + n) {  // merge with the range after
    n += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    PROBESIM_ASSERT(prev->first + prev->second <= off);
    if (prev->first + prev->second == off) {  // merge with the range before
      prev->second += n;
      in_use_ -= len;
      return;
    }
  }
  free_.emplace(off, n);
  in_use_ -= len;
}

uint64_t HostWindow::in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_;
}

}  // namespace probesim::mmu
