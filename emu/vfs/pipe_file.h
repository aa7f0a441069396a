// Pipes: a bounded byte buffer shared by a read end and a write end (Linux's pipe_inode_info,
// 64 KiB like the default pipe size). Reads of an empty pipe with writers left, and writes to a
// full pipe with readers left, return File::kWouldBlock; the syscall layer then blocks the task
// on wait_object() (the Pipe) and restarts the syscall when the pipe changes. The last writer
// closing gives readers EOF; writing with no reader left is -EPIPE.
#pragma once

#include <deque>
#include <functional>
#include <memory>

#include "emu/vfs/file.h"

namespace probesim::emu {

class Pipe {
 public:
  static constexpr size_t kCapacity = 65536;

  // Called whenever readers may make progress or writers may (data, space, an end closed),
  // with the events the change concerns (pipe_read wakes writers with EPOLLOUT, pipe_write
  // readers with EPOLLIN; a close concerns everything).
  std::function<void(const Pipe&, PollMask key)> on_change;

  std::deque<uint8_t> buffer;
  int readers = 0;
  int writers = 0;

  void changed(PollMask key = kPollAnyEvent) const {
    if (on_change) on_change(*this, key);
  }
};

class PipeFile : public File {
 public:
  PipeFile(uint32_t f_flags, std::string name, InodeRef inode, std::shared_ptr<Pipe> pipe,
           bool write_end);
  ~PipeFile() override;

  // Opening /proc/<pid>/fd/N (or /dev/fd/N) of a pipe: fifo_open on the pipe's inode, a new
  // read end (O_RDONLY), write end (O_WRONLY) or both (O_RDWR) of the same pipe.
  std::shared_ptr<File> reopen(uint32_t f_flags) const override;

  int64_t read(std::span<uint8_t> out) override;
  int64_t write(std::span<const uint8_t> in) override;
  int64_t ioctl(uint64_t request, uint64_t arg) override;
  const void* wait_object() const override { return pipe_.get(); }
  // pipe_poll (fs/pipe.c): the read end is IN when data waits, HUP once no writer is left; the
  // write end is OUT while there is room, ERR once no reader is left.
  PollMask poll() const override;
  bool can_poll() const override { return true; }
  const Pipe& pipe() const { return *pipe_; }

 private:
  std::shared_ptr<Pipe> pipe_;
  bool readable_, writable_;
};

}  // namespace probesim::emu
