// HostWindow: one process-wide NORESERVE reservation of host address space that HostArenas are
// carved from, so that an emulator engine can map ALL guest memory as ONE Unicorn region and
// translate a guest page through its host pointer in the TLB fill (issue 14: Unicorn aborts the
// host past ~1,023 regions on arm64 and ~4,095 on x86_64, emu/uc_regions.h).
//
// Ownership: a process-wide singleton, reserved at first use and never unmapped (engines map it
// for their lifetime). Ranges are handed out first fit, 64 KiB aligned; a released range is
// discarded (MADV_DONTNEED: it reads zero again and costs no RSS) before it is reused.
// Threading: allocate/release take a mutex (machines may live in several host threads).
// Nothing guest-visible depends on where a range lies, so determinism is unaffected.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace probesim::mmu {

class HostWindow {
 public:
  static constexpr uint64_t kBytes = uint64_t{1} << 44;  // 16 TiB of address space
  static constexpr uint64_t kAlign = uint64_t{1} << 16;

  // The process's window of kBytes, reserved at first use and never unmapped; null when the
  // host refused the reservation (then every arena is an mmap of its own).
  static HostWindow* get();
  // A window of its own (tests); null when refused.
  static std::unique_ptr<HostWindow> reserve(uint64_t bytes);
  ~HostWindow();
  HostWindow(const HostWindow&) = delete;
  HostWindow& operator=(const HostWindow&) = delete;

  uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  bool contains(const uint8_t* p, uint64_t len) const {
    return p >= data_ && len <= size_ && static_cast<uint64_t>(p - data_) <= size_ - len;
  }
  // A zero-filled range of `bytes` (rounded up to kAlign); null when no free range is that big.
  uint8_t* allocate(uint64_t bytes);
  // Gives back a range from allocate (same bytes); its pages are discarded first.
  void release(uint8_t* p, uint64_t bytes);
  // Bytes handed out now (tests, statistics).
  uint64_t in_use() const;

 private:
  HostWindow(uint8_t* data, uint64_t size);
  uint8_t* const data_;
  const uint64_t size_;
  mutable std::mutex mu_;
  std::map<uint64_t, uint64_t> free_;  // offset -> length; disjoint, never adjacent
  uint64_t in_use_ = 0;
};

}  // namespace probesim::mmu
