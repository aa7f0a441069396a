// RegularFile: an open regular file. Data lives in the inode's page cache
// (mmu::AddressSpace): reads fill pages lazily from the host backing, writes land in the page
// cache only (marking the inode dirty, which pins it: the overlay copy-up). The host file is
// never written.
#pragma once

#include "emu/vfs/file.h"
#include "emu/virtual_clock.h"

namespace probesim::emu {

class RegularFile : public File {
 public:
  // clock: the machine's virtual clock (mtime/ctime of writes); must outlive the file.
  // A writable file holds write access to its inode (i_writecount) until it dies; the opener
  // checks first that the inode is not a running executable (ETXTBSY).
  RegularFile(uint32_t f_flags, std::string path, InodeRef inode, DevId dev,
              const VirtualClock& clock);
  ~RegularFile() override;

  int64_t read(std::span<uint8_t> out) override;
  int64_t write(std::span<const uint8_t> in) override;  // O_APPEND: at i_size
  int64_t pread(std::span<uint8_t> out, uint64_t pos) override;
  // Like Linux, a pwrite on an O_APPEND file appends (see pwrite(2) BUGS).
  int64_t pwrite(std::span<const uint8_t> in, uint64_t pos) override;
  int64_t lseek(int64_t offset, int whence) override;
  int64_t truncate(uint64_t length) override;
  std::shared_ptr<File> reopen(uint32_t f_flags) const override;

 protected:
  const VirtualClock& clock() const { return clock_; }

 private:
  int64_t write_at(std::span<const uint8_t> in, uint64_t pos);
  void touch_mtime();

  const VirtualClock& clock_;
  bool write_access_ = false;  // holds one i_writecount
};

}  // namespace probesim::emu
