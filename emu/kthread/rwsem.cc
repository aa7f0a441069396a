#include "emu/kthread/rwsem.h"

#include <algorithm>

#include "probesim/assert.h"

namespace probesim::emu {

bool RwSemaphore::try_down_read(int tid) {
  if (writer_ >= 0) return false;
  readers_.push_back(tid);
  return true;
}

bool RwSemaphore::try_down_write(int tid) {
  if (locked()) return false;
  writer_ = tid;
  return true;
}

void RwSemaphore::up_read(int tid) {
  auto it = std::find(readers_.begin(), readers_.end(), tid);
  PROBESIM_ASSERT_MSG(it != readers_.end(), "up_read of a rw semaphore not held for read");
  readers_.erase(it);
}

void RwSemaphore::up_write(int tid) {
  PROBESIM_ASSERT_MSG(writer_ == tid, "up_write of a rw semaphore not held for write");
  writer_ = -1;
}

bool RwSemaphore::held_by(int tid) const {
  return writer_ == tid || std::find(readers_.begin(), readers_.end(), tid) != readers_.end();
}

}  // namespace probesim::emu
