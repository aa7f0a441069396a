// Caller: the per-process state a path operation depends on (Linux reads it from `current`):
// the cwd and umask, the fd table (for /proc/self/fd), the executable (/proc/self/exe), the
// pid (/proc/self) and the credentials (owner of created files, execve's AT_UID...). Built by
// the syscall layer for the duration of one call.
#pragma once

#include <string_view>

#include "emu/cred.h"
#include "emu/vfs/fd_table.h"
#include "emu/vfs/fs_struct.h"

namespace probesim::emu {

struct Caller {
  const FsStruct& fs;
  const FdTable* fds = nullptr;  // null: /proc/self/fd is empty
  std::string_view exe;          // guest path of the running executable
  int pid = 1;
  const Cred* cred = nullptr;  // null: root's (every id 0)

  uint32_t fsuid() const { return cred ? cred->uid.fs : 0; }
  uint32_t fsgid() const { return cred ? cred->gid.fs : 0; }
};

}  // namespace probesim::emu
