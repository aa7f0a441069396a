// ProcFile: an open ProcHost text file (/proc/<pid>/maps, /proc/stat...). Like a seq_file for
// one open: the text is the ProcHost's when the file is opened, reads and lseek move through
// that snapshot. Writes fail as Linux's read-only proc files do: EBADF unless opened for
// writing, then EINVAL (no write operation).
#pragma once

#include "emu/vfs/file.h"

namespace probesim::emu {

class ProcFile : public File {
 public:
  ProcFile(std::string text, uint32_t f_flags, std::string path, InodeRef inode, DevId dev);

  int64_t read(std::span<uint8_t> out) override;
  int64_t pread(std::span<uint8_t> out, uint64_t pos) override;
  int64_t write(std::span<const uint8_t> in) override;
  int64_t lseek(int64_t offset, int whence) override;
  std::shared_ptr<File> reopen(uint32_t f_flags) const override;

 private:
  std::string text_;
};

}  // namespace probesim::emu
