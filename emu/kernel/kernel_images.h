// The guest kernel images built into probesim (guest/kernel, embedded at build time by
// kernel_images.cc.in with .incbin, so an installed Python module or CLI needs no paths).
#pragma once

#include <cstdint>
#include <span>

#include "probesim/types.h"

namespace probesim::emu {

// The vmprobesim ELF for `arch`, or an empty span when its cross compiler was missing.
std::span<const uint8_t> builtin_kernel_image(Arch arch);

}  // namespace probesim::emu
