#include "emu/vfs/eventfd_file.h"

#include <cerrno>
#include <cstring>
#include <limits>

#include "emu/vfs/node.h"

namespace probesim::emu {

namespace {
constexpr uint64_t kUllongMax = std::numeric_limits<uint64_t>::max();
}

EventFdFile::EventFdFile(uint32_t f_flags, InodeRef inode, uint64_t count, uint32_t efd_flags,
                         PollHub& hub)
    : File(f_flags, "anon_inode:[eventfd]", std::move(inode), kAnonInodeDev),
      count_(count),
      semaphore_(efd_flags & kEFD_SEMAPHORE),
      hub_(hub) {}

// eventfd_read: 8 bytes, the count (or 1) taken; writers waiting for room are woken.
int64_t EventFdFile::read(std::span<uint8_t> out) {
  if (out.size() < sizeof(uint64_t)) return -EINVAL;
  if (count_ == 0) return kWouldBlock;
  const uint64_t value = semaphore_ ? 1 : count_;
  count_ -= value;
  std::memcpy(out.data(), &value, sizeof value);
  hub_.wake(this, kEPOLLOUT);
  return sizeof value;
}

// eventfd_write: ULLONG_MAX is never a valid value; a sum that would reach it waits.
int64_t EventFdFile::write(std::span<const uint8_t> in) {
  if (in.size() < sizeof(uint64_t)) return -EINVAL;
  uint64_t value;
  std::memcpy(&value, in.data(), sizeof value);
  if (value == kUllongMax) return -EINVAL;
  if (kUllongMax - count_ <= value) return kWouldBlock;
  count_ += value;
  hub_.wake(this, kEPOLLIN);
  return sizeof value;
}

// eventfd_poll
PollMask EventFdFile::poll() const {
  PollMask mask = 0;
  if (count_ > 0) mask |= kEPOLLIN;
  if (count_ == kUllongMax) mask |= kEPOLLERR;
  if (kUllongMax - 1 > count_) mask |= kEPOLLOUT;
  return mask;
}

}  // namespace probesim::emu
