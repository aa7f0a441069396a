#include "emu/vfs/pipe_file.h"

#include <algorithm>
#include <cerrno>

#include "emu/vfs/node.h"
#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {

PipeFile::PipeFile(uint32_t f_flags, std::string name, InodeRef inode, std::shared_ptr<Pipe> pipe,
                   bool write_end)
    : File(f_flags, std::move(name), std::move(inode), kPipeFsDev),
      pipe_(std::move(pipe)),
      readable_(!write_end),
      writable_(write_end) {
  (write_end ? pipe_->writers : pipe_->readers) += 1;
}

PipeFile::~PipeFile() {
  if (readable_) pipe_->readers -= 1;
  if (writable_) pipe_->writers -= 1;
  pipe_->changed();
}

std::shared_ptr<File> PipeFile::reopen(uint32_t f_flags) const {
  const uint32_t mode = f_flags & kO_ACCMODE;
  auto f = std::make_shared<PipeFile>(f_flags, path(), InodeRef::acquire(inode()), pipe_,
                                      mode == kO_WRONLY);
  if (mode == kO_RDWR) {
    f->writable_ = true;
    pipe_->writers += 1;
  }
  pipe_->changed();  // a new reader or writer: poll and blocked ends look again
  return f;
}

int64_t PipeFile::read(std::span<uint8_t> out) {
  if (!readable_) return -EBADF;
  if (out.empty()) return 0;
  if (pipe_->buffer.empty()) return pipe_->writers == 0 ? 0 : kWouldBlock;
  size_t n = std::min(out.size(), pipe_->buffer.size());
  std::copy_n(pipe_->buffer.begin(), n, out.begin());
  pipe_->buffer.erase(pipe_->buffer.begin(), pipe_->buffer.begin() + static_cast<long>(n));
  pipe_->changed(kEPOLLOUT | kEPOLLWRNORM);
  return static_cast<int64_t>(n);
}

int64_t PipeFile::write(std::span<const uint8_t> in) {
  if (!writable_) return -EBADF;
  if (pipe_->readers == 0) return -EPIPE;
  size_t space = Pipe::kCapacity - pipe_->buffer.size();
  if (space == 0) return kWouldBlock;
  size_t n = std::min(space, in.size());
  pipe_->buffer.insert(pipe_->buffer.end(), in.begin(), in.begin() + static_cast<long>(n));
  pipe_->changed(kEPOLLIN | kEPOLLRDNORM);
  return static_cast<int64_t>(n);
}

PollMask PipeFile::poll() const {
  PollMask mask = 0;
  if (readable_) {
    if (!pipe_->buffer.empty()) mask |= kEPOLLIN | kEPOLLRDNORM;
    if (pipe_->writers == 0) mask |= kEPOLLHUP;
  }
  if (writable_) {
    if (pipe_->buffer.size() < Pipe::kCapacity) mask |= kEPOLLOUT | kEPOLLWRNORM;
    if (pipe_->readers == 0) mask |= kEPOLLERR;
  }
  return mask;
}

int64_t PipeFile::ioctl(uint64_t request, uint64_t) {
  constexpr uint64_t kFionread = 0x541b;
  if (request == kFionread) return static_cast<int64_t>(pipe_->buffer.size());
  return -ENOTTY;
}

}  // namespace probesim::emu
