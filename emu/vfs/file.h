// File: the kernel's struct file, one open file description. Shared by every fd that refers
// to it (dup, fork), so f_pos and f_flags are shared as on Linux.
//
// Operations return a byte count (>= 0) or -errno, like the kernel's file_operations. The
// defaults are what Linux does when a file has no such operation. Callers (the syscall layer)
// check the access mode first (readable()/writable(), FMODE_READ/FMODE_WRITE); the
// operations themselves do not. A read that has no data yet on a file that could get some
// later (a pipe, an interactive console) returns kWouldBlock, never a partial errno: the
// syscall layer turns it into -EAGAIN (O_NONBLOCK) or blocks the task.
//
// Ownership: std::shared_ptr<File>, held by FdTables (and by the loader while it maps an
// executable). Every File holds one counted reference to its inode.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "emu/vfs/inode_ref.h"
#include "emu/vfs/kstat.h"
#include "emu/vfs/poll.h"

namespace probesim::emu {

class File {
 public:
  // Not an errno (errnos are < 4096): "no data now, maybe later".
  static constexpr int64_t kWouldBlock = -(int64_t{1} << 32);

  // f_flags in the generic encoding (vfs_abi.h), without O_CREAT/O_EXCL/O_NOCTTY/O_TRUNC/
  // O_CLOEXEC (the kernel strips them; close-on-exec is an fd flag). path: the guest path the
  // file was opened by (for /proc/self/fd and *at() dirfds) or a name such as "pipe:[3]".
  File(uint32_t f_flags, std::string path, InodeRef inode, DevId dev);
  virtual ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  virtual int64_t read(std::span<uint8_t> out);                       // at f_pos; -EINVAL
  virtual int64_t write(std::span<const uint8_t> in);                 // at f_pos; -EINVAL
  virtual int64_t pread(std::span<uint8_t> out, uint64_t pos);        // -ESPIPE
  virtual int64_t pwrite(std::span<const uint8_t> in, uint64_t pos);  // -ESPIPE
  virtual int64_t lseek(int64_t offset, int whence);                  // -ESPIPE
  virtual int64_t getdents64(std::span<uint8_t> out);                 // -ENOTDIR
  virtual int64_t ioctl(uint64_t request, uint64_t arg);              // -ENOTTY
  virtual int64_t truncate(uint64_t length);                          // -EINVAL
  virtual int64_t fsync();                                            // 0
  // A new open file description on the same object, for opening /proc/self/fd/N. Null when
  // the file cannot be reopened (the open fails with ENXIO).
  virtual std::shared_ptr<File> reopen(uint32_t f_flags) const;
  // What a task blocked on this file waits for (File::kWouldBlock): tasks restart their
  // syscall when the owner of this object calls WaitQueues::wake_all on it.
  virtual const void* wait_object() const { return this; }
  // f_op->poll: the events possible now (poll.h masks); a caller that finds none it wants
  // sleeps on wait_object(). Files with no readiness of their own (regular files, directories,
  // /dev files, the console, whose reads never wait for time) are always ready: vfs_poll's
  // DEFAULT_POLLMASK.
  virtual PollMask poll() const { return kDefaultPollMask; }
  // file_can_poll: whether the file has its own f_op->poll (pipes, consoles, epoll, eventfd,
  // sockets). epoll refuses the others with EPERM.
  virtual bool can_poll() const { return false; }

  // fstat: the inode's attributes on this file's device.
  KStat stat() const;

  uint32_t f_flags() const { return f_flags_; }
  void set_f_flags(uint32_t flags) { f_flags_ = flags; }
  uint64_t f_pos() const { return f_pos_; }
  void set_f_pos(uint64_t pos) { f_pos_ = pos; }
  bool readable() const;      // FMODE_READ: O_RDONLY or O_RDWR, and not O_PATH
  bool writable() const;      // FMODE_WRITE
  bool is_path_only() const;  // O_PATH: only fstat, fchdir, dirfd, dup, close work
  bool is_dir() const;
  bool is_regular() const;

  const std::string& path() const { return path_; }
  mmu::Inode* inode() const { return inode_.get(); }
  DevId dev() const { return dev_; }

 protected:
  // For subclasses: the default-seek behaviour of a seekable file of size `size`
  // (SEEK_SET/CUR/END; SEEK_DATA/SEEK_HOLE treat the file as having no holes).
  int64_t seek_in(int64_t offset, int whence, uint64_t size);

 private:
  uint32_t f_flags_;
  uint64_t f_pos_ = 0;
  std::string path_;
  InodeRef inode_;
  DevId dev_;
};

// The stat attributes of an inode on device dev (used by File::stat and path stat).
KStat inode_kstat(const mmu::Inode& inode, DevId dev);

}  // namespace probesim::emu
