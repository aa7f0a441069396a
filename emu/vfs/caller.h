// Caller: the per-process state a path operation depends on (Linux reads it from `current`):
// the cwd and umask, the fd table (for /proc/self/fd), the executable (/proc/self/exe) and
// the pid (/proc/self). Built by the syscall layer for the duration of one call.
#pragma once

#include <string_view>

#include "emu/vfs/fd_table.h"
#include "emu/vfs/fs_struct.h"

namespace probesim::emu {

struct Caller {
  const FsStruct& fs;
  const FdTable* fds = nullptr;  // null: /proc/self/fd is empty
  std::string_view exe;          // guest path of the running executable
  int pid = 1;
};

}  // namespace probesim::emu
