// RwSemaphore: a modelled sleeping lock (Linux include/linux/rwsem.h; mutexes are the
// writer-only use). Readers share it, a writer holds it alone. It only keeps the state: a task
// that cannot take it is blocked in the scheduler by KernelLocks (on the machine's WaitQueues,
// keyed by this object) and retries when a holder releases it, so lock operations are
// scheduling points.
//
// Who may touch what: the emulation thread (the kworker's steps and syscall handlers).
#pragma once

#include <string>
#include <vector>

namespace probesim::emu {

class RwSemaphore {
 public:
  explicit RwSemaphore(std::string name) : name_(std::move(name)) {}
  RwSemaphore(const RwSemaphore&) = delete;
  RwSemaphore& operator=(const RwSemaphore&) = delete;

  const std::string& name() const { return name_; }
  // down_read_trylock / down_write_trylock: true when taken by task `tid`.
  bool try_down_read(int tid);
  bool try_down_write(int tid);
  // Preconditions: tid holds it (for read / for write); asserted.
  void up_read(int tid);
  void up_write(int tid);
  bool locked() const { return writer_ >= 0 || !readers_.empty(); }
  bool held_by(int tid) const;
  int writer() const { return writer_; }  // -1: none

 private:
  std::string name_;
  int writer_ = -1;
  std::vector<int> readers_;  // tids, one entry per read hold
};

}  // namespace probesim::emu
