// FileLocks: advisory file locks, Linux's fs/locks.c. Locks attach to the inode (every open
// file of it sees them); three kinds share one table per inode:
//   POSIX record locks (fcntl F_SETLK/F_SETLKW): owned by a process (fl_owner = its files),
//     byte ranges, released when that process closes ANY fd of the inode, and at exit;
//   OFD locks (F_OFD_SETLK/W): byte ranges owned by the open file description, conflicting
//     with POSIX locks, released at the description's last close; F_OFD_GETLK reports l_pid -1;
//   flock(2) locks: whole-file, owned by the open file description, a separate list
//     (they never conflict with record locks).
// An owner's ranges are kept as Linux's posix_lock_inode leaves them: non-overlapping, ordered
// by start, neighbours of the same type merged. A blocked F_SETLKW/flock waits on the inode's
// wait object (`wait_object`) and re-executes its syscall when any lock of the inode goes;
// POSIX waiters are recorded for posix_locks_deadlock (EDEADLK).
//
// Who may touch what: syscall handlers and fd-table closes, on the emulation thread. Inodes and
// Files are identities only: a File is kept as a weak_ptr, so a description gone without a
// close notification owns nothing.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "emu/vfs/fd_table.h"

namespace probesim::emu {

class Scheduler;
class Task;
class WaitQueues;

// l_type values (include/uapi/asm-generic/fcntl.h).
inline constexpr int kF_RDLCK = 0, kF_WRLCK = 1, kF_UNLCK = 2;
inline constexpr int64_t kOffsetMax = INT64_MAX;  // OFFSET_MAX: a lock "to EOF"

enum class LockKind { Posix, Ofd, Flock };

struct FileLock {
  LockKind kind = LockKind::Posix;
  int pid = 0;                  // POSIX: the owning process (tgid); else who set it
  const File* file = nullptr;   // OFD / flock: the owning open file description
  std::weak_ptr<File> file_ref;  // its liveness
  int type = kF_RDLCK;          // kF_RDLCK / kF_WRLCK (kF_UNLCK only in requests)
  int64_t start = 0, end = kOffsetMax;  // inclusive byte range (flock: the whole file)

  bool same_owner(const FileLock& o) const {
    if (kind == LockKind::Posix || o.kind == LockKind::Posix)
      return kind == o.kind && pid == o.pid;
    return file == o.file;  // OFD owners are files; flock locks never meet record locks
  }
};

class FileLocks final : public FdCloseObserver {
 public:
  // Lock changes wake the inode's waiters in `wq` through `sched` (both the machine's).
  FileLocks(WaitQueues& wq, Scheduler& sched) : wq_(wq), sched_(sched) {}

  // F_GETLK / F_OFD_GETLK (posix_test_lock): the first record lock in the way of `req`.
  std::optional<FileLock> test(const mmu::Inode* inode, const FileLock& req);
  // F_SETLK / F_OFD_SETLK (posix_lock_inode): applies req (kF_UNLCK removes) and returns 0, or
  // returns -EAGAIN with the first conflicting lock in *blocker, changing nothing.
  int set_record(const mmu::Inode* inode, const FileLock& req, FileLock* blocker);
  // flock(2) (flock_lock_inode): a lock of another type by the same file is dropped first;
  // -EAGAIN on a conflict.
  int set_flock(const mmu::Inode* inode, const FileLock& req);
  // posix_locks_deadlock: would POSIX owner `req` waiting for `blocker` close a cycle of
  // waiting owners? (OFD requests never deadlock.) Waiters count only while they wait.
  bool would_deadlock(const FileLock& req, const FileLock& blocker);
  // The caller `t` blocks until a lock of the inode goes (and re-executes its syscall); a
  // POSIX request is recorded for would_deadlock while t waits.
  void block(const mmu::Inode* inode, const FileLock& req, const FileLock& blocker, Task& t);

  // FdCloseObserver: filp_close's locks_remove_posix, and at the last reference
  // locks_remove_file (the description's OFD and flock locks).
  void on_fd_close(int pid, std::shared_ptr<File> file) override;

 private:
  struct InodeLocks {
    std::vector<FileLock> records;  // POSIX and OFD, per owner ordered by start
    std::vector<FileLock> flocks;
    const void* wait_object() const { return this; }  // map nodes never move
  };
  struct Waiter {
    FileLock req, blocker;
    const Task* task;  // compared, never dereferenced unless still queued
    int tid;
    const void* object;
  };
  InodeLocks& at(const mmu::Inode* inode) { return by_inode_[inode]; }
  bool waiting(const Waiter& w) const;
  void wake(InodeLocks& l);

  WaitQueues& wq_;
  Scheduler& sched_;
  // Entries stay when empty (an inode's wait object must not move while tasks wait on it).
  std::map<const mmu::Inode*, InodeLocks> by_inode_;
  std::vector<Waiter> waiters_;
};

}  // namespace probesim::emu
