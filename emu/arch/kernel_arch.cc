#include "emu/arch/kernel_arch.h"

namespace probesim::emu {

// The one place the guest kernel picks its architecture (kernel_arch.h).
std::unique_ptr<KernelArch> KernelArch::create(Arch arch, KernelSpace& space) {
  return arch == Arch::X86_64 ? make_kernel_arch_x86_64(space) : make_kernel_arch_arm64(space);
}

}  // namespace probesim::emu
