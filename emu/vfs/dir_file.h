// DirFile: an open directory. getdents64 walks a snapshot of the merged, name-sorted listing
// ("." and ".." first). The snapshot is taken whenever a getdents64 starts at position 0
// (open, rewinddir), so d_off cookies (entry index + 1) stay valid for the life of the
// snapshot: lseek(fd, d_off, SEEK_SET) resumes right after that entry.
#pragma once

#include <functional>
#include <vector>

#include "emu/vfs/file.h"

namespace probesim::emu {

struct DirEntry {
  std::string name;
  uint64_t ino = 0;
  uint8_t d_type = 0;  // DT_*
};

// Produces the directory's current listing, "." and ".." first. Called only from
// getdents64; it may capture the Vfs by reference (the Vfs outlives every File).
using DirLister = std::function<std::vector<DirEntry>()>;

class DirFile : public File {
 public:
  DirFile(uint32_t f_flags, std::string path, InodeRef inode, DevId dev, DirLister lister);

  int64_t read(std::span<uint8_t> out) override;                 // -EISDIR
  int64_t pread(std::span<uint8_t> out, uint64_t pos) override;  // -EISDIR
  int64_t lseek(int64_t offset, int whence) override;            // SEEK_SET/SEEK_CUR cookies
  int64_t getdents64(std::span<uint8_t> out) override;           // -EINVAL if out holds none

 private:
  DirLister lister_;
  std::vector<DirEntry> snapshot_;
  bool loaded_ = false;
};

}  // namespace probesim::emu
