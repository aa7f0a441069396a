// EventFdFile: eventfd (fs/eventfd.c), a 64-bit counter. read takes the whole count (or 1
// with EFD_SEMAPHORE) and blocks at 0; write adds and blocks while the sum would reach
// ULLONG_MAX. Readable while the count is above 0, writable while one more 1 fits.
#pragma once

#include "emu/vfs/file.h"

namespace probesim::emu {

constexpr uint32_t kEFD_SEMAPHORE = 1;

class EventFdFile : public File {
 public:
  EventFdFile(uint32_t f_flags, InodeRef inode, uint64_t count, uint32_t efd_flags,
              PollHub& hub);

  int64_t read(std::span<uint8_t> out) override;        // -EINVAL below 8 bytes
  int64_t write(std::span<const uint8_t> in) override;  // -EINVAL below 8 bytes or ULLONG_MAX
  PollMask poll() const override;
  bool can_poll() const override { return true; }

 private:
  uint64_t count_;
  bool semaphore_;
  PollHub& hub_;
};

}  // namespace probesim::emu
