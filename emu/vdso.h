// Vdso: the machine's vDSO (guest/vdso, embedded at build time): its ELF as one synthetic,
// read-only inode that every process maps as "[vdso]" (so uprobes on it work through its
// i_mmap tree; Linux's vDSO has no file), and the [vvar] contents exec writes below it.
// Owned by MachineState; the inode lives while any mapping of it does (VMAs hold references).
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "emu/vfs/inode_ref.h"
#include "loader/vdso.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::emu {

// The vdso.so built for arch, or an empty span when its cross compiler was missing.
std::span<const uint8_t> builtin_vdso_image(Arch arch);

class Vdso {
 public:
  // The name uprobe targets use for the vDSO ("[vdso]:__vdso_clock_gettime"), as maps shows it.
  static constexpr const char* kName = "[vdso]";
  // Null (no vDSO: processes get none, as with vdso=0) when arch's image was not built.
  // counter_hz: what the guest's counter counts per second (x86 TSC: the CPU's Hz; arm64:
  // CNTFRQ); epoch_sec: CLOCK_REALTIME at counter 0.
  static Result<std::unique_ptr<Vdso>> create(Arch arch, mmu::InodeCache& inodes,
                                              uint64_t counter_hz, int64_t epoch_sec);

  const loader::VdsoImage& image() const { return image_; }
  mmu::Inode* inode() const { return inode_.get(); }
  // arm64: __kernel_rt_sigreturn's offset from [vdso]'s start, where a handler installed
  // without SA_RESTORER returns (setup_return's VDSO_SYMBOL(sigtramp)); 0 on x86_64.
  uint64_t sigtramp_offset() const { return sigtramp_offset_; }

 private:
  Vdso() = default;
  InodeRef inode_;
  loader::VdsoImage image_;
  uint64_t sigtramp_offset_ = 0;
};

}  // namespace probesim::emu
