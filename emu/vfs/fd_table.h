// FdTable: Linux's struct files_struct, a process's file descriptors. Each slot holds a
// shared File (the open file description, shared with dup'ed fds and, after fork, with the
// child) and the fd's own close-on-exec flag.
//
// Invariants: fds are allocated lowest-free-first; no fd is >= the RLIMIT_NOFILE limit
// (default 1024) when allocated. Copying the table (fork) copies the slots and shares the
// Files, exactly as dup_fd does. Touched only by the owning process's syscalls.
#pragma once

#include <memory>
#include <vector>

#include "emu/vfs/file.h"

namespace probesim::emu {

enum class CloseOnExec { No, Yes };

// Told of every open file an fd stops referring to (close, dup2/dup3 over it, exec's
// close-on-exec, exit), with the pid of the table's process: Linux's filp_close, where
// locks_remove_posix runs (FileLocks).
class FdCloseObserver {
 public:
  virtual void on_fd_close(int pid, std::shared_ptr<File> file) = 0;

 protected:
  ~FdCloseObserver() = default;
};

class FdTable {
 public:
  static constexpr int kDefaultNofile = 1024;  // RLIMIT_NOFILE soft limit

  // Installs file at the lowest free fd >= min_fd; -EMFILE when none is below the limit.
  int install(std::shared_ptr<File> file, CloseOnExec cloexec, int min_fd = 0);
  // The fd install() would pick, or -EMFILE (open checks this before creating anything).
  int lowest_free(int min_fd = 0) const;
  // Installs file at exactly fd (closing what was there); -EBADF if fd is out of range.
  // For setting up fds 0/1/2 of a new process.
  int install_at(int fd, std::shared_ptr<File> file, CloseOnExec cloexec = CloseOnExec::No);
  // The file open at fd, or null (EBADF).
  std::shared_ptr<File> get(int fd) const;
  File* file(int fd) const;
  int close(int fd);                                    // 0 or -EBADF
  int dup(int oldfd, int min_fd, CloseOnExec cloexec);  // dup / F_DUPFD(_CLOEXEC)
  // dup2/dup3: newfd refers to oldfd's file, closing what was there. newfd == oldfd is the
  // caller's concern (dup2 returns it, dup3 fails with EINVAL).
  int dup_to(int oldfd, int newfd, CloseOnExec cloexec);
  int get_cloexec(int fd) const;                 // FD_CLOEXEC, 0, or -EBADF
  int set_cloexec(int fd, CloseOnExec cloexec);  // 0 or -EBADF
  void close_on_exec();                          // exec: drop every cloexec fd
  std::vector<int> open_fds() const;             // ascending (for /proc/self/fd)
  int nofile() const { return nofile_; }
  void set_nofile(int limit) { nofile_ = limit; }  // setrlimit(RLIMIT_NOFILE)
  // Who hears of closes, and for which process (a copied table must be given its own pid).
  void set_close_observer(FdCloseObserver* observer, int pid) {
    observer_ = observer;
    pid_ = pid;
  }

 private:
  struct Slot {
    std::shared_ptr<File> file;
    CloseOnExec cloexec = CloseOnExec::No;
  };
  void set_slot(int fd, std::shared_ptr<File> file, CloseOnExec cloexec);
  void release(Slot& slot);  // empties the slot, telling the observer

  std::vector<Slot> slots_;
  int nofile_ = kDefaultNofile;
  FdCloseObserver* observer_ = nullptr;  // non-owning; outlives the table (the machine's)
  int pid_ = 0;
};

}  // namespace probesim::emu
