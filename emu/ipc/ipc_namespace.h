// IpcNamespace: the machine's System V IPC (Linux's struct ipc_namespace): message queues,
// semaphore arrays and their SEM_UNDO adjustments, shared memory segments. Limits are Linux's
// defaults (include/uapi/linux/msg.h, sem.h, shm.h).
//
// Who may touch what: the IPC syscalls and process exit, on the emulation thread.
#pragma once

#include <map>
#include <vector>

#include "emu/ipc/ipc_ids.h"
#include "emu/vfs/inode_ref.h"

namespace probesim::emu {

class Scheduler;
class WaitQueues;

inline constexpr int kSemVmx = 32767;  // SEMVMX: largest semaphore value (also SEMAEM)
inline constexpr int kSemMsl = 32000;  // SEMMSL: semaphores per array
inline constexpr int kSemOpm = 500;    // SEMOPM: operations per semop

class SemArray final : public IpcObject {
 public:
  struct Sem {
    int val = 0;
    int pid = 0;  // sempid: the last process that changed it
  };
  // A blocked semop: which semaphore it waits on and whether for zero (GETZCNT) or for an
  // increase (GETNCNT). Counts only while the task is still in the array's wait queue.
  struct Waiter {
    const void* task;
    int tid;
    int num;
    bool for_zero;
  };
  std::vector<Sem> sems;
  std::vector<Waiter> waiters;
  int64_t otime = 0;
};

// A shared memory segment (struct shmid_kernel): an in-memory inode that shmat maps MAP_SHARED.
// Attachments are the VMAs mapping it (its i_mmap); IPC_RMID of an attached segment marks it
// SHM_DEST and frees its key; it goes when the last attachment does.
class ShmSegment final : public IpcObject {
 public:
  static constexpr uint32_t kShmDest = 01000, kShmLocked = 02000;  // perm.mode flags
  uint64_t nattch() const { return file->i_mapping().i_mmap().size(); }
  InodeRef file;
  uint64_t size = 0;
  int cpid = 0, lpid = 0;
  int64_t atime = 0, dtime = 0;
};

class IpcNamespace {
 public:
  IpcNamespace(WaitQueues& wq, Scheduler& sched) : wq_(wq), sched_(sched) {}

  IpcIds msg, sem, shm;

  // SEM_UNDO adjustments (struct sem_undo): per process, per array, per semaphore.
  std::vector<int>& semadj(int pid, const SemArray& a);
  void forget_undo(const SemArray& a, int num = -1);  // SETVAL (one), SETALL / IPC_RMID (all)
  // exit_sem: the process's adjustments are applied (clamped to 0..SEMVMX) and waiters woken.
  void exit_sem(int pid);
  // GETNCNT / GETZCNT
  int count_waiters(SemArray& a, int num, bool for_zero) const;
  // The segment whose inode this is, or null.
  ShmSegment* segment_of(const mmu::Inode* inode) const;
  // Segments marked SHM_DEST with no attachment left go (shm_destroy).
  void reap_segments();
  uint64_t next_shm_inode() { return ++shm_inodes_; }  // "sysvshm:<n>" inode keys

 private:
  WaitQueues& wq_;
  Scheduler& sched_;
  std::map<int, std::map<int, std::vector<int>>> undo_;  // pid -> semid -> semadj
  uint64_t shm_inodes_ = 0;
};

}  // namespace probesim::emu
