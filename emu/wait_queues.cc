#include "emu/wait_queues.h"

#include <algorithm>

#include "emu/scheduler.h"

namespace probesim::emu {

void WaitQueues::wake_all(const void* object, Scheduler& sched) {
  auto it = queues_.find(object);
  if (it == queues_.end()) return;
  std::deque<Task*> waiters = std::move(it->second);
  queues_.erase(it);
  for (Task* t : waiters) sched.wake_restart(*t);
}

void WaitQueues::remove(Task& t) {
  for (auto it = queues_.begin(); it != queues_.end();) {
    std::erase(it->second, &t);
    it = it->second.empty() ? queues_.erase(it) : std::next(it);
  }
}

}  // namespace probesim::emu
