// strace-style formatting of one syscall: `openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3`.
// Pure function of the arguments, guest memory and the result, so strace logs are
// deterministic. Called only when a StraceSink is attached.
#pragma once

#include <string>

#include "emu/syscalls/dispatch.h"

namespace probesim::emu {

std::string format_syscall(SyscallContext& ctx, const SyscallEntry* entry, const SyscallArgs& a,
                           int64_t ret, bool returned);

const char* errno_name(int err);

}  // namespace probesim::emu
