// Times that syscalls read from guest memory.
#pragma once

#include <cstdint>

#include "emu/syscalls/syscall.h"

namespace probesim::emu {

// A struct __kernel_timespec at addr as nanoseconds (a timeout or a duration): err EFAULT, or
// EINVAL unless timespec64_valid; saturated at KTIME_MAX as timespec64_to_ktime does
// (tv_sec >= KTIME_SEC_MAX gives KTIME_MAX: `sleep infinity`). Defined in sys_time.cc.
Result<uint64_t> read_timespec_ns(SyscallContext& ctx, uint64_t addr);

}  // namespace probesim::emu
