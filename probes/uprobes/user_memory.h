// MmUserMemory: a task's user memory as the emulation code sees it (KernelMemory shape, so
// kprobes' x86 emulation and arm64 simulation run unchanged): reads and writes are
// copy_from_user / copy_to_user on the mm, with its permissions. It never patches text.
#pragma once

#include "mmu/mm.h"
#include "probes/kernel_memory.h"
#include "probesim/assert.h"

namespace probesim::probes {

class MmUserMemory final : public KernelMemory {
 public:
  explicit MmUserMemory(mmu::Mm& mm) : mm_(mm) {}
  bool read(GuestAddr addr, std::span<uint8_t> out) const override {
    return mm_.copy_from_user(out.data(), addr, out.size());
  }
  bool write(GuestAddr addr, std::span<const uint8_t> bytes) override {
    return mm_.copy_to_user(addr, bytes.data(), bytes.size());
  }
  bool write_text(GuestAddr, std::span<const uint8_t>) override {
    PROBESIM_ASSERT_MSG(false, "uprobes never patch text through user memory");
    return false;
  }
  Result<GuestAddr> alloc_insn_page() override {
    PROBESIM_ASSERT_MSG(false, "uprobes have no insn pages");
    return GuestAddr{};
  }
  void free_insn_page(GuestAddr) override {}

 private:
  mmu::Mm& mm_;
};

}  // namespace probesim::probes
