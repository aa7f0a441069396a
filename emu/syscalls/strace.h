// strace-style formatting of one syscall: `openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3`.
// Pure function of the arguments, guest memory and the result, so strace logs are
// deterministic. Called only when a StraceSink is attached.
#pragma once

#include <string>

#include "emu/syscalls/dispatch.h"

namespace probesim::emu {

// How lines look: string_size bytes of each string or buffer at most (strace -s, default
// 32); pid_prefix: "[pid N] " first (strace -f does so while more than one task exists).
struct StraceStyle {
  size_t string_size = 32;
  bool pid_prefix = false;
};

std::string format_syscall(SyscallContext& ctx, const SyscallEntry* entry, const SyscallArgs& a,
                           int64_t ret, bool returned, const StraceStyle& style);

const char* errno_name(int err);

}  // namespace probesim::emu
