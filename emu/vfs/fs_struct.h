// FsStruct: Linux's struct fs_struct, the per-process filesystem context: the current
// directory (a canonical guest path, no symlinks, no "." or "..") and the umask.
#pragma once

#include <cstdint>
#include <string>

namespace probesim::emu {

struct FsStruct {
  std::string cwd = "/";
  uint32_t umask = 022;
};

}  // namespace probesim::emu
