#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {
namespace {

// Re-encodes the four arch-specific bits from one column of kArm64OpenFlags to the other.
template <class From, class To>
uint64_t recode(uint64_t flags, From from, To to) {
  uint64_t out = flags;
  for (const OpenFlagEncoding& e : kArm64OpenFlags) out &= ~uint64_t{from(e)};
  for (const OpenFlagEncoding& e : kArm64OpenFlags) {
    if (flags & from(e)) out |= to(e);
  }
  return out;
}

}  // namespace

uint32_t open_flags_from_guest(Arch arch, uint64_t guest_flags) {
  if (arch == Arch::X86_64) return static_cast<uint32_t>(guest_flags);
  return static_cast<uint32_t>(recode(
      guest_flags, [](const OpenFlagEncoding& e) { return e.arm64; },
      [](const OpenFlagEncoding& e) { return e.generic; }));
}

uint64_t open_flags_to_guest(Arch arch, uint32_t flags) {
  if (arch == Arch::X86_64) return flags;
  return recode(
      flags, [](const OpenFlagEncoding& e) { return e.generic; },
      [](const OpenFlagEncoding& e) { return e.arm64; });
}

}  // namespace probesim::emu
